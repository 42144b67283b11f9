"""How a queue change is finished: decide its messages, commit, then tell every client.

Every handler that changes the queue ends with ``finish_change``.  The order matters:
messages are written into the change's own transaction (the outbox), so the change and the
promise to tell the patient are committed together or not at all; clients are told only
after the commit, so nobody sees a change that was rolled back; and the dispatcher is woken
to send at once.
"""

from __future__ import annotations

from .board import QueueState
from .models import Ticket
from .queue import ClinicQueue
from .realtime import publish
from .runtime import runtime


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
