"""Staff sign-in sessions: how they are signed, and when a signed cookie still counts.

A session cookie is signed, not stored, so a copy of it works wherever it is sent.  Three
checks make a copied cookie worthless once it should be:

- the user's ``session_epoch`` is written into the session at sign-in; signing out, a new
  password or deactivation raise the epoch in the database, and every older session (on this
  browser, a copied one, one on another process) stops counting at its next request;
- the session remembers when it was last used; after ``[server] session_idle_minutes``
  without a request it is over;
- the user must still be an active staff member.

The API, the pages and the Socket.IO connection all ask ``signed_in_user()``, so the rule is
in one place.  The signing key is the configured one, else the database's (``session_key``),
fetched when the first request needs it.  The cookie is ``Secure`` when the clinic's public
address is https, or when this request came over https (through a trusted proxy).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import request, session
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

from .auth import STAFF_ROLES, end_sessions
from .extensions import db
from .models import StaffUser
from .runtime import runtime

#: How often (seconds) the last-seen time is rewritten: not on every request, which would
#: send a new cookie with each answer.
SEEN_GRANULARITY = 60
_SESSION_KEYS = ("user_id", "epoch", "seen")


class ClinicSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with a key that may come from the database later."""

    def __init__(self, key_source: Callable[[], str]) -> None:
        self._key_source = key_source
        self._key: str | None = None

    def signing_key(self) -> str:
        """The key, asked for once (the first request of this process) and then kept."""
        if self._key is None:
            self._key = self._key_source()
        return self._key

    def get_signing_serializer(self, app) -> URLSafeTimedSerializer:
        """Flask's serializer over this clinic's key (never a constant)."""
        return URLSafeTimedSerializer(
            self.signing_key(),
            salt=self.salt,
            serializer=self.serializer,
            signer_kwargs={"key_derivation": self.key_derivation, "digest_method": self.digest_method},
        )

    def get_cookie_secure(self, app) -> bool:
        """Secure when the public address is https, or when this request itself came over https."""
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def _now() -> int:
    return int(runtime().clock.now().timestamp())


def sign_in(user: StaffUser) -> None:
    """Start a fresh session for ``user`` (a session fixed before sign-in is worth nothing)."""
    session.clear()
    session["user_id"] = user.id
    session["epoch"] = user.session_epoch
    session["seen"] = _now()


def signed_in_user() -> StaffUser | None:
    """The active staff user this request's session belongs to, or None.

    A session that has been idle too long, or whose user signed out elsewhere, changed the
    password or was deactivated, is forgotten here.
    """
    user_id = session.get("user_id")
    if not user_id:
        return None
    user = db.session().get(StaffUser, user_id) if isinstance(user_id, int) else None
    now = _now()
    seen = session.get("seen")
    idle_limit = runtime().settings.session_idle_minutes * 60
    if (
        user is None
        or not user.active
        or user.role not in STAFF_ROLES
        or session.get("epoch") != user.session_epoch
        or not isinstance(seen, int)
        or now - seen > idle_limit
    ):
        for key in _SESSION_KEYS:
            session.pop(key, None)
        return None
    if now - seen >= SEEN_GRANULARITY:
        session["seen"] = now
    return user


def sign_out() -> None:
    """End this user's sessions everywhere (copies of this cookie too), and this one."""
    user = signed_in_user()
    if user is not None:
        end_sessions(user)
        db.session.commit()
    session.clear()
