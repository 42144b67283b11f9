"""Who is asking: API tokens for devices and integrations, passwords for staff.

Tokens are shown once, when made, and stored only as their SHA-256: a copy of the database
does not let anyone act as the kiosk.  Passwords use Werkzeug's salted scrypt hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from .models import ROLES, ApiToken, StaffUser
from .queue import Actor, InvalidInput

STAFF_ROLES = ("admin", "staff")


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a staff member, a kiosk, a display or an integration."""

    role: str
    name: str
    user_id: int | None = None
    #: The API token (or the paired device's token) the caller came with.
    token_id: int | None = None

    @property
    def actor(self) -> Actor:
        """How this caller is written into the event log."""
        return Actor(self.role, self.name)

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def scope(self) -> str:
        """Whose idempotency keys these are: one token (a kiosk, an integration) or one staff user."""
        if self.token_id is not None:
            return f"token:{self.token_id}"
        return f"user:{self.user_id}"


def hash_token(token: str) -> str:
    """The stored form of an API token."""
    return hashlib.sha256(token.encode()).hexdigest()


def issue_api_token(session: Session, role: str, name: str, now: datetime) -> str:
    """Make a token for ``role``; return the token itself (it is not stored)."""
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}; one of {', '.join(ROLES)}", field="role")
    if not name or len(name) > 120:
        raise InvalidInput("a token needs a name of at most 120 characters", field="name")
    token = secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, role=role, token_hash=hash_token(token), created_at=now))
    return token


def principal_for_token(session: Session, token: str | None) -> Principal | None:
    """The caller a bearer token belongs to, or None for an unknown or revoked token."""
    # Tokens are ASCII; half a surrogate pair (a socket's JSON can carry one) cannot even be hashed.
    if not token or len(token) > 200 or not token.isascii():
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is None or row.revoked_at is not None:
        return None
    return Principal(row.role, row.name, token_id=row.id)


def create_user(
    session: Session, username: str, password: str, role: str, now: datetime, display_name: str = ""
) -> StaffUser:
    """Add a staff user.  Passwords shorter than 8 characters are refused."""
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}; one of {', '.join(ROLES)}", field="role")
    if not username or len(username) > 80:
        raise InvalidInput("a username of 1 to 80 characters is needed", field="username")
    if len(password) < 8:
        raise InvalidInput("the password needs at least 8 characters", field="password")
    if session.scalar(select(StaffUser).where(StaffUser.username == username)) is not None:
        raise InvalidInput(f"user {username!r} already exists", field="username")
    user = StaffUser(
        username=username,
        display_name=display_name or username,
        password_hash=generate_password_hash(password),
        role=role,
        active=True,
        created_at=now,
    )
    session.add(user)
    return user


def _call_here(func: Callable, *args):
    return func(*args)


def authenticate_user(
    session: Session, username: str, password: str, run_hash: Callable = _call_here
) -> StaffUser | None:
    """The active user with this username and password, or None.

    ``run_hash(func, *args)`` runs the slow password hash: the sign-in page passes
    ``offload.run_cpu_bound`` for the configured async mode, so a hash never holds up the
    event loop that serves every other request.
    """
    user = session.scalar(select(StaffUser).where(StaffUser.username == username))
    if user is None or not user.active:
        # Spend the same time as a real check so usernames cannot be probed by timing.
        hmac.compare_digest(run_hash(generate_password_hash, password), "x")
        return None
    return user if run_hash(check_password_hash, user.password_hash, password) else None


def end_sessions(user: StaffUser) -> None:
    """End every session of ``user``: each one carries the old epoch and stops counting."""
    user.session_epoch = (user.session_epoch or 0) + 1


def _user_named(session: Session, username: str) -> StaffUser:
    user = session.scalar(select(StaffUser).where(StaffUser.username == username))
    if user is None:
        raise InvalidInput(f"there is no user {username!r}", field="username")
    return user


def set_password(session: Session, username: str, password: str) -> StaffUser:
    """Give a user a new password and end their sessions (whoever knew the old one is out)."""
    if len(password) < 8:
        raise InvalidInput("the password needs at least 8 characters", field="password")
    user = _user_named(session, username)
    user.password_hash = generate_password_hash(password)
    end_sessions(user)
    return user


def deactivate_user(session: Session, username: str) -> StaffUser:
    """Stop a user from signing in, and end the sessions they have now."""
    user = _user_named(session, username)
    user.active = False
    end_sessions(user)
    return user


def principal_for_user(user: StaffUser) -> Principal:
    """A signed-in staff user as a caller."""
    return Principal(user.role, user.username, user.id)


#: The roles a paired device (a kiosk tablet, a waiting-room TV) may hold in its cookie.
DEVICE_ROLES = ("kiosk", "display")
#: The cookie that keeps a kiosk or display paired: it holds the device's API token itself,
#: HttpOnly and SameSite=Strict, so revoking the token unpairs the device at once.
DEVICE_COOKIE = "queue_device"


def principal_for_device(session: Session, cookie_value: str | None) -> Principal | None:
    """The kiosk or display a device cookie pairs this browser with, or None.

    Only kiosk and display tokens pair a device: a staff or admin token in a cookie would
    let anyone who touches the tablet act as staff, so such a cookie is ignored.
    """
    principal = principal_for_token(session, cookie_value)
    if principal is None or principal.role not in DEVICE_ROLES:
        return None
    return principal
