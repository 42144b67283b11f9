"""The one door every queue change goes through, and the snapshot every client is served from.

A handler (REST, page, provider callback, the dispatcher's minute-by-minute look) parses its
input and hands the change to ``Clinic.change`` as a function of the domain (``ClinicQueue``).
The door then does the same five things for every kind of change, in this order:

1. runs the change in the domain, on the caller's database session;
2. makes the new state once (positions and estimates) and plans the messages it causes,
   in the same transaction (the outbox): carried on from the kept state when the change
   only moved known tickets on or added one at the back (``QueueBoard.carry``/``extend``),
   read from the database otherwise;
3. moves the queue's version on (one shared row, so every server process numbers changes
   in one sequence) and commits: the change, its messages and its number together or not
   at all;
4. keeps the new state as the latest ``Snapshot`` and publishes it through the injected
   ``Publisher`` (Socket.IO in the server, a recorder in tests): after the commit, so no
   client ever sees a change that was rolled back;
5. wakes the dispatcher when there are messages to send.

Reads (a phone connecting, ``GET /api/v1/queue``, a page) are served from the kept snapshot
while its version is still the database's: one tiny query instead of reading the queue and
running the estimator again.  No Flask here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from . import payloads
from .board import QueueBoard, QueueState, read_messages
from .config import Settings
from .conversations import Inbox
from .models import MESSAGE_QUEUED, Conversation, ConversationMessage, MessageAttempt, QueueVersion, Ticket
from .notify.outbox import ANSWER, Outbox
from .queue import ClinicQueue


def late_hold(settings: Settings) -> timedelta:
    """How long a passed-over late patient keeps the front of the line."""
    return timedelta(minutes=settings.inbox.late_hold_minutes)


T = TypeVar("T")
#: A kept snapshot older than this is read again: estimates move with the clock.
SNAPSHOT_SECONDS = 60
#: Changes the kept state is carried on through (``QueueBoard.carry``): they move known
#: tickets on and put nobody new into a line.
CARRIED = frozenset({"called", "recalled", "consultation_started", "finished", "no_show", "cancelled", "left"})


@dataclass
class Snapshot:
    """The queue after one change, numbered, with each audience's view built at most once."""

    version: int
    state: QueueState
    _views: dict[Any, dict] = field(default_factory=dict, repr=False)
    #: The newest message attempt the messages shown were read after (None: not checked yet).
    #: The dispatcher moves messages on without changing the queue; staff must still see it.
    attempts_seen: int | None = None
    #: ticket id -> the mark each patient sent something by this change had before it.
    _since: dict[int, int | None] = field(default_factory=dict, repr=False)

    def with_messages(self, messages: dict, attempts_seen: int | None) -> Snapshot:
        """The same queue with its patients' messages read again."""
        return Snapshot(self.version, replace(self.state, messages=messages), attempts_seen=attempts_seen)

    def public(self, settings: Settings) -> dict:
        """The public view (TV, kiosk, every phone)."""
        if "public" not in self._views:
            self._views["public"] = {**payloads.public_queue(settings, self.state), "version": self.version}
        return self._views["public"]

    def staff(self, settings: Settings) -> dict:
        """The staff view (console, ``GET /api/v1/queue``)."""
        if "staff" not in self._views:
            self._views["staff"] = {**payloads.staff_queue(settings, self.state), "version": self.version}
        return self._views["staff"]

    def staff_changes(self, settings: Settings, tickets: Sequence[Ticket], moved: Sequence[int]) -> dict:
        """What this change changed, for staff consoles that hold the view before it."""
        return {**payloads.staff_changes(settings, self.state, tickets, moved), "version": self.version}

    def personal(self, ticket_id: int, *, whole: bool = False) -> dict:
        """What every event to one phone carries so it can tell it missed one.

        ``mark``: the number of the last change that sent this patient anything; ``since``:
        the one before it, which the phone must have seen (None: not known here, take it as
        whole).  A phone is sent only its own news, not every change, so it follows its own
        sequence rather than the clinic's.
        """
        version, mark, since = self._sequence(ticket_id, whole)
        return {"version": version, "mark": mark, "since": since}

    def _sequence(self, ticket_id: int, whole: bool = False) -> tuple[int, int | None, int | None]:
        """(version, mark, since) of ``personal``."""
        return self.version, self.state.marks.get(ticket_id), None if whole else self._since.get(ticket_id)

    def patient(self, settings: Settings, ticket: Ticket, *, whole: bool = True) -> dict:
        """One patient's own view of their ticket.

        ``whole`` (a connect, a resync, the page, the API): nothing to check it against, so
        no ``since``; only the event of a change says which of the phone's came before it.
        """
        return {**payloads.patient_ticket(settings, self.state, ticket), **self.personal(ticket.id, whole=whole)}

    def places(self, ticket_ids: Iterable[int]) -> Iterator[str]:
        """Each waiting patient's place and range, in turn: the ``place`` event, as JSON text.

        Made one after another as they are sent: a call at 1,000 waiting makes a thousand.
        """
        state, sequence, place = self.state, self._sequence, payloads.place
        for ticket_id in ticket_ids:
            version, mark, since = sequence(ticket_id)
            yield place(state, ticket_id, version=version, mark=mark, since=since)

    def moved_since(self, earlier: Snapshot | None) -> list[int]:
        """The waiting patients (ids) whose place or range is not what ``earlier`` told them.

        A check-in at the back of a line moves nobody ahead of it; a call moves everyone
        behind.  Without the snapshot just before this one (another process made changes
        in between), everyone waiting is sent theirs.
        """
        positions, waits = self.state.positions, self.state.waits
        if earlier is None or earlier.version != self.version - 1:
            return list(positions)
        before, waits_before = earlier.state.positions, earlier.state.waits
        return [
            i
            for i, p in positions.items()
            # The same object when nothing moved (a carried-on state shares them): no compare.
            if before.get(i) != p or ((w := waits.get(i)) is not (b := waits_before.get(i)) and w != b)
        ]

    def call(self, settings: Settings, ticket: Ticket) -> dict:
        """The ``called`` announcement: number and room."""
        return {**payloads.call(settings, ticket), "version": self.version}

    def open_ticket(self, token: str) -> Ticket | None:
        """The open ticket of this patient link, as of this snapshot (None: not open here)."""
        if "tokens" not in self._views:
            self._views["tokens"] = {t.token: t for t in self.state.everyone_open()}
        return self._views["tokens"].get(token)


class Publisher(Protocol):
    """Where news of a change goes once it is committed."""

    def changed(
        self,
        snapshot: Snapshot,
        tickets: Sequence[Ticket],
        called: Ticket | None,
        moved: Sequence[int] = (),
        noted: Sequence[Ticket] = (),
    ) -> None:
        """A change was committed: every audience its view, the changed tickets to their patients,
        their new place to the patients it moved (``moved``: ticket ids, not in ``tickets``),
        and to staff the rows of ``noted`` too (tickets that got a message decided)."""

    def delivered(self, delivery) -> None:
        """A message moved on (sent, delivered, failed): staff see it."""

    def inbox(self, event: dict) -> None:
        """A conversation changed (a message in or out, read, assigned, closed): every staff console."""

    def ticket_message(self, ticket_id: int, message: dict) -> None:
        """Reception wrote to a patient's phone page: their page shows it at once."""

    def appointments(self, event: dict) -> None:
        """Appointments were booked, confirmed, cancelled, arrived or missed: every staff console."""


@dataclass
class Change(Generic[T]):
    """What a change returned, and the snapshot it produced (None: nothing changed)."""

    result: T
    snapshot: Snapshot | None
    messages: list = field(default_factory=list)


class Clinic:
    """The application service: the door for changes, the keeper of the latest snapshot."""

    def __init__(
        self,
        settings: Settings,
        board: QueueBoard,
        outbox: Outbox,
        clock,
        publisher: Publisher,
        session_factory: Callable[[], Session],
        wake: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.board = board
        self.outbox = outbox
        self.clock = clock
        self.publisher = publisher
        #: Sessions for work outside a request (the dispatcher's reports, the minute's look).
        self.session_factory = session_factory
        self.wake = wake
        self._latest: Snapshot | None = None

    def queue(self, session: Session) -> ClinicQueue:
        """The domain over ``session``."""
        return ClinicQueue(session, self.clock, self.settings.timezone, late_hold(self.settings))

    # -- changes ---------------------------------------------------------------------------

    def change(
        self,
        session: Session,
        base_url: str,
        act: Callable[[ClinicQueue], T],
        *,
        announce: bool = False,
    ) -> Change[T]:
        """Run ``act`` on the domain, then plan, number, commit, keep, publish, wake.

        ``announce``: ``act`` returns a ticket just called to a room (call next, recall),
        which displays announce.  A change that touched no ticket and logged nothing (call
        next with nobody waiting, a Telegram code made) is committed and not published.
        """
        queue = self.queue(session)
        result = act(queue)
        if not queue.touched and not queue.happened and not queue.rooms_changed:
            session.commit()
            return Change(result, None)
        return self._commit(queue, base_url, result, called=result if announce and result is not None else None)

    def time_passed(self, base_url: str) -> Change[int]:
        """Nothing changed but the clock: tell whoever is near now (the dispatcher's minute).

        Estimates shrink between changes, so a patient who needs half an hour to come back
        must not wait for the next call to be told.  Only when a message is decided is the
        queue numbered and published (staff see the message planned).
        """
        with self.session_factory() as session:
            queue = self.queue(session)
            # The number first: it holds the shared row until the commit, so no change of
            # another process can land between this read and this publish.
            version = next_queue_version(session)
            state = self.board.read(queue)
            messages = self.outbox.plan(session, state, (), state.now, base_url, thorough=True)
            if not messages:
                session.rollback()
                return Change(0, None)
            changed = [session.get(Ticket, ticket_id) for ticket_id in {m.ticket_id for m in messages}]
            queue.touched.extend(t for t in changed if t is not None)
            return self._finish(queue, state, messages, len(messages), called=None, version=version)

    def converse(self, session: Session, base_url: str, act: Callable[[Inbox], T]) -> T:
        """Run ``act`` on the inbox: commit, publish to staff and phone pages, wake the sender.

        A keyword that changes the queue (late, here, cancel) changes it through the domain on
        the same session, so the queue's change and the conversation are committed together
        and the queue's news goes out as for any other change.
        """
        queue = self.queue(session)
        inbox = Inbox(queue, self.settings, self.outbox.channels, base_url)
        result = act(inbox)
        for ticket, answer in inbox.page_answers:
            answer.relay_id = self.outbox.relay_answer(session, ticket, answer.id, self.clock.now(), base_url)
        if queue.touched or queue.happened:
            self._commit(queue, base_url, result, called=None)
        else:
            session.commit()
        self.publish_inbox(inbox)
        self.appointments_changed(inbox.appointments_changed)
        if inbox.outgoing and self.wake is not None:
            self.wake()
        return result

    def appointments_changed(self, appointments) -> None:
        """Tell staff consoles of appointments changed and committed (their list reloads).

        Only ids, days and statuses: the console reads the rest with its session, as staff.
        """
        rows = {a.id: a for a in appointments}
        if rows:
            self.publisher.appointments(payloads.appointments_event(rows.values()))

    def publish_inbox(self, inbox: Inbox) -> None:
        """Tell staff of each conversation the inbox changed, and phone pages of their messages."""
        unread = inbox.unread_total() if inbox.touched or inbox.moved else 0
        if inbox.touched:
            for conversation in inbox.touched:
                newest = inbox.newest.get(conversation.id)
                self.publisher.inbox(payloads.inbox_event(conversation, newest, unread))
        for conversation, message in inbox.moved:
            self.publisher.inbox(payloads.inbox_event(conversation, message, unread))
        for ticket_id, message in inbox.to_tickets:
            self.publisher.ticket_message(ticket_id, payloads.thread_message(message))

    def answer_moved(self, session: Session, conversation, message) -> None:
        """The sender's report on an answer (sent, failed, retried): staff see it."""
        unread = Inbox(self.queue(session), self.settings).unread_total()
        self.publisher.inbox(payloads.inbox_event(conversation, message, unread))

    def delivered(self, delivery) -> None:
        """The dispatcher's report: tell staff; a patient now on the call list changes the queue."""
        self.publisher.delivered(delivery)
        if delivery.message.get("kind") == ANSWER:
            self._relay_moved(delivery.message["id"])
        if delivery.needs_call:
            with self.session_factory() as session:
                queue = self.queue(session)
                ticket = session.get(Ticket, delivery.ticket_id)
                if ticket is not None:
                    queue.touched.append(ticket)
                    self._commit(queue, "", None, called=None, plan=False)

    def _relay_moved(self, relay_id: str) -> None:
        """A page answer's relay moved on (sent, failed, next channel): the inbox shows it."""
        with self.session_factory() as session:
            inbox = Inbox(self.queue(session), self.settings)
            answers = session.scalars(select(ConversationMessage).where(ConversationMessage.relay_id == relay_id))
            for answer in answers:
                conversation = session.get(Conversation, answer.conversation_id)
                self.publisher.inbox(payloads.inbox_event(conversation, answer, inbox.unread_total()))

    def _commit(self, queue: ClinicQueue, base_url: str, result, *, called: Ticket | None, plan: bool = True):
        version = next_queue_version(queue.session)
        try:
            state = self._extended(queue, version) or self.board.read(queue)
            messages = self.outbox.plan(queue.session, state, queue.happened, state.now, base_url) if plan else []
            return self._finish(queue, state, messages, result, called=called, version=version)
        except Exception:
            # The kept snapshot may have been carried on for a change that did not happen.
            self._latest = None
            raise

    def _extended(self, queue: ClinicQueue, version: int) -> QueueState | None:
        """The new state from the kept one, without reading the queue again, when it can be.

        One check-in at the back: the estimate's runs carried on past the newcomer.  A change
        that only moved known tickets on (a call, a start, a finish...): the lines and rooms
        carried, everyone estimated again.  None: read everything.
        """
        kept = self._latest
        happened = queue.happened
        if kept is None or kept.version != version - 1 or not self._fresh(kept) or queue.rooms_changed:
            return None
        if len(happened) == 1 and happened[0][1] == "checked_in" and queue.touched == [happened[0][0]]:
            return self.board.extend(kept.state, queue, happened[0][0])
        if happened and all(kind in CARRIED for _, kind in happened):
            return self.board.carry(kept.state, queue)
        return None

    def _finish(
        self, queue: ClinicQueue, state: QueueState, messages: list, result, *, called, version: int | None = None
    ) -> Change:
        session = queue.session
        # The staff view shows the messages this very change decided (new lists: the state
        # may share them with the snapshot before).
        for message in messages:
            state.messages[message.ticket_id] = [*state.messages.get(message.ticket_id, []), message]
        state.planned_keys().update(m.dedupe_key for m in messages)
        if version is None:
            version = next_queue_version(session)
        state.version = version
        session.commit()
        snapshot = Snapshot(version, state)
        earlier = self._latest
        self._keep(snapshot)
        touched = list(queue.touched)
        touched_ids = {t.id for t in touched}
        moved = [i for i in snapshot.moved_since(earlier) if i not in touched_ids]
        # Patients this change decided a message for (turn near, perhaps the call list):
        # staff see their whole row again, their phones only their place.
        self._mark(snapshot, earlier, [*touched_ids, *moved])
        noted_ids = [i for i in dict.fromkeys(m.ticket_id for m in messages) if i is not None and i not in touched_ids]
        noted = state.open_tickets(noted_ids, session) if noted_ids else []
        self.publisher.changed(snapshot, touched, called, moved, noted)
        # The sender wakes for messages to send, not for those decided and skipped (a
        # patient who follows the TV, one near at check-in) or failed to the call list.
        if self.wake is not None and any(m.status == MESSAGE_QUEUED for m in messages):
            self.wake()
        queue.happened.clear()
        return Change(result, snapshot, messages)

    @staticmethod
    def _mark(snapshot: Snapshot, earlier: Snapshot | None, sent_to: Iterable[int]) -> None:
        """Note which patients this change sends something to, and what they had before."""
        before = earlier.state.marks if earlier is not None and earlier.version == snapshot.version - 1 else None
        state = snapshot.state
        # Only open tickets keep their mark: a day's closed ones need none.
        open_ids = set(state.positions).union(t.id for t in state.in_rooms)
        marks = {i: v for i, v in before.items() if i in open_ids} if before is not None else {}
        for ticket_id in sent_to:
            snapshot._since[ticket_id] = before.get(ticket_id) if before is not None else None
            marks[ticket_id] = snapshot.version
        state.marks = marks

    # -- reads -------------------------------------------------------------------------------

    def snapshot(self, session: Session) -> Snapshot:
        """The latest state: the kept one while it is current, else read again and kept.

        Current means no change was committed since, by this process or another: one query
        of the shared version number, not a read of the queue and the estimator.
        """
        version, attempts = session.execute(
            select(QueueVersion.version, select(func.max(MessageAttempt.id)).scalar_subquery())
        ).one()
        kept = self._latest
        if kept is not None and kept.version == version and self._fresh(kept):
            if kept.attempts_seen != attempts:
                # Only messages moved (sent, failed, the next channel): read those alone.
                state = kept.state
                ids = [t.id for t in state.everyone_open()]
                kept = kept.with_messages(read_messages(session, ids), attempts)
                self._keep(kept)
            return kept
        state = self.board.read(self.queue(session))
        state.version = version or 0
        snapshot = Snapshot(state.version, state, attempts_seen=attempts)
        self._keep(snapshot)
        return snapshot

    def _fresh(self, snapshot: Snapshot) -> bool:
        # Estimates move with the clock: one made over a minute ago is made again (a check-in
        # carried on moves the state's time, not the estimate's).
        made = snapshot.state.estimated_at or snapshot.state.now
        return (self.clock.now() - made).total_seconds() < SNAPSHOT_SECONDS

    def _keep(self, snapshot: Snapshot) -> None:
        kept = self._latest
        if kept is None or snapshot.version >= kept.version:
            self._latest = snapshot


def next_queue_version(session: Session) -> int:
    """Move the queue's number on, in the change's transaction (shared by every process).

    The row stays locked until the commit, so changes are numbered in the order they commit.
    """
    return session.execute(
        update(QueueVersion).values(version=QueueVersion.version + 1).returning(QueueVersion.version)
    ).scalar_one()
