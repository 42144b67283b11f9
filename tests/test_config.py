"""Configuration: the example loads, environment overrides apply, bad values name their key."""

from __future__ import annotations

import pytest

from queue_app.config import EXAMPLE_CONFIG, ConfigError, load_settings


def test_example_describes_the_demo_clinic():
    settings = load_settings(EXAMPLE_CONFIG, environ={})
    assert settings.timezone.key == "Asia/Seoul"
    assert list(settings.services) == ["general", "pediatrics", "vaccination"]
    assert len(settings.rooms) == 4
    assert settings.rooms["room2"].services == ("general", "pediatrics")
    assert settings.hours.breaks[0][0].hour == 13
    assert settings.async_mode == "eventlet" and settings.message_queue == ""
    assert settings.services["general"].name("ru") == "Общий приём"
    limits = settings.limits
    assert (limits.login_per_account, limits.login_per_address) == (5, 20)
    assert (limits.public_check_ins_per_address, limits.one_ticket_per_phone) == (30, True)


def test_environment_overrides_keys_typed_like_the_file():
    settings = load_settings(
        EXAMPLE_CONFIG,
        environ={
            "QUEUE_APP_DATABASE_URL": "postgresql+psycopg://db/clinic",
            "QUEUE_APP_SERVER_PORT": "8080",
            "QUEUE_APP_SERVER_SECRET_KEY": "s3cret-of-thirty-two-bytes-or-more",
            "QUEUE_APP_CLINIC_PUBLIC_CHECK_IN": "true",
            "QUEUE_APP_REALTIME_MESSAGE_QUEUE": "redis://127.0.0.1:6379/0",
            "QUEUE_APP_SERVER_LOGIN_ATTEMPTS_PER_MINUTE": "3",
            "UNRELATED": "x",
        },
    )
    assert settings.database_url == "postgresql+psycopg://db/clinic"
    assert settings.port == 8080
    assert settings.secret_key == "s3cret-of-thirty-two-bytes-or-more"
    assert settings.public_check_in is True
    assert settings.message_queue.startswith("redis://")
    assert settings.limits.login_per_account == 3


@pytest.mark.parametrize(
    "overrides, key",
    [
        ({"clinic": {"timezone": "Mars/Olympus"}}, "[clinic] timezone"),
        ({"clinic": {"default_language": "fr"}}, "[clinic] default_language"),
        ({"clinic": {"phone_region": "XX"}}, "[clinic] phone_region"),
        ({"server": {"port": 70000}}, "[server] port"),
        ({"server": {"port": "80"}}, "[server] port"),
        ({"server": {"async_mode": "asyncio"}}, "[server] async_mode"),
        ({"database": {"url": "mysql://x"}}, "[database] url"),
        ({"realtime": {"message_queue": "amqp://x"}}, "[realtime] message_queue"),
        ({"hours": {"open": "25:00"}}, "[hours] open"),
        ({"hours": {"close": "08:00"}}, "[hours] close"),
        ({"services": {"general": {"prefix": "P"}}}, "[services.pediatrics] prefix"),
        ({"services": {"general": {"prefix": "a1"}}}, "[services.general] prefix"),
        ({"services": {"general": {"default_minutes": -1}}}, "[services.general] default_minutes"),
        ({"rooms": {"room1": {"services": ["dentistry"]}}}, "[rooms.room1] services"),
        ({"privacy": {"retention_days": 0}}, "[privacy] retention_days"),
        ({"server": {"secret_key": "test-secret"}}, "[server] secret_key"),
        ({"server": {"session_idle_minutes": 0}}, "[server] session_idle_minutes"),
        ({"server": {"trusted_proxies": "10.0.0.300"}}, "[server] trusted_proxies"),
        ({"server": {"login_attempts_per_minute": 0}}, "[server] login_attempts_per_minute"),
        (
            {"server": {"login_attempts_per_address_per_minute": "ten"}},
            "[server] login_attempts_per_address_per_minute",
        ),
        ({"clinic": {"public_check_ins_per_address_per_hour": -5}}, "[clinic] public_check_ins_per_address_per_hour"),
        ({"clinic": {"one_open_ticket_per_phone": "yes"}}, "[clinic] one_open_ticket_per_phone"),
    ],
)
def test_bad_values_name_the_key(overrides, key):
    with pytest.raises(ConfigError) as excinfo:
        load_settings(EXAMPLE_CONFIG, overrides=overrides, environ={})
    assert excinfo.value.key == key
    assert key in str(excinfo.value)


def test_bad_environment_value_names_the_variable():
    with pytest.raises(ConfigError, match="QUEUE_APP_SERVER_PORT"):
        load_settings(EXAMPLE_CONFIG, environ={"QUEUE_APP_SERVER_PORT": "eighty"})


def test_missing_or_broken_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml", environ={})
    broken = tmp_path / "broken.toml"
    broken.write_text("[clinic\nname = ")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(broken, environ={})


def test_channel_secrets_come_from_the_environment():
    settings = load_settings(
        EXAMPLE_CONFIG,
        environ={
            "QUEUE_APP_CHANNELS_SMS_ENABLED": "true",
            "QUEUE_APP_CHANNELS_SMS_ACCOUNT_SID": "AC" + "9" * 32,
            "QUEUE_APP_CHANNELS_SMS_AUTH_TOKEN": "from-the-environment",
            "QUEUE_APP_CHANNELS_SMS_FROM_NUMBER": "+15005550006",
        },
    )
    assert settings.notify.order == ("sms",)
    assert settings.notify.channel_settings["sms"]["auth_token"] == "from-the-environment"
    assert settings.notify.costs["sms"] == 20


@pytest.mark.parametrize(
    "overrides, key",
    [
        ({"notify": {"channels": ["pigeon"]}}, "[notify] channels"),
        ({"notify": {"channels": ["webhook"]}}, "[notify] channels"),
        ({"notify": {"near_minutes": -1}}, "[notify] near_minutes"),
        ({"notify": {"retries": 0}}, "[notify] retries"),
        ({"notify": {"senders": 0}}, "[notify] senders"),
        ({"notify": {"currency": "won"}}, "[notify] currency"),
        ({"notify": {"services": {"dentistry": {}}}}, "[notify.services.dentistry]"),
        ({"notify": {"templates": {"en": {"called": "no number here"}}}}, "[notify.templates.en] called"),
        ({"channels": {"sms": {"enabled": True, "account_sid": ""}}}, "[channels.sms]"),
        ({"channels": {"sms": {"cost": -1}}}, "[channels.sms] cost"),
    ],
)
def test_bad_notify_values_name_the_key(overrides, key):
    with pytest.raises(ConfigError) as excinfo:
        load_settings(EXAMPLE_CONFIG, overrides=overrides, environ={})
    assert excinfo.value.key == key


# -- the demo clinic of `make run` ----------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides, environ, key",
    [
        ({"channels": {"demo": {}}}, {}, "[channels.demo]"),
        ({"channels": {"demo": {"enabled": True}}}, {}, "[channels.demo]"),
        ({"channels": {"pretend_sms": {"type": "demo"}}}, {}, "[channels.pretend_sms]"),
        ({"notify": {"channels": ["sms", "demo"]}}, {}, "[notify] channels"),
        ({"channels": {"demo": {"enabled": False}}, "notify": {"channels": ["demo"]}}, {}, "[notify] channels"),
        ({}, {"QUEUE_APP_NOTIFY_CHANNELS": "demo"}, "[notify] channels"),
        ({"server": {"demo": False}, "channels": {"demo": {}}}, {}, "[channels.demo]"),
    ],
)
def test_the_demo_channel_outside_the_demo_names_the_key(overrides, environ, key):
    with pytest.raises(ConfigError) as excinfo:
        load_settings(EXAMPLE_CONFIG, overrides=overrides, environ=environ)
    assert excinfo.value.key == key
    assert "for the demo only" in str(excinfo.value)


def test_a_real_clinic_has_no_demo_channel():
    settings = load_settings(EXAMPLE_CONFIG, environ={})
    assert settings.demo is False
    assert "demo" not in settings.notify.channel_settings and settings.notify.order == ()


def test_in_the_demo_with_no_channel_the_demo_phone_is_the_patients_channel():
    settings = load_settings(EXAMPLE_CONFIG, environ={"QUEUE_APP_SERVER_DEMO": "true"})
    assert settings.demo is True
    assert settings.notify.order == ("demo",)
    assert settings.notify.costs["demo"] == 0
    assert type(settings.notify.build_channels()["demo"]).__name__ == "DemoChannel"


def test_in_the_demo_the_demo_channel_may_be_configured_like_any_other():
    settings = load_settings(
        EXAMPLE_CONFIG,
        overrides={"server": {"demo": True}, "notify": {"channels": ["sms", "demo"]}, "channels": {"demo": {}}},
        environ={},
    )
    assert settings.notify.order == ("demo",)  # the SMS section of the example is off


def test_a_demo_with_a_channel_of_its_own_keeps_it():
    settings = load_settings(
        EXAMPLE_CONFIG,
        overrides={"server": {"demo": True}},
        environ={
            "QUEUE_APP_CHANNELS_SMS_ENABLED": "true",
            "QUEUE_APP_CHANNELS_SMS_ACCOUNT_SID": "AC" + "9" * 32,
            "QUEUE_APP_CHANNELS_SMS_AUTH_TOKEN": "t",
            "QUEUE_APP_CHANNELS_SMS_FROM_NUMBER": "+15005550006",
        },
    )
    assert settings.notify.order == ("sms",)
    assert "demo" not in settings.notify.channel_settings


@pytest.mark.parametrize("value, demo", [("true", True), ("1", True), ("false", False), ("off", False)])
def test_demo_mode_from_the_environment(value, demo):
    assert load_settings(EXAMPLE_CONFIG, environ={"QUEUE_APP_SERVER_DEMO": value}).demo is demo


def test_demo_mode_must_be_true_or_false(tmp_path):
    with pytest.raises(ConfigError, match="QUEUE_APP_SERVER_DEMO"):
        load_settings(EXAMPLE_CONFIG, environ={"QUEUE_APP_SERVER_DEMO": "maybe"})
    # A file written before the key existed: the environment's text is read the same way.
    old = tmp_path / "old.toml"
    old.write_text(EXAMPLE_CONFIG.read_text(encoding="utf-8").replace("demo = false\n", ""), encoding="utf-8")
    assert load_settings(old, environ={"QUEUE_APP_SERVER_DEMO": "true"}).demo is True
    with pytest.raises(ConfigError) as excinfo:
        load_settings(old, environ={"QUEUE_APP_SERVER_DEMO": "maybe"})
    assert excinfo.value.key == "[server] demo"


def test_alimtalk_result_settings_are_checked_naming_the_key():
    alimtalk = {
        "QUEUE_APP_CHANNELS_ALIMTALK_ENABLED": "true",
        "QUEUE_APP_CHANNELS_ALIMTALK_API_KEY": "NCSKEY",
        "QUEUE_APP_CHANNELS_ALIMTALK_API_SECRET": "NCSSECRET",
        "QUEUE_APP_CHANNELS_ALIMTALK_PF_ID": "KA01PF",
        "QUEUE_APP_CHANNELS_ALIMTALK_RESULT_POLL_SECONDS": "1",
    }
    settings = load_settings(EXAMPLE_CONFIG, environ=alimtalk)
    section = settings.notify.channel_settings["alimtalk"]
    assert (section["result_poll_seconds"], section["skip_days"], section["webhook_secret"]) == (1, 30, "")
    with pytest.raises(ConfigError) as excinfo:
        load_settings(EXAMPLE_CONFIG, environ={**alimtalk, "QUEUE_APP_CHANNELS_ALIMTALK_SKIP_DAYS": "0"})
    assert excinfo.value.key == "[channels.alimtalk]" and "skip_days" in str(excinfo.value)


def test_a_secret_key_needs_32_bytes_and_empty_means_made_for_you():
    def key(value):
        return load_settings(EXAMPLE_CONFIG, environ={"QUEUE_APP_SERVER_SECRET_KEY": value}).secret_key

    with pytest.raises(ConfigError, match=r"\[server\] secret_key.*32 bytes"):
        key("x" * 31)
    assert key("x" * 32) == "x" * 32
    assert key("비밀" * 6) == "비밀" * 6  # 12 characters, 36 bytes
    assert key("") == ""


@pytest.mark.parametrize("value", [0, 1, 601, "20", True])
def test_kiosk_ticket_seconds_is_validated(value):
    with pytest.raises(ConfigError) as excinfo:
        load_settings(EXAMPLE_CONFIG, overrides={"kiosk": {"ticket_seconds": value}}, environ={})
    assert excinfo.value.key == "[kiosk] ticket_seconds"


def test_kiosk_ticket_seconds_defaults_to_twenty_and_reads_the_environment():
    assert load_settings(EXAMPLE_CONFIG, environ={}).kiosk_ticket_seconds == 20
    settings = load_settings(EXAMPLE_CONFIG, environ={"QUEUE_APP_KIOSK_TICKET_SECONDS": "45"})
    assert settings.kiosk_ticket_seconds == 45
