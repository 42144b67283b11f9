"""Holding a lock on a name (a phone number, a Telegram chat, a ticket) until the commit.

Two deliveries from a number that never wrote before have no row to lock: each would read
"no conversation yet" and open its own.  PostgreSQL has advisory locks keyed by a number,
taken per name so that different patients never wait for each other; SQLite lets one
writer in at a time, so beginning to write takes its lock (for the whole file).  Either
way the lock belongs to the transaction: the commit or the rollback lets the next holder
in, and that one then reads what the first committed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.orm import Session


def lock_key(name: str) -> int:
    """A signed 64-bit number for ``name``, the same in every process (``hash()`` is not)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def hold(session: Session, names: Iterable[str]) -> None:
    """Wait until no other transaction holds any of ``names``, then hold them until the commit."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # One order everywhere: two transactions wanting the same two names never wait on each other.
        for name in sorted(set(names)):
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(name)})
    elif dialect == "sqlite":
        # A write that changes nothing still begins the write transaction: the file's lock.
        session.execute(text("UPDATE queue_version SET version = version WHERE 0"))
