"""The ``queue-app`` subcommands: serve, db upgrade, demo, users, tokens, end of day."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .config import ConfigError, Settings, load_settings


class Context:
    """The settings and, on demand, a database engine and session for one command."""

    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path
        self._settings: Settings | None = None
        self._engine = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_settings(self.config_path)
            except ConfigError as exc:
                raise click.ClickException(str(exc)) from None
        return self._settings

    @property
    def engine(self):
        if self._engine is None:
            from .extensions import make_engine

            url = self.settings.database_url
            _make_sqlite_folder(url)
            self._engine = make_engine(url)
        return self._engine

    def session(self):
        from sqlalchemy.orm import Session

        return Session(self.engine, expire_on_commit=False)

    def require_current_schema(self) -> None:
        from .migrate import is_current

        if not is_current(self.engine):
            raise click.ClickException("the database is not up to date; run `queue-app db upgrade` first")


def _make_sqlite_folder(url: str) -> None:
    """Create the folder of a SQLite file, so a fresh machine needs no manual step.

    Only this user may enter it: it holds patients' phone numbers.
    """
    if url.startswith("sqlite:///") and ":memory:" not in url:
        path = Path(url[len("sqlite:///") :])
        if str(path):
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)


pass_context = click.make_pass_decorator(Context)


@click.group()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="TOML configuration (default: ./config.toml, else config.example.toml)",
)
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """Waiting-room queue, display and notifier service for clinics."""
    ctx.obj = Context(config_path)


# -- database ----------------------------------------------------------------------------------


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@pass_context
def db_upgrade(ctx: Context) -> None:
    """Create or migrate the database, then apply the configured services and rooms."""
    from .clinic_setup import sync_clinic
    from .migrate import upgrade

    upgrade(ctx.engine)
    with ctx.session() as session, session.begin():
        sync_clinic(session, ctx.settings)
    click.echo(f"database is up to date ({ctx.engine.url.render_as_string(hide_password=True)})")


# -- demo, users, tokens -----------------------------------------------------------------------


@cli.command()
@click.option("--if-empty", is_flag=True, help="do nothing (and succeed) when the database has data")
@pass_context
def demo(ctx: Context, if_empty: bool) -> None:
    """Load the demo clinic: its services and rooms, an admin, a staff user, kiosk and TV tokens."""
    from .clinic_setup import DEMO_USERS, is_empty, load_demo
    from .clock import SystemClock
    from .links import choose_link_base, machine_address

    ctx.require_current_schema()
    with ctx.session() as session, session.begin():
        if not is_empty(session):
            if if_empty:
                click.echo("the database already has data; demo not loaded")
                return
            raise click.ClickException("the database already has data; the demo needs an empty one")
        tokens = load_demo(session, ctx.settings, SystemClock().now())
    # The tokens are shown here, once, and kept nowhere but (hashed) in the database: pair the
    # kiosk and the TV with them now; `queue-app create-token` makes new ones.
    click.echo("demo clinic loaded:")
    for username, password, role, _ in DEMO_USERS:
        click.echo(f"  {role:6} login: {username} / {password}")
    base = choose_link_base(
        public_url=ctx.settings.public_url,
        allowed_hosts=(),
        asked_host=None,
        scheme="http",
        listen_host=ctx.settings.host,
        port=ctx.settings.port,
        machine_address=machine_address,
    ).url
    click.echo("pair the devices once, with these addresses (the tokens are not shown again):")
    click.echo(f"  reception kiosk: {base}/kiosk?pair={tokens['kiosk']}")
    click.echo(f"  waiting-room TV: {base}/display?pair={tokens['display']}")


@cli.command("create-user")
@click.option("--username", required=True)
@click.option("--role", type=click.Choice(["admin", "staff"]), default="staff", show_default=True)
@click.option("--name", "display_name", default="", help="the name colleagues know them by")
@click.password_option(help="at least 8 characters; asked for when not given")
@pass_context
def create_user_command(ctx: Context, username: str, role: str, display_name: str, password: str) -> None:
    """Add a staff user who signs in with a password."""
    from .auth import create_user
    from .clock import SystemClock
    from .queue import QueueError

    ctx.require_current_schema()
    try:
        with ctx.session() as session, session.begin():
            create_user(session, username, password, role, SystemClock().now(), display_name)
    except QueueError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"user {username} ({role}) created")


@cli.command("set-password")
@click.option("--username", required=True)
@click.password_option(help="at least 8 characters; asked for when not given")
@pass_context
def set_password_command(ctx: Context, username: str, password: str) -> None:
    """Give a staff user a new password; every session they have now ends."""
    from .auth import set_password
    from .queue import QueueError

    ctx.require_current_schema()
    try:
        with ctx.session() as session, session.begin():
            set_password(session, username, password)
    except QueueError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"password of {username} changed; their sessions have ended")


@cli.command("deactivate-user")
@click.option("--username", required=True)
@pass_context
def deactivate_user_command(ctx: Context, username: str) -> None:
    """Stop a staff user from signing in (someone who left); their sessions end at once."""
    from .auth import deactivate_user
    from .queue import QueueError

    ctx.require_current_schema()
    try:
        with ctx.session() as session, session.begin():
            deactivate_user(session, username)
    except QueueError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"user {username} deactivated; their sessions have ended")


@cli.command("create-token")
@click.option("--role", required=True, type=click.Choice(["admin", "staff", "kiosk", "display"]))
@click.option("--name", required=True, help="what the token is for, e.g. 'Lobby kiosk'")
@pass_context
def create_token(ctx: Context, role: str, name: str) -> None:
    """Make an API token; it is printed once, as the last line, and stored only hashed."""
    from .auth import issue_api_token
    from .clock import SystemClock
    from .queue import QueueError

    ctx.require_current_schema()
    try:
        with ctx.session() as session, session.begin():
            token = issue_api_token(session, role, name, SystemClock().now())
    except QueueError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"{role} token for {name!r} (keep it secret; it is not shown again):")
    click.echo(token)


@cli.command("vapid-keys")
def vapid_keys() -> None:
    """Make a key pair for web push; put the private key in [channels.webpush]."""
    from .notify.channels.webpush import generate_vapid_keys

    private, public = generate_vapid_keys()
    click.echo("# in config.toml, or as QUEUE_APP_CHANNELS_WEBPUSH_VAPID_PRIVATE_KEY:")
    click.echo("[channels.webpush]")
    click.echo(f'vapid_private_key = "{private}"')
    click.echo(f"# public key (served to browsers at /api/v1/push/key): {public}")


# -- visit history and the wait estimator --------------------------------------------------


@cli.command("export-visits")
@click.option("--from", "first", required=True, type=click.DateTime(["%Y-%m-%d"]), help="first clinic day")
@click.option("--to", "last", required=True, type=click.DateTime(["%Y-%m-%d"]), help="last clinic day")
@click.option("--output", required=True, type=click.Path(dir_okay=False))
@pass_context
def export_visits(ctx: Context, first, last, output: str) -> None:
    """Write the clinic's visits in the visit log format (no personal data in it)."""
    from sqlalchemy import select

    from .models import FINISHED, LEFT, NO_SHOW, Ticket
    from .visits import Visit, write_visits

    ctx.require_current_schema()
    tz = ctx.settings.timezone
    outcomes = {FINISHED: "served", NO_SHOW: "no_show", LEFT: "left"}
    with ctx.session() as session:
        tickets = session.scalars(
            select(Ticket).where(
                Ticket.clinic_day >= first.date(),
                Ticket.clinic_day <= last.date(),
                Ticket.status.in_(tuple(outcomes)),
            )
        ).all()
        visits = [
            Visit(
                visit_id=f"{t.clinic_day:%Y%m%d}-{t.id:06d}",
                service=t.service_id,
                checked_in_at=t.checked_in_at.astimezone(tz),
                called_at=t.called_at.astimezone(tz) if t.called_at and t.status != LEFT else None,
                finished_at=t.ended_at.astimezone(tz) if t.status == FINISHED else None,
                room=t.room_id if t.status != LEFT else None,
                outcome=outcomes[t.status],
            )
            for t in tickets
        ]
    count = write_visits(visits, output)
    click.echo(f"wrote {count} visit(s) to {output}")


@cli.command()
@click.argument("visits", type=click.Path(exists=True, dir_okay=False))
@click.option("--output", required=True, type=click.Path(dir_okay=False), help="predictions CSV")
@click.option("--progress/--no-progress", default=None, help="progress bar (default: on a terminal)")
@pass_context
def backtest(ctx: Context, visits: str, output: str, progress: bool | None) -> None:
    """Replay a visit log through the live estimator; print its errors beside the baseline's."""
    from .backtest import format_report, run_backtest
    from .visits import VisitLogError

    try:
        report = run_backtest(visits, output, ctx.settings.estimator, progress=progress)
    except VisitLogError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(format_report(report))


# -- end of day --------------------------------------------------------------------------------


@cli.command("expire-day")
@click.option("--today", is_flag=True, help="also expire today's open tickets (after closing)")
@pass_context
def expire_day(ctx: Context, today: bool) -> None:
    """Expire tickets left open at the end of the day; erase personal data past retention."""
    from datetime import timedelta

    from .appointments import Appointments
    from .clinic import next_queue_version
    from .clock import SystemClock
    from .conversations import Inbox
    from .queue import ClinicQueue

    ctx.require_current_schema()
    settings = ctx.settings
    with ctx.session() as session, session.begin():
        queue = ClinicQueue(session, SystemClock(), settings.timezone)
        through = queue.clinic_day() if today else queue.clinic_day() - timedelta(days=1)
        expired = queue.expire_open_tickets(through)
        erased = queue.erase_personal_data(settings.retention_days)
        erased_appointments = Appointments(session, queue.clock, settings, "").erase_personal_data(
            settings.retention_days
        )
        # Patients' messages follow the same limit: bodies and contacts, not that they wrote.
        conversations = Inbox(queue, settings).erase_older_than(settings.retention_days)
        if expired:
            # A change like any other for the servers' kept snapshots: read again, not shown.
            next_queue_version(session)
    click.echo(f"expired {len(expired)} open ticket(s) through {through}")
    click.echo(f"erased the phone numbers of {erased} visit(s) older than {settings.retention_days} days")
    click.echo(f"and of {erased_appointments} appointment(s)")
    click.echo(f"erased the messages and contacts of {conversations} conversation(s) silent for longer")


@cli.command("import-appointments")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False))
@pass_context
def import_appointments_command(ctx: Context, csv_file: str) -> None:
    """Import appointments from a CSV (service,starts_at,phone,language,preparation,reference).

    All or nothing: any bad row lists every bad row with its line and imports none (exit 1).
    A row already imported (same reference and time) is not added again.
    """
    from .appointment_import import import_appointments
    from .clock import SystemClock

    ctx.require_current_schema()
    settings = ctx.settings
    try:
        text = Path(csv_file).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise click.ClickException(f"{csv_file} is not UTF-8 text") from None
    with ctx.session() as session:
        result = import_appointments(session, SystemClock(), settings, text, settings.public_url)
        if not result.bad:
            session.commit()
    if result.bad:
        for line in result.bad:
            click.echo(str(line), err=True)
        raise click.ClickException(f"nothing imported: {len(result.bad)} bad line(s)")
    click.echo(f"imported {result.added} appointment(s); {result.already} already there")


# -- production --------------------------------------------------------------------------------


@cli.command("check-config")
@pass_context
def check_config(ctx: Context) -> None:
    """Report what is unsafe for production, one line each; exit status 1 when anything is.

    Reads the configuration (with its environment overrides, as `serve` would), the instance
    folder and the database; changes nothing.  Run it as the service's user, in its folder.
    """
    from .extensions import make_engine
    from .production_check import database_findings, file_findings, files_to_check, settings_findings

    settings = ctx.settings
    engine = make_engine(settings.database_url)
    try:
        # The files first: reading the database makes SQLite's -wal and -shm files for a moment.
        files = file_findings(files_to_check(settings))
        findings = [*settings_findings(settings), *files, *database_findings(engine, settings.database_url)]
    finally:
        engine.dispose()
    for finding in findings:
        click.echo(f"UNSAFE {finding}")
    if findings:
        click.echo(f"{len(findings)} unsafe setting(s) in {settings.source}", err=True)
        sys.exit(1)
    click.echo(f"{settings.source}: nothing unsafe found")


# -- serve -------------------------------------------------------------------------------------


def _serving_app(ctx: Context):
    """The app as ``serve`` and ``dispatch`` run it: current schema, clinic synced.

    Without ``[server] secret_key`` the app signs sessions with the key kept in the database
    (``session_key``), so every process on that database accepts the others' sessions.
    """
    from . import create_app
    from .clinic_setup import sync_clinic

    ctx.require_current_schema()
    settings = ctx.settings
    with ctx.session() as session, session.begin():
        sync_clinic(session, settings)
    return create_app(settings)


def _run_dispatcher(app, in_background: bool) -> None:
    """Send the outbox's messages: pending ones from before a restart on the first pass."""
    from .extensions import socketio

    dispatcher = app.extensions["queue_app"].dispatcher
    if in_background:
        socketio.start_background_task(dispatcher.run, socketio.sleep, spawn=socketio.start_background_task)
    else:
        dispatcher.run(socketio.sleep, spawn=socketio.start_background_task)


@cli.command()
@click.option("--host", default=None, help="default: [server] host")
@click.option("--port", type=int, default=None, help="default: [server] port")
@click.option(
    "--without-dispatcher",
    is_flag=True,
    help="send no messages from this process (a `queue-app dispatch` process sends them)",
)
@pass_context
def serve(ctx: Context, host: str | None, port: int | None, without_dispatcher: bool) -> None:
    """Run the server (Socket.IO and HTTP) under the configured async mode."""
    from .extensions import socketio
    from .links import choose_link_base, machine_address
    from .realtime import watch_sessions
    from .serving import server_options, settle_the_heap

    app = _serving_app(ctx)
    rt = app.extensions["queue_app"]
    settings = rt.settings
    host = host or settings.host
    port = port or settings.port
    # Patients' links are made from the address the server really listens on.
    rt.listening = (host, port)
    if not without_dispatcher:
        # Messages go out from the background, never inside a request.
        _run_dispatcher(app, in_background=True)
    socketio.start_background_task(watch_sessions, app)
    links = choose_link_base(
        public_url=settings.public_url,
        allowed_hosts=(),
        asked_host=None,
        scheme="http",
        listen_host=host,
        port=port,
        machine_address=machine_address,
    )
    _print_welcome(links.url, settings)
    if links.loopback:
        _warn_loopback_links(links.url)
    sys.stdout.flush()
    settle_the_heap()
    socketio.run(
        app, host=host, port=port, log_output=False, allow_unsafe_werkzeug=True, **server_options(settings.async_mode)
    )


@cli.command()
@pass_context
def dispatch(ctx: Context) -> None:
    """Send messages from a process of its own, beside `serve --without-dispatcher`.

    A web server that also sends shares its one core with the sender (eventlet runs one
    process), so a burst of messages slows the live updates a little.  A clinic that minds
    runs the sender apart.  Staff consoles hear of each delivery through
    ``[realtime] message_queue``; without one they see it at the next change of the queue.
    Several may run: each message is claimed before it is sent.  Stops on SIGTERM or
    Ctrl-C after the message in hand.
    """
    import signal

    app = _serving_app(ctx)
    settings = app.extensions["queue_app"].settings
    dispatcher = app.extensions["queue_app"].dispatcher
    if not dispatcher.channels:
        click.echo("no channel is enabled in [channels.*]: nothing to send", err=True)
    if not settings.message_queue:
        click.echo("no [realtime] message_queue: staff consoles see deliveries at the next queue change", err=True)

    def stop(*_):
        dispatcher.stopped = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    click.echo(f"{settings.clinic_name}: sending messages ({', '.join(dispatcher.channels) or 'none'})")
    sys.stdout.flush()
    _run_dispatcher(app, in_background=False)


def _warn_loopback_links(base: str) -> None:
    """Say, before the first patient checks in, that their QR codes will not open on a phone."""
    click.echo(
        f"WARNING: patients' links and QR codes point at {base}, which only this computer can open.\n"
        "  A phone on the clinic's network needs the server's network address: set [server] public_url\n"
        '  (e.g. public_url = "http://192.168.0.10:5000"), or listen on every interface with\n'
        "  `queue-app serve --host 0.0.0.0` (`HOST=0.0.0.0 make run`).",
        err=True,
    )


def _print_welcome(base: str, settings: Settings) -> None:
    """Where the pages are.  No device token: those were shown once, when they were made."""
    click.echo(f"{settings.clinic_name}: serving on {base} ({settings.async_mode})")
    click.echo(f"  reception kiosk: {base}/kiosk")
    click.echo(f"  waiting-room TV: {base}/display")
    click.echo(f"  staff console:   {base}/staff")
    if settings.demo:
        # What each patient's phone received: the demo has no provider, the page is the phone.
        click.echo(f"  demo phones:     {base}/demo/messages")
    click.echo(f"  API:             {base}/api/v1/openapi.json")
    if settings.demo:
        from .clinic_setup import DEMO_USERS

        click.echo("  demo login:      " + ", ".join(f"{u} / {p}" for u, p, _, _ in DEMO_USERS))
