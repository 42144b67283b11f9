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

    from . import realtime, realtime_redis, response_headers  # realtime registers the Socket.IO handlers
    from .api import api
    from .board import QueueBoard
    from .clinic import Clinic
    from .clock import SystemClock
    from .config import Settings, load_settings
    from .extensions import db, socketio
    from .health import health
    from .hooks import hooks
    from .notify.dispatcher import Dispatcher
    from .notify.outbox import Outbox
    from .notify.replies import ReplySender
    from .pages import init_babel, pages
    from .pages.demo import demo_pages
    from .pages.widget import widget_pages
    from .proxies import TrustedProxies
    from .runtime import Runtime, look_again
    from .session_key import stored_session_key
    from .staff_sessions import ClinicSessionInterface
    from .throttles import bind_limiter

    settings = config if isinstance(config, Settings) else load_settings(config)
    app = Flask(__name__, instance_relative_config=False)
    app.config.update(
        MAX_CONTENT_LENGTH=64 * 1024,
        JSON_SORT_KEYS=False,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_url.startswith("https://"),
    )
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    clock = clock or SystemClock()
    channels = settings.notify.build_channels()
    engine = db.init_app(app, settings.database_url)
    # Sessions are signed with the configured key, else with one kept in the database and
    # read at the first request (never a constant; nothing is written here).
    app.session_interface = ClinicSessionInterface(
        (lambda: settings.secret_key) if settings.secret_key else (lambda: stored_session_key(engine, clock.now()))
    )
    outbox = Outbox(settings, channels, clock)
    board = QueueBoard(settings, reach=outbox.reachability)

    def new_session():
        return Session(db.engine, expire_on_commit=False)

    clinic = Clinic(settings, board, outbox, clock, realtime.SocketIOPublisher(settings), new_session)
    dispatcher = Dispatcher(
        settings,
        new_session,
        channels,
        clock,
        on_delivery=clinic.delivered,
        on_tick=lambda: look_again(app),
    )
    clinic.wake = dispatcher.wake
    dispatcher.replies = ReplySender(settings, new_session, channels, clock, on_change=clinic.answer_moved)
    app.extensions["queue_app"] = Runtime(settings, board, clock, outbox=outbox, clinic=clinic, dispatcher=dispatcher)
    socketio.init_app(
        app,
        async_mode=settings.async_mode,
        # Redis between processes; clients resync when it comes back after an outage.
        client_manager=realtime_redis.client_manager(
            settings, on_back=lambda: socketio.start_background_task(realtime.resync_here, app)
        ),
    )
    bind_limiter(app, settings)
    app.register_blueprint(api)
    app.register_blueprint(hooks)
    app.register_blueprint(pages)
    app.register_blueprint(demo_pages)  # 404 outside demo mode
    app.register_blueprint(widget_pages)
    app.register_blueprint(health)
    init_babel(app)
    response_headers.init_app(app)
    # Outermost, so that Socket.IO's handshake sees the client's address and scheme too.
    app.wsgi_app = TrustedProxies(app.wsgi_app, settings.trusted_proxies)
    return app
