"""The extensions, created unbound here and bound to an app in ``create_app``.

``db`` is a small holder for the SQLAlchemy engine and a scoped session (one session per
thread or green thread), so the domain, the CLI and the dispatcher use plain SQLAlchemy
without Flask in between.  ``socketio`` is Flask-SocketIO; its async mode comes from the
configuration.
"""

from __future__ import annotations

from flask_socketio import SocketIO
from sqlalchemy import create_engine, event
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

    def init_app(self, app, url: str) -> None:
        """Bind to ``app``: one engine, and the session removed after each request."""
        self.configure(url)
        app.teardown_appcontext(lambda exc: self.session.remove())


def make_engine(url: str) -> Engine:
    """An engine with the settings each database needs for a live queue.

    SQLite gets write-ahead logging (readers never wait for the writer), a busy timeout
    (a second writer waits instead of failing) and foreign keys switched on.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

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


db = Database()
socketio = SocketIO()
