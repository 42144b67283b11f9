"""Waiting-room queue, display and notifier service for clinics.

``create_app`` only wires things together: it reads the configuration, binds the database
and Socket.IO, and registers the blueprints.  It writes nothing and connects to nothing, so
importing the app (tests, the CLI, a WSGI server) never changes a clinic's data.
"""

from __future__ import annotations


def create_app(config=None, *, clock=None):
    """Build the Flask app.

    ``config`` is a ``Settings``, a path to a TOML file, or None for the default file.
    ``clock`` replaces the system clock (tests drive time with ``ManualClock``).
    """
    # Imported here so that `queue-app serve` can choose and prepare the async mode before
    # Flask, Socket.IO and the database driver are imported.
    from flask import Flask
    from sqlalchemy.orm import Session

    from . import changes, realtime  # realtime registers the Socket.IO handlers
    from .api import api
    from .board import QueueBoard
    from .clock import SystemClock
    from .config import Settings, load_settings
    from .extensions import db, socketio
    from .health import health
    from .hooks import hooks
    from .notify.dispatcher import Dispatcher
    from .notify.outbox import Outbox
    from .pages import init_babel, pages
    from .pages.demo import demo_pages
    from .runtime import Runtime

    settings = config if isinstance(config, Settings) else load_settings(config)
    app = Flask(__name__, instance_relative_config=False)
    app.config.update(
        SECRET_KEY=settings.secret_key or "dev-only-not-secret",
        MAX_CONTENT_LENGTH=64 * 1024,
        JSON_SORT_KEYS=False,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    clock = clock or SystemClock()
    channels = settings.notify.build_channels()
    db.init_app(app, settings.database_url)
    outbox = Outbox(settings, channels, clock)
    app.extensions["queue_app"] = Runtime(
        settings,
        QueueBoard(settings, reach=outbox.reachability),
        clock,
        outbox=outbox,
        dispatcher=Dispatcher(
            settings,
            lambda: Session(db.engine, expire_on_commit=False),
            channels,
            clock,
            on_delivery=lambda delivery: realtime.report_delivery(app, delivery),
            on_tick=lambda: changes.time_passed(app),
        ),
    )
    socketio.init_app(
        app,
        async_mode=settings.async_mode,
        message_queue=settings.message_queue or None,
        channel=settings.channel,
    )
    app.register_blueprint(api)
    app.register_blueprint(hooks)
    app.register_blueprint(pages)
    app.register_blueprint(demo_pages)  # 404 outside demo mode
    app.register_blueprint(health)
    init_babel(app)
    return app
