"""Who is asking: API tokens for devices and integrations, passwords for staff.

Tokens are shown once, when made, and stored only as their SHA-256: a copy of the database
does not let anyone act as the kiosk.  Passwords use Werkzeug's salted scrypt hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
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

    @property
    def actor(self) -> Actor:
        """How this caller is written into the event log."""
        return Actor(self.role, self.name)

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


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
    return Principal(row.role, row.name)


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


def authenticate_user(session: Session, username: str, password: str) -> StaffUser | None:
    """The active user with this username and password, or None."""
    user = session.scalar(select(StaffUser).where(StaffUser.username == username))
    if user is None or not user.active:
        # Spend the same time as a real check so usernames cannot be probed by timing.
        hmac.compare_digest(generate_password_hash(password), "x")
        return None
    return user if check_password_hash(user.password_hash, password) else None


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
