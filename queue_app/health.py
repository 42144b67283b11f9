"""``/healthz`` and ``/readyz``: what a load balancer or an orchestrator asks of each process.

``/healthz`` says the process answers at all; it touches nothing, so a database outage never
makes an orchestrator restart healthy processes.  ``/readyz`` says the process can serve a
clinic now: its database answers and, when several processes share live updates through
``[realtime] message_queue``, so does Redis.  A balancer sends patients elsewhere while it
is 503.  Neither needs a token, so neither says more than which part failed.
"""

from __future__ import annotations

import logging

import redis
from flask import Blueprint, jsonify
from sqlalchemy import text

from .api.errors import outage_reason
from .extensions import db
from .runtime import runtime

health = Blueprint("health", __name__)
log = logging.getLogger(__name__)

#: Seconds each readiness check may take: a balancer asks every few seconds.
CHECK_TIMEOUT_SECONDS = 2
RETRY_AFTER_SECONDS = 5


@health.get("/healthz")
def healthz():
    """200 while the process answers requests; nothing else is asked."""
    return jsonify({"status": "ok"})


@health.get("/readyz")
def readyz():
    """200 when the database (and the message queue, if configured) answer; else 503 naming which did not."""
    checks = {"database": _database_check()}
    message_queue = runtime().settings.message_queue
    if message_queue:
        checks["message_queue"] = message_queue_check(message_queue)
    failed = [name for name, result in checks.items() if result != "ok"]
    if not failed:
        return jsonify({"status": "ready", "checks": checks})
    body = {
        "error": {"code": "unavailable", "message": f"not ready: {', '.join(failed)} unreachable"},
        "checks": checks,
    }
    return jsonify(body), 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}


def _database_check() -> str:
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"; the log says which
        log.warning("readiness: database unreachable: %s", outage_reason(exc))
        return "unreachable"
    return "ok"


def message_queue_check(url: str) -> str:
    """``ok`` when the Redis at ``url`` answers a ping within the timeout, else ``unreachable``."""
    client = redis.Redis.from_url(
        url, socket_connect_timeout=CHECK_TIMEOUT_SECONDS, socket_timeout=CHECK_TIMEOUT_SECONDS
    )
    try:
        client.ping()
    except redis.RedisError as exc:
        log.warning("readiness: message queue unreachable: %s", exc)
        return "unreachable"
    finally:
        client.close()
    return "ok"
