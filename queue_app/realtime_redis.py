"""Redis between server processes: python-socketio's manager, told when the channel comes back.

With several server processes, an event reaches the clients of the process that made the
change directly, and those of the others through Redis.  While Redis is unreachable,
python-socketio's ``RedisManager`` logs each event it could not publish ("Cannot publish to
redis... giving up") and drops it: a committed change is not undone, and the request that
made it still succeeds.  Its listener retries by itself, waiting 1, 2, 4 ... up to 60
seconds.  Whatever was said in between is lost for the other processes' clients.

Each event carries the queue's version, so a client finds out at the next change that it
missed some and asks for a resync.  That next change may be minutes away, while a call made
during the outage is not on the TV.  So this manager also says when its listener has
subscribed to the channel again, and the server then sends its own clients the latest
snapshot (``realtime.resync_here``): the clients resync when the message queue comes back.

The hook leans on two private parts of ``RedisManager`` (``_redis_connect`` and
``_redis_listen_with_retries``, python-socketio 5.x); if a later version renames them, the
manager behaves as the plain one and clients still resync at the next change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import socketio

log = logging.getLogger(__name__)


class ResyncingRedisManager(socketio.RedisManager):
    """``RedisManager`` that calls ``on_back`` each time its listener subscribes again."""

    def __init__(self, url: str, channel: str, on_back: Callable[[], None]) -> None:
        super().__init__(url, channel=channel)
        self.on_back = on_back
        self._subscriptions = 0

    def _redis_connect(self):
        super()._redis_connect()
        # Hear the confirmations of our own subscriptions (the plain manager ignores them):
        # each one after the first means the listener lost the channel and has it again.
        self.pubsub = self.redis.pubsub(ignore_subscribe_messages=False)

    def _redis_listen_with_retries(self):
        for message in super()._redis_listen_with_retries():
            if message.get("type") == "subscribe":
                self._subscriptions += 1
                if self._subscriptions > 1:
                    log.warning("the message queue is back: resyncing this process's clients")
                    self.on_back()
                continue
            yield message


def client_manager(settings, on_back: Callable[[], None]) -> ResyncingRedisManager | None:
    """The manager for ``[realtime] message_queue``; None for one process alone (no Redis)."""
    if not settings.message_queue:
        return None
    return ResyncingRedisManager(settings.message_queue, settings.channel, on_back)
