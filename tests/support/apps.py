"""A clinic app for one test: created over migrated settings, its database let go afterwards.

Every fixture that needs an app (the plain clinic, the demo clinic, the same clinic on SQLite
and on PostgreSQL) builds it here, so they all run the app as ``queue-app serve`` would: on a
database migrated first, with the connection pool closed when the test ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from queue_app import create_app
from queue_app.extensions import db


@contextmanager
def clinic_app(settings, clock) -> Iterator:
    """The app over ``settings`` (already migrated), testing on, closed on the way out."""
    app = create_app(settings, clock=clock)
    app.config["TESTING"] = True
    try:
        yield app
    finally:
        db.session.remove()
        db.engine.dispose()
