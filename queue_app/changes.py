"""How a queue change is finished: decide its messages, commit, then tell every client.

Every handler that changes the queue ends with ``finish_change``.  The order matters:
messages are written into the change's own transaction (the outbox), so the change and the
promise to tell the patient are committed together or not at all; clients are told only
after the commit, so nobody sees a change that was rolled back; and the dispatcher is woken
to send at once.
"""

from __future__ import annotations

from .board import QueueState
from .extensions import db
from .models import Ticket
from .queue import ClinicQueue
from .realtime import publish
from .runtime import clinic_queue, patient_link_base, runtime


def finish_change(queue: ClinicQueue, base_url: str, called: Ticket | None = None) -> QueueState:
    """Plan messages, commit, publish; return the state that was published."""
    rt = runtime()
    state = rt.board.read(queue)
    messages = rt.outbox.plan(queue.session, state, queue.happened, state.now, base_url)
    queue.session.commit()
    publish(state, queue.touched, called=called)
    if messages and rt.dispatcher is not None:
        rt.dispatcher.wake()
    queue.happened.clear()
    return state


def time_passed(app, base_url: str | None = None) -> int:
    """Nothing changed but the clock: tell whoever is near now; return how many messages.

    Estimates shrink as minutes pass between changes, and a patient who needs half an hour
    to come back must not wait for the next "call next" to be told.  The dispatcher's loop
    calls this once a minute.  Only when it decides a message does it commit and publish
    (staff see the message planned); otherwise it changes nothing.
    """
    with app.app_context():
        try:
            queue = clinic_queue()
            rt = runtime()
            base_url = base_url or patient_link_base().url
            state = rt.board.read(queue)
            messages = rt.outbox.plan(queue.session, state, (), state.now, base_url)
            if not messages:
                queue.session.rollback()
                return 0
            queue.session.commit()
            publish(state, {queue.session.get(Ticket, m.ticket_id) for m in messages} - {None})
            if rt.dispatcher is not None:
                rt.dispatcher.wake()
            return len(messages)
        finally:
            db.session.remove()
