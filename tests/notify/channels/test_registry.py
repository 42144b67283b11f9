"""The registry builds each adapter from its config section; the interface is shared."""

from __future__ import annotations

import pytest

from queue_app.notify.channels import CHANNELS, build_channel
from queue_app.notify.channels.base import (
    CannotReach,
    Channel,
    ChannelConfigError,
    ChannelMisconfigured,
    Recipient,
    TemporaryFailure,
)
from queue_app.notify.channels.webpush import generate_vapid_keys

SETTINGS = {
    "webpush": {"vapid_private_key": generate_vapid_keys()[0], "vapid_subject": "mailto:admin@clinic.example"},
    "alimtalk": {
        "api_key": "k",
        "api_secret": "s",
        "pf_id": "pf",
        "sender": "0212345678",
        "templates": {"called": "T1"},
    },
    "sms": {"account_sid": "AC1", "auth_token": "t", "from_number": "+15005550006"},
    "telegram": {"bot_token": "1:abc"},
    "email": {"host": "smtp.clinic.example", "from_address": "queue@clinic.example"},
    "webhook": {"url": "https://his.clinic.example/queue", "secret": "s"},
}


def test_every_channel_is_registered_under_its_name():
    assert set(CHANNELS) == {"webpush", "alimtalk", "sms", "telegram", "email", "webhook", "demo"}
    for name, cls in CHANNELS.items():
        assert cls.name == name
        assert issubclass(cls, Channel)


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_build_each_channel(name):
    channel = build_channel(name, dict(SETTINGS[name], enabled=True))
    assert isinstance(channel, CHANNELS[name])
    assert channel.name == name
    assert channel.timeout == 10
    assert isinstance(channel.can_reach(Recipient()), bool)
    # repr never shows settings (they hold secrets)
    assert "secret" not in repr(channel) and "token" not in repr(channel)


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_missing_settings_are_reported(name):
    with pytest.raises(ChannelConfigError):
        build_channel(name, {})


def test_type_lets_a_section_reuse_an_adapter():
    backup = build_channel("sms_backup", dict(SETTINGS["sms"], type="sms", timeout=3))
    assert type(backup) is CHANNELS["sms"]
    assert backup.name == "sms_backup"
    assert backup.timeout == 3
    assert CHANNELS["sms"].name == "sms"


def test_unknown_channel_and_bad_timeout():
    with pytest.raises(ChannelConfigError, match="unknown channel"):
        build_channel("pigeon", {})
    with pytest.raises(ChannelConfigError):
        build_channel("telegram", {"bot_token": "1:abc", "timeout": 0})
    with pytest.raises(ValueError):  # ChannelConfigError is a ValueError
        build_channel("telegram", {"bot_token": "1:abc", "timeout": "soon"})


def test_error_hierarchy():
    assert issubclass(ChannelMisconfigured, CannotReach)
    assert not issubclass(TemporaryFailure, CannotReach)
    assert TemporaryFailure("x", retry_after=3).retry_after == 3
    assert TemporaryFailure("x").retry_after is None
