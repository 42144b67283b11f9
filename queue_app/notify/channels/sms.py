"""SMS through Twilio's Programmable Messaging REST API (raw HTTP, no SDK needed).

Request, as Twilio documents it::

    POST {base_url}/2010-04-01/Accounts/{AccountSid}/Messages.json
    Authorization: Basic base64(AccountSid:AuthToken)      (or ApiKeySid:ApiKeySecret)
    Content-Type: application/x-www-form-urlencoded

    To=+821012345678&From=+15005550006&Body=...&StatusCallback=https://.../sms/status

``MessagingServiceSid`` replaces ``From`` when a Messaging Service is configured.  Success is
HTTP 201 with the Message resource as JSON (``sid``, ``status`` = queued/accepted); errors
are JSON ``{"code": 21211, "message": ..., "more_info": ..., "status": 400}``.

Outcome mapping: 429 (code 20429) and 5xx, timeouts, refused connections -> TemporaryFailure;
401/403 (20003 authentication) and sender problems -> ChannelMisconfigured; any other 4xx,
notably 21211 invalid 'To', 21610 unsubscribed (the patient replied STOP), 21612 unroutable,
21614 not a mobile number, 21635 landline, 21408 region not enabled -> CannotReach.

Idempotency: Twilio's Messages API has NO idempotency key.  A request that timed out after
Twilio accepted it and is then retried sends a second SMS; we accept that (a duplicate
"your turn" SMS is better than none).  Our message id is not sent to Twilio; the returned
``sid`` is the handle that status callbacks carry.

Settings ``[channels.sms]``: ``account_sid`` and ``auth_token`` (required; ``api_key_sid`` +
``api_key_secret`` may replace the auth token for the REST call), ``from_number`` or
``messaging_service_sid`` (one required), ``status_callback_url`` (optional),
``validity_period`` (optional, seconds: Twilio drops the message if it cannot be sent within
it), ``base_url`` (default https://api.twilio.com), ``timeout``.

Also here, for the web layer: :func:`verify_twilio_signature` (X-Twilio-Signature),
:func:`parse_status_callback` (delivered / failed) and :func:`parse_inbound` (STOP replies).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from .base import (
    CannotReach,
    Channel,
    ChannelConfigError,
    ChannelMisconfigured,
    OutgoingMessage,
    Recipient,
    SendResult,
    TemporaryFailure,
    http_post,
    is_temporary_status,
    parse_retry_after,
)

DEFAULT_BASE_URL = "https://api.twilio.com"

#: Twilio error codes that are about our account or sender, not the patient.
MISCONFIGURED_CODES = {
    20003,  # authentication failed
    20404,  # account / resource not found
    21212,  # invalid 'From' number
    21606,  # 'From' number is not SMS-capable
    21659,  # 'From' is not a Twilio number
    21602,  # message body is required (our bug)
}

#: Delivery error codes (status callbacks) meaning this number will not receive SMS from us.
UNREACHABLE_DELIVERY_CODES = {
    "21610",  # unsubscribed recipient (replied STOP)
    "21614",  # not a mobile number
    "30004",  # message blocked (e.g. recipient blocked the sender)
    "30005",  # unknown destination handset
    "30006",  # landline or unreachable carrier
}

#: Keywords Twilio handles as opt-out / opt-in on long codes by default.
OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})

DELIVERED_STATUSES = frozenset({"delivered", "read"})
FAILED_STATUSES = frozenset({"undelivered", "failed", "canceled"})


class TwilioSmsChannel(Channel):
    name = "sms"

    def __init__(self, settings: dict):
        super().__init__(settings)
        self._require("account_sid")
        s = self.settings
        self.account_sid = str(s["account_sid"])
        if s.get("api_key_sid") and s.get("api_key_secret"):
            self._auth = (str(s["api_key_sid"]), str(s["api_key_secret"]))
        elif s.get("auth_token"):
            self._auth = (self.account_sid, str(s["auth_token"]))
        else:
            raise ChannelConfigError("sms: missing setting auth_token (or api_key_sid/secret)")
        self.from_number = s.get("from_number") or None
        self.messaging_service_sid = s.get("messaging_service_sid") or None
        if not (self.from_number or self.messaging_service_sid):
            raise ChannelConfigError("sms: set from_number or messaging_service_sid")
        self.status_callback_url = s.get("status_callback_url") or None
        self.validity_period = int(s["validity_period"]) if s.get("validity_period") else None
        self.base_url = str(s.get("base_url") or DEFAULT_BASE_URL).rstrip("/")

    @property
    def messages_url(self) -> str:
        return f"{self.base_url}/2010-04-01/Accounts/{self.account_sid}/Messages.json"

    def can_reach(self, recipient: Recipient) -> bool:
        phone = recipient.phone or ""
        return phone.startswith("+") and phone[1:].isdigit() and len(phone) >= 8

    def form(self, message: OutgoingMessage) -> dict[str, str]:
        """The form fields of the Messages create request."""
        data = {"To": message.recipient.phone or "", "Body": message.text}
        if self.messaging_service_sid:
            data["MessagingServiceSid"] = self.messaging_service_sid
        else:
            data["From"] = self.from_number
        if self.status_callback_url:
            data["StatusCallback"] = self.status_callback_url
        if self.validity_period:
            data["ValidityPeriod"] = str(self.validity_period)
        return data

    def send(self, message: OutgoingMessage) -> SendResult:
        if not self.can_reach(message.recipient):
            raise CannotReach("sms: no E.164 phone number")
        response = http_post(
            self.messages_url,
            timeout=self.timeout,
            what="twilio",
            data=self.form(message),
            auth=self._auth,
            headers={"Accept": "application/json"},
        )
        status = response.status_code
        payload = _json(response)
        if status in (200, 201):
            return SendResult(provider_id=payload.get("sid"), delivered=False)
        code = payload.get("code")
        detail = f"twilio: HTTP {status}, code {code}: {payload.get('message', '')}".strip()
        if is_temporary_status(status):
            raise TemporaryFailure(detail, retry_after=parse_retry_after(response.headers.get("Retry-After")))
        if status in (401, 403) or code in MISCONFIGURED_CODES:
            raise ChannelMisconfigured(detail)
        raise CannotReach(detail)


def _json(response) -> dict:
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# --- webhooks from Twilio --------------------------------------------------------------


def _values(params, key) -> list[str]:
    for getter in ("getall", "getlist"):  # MultiDict (Werkzeug), QueryDict
        if hasattr(params, getter):
            return [str(v) for v in getattr(params, getter)(key)]
    value = params[key]
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]


def compute_twilio_signature(url: str, params: Mapping | None, auth_token: str) -> str:
    """Twilio's documented signature: base64(HMAC-SHA1(auth_token, url + k1v1 + k2v2 ...)).

    The POST parameters are sorted by name and each name is followed by its value(s) with
    no separator; for a GET (no body) ``params`` is empty and the query stays in the URL.
    """
    data = url
    for key in sorted(set(params or {})):
        for value in sorted(_values(params, key)):
            data += key + value
    mac = hmac.new(auth_token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


def _with_and_without_port(url: str) -> Iterable[str]:
    parts = urlsplit(url)
    yield url
    host = parts.hostname or ""
    if parts.port:
        yield urlunsplit(parts._replace(netloc=_netloc(parts, host)))
    else:
        port = 443 if parts.scheme == "https" else 80
        yield urlunsplit(parts._replace(netloc=_netloc(parts, f"{host}:{port}")))


def _netloc(parts, hostport: str) -> str:
    userinfo = parts.netloc.rpartition("@")[0]
    return f"{userinfo}@{hostport}" if userinfo else hostport


def verify_twilio_signature(url: str, params: Mapping | None, signature: str | None, auth_token: str) -> bool:
    """True when ``signature`` (the X-Twilio-Signature header) signs this request.

    ``url`` is the full URL Twilio requested (scheme, host, path and query, as configured
    in Twilio -- behind a proxy use the public URL); ``params`` the form POST fields.
    Like Twilio's RequestValidator, the URL is tried with and without its default port.
    """
    if not signature or not auth_token:
        return False
    expected = signature.strip().encode()
    return any(
        hmac.compare_digest(compute_twilio_signature(u, params, auth_token).encode(), expected)
        for u in _with_and_without_port(url)
    )


@dataclass(frozen=True)
class SmsStatus:
    """A status callback, reduced to what the notifier needs."""

    provider_id: str  # MessageSid, as returned by send()
    status: str  # Twilio's MessageStatus, lower case
    outcome: str  # "delivered" | "failed" | "pending"
    error_code: str | None = None
    phone: str | None = None  # the To number
    unreachable: bool = False  # the error says this number will not get SMS (opt-out, landline)


def parse_status_callback(params: Mapping) -> SmsStatus | None:
    """Read a Twilio message status callback (form fields); None if it is not one."""
    sid = params.get("MessageSid") or params.get("SmsSid")
    status = (params.get("MessageStatus") or params.get("SmsStatus") or "").strip().lower()
    if not sid or not status:
        return None
    if status in DELIVERED_STATUSES:
        outcome = "delivered"
    elif status in FAILED_STATUSES:
        outcome = "failed"
    else:
        outcome = "pending"
    error_code = (params.get("ErrorCode") or "").strip() or None
    return SmsStatus(
        provider_id=str(sid),
        status=status,
        outcome=outcome,
        error_code=error_code,
        phone=params.get("To") or None,
        unreachable=outcome == "failed" and error_code in UNREACHABLE_DELIVERY_CODES,
    )


@dataclass(frozen=True)
class InboundSms:
    phone: str  # the patient's number (From)
    body: str
    opted_out: bool = False  # the patient asked for no more messages
    opted_in: bool = False  # the patient asked to receive messages again
    #: Twilio's id of the message (``SM...``): the same on every retry of the webhook.
    message_sid: str | None = None


def parse_inbound(params: Mapping, extra_opt_out_keywords: Iterable[str] = ()) -> InboundSms | None:
    """Read an incoming SMS webhook and tell whether it is an opt-out (STOP) or opt-in.

    Twilio's Advanced Opt-Out adds ``OptOutType`` (STOP / START / HELP); without it the
    whole body (trimmed, trailing punctuation dropped, case-insensitive) is matched against
    Twilio's default single-word keywords, plus ``extra_opt_out_keywords`` (e.g. "수신거부"),
    as Twilio does: "STOP" opts out, "stop calling so early" does not.  Twilio itself blocks
    further sends after STOP (error 21610); this lets us stop choosing SMS for that patient.
    """
    phone = params.get("From")
    if not phone:
        return None
    body = str(params.get("Body") or "")
    opt_type = str(params.get("OptOutType") or "").strip().upper()
    word = body.strip().rstrip(".!").strip().upper()
    if opt_type:
        opted_out, opted_in = opt_type == "STOP", opt_type == "START"
    else:
        extra = {k.strip().upper() for k in extra_opt_out_keywords}
        opted_out = word in OPT_OUT_KEYWORDS or word in extra
        opted_in = word in OPT_IN_KEYWORDS
    sid = str(params.get("MessageSid") or params.get("SmsSid") or "").strip()[:64] or None
    return InboundSms(phone=str(phone), body=body, opted_out=opted_out, opted_in=opted_in, message_sid=sid)
