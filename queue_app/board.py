"""The queue as everyone sees it at one instant: lines, positions, estimates, rooms, calls.

``QueueBoard`` keeps this process's wait estimator fed from the database (it reads only the
visits that ended since it last looked, so several server processes sharing one database
each learn the same history) and reads a ``QueueState`` after every change.  The payload
builder turns that one state into what each kind of client receives.  No Flask here.
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import and_, or_, select

from .appointment_rank import rank
from .config import Settings
from .estimate import Estimate, Forecast, PastVisit, RoomNow, WaitEstimator, WaitingTicket
from .late_hold import line_key
from .models import CALLED, FINISHED, IN_CONSULTATION, LEFT, NO_SHOW, ROOM_OPEN, WAITING, Message, Room, Ticket
from .queue import RECENT_CALLS, ClinicQueue

OUTCOMES = {FINISHED: "served", NO_SHOW: "no_show", LEFT: "left"}
#: How far back the estimator learns from when a process starts.
HISTORY_DAYS = 14
HISTORY_LIMIT = 5000


_new_tuple = tuple.__new__


class Wait(NamedTuple):
    """A rounded estimate in whole minutes, as patients are shown it.

    A named tuple, not a dataclass: a change at 1,000 waiting makes a thousand of them.
    """

    minutes: int
    low: int
    high: int

    @classmethod
    def of(cls, estimate: Estimate) -> Wait:
        q50, low, high = estimate
        minutes = max(0, round(q50))
        return _new_tuple(cls, (minutes, max(0, min(minutes, math.floor(low))), max(minutes, math.ceil(high))))


@dataclass
class QueueState:
    """Everything the clients are told, read in one go after a change."""

    now: datetime
    services: list
    rooms: list[Room]
    #: service id -> waiting tickets in call order
    lines: dict[str, list[Ticket]]
    in_rooms: list[Ticket]
    recent_calls: list[Ticket]
    #: ticket id -> estimate; ``next_walk_in`` has the wait a new check-in would get.
    waits: dict[int, Wait] = field(default_factory=dict)
    next_walk_in: dict[str, Wait] = field(default_factory=dict)
    positions: dict[int, int] = field(default_factory=dict)
    #: ticket id -> the patient's messages, oldest first (for the staff console).
    messages: dict[int, list] = field(default_factory=dict)
    #: ticket id -> channels that can reach the patient, in the clinic's order.
    channels: dict[int, list[str]] = field(default_factory=dict)
    #: The number of the change this state is after (``clinic.Clinic`` sets it).
    version: int = 0
    #: ticket id -> the number of the last change that sent that patient anything (their
    #: ``ticket`` or ``place``): each phone follows its own sequence of these.
    marks: dict[int, int] = field(default_factory=dict)
    #: The estimate's simulation runs, kept so a check-in at the back can be added to them.
    forecast: Forecast | None = None
    #: When the estimates were made (a carried-on check-in moves ``now``, not this).
    estimated_at: datetime | None = None
    #: ticket id -> (what the estimator is told of the waiting ticket, whether that moves with
    #: the clock): kept from change to change for whoever the change did not touch.
    entries: dict[int, tuple[WaitingTicket, bool]] = field(default_factory=dict, repr=False)
    #: The waiting tickets whose place can move with the clock (None: not worked out yet).
    timed: list[Ticket] | None = field(default=None, repr=False)
    #: Keys of messages known saved (None: not worked out yet; see ``planned_keys``).
    planned: set[str] | None = field(default=None, repr=False)
    #: Waiting tickets whose "turn near" is known saved for the ticket as this state holds it
    #: (``Outbox.plan`` adds to it): near after every change, they are passed over without
    #: working out their keys.  Carried on without the tickets a change touched (a number left,
    #: a transfer: the key may be another now); empty after a full read.
    told_near: set[int] = field(default_factory=set, repr=False)

    @property
    def serving(self) -> dict[str, Ticket]:
        """room id -> the patient called to it or in consultation there."""
        return {t.room_id: t for t in self.in_rooms}

    def line_of(self, ticket: Ticket) -> list[Ticket]:
        return self.lines.get(ticket.service_id, [])

    def everyone_open(self) -> list[Ticket]:
        """Every open ticket: those waiting, line by line, then those in the rooms."""
        return [t for line in self.lines.values() for t in line] + list(self.in_rooms)

    def clocked(self) -> list[Ticket]:
        """The waiting tickets whose place can move with the clock: a late patient's hold, an
        appointment's time (``same_order``).  Worked out once per full read, then carried."""
        if self.timed is None:
            self.timed = [t for line in self.lines.values() for t in line if moves_with_clock(t)]
        return self.timed

    def planned_keys(self) -> set[str]:
        """The dedupe keys of messages known to be saved: those of ``messages``, and those of
        messages saved since for tickets that have closed.

        Worked out once per full read, then carried on and added to as changes plan, so the
        turn-near planning asks only about patients newly near (at 1,000 waiting hundreds may
        be near, each told once).  A key missing here is only looked up; a key here must be
        saved: a change whose commit fails drops its state.
        """
        if self.planned is None:
            self.planned = {m.dedupe_key for held in self.messages.values() for m in held}
        return self.planned

    def carried_planned(self) -> set[str] | None:
        """``planned`` for a state carried on from this one (its own set: it will be added to)."""
        return set(self.planned) if self.planned is not None else None

    def open_tickets(self, ids: list[int], session) -> list[Ticket]:
        """The open tickets with these ids, in this order, as this state holds them.

        A carried-on state holds tickets another session loaded: looking them up here costs
        nothing, where ``session.get`` would read each one again.  One not held (it cannot
        happen after a change; kept for safety) is read from ``session``.
        """
        held = {t.id: t for t in self.everyone_open()}
        found = (held.get(i) or session.get(Ticket, i) for i in ids)
        return [t for t in found if t is not None]


class QueueBoard:
    """This process's view of the queue: a fed estimator and the state builder."""

    def __init__(self, settings: Settings, reach=None) -> None:
        self.settings = settings
        #: (session, tickets) -> {ticket id: channels that can reach the patient} (set by the app).
        self.reach = reach
        self.estimator = WaitEstimator(settings.estimator)
        self._lock = threading.Lock()
        self._seen: tuple[datetime, int] | None = None

    def learn_new_visits(self, session, now: datetime) -> int:
        """Feed the estimator every visit that ended since the last call; return how many."""
        query = select(Ticket).where(Ticket.status.in_(tuple(OUTCOMES)), Ticket.ended_at.is_not(None))
        if self._seen is None:
            since = now - timedelta(days=HISTORY_DAYS)
            query = query.where(Ticket.ended_at > since)
            rows = list(session.scalars(query.order_by(Ticket.ended_at.desc(), Ticket.id.desc()).limit(HISTORY_LIMIT)))[
                ::-1
            ]
        else:
            at, last_id = self._seen
            query = query.where(or_(Ticket.ended_at > at, and_(Ticket.ended_at == at, Ticket.id > last_id)))
            rows = list(session.scalars(query.order_by(Ticket.ended_at, Ticket.id)))
        for ticket in rows:
            self.estimator.learn(past_visit(ticket))
        if rows:
            self._seen = (rows[-1].ended_at, rows[-1].id)
        elif self._seen is None:
            self._seen = (now - timedelta(days=HISTORY_DAYS), 0)
        return len(rows)

    def read(self, queue: ClinicQueue) -> QueueState:
        """Read the queue and estimate everyone's wait."""
        now = queue.clock.now()
        waiting = queue.waiting()
        lines: dict[str, list[Ticket]] = defaultdict(list)
        for ticket in waiting:
            lines[ticket.service_id].append(ticket)
        state = QueueState(
            now=now,
            services=queue.services(),
            rooms=queue.rooms(),
            lines=dict(lines),
            in_rooms=queue.in_rooms(),
            recent_calls=queue.recent_calls(),
        )
        for line in lines.values():
            for place, ticket in enumerate(line, start=1):
                state.positions[ticket.id] = place
        open_tickets = waiting + state.in_rooms
        if open_tickets:
            state.messages = read_messages(queue.session, [t.id for t in open_tickets])
            if self.reach is not None:
                state.channels = self.reach(queue.session, open_tickets)
        with self._lock:
            self.learn_new_visits(queue.session, now)
            self._estimate(state)
        return state

    def _estimate(self, state: QueueState) -> None:
        serving = state.serving
        rooms = [
            RoomNow(
                id=room.id,
                services=tuple(room.service_ids),
                open=room.status == ROOM_OPEN,
                serving_since=serving[room.id].called_at if room.id in serving else None,
                serving_service=serving[room.id].service_id if room.id in serving else None,
            )
            for room in state.rooms
        ]
        kept, now = state.entries, state.now
        if kept and not state.clocked() and len(kept) == sum(map(len, state.lines.values())):
            # Carried on (``carry``): every waiting ticket's entry is kept, in line order (a
            # change only took tickets out), and none moves with the clock.  The kept entries
            # are always of tickets still waiting (``carry`` drops the touched ones), so the
            # same count is the same tickets.
            entries = kept
        else:
            entries = {}
            for service in state.services:
                for ticket in state.lines.get(service.id, ()):
                    entry = kept.get(ticket.id)
                    if entry is None or entry[1]:
                        # The rank the line is called by now: an appointment before its time
                        # waits as a walk-in (that one is worked out again at every change).
                        entry = (
                            WaitingTicket(str(ticket.id), ticket.service_id, ticket.checked_in_at, rank(ticket, now)),
                            ticket.appointment_at is not None,
                        )
                    entries[ticket.id] = entry
        state.entries = entries
        waiting = [entry for entry, _ in entries.values()]
        services = [service.id for service in state.services]
        simulated_walk_ins = not waiting
        if simulated_walk_ins:
            # Nobody waits anywhere: a walk-in of each service, simulated now.
            waiting = [WaitingTicket(f"next:{service}", service, now) for service in services]
        forecast = self.estimator.forecast(now, waiting, rooms, services)
        if forecast is not None and simulated_walk_ins:
            for key, estimate in forecast.estimates.items():
                state.next_walk_in[key[5:]] = Wait.of(estimate)
        if forecast is not None and not simulated_walk_ins:
            # ``ranges`` are in the order of ``waiting``, which is the order of ``entries``.
            state.waits = dict(zip(entries, map(Wait.of, forecast.ranges), strict=True))
            # A walk-in checking in now would join the end of each line (empty ones are
            # simulated too, with nobody in them): a look at the runs' end.
            for service in services:
                look = forecast.peek(service)
                if look is not None:
                    state.next_walk_in[service] = Wait.of(look)
        # Runs with simulated walk-ins in them cannot be carried on for a real one.
        state.forecast = None if simulated_walk_ins else forecast
        state.estimated_at = state.now

    def extend(self, earlier: QueueState, queue: ClinicQueue, ticket: Ticket) -> QueueState | None:
        """The state after ``ticket`` checked in at the back of a line, from the state before.

        Nothing is read but what changed, and the estimate carries the runs on past the
        newcomer (``Forecast.extend``) instead of running the whole queue again: a check-in
        costs the same with 5 or 5,000 waiting.  None when that is not what happened (a
        first patient of a service, someone ahead of others, a new visit learned, a new day):
        then the caller reads everything.
        """
        forecast = earlier.forecast
        now = queue.clock.now()
        line = earlier.lines.get(ticket.service_id)
        if (
            forecast is None
            or not line
            or not same_order(earlier, queue, now)
            # An appointment's rank changes at its time: read the whole queue.
            or ticket.appointment_at is not None
        ):
            return None
        with self._lock:
            if self.learn_new_visits(queue.session, now):
                return None
            newcomer = WaitingTicket(str(ticket.id), ticket.service_id, ticket.checked_in_at, ticket.priority)
            estimate = forecast.extend(newcomer, now)
            if estimate is None:
                return None
            # Every service's next walk-in: the newcomer may be ahead of them now.
            looks = {service.id: forecast.peek(service.id, now) for service in earlier.services}
        line = [*line, ticket]
        state = replace(
            earlier,
            now=now,
            lines={**earlier.lines, ticket.service_id: line},
            waits={**earlier.waits, ticket.id: Wait.of(estimate)},
            positions={**earlier.positions, ticket.id: len(line)},
            next_walk_in={
                **earlier.next_walk_in,
                **{service_id: Wait.of(look) for service_id, look in looks.items() if look is not None},
            },
            messages=dict(earlier.messages),
            planned=earlier.carried_planned(),
            told_near=set(earlier.told_near),
            channels={**earlier.channels, **(self.reach(queue.session, [ticket]) if self.reach else {})},
            version=0,
        )
        return state

    def carry(self, earlier: QueueState, queue: ClinicQueue) -> QueueState | None:
        """The state after a change that only moved known tickets on, from the state before.

        A call, a recall, a start, a finish, a no-show, a cancel or a patient leaving changes
        the tickets the change touched and nobody else: the lines lose whoever left them (the
        rest keep their order), the rooms get whoever was called, and nothing else needs to
        be read from the database.  The estimate is run again on the carried lines, exactly
        as after a full read (everyone behind a call moves; the estimator may have learned a
        finished visit).  None when the change may have put someone new into a line (a
        check-in, a transfer), a new day began or a late patient's hold ran out (``same_order``):
        then the caller reads everything.
        """
        now = queue.clock.now()
        if not same_order(earlier, queue, now):
            return None
        touched = {t.id: t for t in queue.touched}
        lines = carried_lines(earlier, touched)
        if lines is None:
            return None
        in_rooms = [t for t in earlier.in_rooms if t.id not in touched]
        in_rooms += [t for t in touched.values() if t.status in (CALLED, IN_CONSULTATION)]
        in_rooms.sort(key=lambda t: (t.called_at, t.id))
        today = queue.clinic_day(now)
        calls = {t.id: t for t in earlier.recent_calls}
        calls.update((i, t) for i, t in touched.items() if t.called_at is not None and t.clinic_day == today)
        recent = sorted(calls.values(), key=lambda t: (t.called_at, t.id), reverse=True)[:RECENT_CALLS]
        positions = line_places(earlier, lines, touched)
        open_ids = set(positions).union(t.id for t in in_rooms)
        still_open = [t for t in touched.values() if t.id in open_ids]
        messages = {i: m for i, m in earlier.messages.items() if i in open_ids and i not in touched}
        messages.update(read_messages(queue.session, [t.id for t in still_open]))
        channels = {i: c for i, c in earlier.channels.items() if i in open_ids and i not in touched}
        if self.reach is not None and still_open:
            channels.update(self.reach(queue.session, still_open))
        state = QueueState(
            now=now,
            services=earlier.services,
            rooms=earlier.rooms,
            lines=lines,
            in_rooms=in_rooms,
            recent_calls=recent,
            messages=messages,
            planned=earlier.carried_planned(),
            told_near=earlier.told_near.difference(touched),
            channels=channels,
            positions=positions,
            entries={i: e for i, e in earlier.entries.items() if i not in touched},
            timed=[t for t in earlier.clocked() if t.id not in touched]
            + [t for t in touched.values() if t.status == WAITING and moves_with_clock(t)],
        )
        with self._lock:
            self.learn_new_visits(queue.session, now)
            self._estimate(state)
        return state


def carried_lines(earlier: QueueState, touched: dict[int, Ticket]) -> dict[str, list[Ticket]] | None:
    """The lines of ``earlier`` after a change to the ``touched`` tickets (id -> ticket).

    Whoever left a line (called, cancelled, gone) is taken out, whoever still waits keeps
    their place (as the ticket the change holds); nobody else is looked at, so a call costs
    the same with 50 or 5,000 waiting.  None when the change put someone into a line or
    moved them to another: where they stand there is for the database to say.
    """
    lines = dict(earlier.lines)
    places = earlier.positions
    for ticket_id, ticket in touched.items():
        place = places.get(ticket_id)
        waiting = ticket.status == WAITING
        if place is None:
            if waiting:
                return None  # someone joined a line
            continue
        line = lines.get(ticket.service_id)
        if line is None or place > len(line) or line[place - 1].id != ticket_id:
            return None  # moved to another line (or not where the state had them)
        if line is earlier.lines.get(ticket.service_id):
            line = lines[ticket.service_id] = list(line)
        line[place - 1] = ticket if waiting else None
    for service_id, line in list(lines.items()):
        if line is not earlier.lines.get(service_id):
            kept = [t for t in line if t is not None]
            if kept:
                lines[service_id] = kept
            else:
                del lines[service_id]
    return lines


def line_places(earlier: QueueState, lines: dict[str, list[Ticket]], touched: dict[int, Ticket]) -> dict[int, int]:
    """ticket id -> place in line, numbered again only in the lines someone left (``carried_lines``
    makes a new list only for those: a start or a finish leaves the line as it was)."""
    changed = [service_id for service_id, line in lines.items() if line is not earlier.lines.get(service_id)]
    positions = {i: p for i, p in earlier.positions.items() if i not in touched}
    for service_id in changed:
        for place, ticket in enumerate(lines.get(service_id, ()), start=1):
            positions[ticket.id] = place
    # Lines the change emptied are gone from ``lines``; their last patients left with it.
    return positions


def same_order(earlier: QueueState, queue: ClinicQueue, now: datetime) -> bool:
    """Whether the lines of ``earlier`` still stand in the same order at ``now``.

    Not on a new clinic day, nor once anyone's place in line has moved with the clock since:
    a late patient's hold running out (``late_hold``), an appointment's time coming
    (``appointment_rank``).
    """
    if queue.clinic_day(now) != queue.clinic_day(earlier.now):
        return False
    then = earlier.now
    # Only a hold or an appointment's time makes a place move with the clock: the others
    # (nearly everyone) are not looked at.
    return all(line_key(t, then) == line_key(t, now) for t in earlier.clocked())


def moves_with_clock(ticket: Ticket) -> bool:
    """Whether a waiting ticket's place in line can change with time alone."""
    return ticket.held_until is not None or ticket.appointment_at is not None


def read_messages(session, ticket_ids: list[int]) -> dict[int, list[Message]]:
    """ticket id -> the patient's messages, oldest first."""
    messages: dict[int, list[Message]] = {}
    if ticket_ids:
        for message in session.scalars(
            select(Message).where(Message.ticket_id.in_(ticket_ids)).order_by(Message.created_at, Message.id)
        ):
            messages.setdefault(message.ticket_id, []).append(message)
    return messages


def past_visit(ticket: Ticket) -> PastVisit:
    """A closed ticket as the estimator learns it."""
    outcome = OUTCOMES[ticket.status]
    return PastVisit(
        service=ticket.service_id,
        room=ticket.room_id,
        checked_in_at=ticket.checked_in_at,
        called_at=ticket.called_at if outcome != "left" else None,
        finished_at=ticket.ended_at if outcome == "served" else None,
        outcome=outcome,
        ended_at=ticket.ended_at,
    )
