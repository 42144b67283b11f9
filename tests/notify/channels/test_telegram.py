"""Telegram Bot API: a local server speaking the Bot API's sendMessage / setWebhook."""

from __future__ import annotations

import time

import pytest

from queue_app.notify.channels.base import (
    CannotReach,
    ChannelConfigError,
    ChannelMisconfigured,
    Recipient,
    TemporaryFailure,
)
from queue_app.notify.channels.telegram import (
    TelegramChannel,
    check_secret_token,
    parse_start,
    start_link,
)

TOKEN = "123456789:AAH-test_token"
CHAT = "987654321"


def channel(base_url, **extra):
    return TelegramChannel({"bot_token": TOKEN, "base_url": base_url, **extra})


def bot_api(error=None):
    """Answers like api.telegram.org: wrong token -> 401, else ok or the given error."""

    def handle(request):
        if not request.path.startswith(f"/bot{TOKEN}/"):
            return 401, {}, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        if error:
            code, description, extra = error
            return code, {}, {"ok": False, "error_code": code, "description": description, **extra}
        body = request.json()
        if request.path.endswith("/sendMessage"):
            return (
                200,
                {},
                {
                    "ok": True,
                    "result": {
                        "message_id": 42,
                        "chat": {"id": int(body["chat_id"]), "type": "private"},
                        "date": 1710000000,
                        "text": body["text"],
                    },
                },
            )
        return 200, {}, {"ok": True, "result": True, "description": "Webhook was set"}

    return handle


def test_send_message(http_server, make_message):
    http_server.handler = bot_api()
    message = make_message(Recipient(telegram_chat_id=CHAT), language="ru", text="Пациент A-007, пройдите в кабинет 2.")
    result = channel(http_server.url).send(message)

    assert result.provider_id == "42"
    assert result.delivered is True
    request = http_server.last
    assert request.method == "POST"
    assert request.path == f"/bot{TOKEN}/sendMessage"
    assert request.headers["Content-Type"] == "application/json"
    assert request.json() == {"chat_id": CHAT, "text": "Пациент A-007, пройдите в кабинет 2."}


def test_blocked_bot_cannot_reach(http_server, make_message):
    http_server.handler = bot_api((403, "Forbidden: bot was blocked by the user", {}))
    with pytest.raises(CannotReach, match="blocked"):
        channel(http_server.url).send(make_message(Recipient(telegram_chat_id=CHAT)))


def test_chat_not_found_cannot_reach(http_server, make_message):
    http_server.handler = bot_api((400, "Bad Request: chat not found", {}))
    with pytest.raises(CannotReach, match="chat not found"):
        channel(http_server.url).send(make_message(Recipient(telegram_chat_id=CHAT)))


def test_bad_token_is_misconfiguration_and_not_leaked(http_server, make_message):
    http_server.handler = bot_api()
    bot = TelegramChannel({"bot_token": "1:WRONG", "base_url": http_server.url})
    with pytest.raises(ChannelMisconfigured) as info:
        bot.send(make_message(Recipient(telegram_chat_id=CHAT)))
    assert "WRONG" not in str(info.value)


def test_flood_limit_is_temporary_with_retry_after(http_server, make_message):
    http_server.handler = bot_api((429, "Too Many Requests: retry after 5", {"parameters": {"retry_after": 5}}))
    with pytest.raises(TemporaryFailure) as info:
        channel(http_server.url).send(make_message(Recipient(telegram_chat_id=CHAT)))
    assert info.value.retry_after == 5


def test_server_error_is_temporary(http_server, make_message):
    http_server.handler = lambda r: (502, {}, "Bad Gateway")
    with pytest.raises(TemporaryFailure):
        channel(http_server.url).send(make_message(Recipient(telegram_chat_id=CHAT)))


def test_timeout_is_temporary(http_server, make_message):
    def slow(request):
        http_server.stall()
        return 200, {}, {"ok": True, "result": {"message_id": 1}}

    http_server.handler = slow
    started = time.monotonic()
    with pytest.raises(TemporaryFailure, match="timed out"):
        channel(http_server.url, timeout=0.2).send(make_message(Recipient(telegram_chat_id=CHAT)))
    assert time.monotonic() - started < 2


def test_set_webhook_sends_the_secret_token(http_server):
    http_server.handler = bot_api()
    channel(http_server.url).set_webhook("https://clinic.example/telegram", "s3cr3t_-Token")
    request = http_server.last
    assert request.path == f"/bot{TOKEN}/setWebhook"
    assert request.json() == {
        "url": "https://clinic.example/telegram",
        "secret_token": "s3cr3t_-Token",
        "allowed_updates": ["message"],
    }
    with pytest.raises(ValueError):
        channel(http_server.url).set_webhook("https://clinic.example/telegram", "no spaces!")


def test_can_reach_and_settings():
    bot = channel("http://127.0.0.1:9")
    assert bot.can_reach(Recipient(telegram_chat_id=CHAT))
    assert not bot.can_reach(Recipient(phone="+821012345678"))
    with pytest.raises(ChannelConfigError):
        TelegramChannel({})


def update(text, chat_type="private", chat_id=int(CHAT)):
    return {
        "update_id": 10000,
        "message": {
            "message_id": 1,
            "date": 1710000000,
            "text": text,
            "from": {"id": chat_id, "is_bot": False, "first_name": "Ivan"},
            "chat": {"id": chat_id, "type": chat_type, "first_name": "Ivan"},
        },
    }


def test_parse_start():
    assert parse_start(update("/start A7x_k-93")) == (CHAT, "A7x_k-93")
    assert parse_start(update("/start@HanbitQueueBot A7x")) == (CHAT, "A7x")
    assert parse_start(update("/start")) is None
    assert parse_start(update("hello")) is None
    assert parse_start(update("/start bad$code")) is None
    assert parse_start(update("/start " + "x" * 65)) is None
    assert parse_start(update("/start A7x", chat_type="group")) is None
    assert parse_start({"update_id": 1, "edited_message": {}}) is None
    assert parse_start({}) is None


def test_secret_token_check():
    assert check_secret_token("s3cr3t", "s3cr3t")
    assert not check_secret_token("other", "s3cr3t")
    assert not check_secret_token(None, "s3cr3t")
    assert not check_secret_token("anything", "")  # no secret configured: refuse


def test_start_link():
    assert start_link("@HanbitQueueBot", "A7x") == "https://t.me/HanbitQueueBot?start=A7x"
    with pytest.raises(ValueError):
        start_link("HanbitQueueBot", "a b")
