"""How often a caller may try: wrong passwords, and check-ins without a token.

A password guesser is held back twice: per account (from any address, so a botnet cannot
share the work on one account) and per address (for any account, so one machine cannot walk
the staff list).  Only wrong passwords count, so a colleague who signs in right costs nothing.

The per-account count must not let a stranger lock the nurse out of her own console by
typing wrong passwords for her name.  A browser that has signed in as an account before
carries a signed "known device" cookie naming it (OWASP's device cookies), and for that
account it is held back only by its own address's count, not by the account's.
Anonymous check-ins (``[clinic] public_check_in``) are counted per address; kiosks and staff
are not counted, since a busy morning at a kiosk is not an attack.

The counts live where every server process sees them: in Redis when ``[realtime]
message_queue`` is Redis, else in the process's memory (one process).  A caller over a limit
gets 429 with ``Retry-After``; the API and the sign-in page each say so in their own way.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from flask import current_app, g, request
from itsdangerous import BadSignature, URLSafeSerializer

from .config import Settings
from .extensions import limiter
from .phones import InvalidPhone, normalize_phone
from .runtime import runtime


def bind_limiter(app, settings: Settings) -> None:
    """Bind the limiter to ``app``, counting in Redis when the message queue is Redis."""
    app.config["RATELIMIT_STORAGE_URI"] = settings.message_queue or "memory://"
    # Two clinics sharing one Redis keep their own counts, as they keep their own channel.
    app.config["RATELIMIT_KEY_PREFIX"] = settings.channel
    limiter.init_app(app)


def _account() -> str:
    # Case and spaces do not make a new account to guess at.
    return "account:" + request.form.get("username", "").strip().casefold()[:80]


def _address() -> str:
    return "address:" + (request.remote_addr or "unknown")


#: The cookie naming the accounts that signed in on this browser before.
KNOWN_DEVICE_COOKIE = "known_device"
#: At most this many accounts are remembered per browser (a shared reception PC).
KNOWN_ACCOUNTS = 8
KNOWN_DEVICE_MAX_AGE = 400 * 24 * 3600


def _device_serializer() -> URLSafeSerializer:
    # The clinic's own session key (kept in its database), never a constant.
    return URLSafeSerializer(current_app.session_interface.signing_key(), salt="known-device")


def _known_accounts() -> list[str]:
    try:
        names = _device_serializer().loads(request.cookies.get(KNOWN_DEVICE_COOKIE, ""))
    except BadSignature:
        return []
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []


def _known_device() -> bool:
    return _account() in _known_accounts()


def remember_device(response, username: str) -> None:
    """After a right password: this browser is known for ``username`` from now on."""
    account = "account:" + username.strip().casefold()[:80]
    names = [account, *(n for n in _known_accounts() if n != account)][:KNOWN_ACCOUNTS]
    response.set_cookie(
        KNOWN_DEVICE_COOKIE,
        _device_serializer().dumps(names),
        max_age=KNOWN_DEVICE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=current_app.session_interface.get_cookie_secure(current_app),
    )


def _wrong_password(response) -> bool:
    # The sign-in page answers a wrong password with the form again (200), marked here.
    return bool(g.get("sign_in_refused"))


def limit_sign_in(view: Callable) -> Callable:
    """Refuse sign-in (429) after too many wrong passwords for the account or from the address.

    A browser known for the account (``remember_device``) is counted by its address only.
    """
    per_account = limiter.limit(
        lambda: f"{runtime().settings.limits.login_per_account} per minute",
        key_func=_account,
        methods=["POST"],
        deduct_when=_wrong_password,
        exempt_when=_known_device,
    )
    per_address = limiter.limit(
        lambda: f"{runtime().settings.limits.login_per_address} per minute",
        key_func=_address,
        methods=["POST"],
        deduct_when=_wrong_password,
    )
    return per_address(per_account(view))


def limit_anonymous_check_ins(is_authenticated: Callable[[], bool]) -> Callable[[Callable], Callable]:
    """Refuse (429) check-ins from an address past ``[clinic] public_check_ins_per_address_per_hour``.

    ``is_authenticated`` tells a kiosk or staff caller, who is never counted.
    """
    return limiter.limit(
        lambda: f"{runtime().settings.limits.public_check_ins_per_address} per hour",
        key_func=_address,
        exempt_when=is_authenticated,
    )


def _contact_number() -> str:
    # The number as the clinic will text it: "010-1234-5678" and "+821012345678" are one.
    data = request.get_json(force=True, silent=True)
    raw = data.get("phone") if isinstance(data, dict) else None
    if not isinstance(raw, str):
        return "number:none"
    try:
        return "number:" + normalize_phone(raw, runtime().settings.phone_region)
    except InvalidPhone:
        return "number:invalid"


def limit_website_contact(view: Callable) -> Callable:
    """Refuse (429) website contact messages past ``[inbox] contact_per_address_per_hour`` from
    one address, or ``contact_per_number_per_day`` for one phone number (from any address).

    Per number as well: the clinic answers by SMS, so a page posting a stranger's number again
    and again would have the clinic text them.
    """
    per_address = limiter.limit(
        lambda: f"{runtime().settings.inbox.contact_per_address_per_hour} per hour",
        key_func=lambda: "contact-" + _address(),
        methods=["POST"],
    )
    per_number = limiter.limit(
        lambda: f"{runtime().settings.inbox.contact_per_number_per_day} per day",
        key_func=lambda: "contact-" + _contact_number(),
        methods=["POST"],
    )
    return per_address(per_number(view))


def retry_after_seconds() -> int:
    """Seconds until the limit this request broke lets the caller try again (at least 1)."""
    broken = limiter.current_limit
    if broken is None:
        return 60
    # The storage rounds its reset time up to a whole second: never more than the window.
    return min(max(1, math.ceil(broken.reset_at - time.time())), broken.limit.get_expiry())
