"""The key that signs staff sessions when the configuration gives none: random, kept in the database.

A constant fallback key would let anyone who reads this code sign a session cookie for any
user.  So a clinic that leaves ``[server] secret_key`` empty gets a random key, made once and
stored in the ``server_secrets`` table, so that every process on the same database (two
``serve`` processes behind nginx, a plain WSGI runner) signs and accepts the same cookies.

It is read when the first request needs it, not in ``create_app``, which only wires things up
and must not write.  Two processes may both find no key and both try to store one; the primary
key lets one INSERT win, and the loser reads the winner's key.

The price: a copy of the database can forge sessions.  A clinic that keeps database backups
where staff passwords would not be kept sets ``[server] secret_key`` (32 bytes or more).
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from .models import ServerSecret

#: The row of ``server_secrets`` that holds the session key.
SESSION_KEY = "session_key"
#: Bytes of randomness in a made key (64 URL-safe characters).
KEY_BYTES = 48


def stored_session_key(engine: Engine, now: datetime) -> str:
    """The session key kept in the database, made and stored first if there is none yet."""
    with engine.connect() as connection:
        found = connection.scalar(select(ServerSecret.value).where(ServerSecret.name == SESSION_KEY))
    if found:
        return found
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(ServerSecret).values(name=SESSION_KEY, value=secrets.token_urlsafe(KEY_BYTES), created_at=now)
            )
    except IntegrityError:
        pass  # another process stored its key first; everyone uses that one
    with engine.connect() as connection:
        return connection.scalar(select(ServerSecret.value).where(ServerSecret.name == SESSION_KEY))
