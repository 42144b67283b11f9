"""Kakao AlimTalk through Solapi's HTTP API.

Request, as Solapi documents it::

    POST {base_url}/messages/v4/send-many/detail
    Authorization: HMAC-SHA256 apiKey=<key>, date=<ISO 8601>, salt=<random>, signature=<hex>
    Content-Type: application/json

    {"messages": [{"to": "01012345678", "from": "0212345678", "type": "ATA",
                   "kakaoOptions": {"pfId": "KA01PF...", "templateId": "KA01TP...",
                                    "variables": {"#{clinic}": "...", "#{number}": "A-007"},
                                    "disableSms": true},
                   "customFields": {"queueMessageId": "<our message id>"}}],
     "showMessageList": true}

where ``signature = hex(HMAC-SHA256(key=apiSecret, msg=date + salt))``.  The answer is HTTP
200 with ``groupInfo``, ``failedMessageList`` and (with showMessageList) ``messageList``:
a message Solapi refused to register (bad number, template mismatch, ...) is listed in
``failedMessageList`` with a ``statusCode``/``statusMessage`` although the HTTP status is 200.
HTTP errors carry ``{"errorCode", "errorMessage"}``.

Outcome mapping: 5xx, 429, timeouts -> TemporaryFailure; 401/403 and 402 (balance) ->
ChannelMisconfigured; our message in ``failedMessageList`` or any other 4xx -> CannotReach.
A kind with no template configured -> ChannelMisconfigured.

Provider SMS fallback: AlimTalk falls back to SMS inside Solapi unless ``disableSms`` is true;
``disable_sms_fallback = true`` sets it, so that our own fallback chain decides instead.

Idempotency: Solapi has NO idempotency key.  ``allowDuplicates`` only concerns repeated
recipients inside one request.  We put our message id in ``customFields`` (echoed in
Solapi's message list, failure list and delivery reports), which lets a human or a
reconciliation job find a message after an ambiguous timeout, but it does not stop a retried
request from sending twice.

Settings ``[channels.alimtalk]``: ``api_key``, ``api_secret``, ``pf_id`` (Kakao channel id),
``sender`` (registered sender number, needed for the SMS fallback) -- all required except
``sender`` when ``disable_sms_fallback``; ``templates`` = ``{checked_in = "KA01TP...", ...}``
(a value may also be a table per language, ``{ko = "...", en = "..."}``);
``variable_names`` (optional: our variable -> template variable name, e.g.
``{clinic = "병원명"}``; default the same name, written ``#{clinic}``);
``disable_sms_fallback`` (default false); ``country_codes`` (numbers reachable, default [82]);
``base_url`` (default https://api.solapi.com); ``timeout``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

import phonenumbers

from .base import (
    KINDS,
    CannotReach,
    Channel,
    ChannelConfigError,
    ChannelMisconfigured,
    OutgoingMessage,
    Recipient,
    SendResult,
    TemporaryFailure,
    as_bool,
    http_post,
    is_temporary_status,
    parse_retry_after,
)

DEFAULT_BASE_URL = "https://api.solapi.com"
SEND_PATH = "/messages/v4/send-many/detail"
CUSTOM_FIELD = "queueMessageId"


def solapi_signature(api_secret: str, date: str, salt: str) -> str:
    """hex(HMAC-SHA256(api_secret, date + salt)), as Solapi's API-key authentication says."""
    return hmac.new(api_secret.encode("utf-8"), (date + salt).encode("utf-8"), hashlib.sha256).hexdigest()


def authorization_header(api_key: str, api_secret: str, *, date: str | None = None, salt: str | None = None) -> str:
    date = date or datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    salt = salt or secrets.token_hex(16)
    signature = solapi_signature(api_secret, date, salt)
    return f"HMAC-SHA256 apiKey={api_key}, date={date}, salt={salt}, signature={signature}"


def solapi_number(e164: str) -> tuple[str, str]:
    """(country code, number as Solapi wants it) from an E.164 number.

    Korean numbers are written nationally ("+821012345678" -> "01012345678"); others as the
    national significant number with the country code in ``country``.
    """
    parsed = phonenumbers.parse(e164, None)
    national = phonenumbers.national_significant_number(parsed)
    country = str(parsed.country_code)
    if country == "82":
        return country, "0" + national
    return country, national


class AlimTalkChannel(Channel):
    name = "alimtalk"

    def __init__(self, settings: dict):
        super().__init__(settings)
        s = self.settings
        self.disable_sms_fallback = as_bool(s.get("disable_sms_fallback", False))
        required = ["api_key", "api_secret", "pf_id"]
        if not self.disable_sms_fallback:
            required.append("sender")
        self._require(*required)
        self.api_key = str(s["api_key"])
        self._api_secret = str(s["api_secret"])
        self.pf_id = str(s["pf_id"])
        self.sender = str(s.get("sender") or "")
        templates = s.get("templates") or {}
        if not isinstance(templates, dict):
            raise ChannelConfigError("alimtalk: templates must be a table kind -> template id")
        unknown = set(templates) - set(KINDS)
        if unknown:
            raise ChannelConfigError(f"alimtalk: unknown kind(s) in templates: {sorted(unknown)}")
        self.templates = templates
        self.variable_names = dict(s.get("variable_names") or {})
        self.country_codes = {str(c).lstrip("+") for c in s.get("country_codes", [82])}
        self.base_url = str(s.get("base_url") or DEFAULT_BASE_URL).rstrip("/")

    def can_reach(self, recipient: Recipient) -> bool:
        if not recipient.phone:
            return False
        try:
            country, _ = solapi_number(recipient.phone)
        except phonenumbers.NumberParseException:
            return False
        return country in self.country_codes

    def template_id(self, kind: str, language: str) -> str | None:
        value = self.templates.get(kind)
        if isinstance(value, dict):
            value = value.get(language) or value.get("default")
        return str(value) if value else None

    def payload(self, message: OutgoingMessage) -> dict:
        """The JSON body for ``message`` (raises CannotReach / ChannelMisconfigured)."""
        template = self.template_id(message.kind, message.language)
        if not template:
            raise ChannelMisconfigured(f"alimtalk: no template for kind {message.kind!r} ({message.language})")
        if not self.can_reach(message.recipient):
            raise CannotReach("alimtalk: no reachable phone number")
        country, to = solapi_number(message.recipient.phone or "")
        variables = {
            f"#{{{self.variable_names.get(key, key)}}}": str(value) for key, value in message.variables.items()
        }
        entry: dict = {
            "to": to,
            "type": "ATA",
            "kakaoOptions": {
                "pfId": self.pf_id,
                "templateId": template,
                "variables": variables,
                "disableSms": self.disable_sms_fallback,
            },
            "customFields": {CUSTOM_FIELD: message.id[:100]},
        }
        if self.sender:
            entry["from"] = self.sender
        if country != "82":
            entry["country"] = country
        return {"messages": [entry], "showMessageList": True}

    def send(self, message: OutgoingMessage) -> SendResult:
        body = self.payload(message)
        response = http_post(
            self.base_url + SEND_PATH,
            timeout=self.timeout,
            what="solapi",
            json=body,
            headers={"Authorization": authorization_header(self.api_key, self._api_secret)},
        )
        status = response.status_code
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if not isinstance(answer, dict):
            answer = {}
        if status == 200:
            return self._result(answer)
        detail = (f"solapi: HTTP {status} {answer.get('errorCode', '')} {answer.get('errorMessage', '')}").strip()
        if is_temporary_status(status):
            raise TemporaryFailure(detail, retry_after=parse_retry_after(response.headers.get("Retry-After")))
        if status in (401, 402, 403):
            raise ChannelMisconfigured(detail)
        raise CannotReach(detail)

    @staticmethod
    def _result(answer: dict) -> SendResult:
        failed = answer.get("failedMessageList") or []
        if failed:
            first = failed[0] if isinstance(failed[0], dict) else {}
            raise CannotReach(
                f"solapi: message refused, status {first.get('statusCode')}: {first.get('statusMessage', '')}".strip()
            )
        listed = answer.get("messageList")
        provider_id = None
        if isinstance(listed, list) and listed and isinstance(listed[0], dict):
            provider_id = listed[0].get("messageId")
        elif isinstance(listed, dict) and listed:  # some versions key the list by message id
            provider_id = next(iter(listed))
        if not provider_id:
            provider_id = (answer.get("groupInfo") or {}).get("groupId")
        return SendResult(provider_id=provider_id, delivered=False)
