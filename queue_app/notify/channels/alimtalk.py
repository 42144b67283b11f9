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

Results come later.  Solapi answers a send with status 2000 ("accepted") even for a number
that has no KakaoTalk; the final word (4000 received, or a failure such as 3104 "not a
KakaoTalk user") comes seconds later.  :meth:`AlimTalkChannel.results` reads it from the
message list, as Solapi documents it::

    GET {base_url}/messages/v4/list?criteria=messageId&cond=eq&value=<messageId>
    GET {base_url}/messages/v4/list?messageIds=["M4V...","M4V..."]&limit=<n>   (several at once)

answered with ``{"messageList": {"<messageId>": {"statusCode": "3104", "reason": ...}, ...},
"startKey", "nextKey", "limit"}`` (a table keyed by message id, not a list).  Solapi's report
webhook pushes the same facts: a JSON list of ``{"eventDataId", "data": {"messageId",
"statusCode", "statusMessage", "customFields", ...}, "retryCount"}``, read by
:func:`parse_report`.  Status codes: 2000 accepted, 3000 with the carrier / Kakao (both still
pending), 4000 received; any other code is a final failure.  3104 (not a KakaoTalk user) and
3107 (KakaoTalk unused for 72 hours, or AlimTalk blocked) say the number cannot be reached on
AlimTalk at all, so the dispatcher skips it on this channel for ``skip_days``.  Solapi does
not bill a failed AlimTalk.

Settings for results: ``result_poll_seconds`` (first and following checks, default 5),
``result_wait_minutes`` (stop asking after this long, default 60: the message stays "sent"),
``skip_days`` (default 30), ``webhook_secret`` (the secret path segment of the report
webhook ``/hooks/solapi/<webhook_secret>``; empty: no webhook).  Solapi's webhook carries
no signature we could check (its ``secret`` field is undocumented), so the secret lives in
the URL registered with Solapi, which must be HTTPS.

Why not Solapi's own SDK (``solapi`` 5.0.3 on PyPI), read for this module: it is
synchronous and its base URL can be replaced, but (1) it sets no timeout (httpx's default
5 s, not ours) and opens a new connection per call; (2) it turns every HTTP error into a bare
``Exception(errorCode, errorMessage)`` without the status, so 429/5xx (retry later) cannot be
told from 401/402 (our configuration) and ``Retry-After`` is lost; (3) its ``get_messages``
calls ``/messages/v4/list-old`` and writes ``messageIds`` as a Python repr, not JSON; (4) it
brings httpx and pydantic (a compiled core) for two small JSON calls, a second HTTP stack
beside requests under eventlet.  Two requests with an HMAC header stay simpler and testable.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import phonenumbers

from .base import (
    KINDS,
    RESULT_DELIVERED,
    RESULT_FAILED,
    RESULT_PENDING,
    CannotReach,
    Channel,
    ChannelConfigError,
    ChannelMisconfigured,
    OutgoingMessage,
    ProviderResult,
    Recipient,
    SendResult,
    TemporaryFailure,
    as_bool,
    http_get,
    http_post,
    is_temporary_status,
    parse_retry_after,
)

DEFAULT_BASE_URL = "https://api.solapi.com"
SEND_PATH = "/messages/v4/send-many/detail"
LIST_PATH = "/messages/v4/list"
CUSTOM_FIELD = "queueMessageId"
#: Still on its way: accepted by Solapi (2000), handed to the carrier / Kakao (3000).
PENDING_CODES = frozenset({"2000", "3000"})
#: Received by the phone.
DELIVERED_CODE = "4000"
#: Final failures that say the number has no (usable) KakaoTalk: not a KakaoTalk user (3104);
#: KakaoTalk unused for 72 hours, or AlimTalk blocked by the user (3107).
NO_KAKAOTALK_CODES = frozenset({"3104", "3107"})


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
        self.result_poll_seconds = _positive(s, "result_poll_seconds", 5.0)
        self.result_wait_minutes = _positive(s, "result_wait_minutes", 60.0)
        self.skip_days = _positive(s, "skip_days", 30.0)
        self.webhook_secret = str(s.get("webhook_secret") or "")
        if self.webhook_secret and len(self.webhook_secret) < 16:
            raise ChannelConfigError("alimtalk: webhook_secret must be at least 16 characters (it is the URL's key)")

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

    def results(self, provider_ids: Sequence[str]) -> dict[str, ProviderResult]:
        """How Solapi says these messages ended, by message id, in one list call.

        A message Solapi does not list is left out (the caller keeps asking).  A failed call,
        a late answer or one not in Solapi's documented shape raises TemporaryFailure (or
        ChannelMisconfigured for refused credentials): nothing was learned, nothing changes.
        """
        ids = [pid for pid in dict.fromkeys(provider_ids) if pid]
        if not ids:
            return {}
        if len(ids) == 1:
            params: dict[str, Any] = {"criteria": "messageId", "cond": "eq", "value": ids[0]}
        else:
            params = {"messageIds": json.dumps(ids), "limit": len(ids)}
        response = http_get(
            self.base_url + LIST_PATH,
            timeout=self.timeout,
            what="solapi",
            params=params,
            headers={"Authorization": authorization_header(self.api_key, self._api_secret)},
        )
        status = response.status_code
        if status in (401, 403):
            raise ChannelMisconfigured(f"solapi: message list refused, HTTP {status}")
        if status != 200:
            raise TemporaryFailure(f"solapi: message list answered HTTP {status}")
        try:
            answer = response.json()
        except ValueError:
            raise TemporaryFailure("solapi: message list answer is not JSON") from None
        listed = answer.get("messageList") if isinstance(answer, dict) else None
        if isinstance(listed, dict):
            entries = [
                dict(entry, messageId=entry.get("messageId") or key)
                for key, entry in listed.items()
                if isinstance(entry, dict)
            ]
        elif isinstance(listed, list):
            entries = [entry for entry in listed if isinstance(entry, dict)]
        else:
            raise TemporaryFailure("solapi: message list answer has no messageList")
        wanted = set(ids)
        found: dict[str, ProviderResult] = {}
        for entry in entries:
            result = read_result(entry)
            if result is not None and result.provider_id in wanted:
                found[result.provider_id] = result
        return found


def _positive(settings: dict, key: str, default: float) -> float:
    value = settings.get(key, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = -1.0
    if isinstance(value, bool) or not number > 0:
        raise ChannelConfigError(f"alimtalk: {key} must be a number greater than 0")
    return number


def classify(provider_id: str, code: str, detail: str = "") -> ProviderResult:
    """A Solapi status code read as pending, delivered or failed (and whether for good)."""
    if code == DELIVERED_CODE:
        return ProviderResult(provider_id, RESULT_DELIVERED, code, detail)
    if code in PENDING_CODES or not (len(code) == 4 and code.isdigit()):
        # Unknown shapes ("TEST1000" of Solapi's test mode) are not taken as a failure.
        return ProviderResult(provider_id, RESULT_PENDING, code, detail)
    return ProviderResult(provider_id, RESULT_FAILED, code, detail, unreachable=code in NO_KAKAOTALK_CODES)


def read_result(entry: dict) -> ProviderResult | None:
    """One message of Solapi's list or report as a ProviderResult; None without id or code."""
    provider_id = entry.get("messageId")
    code = entry.get("statusCode")
    if not isinstance(provider_id, str) or not provider_id or not isinstance(code, str):
        return None
    detail = entry.get("statusMessage") or entry.get("reason") or ""
    return classify(provider_id, code, str(detail)[:200])


def parse_report(body: Any) -> list[ProviderResult]:
    """Solapi's report webhook body as results; ValueError naming the field if it is not one.

    The body is a list of ``{"eventDataId", "data": {message}, "retryCount"}``; a bare
    message in place of ``{"data": ...}`` is read too.  Every item is checked before any is
    used, so a bad report changes nothing.
    """
    if not isinstance(body, list):
        raise ValueError("body: must be a list of message reports")
    results = []
    for index, item in enumerate(body):
        if not isinstance(item, dict):
            raise ValueError(f"[{index}]: must be an object")
        message = item.get("data", item)
        where = f"[{index}].data" if "data" in item else f"[{index}]"
        if not isinstance(message, dict):
            raise ValueError(f"{where}: must be an object")
        if not isinstance(message.get("messageId"), str) or not message["messageId"]:
            raise ValueError(f"{where}.messageId: is required")
        if not isinstance(message.get("statusCode"), str):
            raise ValueError(f"{where}.statusCode: is required")
        results.append(read_result(message))
    return results
