"""The one interface every messaging channel adapter implements.

An adapter turns an :class:`OutgoingMessage` into one provider call and reports the outcome
in one of three ways:

* it returns a :class:`SendResult` -- the provider accepted the message (``delivered`` is True
  only where the provider confirms delivery synchronously);
* it raises :class:`TemporaryFailure` -- timeout, connection refused, HTTP 5xx or 429: send the
  same message (same ``id``) again later with backoff;
* it raises :class:`CannotReach` -- permanent for this patient on this channel (invalid or
  refused number, opted out, push subscription gone, a 4xx that a retry will not fix): go on
  to the next channel and do not retry this one.  :class:`ChannelMisconfigured` is the kind of
  ``CannotReach`` that is our fault (bad credentials, no template for a message kind); it
  deserves an alert to the clinic's admin as well.

Adapters are pure Python: no Flask, no SQLAlchemy.  Every provider call has a timeout
(setting ``timeout``, seconds, default 10), and every adapter accepts a base URL / host / port
setting so tests can point it at a local server.  No error message ever contains a secret.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.cookiejar import DefaultCookiePolicy
from typing import Any, ClassVar

import requests
import requests.adapters

DEFAULT_TIMEOUT = 10.0

#: Message kinds the service sends.
#: Messages to the patient about an appointment (reminders, the preparation instructions).
APPOINTMENT_PATIENT_KINDS = ("appointment_reminder", "appointment_preparation")
#: Appointment events the clinic's webhook receives besides the reminders.
APPOINTMENT_EVENTS = ("appointment_confirmed", "appointment_cancelled", "appointment_arrived", "appointment_no_show")
KINDS = ("checked_in", "turn_near", "called", "recalled", *APPOINTMENT_PATIENT_KINDS, *APPOINTMENT_EVENTS)


@dataclass(frozen=True)
class Recipient:
    """What the patient gave and agreed to; any of it may be None."""

    phone: str | None = None  # E.164, e.g. "+821012345678"
    email: str | None = None
    telegram_chat_id: str | None = None
    push_subscription: dict | None = None  # PushSubscription JSON {endpoint, keys:{p256dh, auth}}


@dataclass(frozen=True)
class OutgoingMessage:
    id: str  # unique, the SAME on every retry (idempotency key where the provider has one)
    kind: str  # "checked_in" | "turn_near" | "called" | "recalled"
    language: str  # "ko" | "en" | "ru" ...
    text: str  # rendered body for SMS / Telegram / push / email
    subject: str  # email subject and push title
    variables: dict[str, str]  # {"clinic", "number", "room", "link"}: AlimTalk template variables
    recipient: Recipient
    event: dict = field(default_factory=dict)  # the webhook's JSON body


@dataclass(frozen=True)
class SendResult:
    provider_id: str | None = None
    delivered: bool = False  # True only where the provider confirms delivery synchronously


#: How a provider says a message it accepted ended: not yet, reached the phone, or never will.
RESULT_PENDING = "pending"
RESULT_DELIVERED = "delivered"
RESULT_FAILED = "failed"


@dataclass(frozen=True)
class ProviderResult:
    """A provider's later word on one accepted message (polled or pushed to a webhook).

    ``unreachable`` marks a failure that says the number cannot be reached on this channel
    at all (no KakaoTalk), not just this once: the number is skipped on the channel for a while.
    """

    provider_id: str
    outcome: str  # RESULT_PENDING | RESULT_DELIVERED | RESULT_FAILED
    code: str = ""
    detail: str = ""
    unreachable: bool = False


class ChannelError(Exception):
    """Base of the errors an adapter raises from ``send``."""


class TemporaryFailure(ChannelError):
    """Retry later with backoff: timeout, connection refused, 5xx, 429.

    ``retry_after`` (seconds) is set when the provider said how long to wait.
    """

    def __init__(self, message: str, *, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class CannotReach(ChannelError):
    """Permanent for this patient on this channel: go to the next channel, no retries."""


class ChannelMisconfigured(CannotReach):
    """Permanent because of our own configuration (credentials, sender, template ...)."""


class ChannelConfigError(ValueError):
    """Raised by a constructor when a required setting is missing or invalid."""


class Channel:
    """Abstract adapter.  ``settings`` is the config section ``[channels.<name>]``."""

    name: ClassVar[str] = ""

    def __init__(self, settings: dict):
        self.settings = dict(settings or {})
        try:
            self.timeout = float(self.settings.get("timeout", DEFAULT_TIMEOUT))
        except (TypeError, ValueError) as exc:
            raise ChannelConfigError(f"{self.name}: timeout must be a number") from exc
        if self.timeout <= 0:
            raise ChannelConfigError(f"{self.name}: timeout must be positive")

    def can_reach(self, recipient: Recipient) -> bool:
        raise NotImplementedError

    def send(self, message: OutgoingMessage) -> SendResult:
        raise NotImplementedError

    # helpers for subclasses -------------------------------------------------------------

    def _require(self, *keys: str) -> None:
        missing = [k for k in keys if not self.settings.get(k)]
        if missing:
            raise ChannelConfigError(f"{self.name}: missing setting(s) {', '.join(missing)}")

    def __repr__(self) -> str:  # never show settings: they hold secrets
        return f"<{type(self).__name__} {self.name!r}>"


def is_temporary_status(status: int) -> bool:
    """HTTP statuses worth retrying: 5xx, 429 Too Many Requests, 408 Request Timeout."""
    return status >= 500 or status in (408, 429)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header given as a number (HTTP dates are ignored)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


_session: requests.Session | None = None
_session_lock = threading.Lock()


def provider_session() -> requests.Session:
    """One HTTP session for every provider call of this process.

    Keeps connections open between messages: a new TLS handshake for each text costs a
    provider round trip or two, which is most of the time a message takes.  Shared by the
    dispatcher's senders (urllib3's pool is thread-safe; nothing here changes the session
    after it is made), with room for as many connections per host as senders may run, and
    with cookies refused so that one provider's answer never rides along to the next call.
    """
    global _session
    with _session_lock:
        if _session is None:
            session = requests.Session()
            adapter = requests.adapters.HTTPAdapter(pool_connections=8, pool_maxsize=32)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
            _session = session
        return _session


def http_post(url: str, *, timeout: float, what: str, **kwargs: Any) -> requests.Response:
    """A POST with the timeout, turning network trouble into TemporaryFailure.

    Redirects are not followed: a redirected POST means a wrong base URL, raised as
    ChannelMisconfigured.  ``what`` names the provider in error messages; the URL is left
    out as it may hold a token.
    """
    return _provider_call("post", url, timeout=timeout, what=what, **kwargs)


def http_get(url: str, *, timeout: float, what: str, **kwargs: Any) -> requests.Response:
    """A GET with the timeout, network trouble turned into TemporaryFailure (as ``http_post``)."""
    return _provider_call("get", url, timeout=timeout, what=what, **kwargs)


def _provider_call(method: str, url: str, *, timeout: float, what: str, **kwargs: Any) -> requests.Response:
    kwargs.setdefault("allow_redirects", False)
    try:
        response = getattr(provider_session(), method)(url, timeout=timeout, **kwargs)
    except requests.Timeout as exc:
        raise TemporaryFailure(f"{what}: timed out after {timeout:g}s") from exc
    except requests.ConnectionError as exc:
        raise TemporaryFailure(f"{what}: connection failed ({type(exc).__name__})") from exc
    except requests.RequestException as exc:
        raise TemporaryFailure(f"{what}: request failed ({type(exc).__name__})") from exc
    if 300 <= response.status_code < 400:
        raise ChannelMisconfigured(f"{what}: HTTP {response.status_code} redirect (check the URL)")
    return response


def as_bool(value: Any) -> bool:
    """A setting read as a boolean (TOML gives bool; environment overrides give strings)."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)
