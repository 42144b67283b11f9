"""What would make an install unsafe for a real clinic: what ``queue-app check-config`` reports.

The demo clinic and a laptop on the reception desk are the defaults, and every default that
suits them is a hole in production: a signing key nobody chose, patients' links that only the
server itself can open or that travel without TLS, a demo channel that only pretends to text
patients, SQLite under several processes, demo passwords anyone can read in the README, and a
database or secret that every account on the machine can read.  Each rule says, in one line,
which key (or file) is at fault and how to fix it.  Nothing here writes anything.
"""

from __future__ import annotations

import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from .auth import authenticate_user
from .clinic_setup import DEMO_USERS
from .config import EXAMPLE_CONFIG, MIN_SECRET_KEY_BYTES, Settings
from .links import is_loopback
from .models import StaffUser

#: Where ``queue-app serve`` keeps what it makes for itself (the secret key, the demo's tokens).
INSTANCE_DIR = Path("instance")
NEW_SECRET = "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"


@dataclass(frozen=True)
class Finding:
    """One unsafe thing: the key or file at fault, what is wrong, and what to do."""

    key: str
    problem: str
    fix: str

    def __str__(self) -> str:
        return f"{self.key}: {self.problem}; {self.fix}"


def settings_findings(settings: Settings) -> list[Finding]:
    """What is unsafe in the configuration itself: secret, public address, demo mode, database."""
    findings = []
    # A key shorter than MIN_SECRET_KEY_BYTES never gets here: the configuration refuses it.
    if not settings.secret_key:
        findings.append(
            Finding(
                "[server] secret_key",
                "empty, so sessions are signed with a key kept in the database: a copy of it can forge a staff session",
                f"set QUEUE_APP_SERVER_SECRET_KEY to a random key of {MIN_SECRET_KEY_BYTES}+ bytes ({NEW_SECRET})",
            )
        )
    findings.extend(_public_url_findings(settings.public_url))
    findings.extend(_proxy_findings(settings))
    if settings.demo:
        findings.append(
            Finding(
                "[server] demo",
                "true: patients' messages go to the demo channel's page, not to their phones",
                "set demo = false (and unset QUEUE_APP_SERVER_DEMO); configure a real channel in [channels.*]",
            )
        )
    if settings.database_url.startswith("sqlite") and settings.message_queue:
        findings.append(
            Finding(
                "[database] url",
                "SQLite while [realtime] message_queue is set for several processes; SQLite carries one",
                "use PostgreSQL (url = postgresql+psycopg://user@host/db), or run one process without message_queue",
            )
        )
    return findings


def _public_url_findings(public_url: str) -> list[Finding]:
    key = "[server] public_url"
    example = "e.g. public_url = https://queue.example-clinic.kr"
    if not public_url:
        return [
            Finding(
                key,
                "empty, so patients' links name the address the server listens on (loopback behind a proxy)",
                f"set it to the https address patients' phones reach, {example}",
            )
        ]
    parts = urlsplit(public_url)
    if is_loopback(parts.hostname or ""):
        return [
            Finding(
                key,
                f"{public_url} opens on this computer only, not on a patient's phone",
                f"set it to the https address patients' phones reach, {example}",
            )
        ]
    if parts.scheme != "https":
        return [
            Finding(
                key,
                f"{public_url} has no TLS: links, sign-ins and device cookies cross the network readable",
                "serve https at the proxy (deployment/nginx/queue-app.conf) and set public_url to the https:// address",
            )
        ]
    return []


def _proxy_findings(settings: Settings) -> list[Finding]:
    """An https address is served through a proxy (``serve`` speaks plain http): the app must know it."""
    if not settings.public_url.startswith("https://") or settings.trusted_proxies:
        return []
    return [
        Finding(
            "[server] trusted_proxies",
            "empty while public_url is https, so the app takes each request for the proxy's own "
            "(its address, plain http)",
            'list the proxy\'s address, e.g. trusted_proxies = ["127.0.0.1"] for nginx on this machine',
        )
    ]


def demo_password_findings(session: Session) -> list[Finding]:
    """The demo clinic's users that still sign in with the passwords printed in the README."""
    if not inspect(session.connection()).has_table(StaffUser.__tablename__):
        return []  # not migrated yet: there is nobody to sign in
    return [
        Finding(
            f"user {username}",
            "still signs in with the demo password (this database was loaded with `queue-app demo`)",
            f"give a new one (`queue-app set-password --username {username}`) "
            f"or `queue-app deactivate-user --username {username}`",
        )
        for username, password, _, _ in DEMO_USERS
        if authenticate_user(session, username, password) is not None
    ]


def database_findings(engine: Engine, database_url: str) -> list[Finding]:
    """Demo passwords in the configured database; an unreachable database is a finding of its own.

    A SQLite file that does not exist yet is left alone (opening it would create it).
    """
    path = sqlite_path(database_url)
    if path is not None and not path.exists():
        return []
    try:
        with Session(engine) as session:
            return demo_password_findings(session)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return [
            Finding(
                "[database] url",
                f"cannot be read ({reason}), so the demo passwords were not checked",
                "start the database or correct the URL, then check again",
            )
        ]


def sqlite_path(database_url: str) -> Path | None:
    """The file of a SQLite URL (relative to the working directory), None for other databases."""
    if not database_url.startswith("sqlite") or ":memory:" in database_url:
        return None
    _, _, rest = database_url.partition(":///")
    return Path(rest) if rest else None


def files_to_check(settings: Settings, instance_dir: Path = INSTANCE_DIR) -> list[Path]:
    """Files that may hold secrets or patients' data: the configuration, the instance folder, SQLite's files."""
    paths = []
    if settings.source and Path(settings.source).resolve() != EXAMPLE_CONFIG.resolve():
        paths.append(Path(settings.source))  # the packaged example holds no secrets
    if instance_dir.is_dir():
        paths.extend(sorted(p for p in instance_dir.rglob("*") if p.is_file()))
    database = sqlite_path(settings.database_url)
    if database is not None:
        paths.extend(database.with_name(database.name + suffix) for suffix in ("", "-wal", "-shm"))
    unique = {}
    for path in paths:
        if path.exists():
            unique.setdefault(path.resolve(), path)
    return list(unique.values())


def file_findings(paths: Iterable[Path]) -> list[Finding]:
    """Each file that any account on the machine may read."""
    return [
        Finding(str(path), "readable by every account on this machine", f"chmod o-rwx {path}")
        for path in paths
        if path.stat().st_mode & stat.S_IROTH
    ]
