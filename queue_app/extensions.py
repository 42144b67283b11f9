"""The extensions, created unbound here and bound to an app in ``create_app``.

``db`` is a small holder for the SQLAlchemy engine and a scoped session (one session per
thread or green thread), so the domain, the CLI and the dispatcher use plain SQLAlchemy
without Flask in between.  ``socketio`` is Flask-SocketIO; its async mode comes from the
configuration.  ``limiter`` is Flask-Limiter: how often a caller may guess a password or
check in anonymously (``throttles.py`` says which limits, and where they are counted).
"""

from __future__ import annotations

import os
from pathlib import Path

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_socketio import SocketIO
from sqlalchemy import create_engine, event, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.orm import scoped_session, sessionmaker


class Database:
    """An engine and a scoped session factory for one database URL."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.session = scoped_session(sessionmaker(expire_on_commit=False))

    def configure(self, url: str) -> Engine:
        """Create the engine for ``url`` (lazily: nothing connects until first use)."""
        if self.engine is not None:
            self.engine.dispose()
        self.engine = make_engine(url)
        self.session.remove()
        self.session.configure(bind=self.engine)
        return self.engine

    def init_app(self, app, url: str) -> Engine:
        """Bind to ``app``: one engine, and the session removed after each request."""
        engine = self.configure(url)
        app.teardown_appcontext(lambda exc: self.session.remove())
        return engine


def make_engine(url: str) -> Engine:
    """An engine with the settings each database needs for a live queue.

    SQLite gets write-ahead logging (readers never wait for the writer), a busy timeout
    (a second writer waits instead of failing) and foreign keys switched on.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        database_file = make_url(url).database

        @event.listens_for(engine, "do_connect")
        def _private_file(_dialect, _record, _cargs, _cparams):
            if database_file and database_file != ":memory:" and not database_file.startswith("file:"):
                create_private_file(Path(database_file))

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            if ":memory:" not in url and url not in ("sqlite://", "sqlite:///"):
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    # A database host that vanished (no "connection refused", just silence) would hold each
    # request for minutes; a few seconds and the request answers 503 instead.
    connect_args = {"connect_timeout": 5} if url.startswith("postgresql") and "connect_timeout" not in url else {}
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args=connect_args)


def create_private_file(path: Path) -> None:
    """Create ``path`` readable by this user only (0600, its new folder 0700), if it is not there.

    SQLite would create the database with the umask's permissions, usually readable by every
    user of the machine; it gives its journal and WAL files the database file's own permissions,
    so making the file first, private, keeps all of them private.  An existing file is left as it is.
    """
    if path.exists():
        return
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass  # another process made it first


db = Database()
socketio = SocketIO()
# A moving window: a guesser cannot spend two minutes' worth of tries across a minute's edge.
# Headers on: a refused caller is told when to come back (Retry-After).  Redis down: each
# process counts in its own memory until Redis is back, rather than failing every sign-in.
limiter = Limiter(get_remote_address, strategy="moving-window", headers_enabled=True, in_memory_fallback_enabled=True)
