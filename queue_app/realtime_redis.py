"""Redis between server processes: python-socketio's manager, told when the channel comes back.

With several server processes, an event reaches the clients of the process that made the
change directly, and those of the others through Redis.  While Redis refuses connections,
python-socketio's ``RedisManager`` logs each event it could not publish ("Cannot publish to
redis... giving up") and drops it: a committed change is not undone, and the request that
made it still succeeds.  Its listener retries by itself, waiting 1, 2, 4 ... up to 60
seconds.  Whatever was said in between is lost for the other processes' clients.

When Redis does not answer at all (its host or the network is down), the plain manager
waits for an answer without a time limit, and the request that made the change hangs until
Redis is back: a kiosk prints no ticket, a "call next" spins.  Here publishing waits at most
``PUBLISH_TIMEOUT`` (twice: one retry on a fresh connection), and after a publish that got
no answer, events are dropped without waiting for ``SILENT_PAUSE``.  A dropped event is one
more gap for the clients to resync.

Each event carries the queue's version, so a client finds out at the next change that it
missed some and asks for a resync.  That next change may be minutes away, while a call made
during the outage is not on the TV.  So this manager also says when its listener has
subscribed to the channel again, and the server then sends its own clients the latest
snapshot (``realtime.resync_here``): the clients resync when the message queue comes back.

After a change, the phones' personal events travel as one message (``personal_events``),
which each process hands to its own clients (``_handle_emit``).

All of this leans on private parts of ``RedisManager`` (``_redis_connect``, ``_publish``,
``_handle_emit`` and ``_redis_listen_with_retries``, python-socketio 5.x); if a later version
renames them, the manager behaves as the plain one and clients still resync at the next
change (a batch nobody unpacks goes to a room nobody is in).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import redis
import socketio
from redis.backoff import NoBackoff
from redis.retry import Retry

from .personal_events import EACH, send_local

log = logging.getLogger(__name__)

#: Seconds a publish waits for Redis to connect or answer (it answers in well under 1 ms).
PUBLISH_TIMEOUT = 1.0
#: Seconds events are dropped without waiting after a publish Redis did not answer.
SILENT_PAUSE = 10.0
#: The Socket.IO room every patient's phone is in, and the event that asks them to resync.
PHONES = "phones"
MISSED = "missed"


class ResyncingRedisManager(socketio.RedisManager):
    """``RedisManager`` that calls ``on_back`` each time its listener subscribes again, and
    whose publishing never waits long for a Redis that does not answer."""

    def __init__(self, url: str, channel: str, on_back: Callable[[], None]) -> None:
        super().__init__(url, channel=channel)
        self.on_back = on_back
        self._subscriptions = 0
        self._silent_until = 0.0
        self._failing = False

    def _redis_connect(self):
        super()._redis_connect()
        # Hear the confirmations of our own subscriptions (the plain manager ignores them):
        # each one after the first means the listener lost the channel and has it again.
        self.pubsub = self.redis.pubsub(ignore_subscribe_messages=False)
        # Publish on a client of its own with time limits; the listener's stays without one,
        # since it waits for messages as long as the queue is quiet.
        self.redis = redis.Redis.from_url(
            self.redis_url,
            socket_timeout=PUBLISH_TIMEOUT,
            socket_connect_timeout=PUBLISH_TIMEOUT,
            retry=Retry(NoBackoff(), 1),
        )

    def _publish(self, data):
        """Publish one event to the other processes; on failure log (once) and drop it."""
        if time.monotonic() < self._silent_until:
            return None
        try:
            if not self.connected:
                self._redis_connect()
            result = self.redis.publish(self.channel, self.json.dumps(data))
        except Exception as exc:  # whatever Redis raises, the committed change stands
            self.connected = False
            if isinstance(exc, redis.TimeoutError):
                self._silent_until = time.monotonic() + SILENT_PAUSE
            if not self._failing:
                self._failing = True
                log.error("cannot publish to Redis (%s): other processes' clients resync when it is back", exc)
            return None
        if self._failing:
            self._failing = False
            log.warning("publishing to Redis again")
            # Phones hear only their own news, so a skipped number tells them nothing: every
            # phone, on every process, is told that something may have been dropped.
            self.emit(MISSED, {}, namespace="/", room=PHONES)
        return result

    def _handle_emit(self, message):
        """A batch of personal events (``personal_events.EACH``): this process's part of it."""
        if message.get("event") == EACH:
            data = message.get("data")
            if isinstance(data, list) and len(data) == 1 and isinstance(data[0], list):
                send_local(self.server, (tuple(item) for item in data[0] if len(item) == 2))
            return None
        return super()._handle_emit(message)

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
