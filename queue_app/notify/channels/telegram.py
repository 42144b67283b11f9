"""Telegram through the Bot API.

Sending: ``POST {base_url}/bot<token>/sendMessage`` with JSON ``{"chat_id", "text"}``; the
answer is ``{"ok": true, "result": {"message_id": ...}}`` or ``{"ok": false, "error_code",
"description", "parameters": {"retry_after"}}``.  A successful sendMessage means the message
is in the patient's chat, so ``delivered`` is True.

Outcome mapping: 429 (with ``retry_after``) and 5xx, timeouts -> TemporaryFailure;
401 Unauthorized / 404 (bad token) -> ChannelMisconfigured; 403 (bot blocked by the user,
user deactivated, bot can't initiate conversation) and 400 (chat not found, ...) ->
CannotReach.

Idempotency: the Bot API has no idempotency key; a retried sendMessage after a timeout may
post the message twice.

Linking a patient: the ticket page shows ``https://t.me/<bot>?start=<code>`` (see
:func:`start_link`); Telegram then sends our webhook an update whose message text is
``/start <code>``; :func:`parse_start` returns ``(chat_id, code)`` from it.  The webhook is
registered with a ``secret_token`` (see :meth:`TelegramChannel.set_webhook`) and Telegram
sends it back in the ``X-Telegram-Bot-Api-Secret-Token`` header of every update
(:func:`check_secret_token`).

Settings ``[channels.telegram]``: ``bot_token`` (required), ``webhook_secret`` (for the
web layer), ``base_url`` (default https://api.telegram.org), ``timeout``.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from urllib.parse import quote

from .base import (
    CannotReach,
    Channel,
    ChannelMisconfigured,
    OutgoingMessage,
    Recipient,
    SendResult,
    TemporaryFailure,
    http_post,
    is_temporary_status,
)

DEFAULT_BASE_URL = "https://api.telegram.org"
SECRET_TOKEN_HEADER = "X-Telegram-Bot-Api-Secret-Token"

#: Deep-link payloads (the ``start`` parameter) Telegram allows: 1-64 of A-Z a-z 0-9 _ -
START_CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: Secret tokens Telegram allows: 1-256 of A-Z a-z 0-9 _ -
SECRET_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_START_RE = re.compile(r"^/start(?:@[A-Za-z0-9_]+)?(?:\s+(\S+))?\s*$")


class TelegramChannel(Channel):
    name = "telegram"

    def __init__(self, settings: dict):
        super().__init__(settings)
        self._require("bot_token")
        self._token = str(self.settings["bot_token"])
        self.base_url = str(self.settings.get("base_url") or DEFAULT_BASE_URL).rstrip("/")

    def _method_url(self, method: str) -> str:
        return f"{self.base_url}/bot{self._token}/{method}"

    def can_reach(self, recipient: Recipient) -> bool:
        return bool(recipient.telegram_chat_id)

    def _call(self, method: str, payload: dict) -> dict:
        response = http_post(
            self._method_url(method),
            timeout=self.timeout,
            what=f"telegram {method}",
            json=payload,
        )
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        status = response.status_code
        if status == 200 and body.get("ok") is True:
            return body
        code = body.get("error_code", status)
        detail = f"telegram {method}: {code} {body.get('description', '')}".strip()
        params = body.get("parameters") or {}
        if is_temporary_status(status) or code == 429:
            retry_after = params.get("retry_after") if isinstance(params, dict) else None
            raise TemporaryFailure(detail, retry_after=float(retry_after) if retry_after is not None else None)
        if status in (401, 404) or code in (401, 404):
            raise ChannelMisconfigured(detail + " (check bot_token)")
        raise CannotReach(detail)

    def send(self, message: OutgoingMessage) -> SendResult:
        chat_id = message.recipient.telegram_chat_id
        if not chat_id:
            raise CannotReach("telegram: no chat id")
        body = self._call("sendMessage", {"chat_id": chat_id, "text": message.text})
        result = body.get("result") or {}
        message_id = result.get("message_id") if isinstance(result, dict) else None
        return SendResult(provider_id=str(message_id) if message_id is not None else None, delivered=True)

    def set_webhook(self, url: str, secret_token: str) -> None:
        """Register ``url`` for updates (messages only) with ``secret_token``."""
        if not SECRET_TOKEN_RE.match(secret_token or ""):
            raise ValueError("secret_token must be 1-256 characters of A-Z a-z 0-9 _ -")
        self._call(
            "setWebhook",
            {"url": url, "secret_token": secret_token, "allowed_updates": ["message"]},
        )


def parse_start(update: dict) -> tuple[str, str] | None:
    """``(chat_id, code)`` from an update carrying ``/start <code>`` in a private chat.

    None for anything else: other messages, ``/start`` without a code, a code Telegram would
    not have produced, group chats.
    """
    if not isinstance(update, dict):
        return None
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    text = message.get("text")
    chat = message.get("chat")
    if not isinstance(text, str) or not isinstance(chat, dict):
        return None
    if chat.get("type", "private") != "private" or chat.get("id") is None:
        return None
    match = _START_RE.match(text.strip())
    if not match or not match.group(1):
        return None
    code = match.group(1)
    if not START_CODE_RE.match(code):
        return None
    return str(chat["id"]), code


@dataclass(frozen=True)
class TelegramText:
    """A text a patient wrote to the bot in a private chat (not ``/start <code>``)."""

    chat_id: str
    text: str
    #: ``telegram:<update_id>``: Telegram sends an update again until we answer 200.
    provider_id: str
    #: The user's app language (``ko``, ``ru``, ``en-US`` ...), when Telegram tells it.
    language: str | None = None


def parse_text(update: dict) -> TelegramText | None:
    """The text of a private chat's message; None for anything else (or ``/start <code>``)."""
    if not isinstance(update, dict) or parse_start(update) is not None:
        return None
    message = update.get("message")
    update_id = update.get("update_id")
    if not isinstance(message, dict) or not isinstance(update_id, int) or isinstance(update_id, bool):
        return None
    text, chat = message.get("text"), message.get("chat")
    if not isinstance(text, str) or not text.strip() or not isinstance(chat, dict):
        return None
    if chat.get("type", "private") != "private" or chat.get("id") is None:
        return None
    if text.strip().split()[0].split("@")[0] == "/start":
        return None  # the bot opened without a code: nothing to answer by hand
    sender = message.get("from")
    language = sender.get("language_code") if isinstance(sender, dict) else None
    return TelegramText(
        chat_id=str(chat["id"]),
        text=text,
        provider_id=f"telegram:{update_id}",
        language=language[:2] if isinstance(language, str) else None,
    )


def check_secret_token(header_value: str | None, secret: str | None) -> bool:
    """True when the X-Telegram-Bot-Api-Secret-Token header matches our secret.

    With no secret configured every update is refused (fail closed).
    """
    if not secret or not header_value:
        return False
    return hmac.compare_digest(header_value.encode(), secret.encode())


def start_link(bot_username: str, code: str) -> str:
    """The deep link that opens the bot and sends ``/start <code>``."""
    if not START_CODE_RE.match(code):
        raise ValueError("code must be 1-64 characters of A-Z a-z 0-9 _ -")
    return f"https://t.me/{quote(bot_username.lstrip('@'))}?start={code}"
