"""Configuration: one TOML file, overridable key by key from the environment.

The file describes the clinic (name, time zone, languages, opening hours), its services and
rooms, and how the service runs (database, message queue, server).  Any top-level key can be
overridden by ``QUEUE_APP_<SECTION>_<KEY>`` (``QUEUE_APP_DATABASE_URL``,
``QUEUE_APP_SERVER_SECRET_KEY``), which is how secrets reach a deployment without being
written into the file.  Everything is validated here, once, so a bad file stops the start
with a message naming the key instead of failing later in the middle of a morning.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import time
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from .appointment_settings import AppointmentSettings, parse_appointments
from .bundled import bundled_path
from .estimate import EstimatorSettings, OpeningHours
from .inbox_settings import InboxConfigError, InboxSettings, parse_inbox
from .links import parse_host
from .notify.settings import NotifySettings, parse_notify, refuse_demo_channel, with_demo_channel

ENV_PREFIX = "QUEUE_APP_"
ASYNC_MODES = ("eventlet", "gevent", "threading")
#: The shortest ``[server] secret_key`` accepted: a short key can be guessed offline from one cookie.
MIN_SECRET_KEY_BYTES = 32
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
#: The default configuration when none is given: in the package once installed, else at the project root.
EXAMPLE_CONFIG = bundled_path("config.example.toml")


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message names the key."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"configuration key {key}: {problem}")
        self.key = key


@dataclass(frozen=True)
class ServiceConfig:
    """A service patients check in for, such as general consultation or vaccination."""

    id: str
    prefix: str
    names: Mapping[str, str]
    default_minutes: float

    def name(self, language: str) -> str:
        """The service's name in ``language``, falling back to any name it has."""
        return self.names.get(language) or next(iter(self.names.values()))


@dataclass(frozen=True)
class RoomConfig:
    """A consultation room and the services it calls patients for."""

    id: str
    names: Mapping[str, str]
    services: tuple[str, ...]

    def name(self, language: str) -> str:
        """The room's name in ``language``, falling back to any name it has."""
        return self.names.get(language) or next(iter(self.names.values()))


@dataclass(frozen=True)
class AbuseLimits:
    """How much an anonymous caller or a password guesser may try before being held back."""

    #: Wrong passwords per minute for one account (``[server] login_attempts_per_minute``).
    login_per_account: int = 5
    #: Wrong passwords per minute from one address (``[server] login_attempts_per_address_per_minute``).
    login_per_address: int = 20
    #: Anonymous check-ins per hour from one address (``[clinic] public_check_ins_per_address_per_hour``).
    public_check_ins_per_address: int = 30
    #: One open ticket per phone number, service and day (``[clinic] one_open_ticket_per_phone``).
    one_ticket_per_phone: bool = True


@dataclass(frozen=True)
class Settings:
    """The validated configuration the whole service reads."""

    clinic_name: str
    timezone: ZoneInfo
    languages: tuple[str, ...]
    default_language: str
    phone_region: str
    public_check_in: bool
    hours: OpeningHours
    services: Mapping[str, ServiceConfig]
    rooms: Mapping[str, RoomConfig]
    database_url: str
    message_queue: str
    channel: str
    host: str
    port: int
    async_mode: str
    secret_key: str
    public_url: str
    retention_days: int
    #: The demo clinic of ``make run``: the demo channel and its page ``/demo/messages``.
    demo: bool = False
    notify: NotifySettings = field(default_factory=NotifySettings)
    #: Hosts (``host`` or ``host:port``) a request may name and have patients' links use.
    allowed_hosts: tuple[str, ...] = ()
    #: A staff session unused this long is over (``[server] session_idle_minutes``).
    session_idle_minutes: int = 480
    #: Proxies (addresses or networks) whose X-Forwarded-For and -Proto headers are believed.
    trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = ()
    limits: AbuseLimits = field(default_factory=AbuseLimits)
    #: Conversations: quick replies, the after-hours answer, holidays, the late hold.
    inbox: InboxSettings = field(default_factory=InboxSettings)
    #: Seconds the kiosk shows a ticket before going back to the start (``[kiosk] ticket_seconds``).
    kiosk_ticket_seconds: int = 20
    #: Reminders, arrival and no-show times, preparation instructions (``[appointments]``).
    appointments: AppointmentSettings = field(default_factory=AppointmentSettings)
    source: str = ""
    #: The whole parsed file (after overrides), for sections later parts read themselves.
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def estimator(self) -> EstimatorSettings:
        """What the wait estimator needs: hours and per-service cold-start durations."""
        return EstimatorSettings(
            hours=self.hours,
            default_minutes={s.id: s.default_minutes for s in self.services.values()},
        )


def default_config_path() -> Path:
    """``config.toml`` in the working directory when there is one, else the example."""
    local = Path("config.toml")
    return local if local.exists() else EXAMPLE_CONFIG


def load_settings(
    path: str | os.PathLike | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Read, override and validate the configuration.

    ``overrides`` is a nested mapping merged over the file (tests use it); ``environ``
    defaults to the process environment.
    """
    path = Path(path) if path else default_config_path()
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError("--config", f"file {path} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("--config", f"{path} is not valid TOML: {exc}") from None
    if overrides:
        _merge(data, overrides)
    _apply_environment(data, os.environ if environ is None else environ)
    return replace(_validate(data), source=str(path))


def _merge(base: dict, extra: Mapping[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def _apply_environment(data: dict, environ: Mapping[str, str]) -> None:
    """Apply ``QUEUE_APP_<SECTION>_<KEY>`` overrides, typed like the value they replace.

    Keys of a table inside a section are reached the same way:
    ``QUEUE_APP_CHANNELS_SMS_AUTH_TOKEN`` sets ``auth_token`` of ``[channels.sms]``.
    """
    sections = {name.upper(): name for name, value in data.items() if isinstance(value, dict)}
    for name in (
        "clinic",
        "hours",
        "database",
        "realtime",
        "server",
        "privacy",
        "notify",
        "channels",
        "inbox",
        "queue",
        "appointments",
    ):
        sections.setdefault(name.upper(), name)
    for var, value in environ.items():
        if not var.startswith(ENV_PREFIX):
            continue
        rest = var[len(ENV_PREFIX) :]
        match = max((s for s in sections if rest.startswith(s + "_")), key=len, default=None)
        if match is None:
            continue
        section = data.setdefault(sections[match], {})
        key = rest[len(match) + 1 :]
        # A table inside the section (``[channels.sms]``): QUEUE_APP_CHANNELS_SMS_AUTH_TOKEN.
        tables = {name.upper(): name for name, inner in section.items() if isinstance(inner, dict)}
        table = max((t for t in tables if key.startswith(t + "_")), key=len, default=None)
        if table is not None:
            section = section[tables[table]]
            key = key[len(table) + 1 :]
        key = key.lower()
        section[key] = _coerce(var, value, section.get(key))


def _coerce(var: str, value: str, current: Any) -> Any:
    if isinstance(current, bool):
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(var, f"expected true or false, got {value!r}")
    if isinstance(current, (int, float)):
        try:
            return int(value)
        except ValueError:
            pass
        try:
            return float(value)
        except ValueError:
            raise ConfigError(var, f"expected a number, got {value!r}") from None
    if isinstance(current, list):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def _get(data: Mapping, section: str, key: str, kind: type, default: Any = ...) -> Any:
    value = data.get(section, {}).get(key, default)
    where = f"[{section}] {key}"
    if value is ...:
        raise ConfigError(where, "is required")
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(where, f"must be {kind.__name__}, got {value!r}")
    return value


def _parse_time(where: str, value: Any) -> time:
    if isinstance(value, time):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"\d{1,2}:\d{2}", value):
        raise ConfigError(where, f'must be a time like "09:00", got {value!r}')
    hour, minute = (int(part) for part in value.split(":"))
    if hour > 23 or minute > 59:
        raise ConfigError(where, f"{value!r} is not a time of day")
    return time(hour, minute)


def _names(where: str, value: Any, languages: tuple[str, ...]) -> dict[str, str]:
    if isinstance(value, str):
        return {lang: value for lang in languages}
    if not isinstance(value, dict) or not value:
        raise ConfigError(where, "must be a name or a table of names per language")
    for lang, text in value.items():
        if not isinstance(text, str) or not text.strip():
            raise ConfigError(f"{where}.{lang}", "must be a non-empty string")
    return dict(value)


def _allowed_hosts(value: Any) -> tuple[str, ...]:
    """``[server] allowed_hosts``: a list (or, from the environment, a comma-separated string)."""
    where = "[server] allowed_hosts"
    if isinstance(value, str):
        value = [item.strip() for item in value.split(",") if item.strip()]
    if not isinstance(value, list):
        raise ConfigError(where, f"must be a list of host or host:port, got {value!r}")
    hosts = []
    for item in value:
        if not isinstance(item, str):
            raise ConfigError(where, f"must list strings, got {item!r}")
        try:
            host, port = parse_host(item)
        except ValueError as exc:
            raise ConfigError(where, f"{exc} (write clinic.example.kr or 192.168.0.10:5000, no http://)") from None
        hosts.append(host if port is None else f"{host}:{port}")
    return tuple(hosts)


def _trusted_proxies(value: Any) -> tuple[IPv4Network | IPv6Network, ...]:
    """``[server] trusted_proxies``: addresses or networks (a list, or comma-separated from the environment)."""
    where = "[server] trusted_proxies"
    if isinstance(value, str):
        value = [item.strip() for item in value.split(",") if item.strip()]
    if not isinstance(value, list):
        raise ConfigError(where, f"must be a list of addresses or networks, got {value!r}")
    networks = []
    for item in value:
        if not isinstance(item, str):
            raise ConfigError(where, f"must list strings, got {item!r}")
        try:
            networks.append(ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(where, f"{item!r} is not an address or network (write 127.0.0.1 or 10.0.0.0/8)") from None
    return tuple(networks)


def _demo_mode(data: Mapping) -> bool:
    """``[server] demo``: true only for the demo clinic (``make run`` sets it from the environment).

    A file without the key leaves ``QUEUE_APP_SERVER_DEMO`` as text, so the words the
    environment overrides accept for true and false are read here too.
    """
    value = data.get("server", {}).get("demo", False)
    if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        value = value.lower() in ("1", "true", "yes", "on")
    if not isinstance(value, bool):
        raise ConfigError("[server] demo", f"must be true or false, got {value!r}")
    return value


def _abuse_limits(data: Mapping) -> AbuseLimits:
    """The sign-in and anonymous check-in limits; each a whole number of at least 1."""
    counts = {}
    for section, key, default in (
        ("server", "login_attempts_per_minute", 5),
        ("server", "login_attempts_per_address_per_minute", 20),
        ("clinic", "public_check_ins_per_address_per_hour", 30),
    ):
        value = _get(data, section, key, int, default)
        if value < 1:
            raise ConfigError(f"[{section}] {key}", "must be at least 1")
        counts[key] = value
    return AbuseLimits(
        login_per_account=counts["login_attempts_per_minute"],
        login_per_address=counts["login_attempts_per_address_per_minute"],
        public_check_ins_per_address=counts["public_check_ins_per_address_per_hour"],
        one_ticket_per_phone=_get(data, "clinic", "one_open_ticket_per_phone", bool, True),
    )


def _validate(data: dict) -> Settings:
    clinic_name = _get(data, "clinic", "name", str)
    tz_name = _get(data, "clinic", "timezone", str)
    try:
        timezone = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError("[clinic] timezone", f"unknown time zone {tz_name!r}") from None
    languages = tuple(_get(data, "clinic", "languages", list))
    if not languages or not all(isinstance(x, str) and re.fullmatch(r"[a-z]{2}", x) for x in languages):
        raise ConfigError("[clinic] languages", "must list two-letter language codes")
    default_language = _get(data, "clinic", "default_language", str, languages[0])
    if default_language not in languages:
        raise ConfigError("[clinic] default_language", f"{default_language!r} is not in languages")
    phone_region = _get(data, "clinic", "phone_region", str, "KR").upper()
    if phone_region not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError("[clinic] phone_region", f"unknown region {phone_region!r}")
    public_check_in = _get(data, "clinic", "public_check_in", bool, False)

    opens = _parse_time("[hours] open", data.get("hours", {}).get("open", "09:00"))
    closes = _parse_time("[hours] close", data.get("hours", {}).get("close", "18:00"))
    if closes <= opens:
        raise ConfigError("[hours] close", "must be after [hours] open")
    breaks = []
    for i, pair in enumerate(data.get("hours", {}).get("breaks", [])):
        where = f"[hours] breaks[{i}]"
        if not isinstance(pair, list) or len(pair) != 2:
            raise ConfigError(where, 'must be a pair like ["13:00", "14:00"]')
        start, end = _parse_time(where, pair[0]), _parse_time(where, pair[1])
        if end <= start:
            raise ConfigError(where, "must end after it starts")
        breaks.append((start, end))
    hours = OpeningHours(timezone=timezone, opens=opens, closes=closes, breaks=tuple(breaks))

    services: dict[str, ServiceConfig] = {}
    prefixes: set[str] = set()
    raw_services = data.get("services")
    if not isinstance(raw_services, dict) or not raw_services:
        raise ConfigError("[services]", "at least one service is required")
    for sid, spec in raw_services.items():
        where = f"[services.{sid}]"
        if not SLUG.match(sid):
            raise ConfigError(where, "the id must be lower-case letters, digits, - or _")
        if not isinstance(spec, dict):
            raise ConfigError(where, "must be a table")
        prefix = spec.get("prefix")
        if not isinstance(prefix, str) or not re.fullmatch(r"[A-Z]{1,3}", prefix):
            raise ConfigError(f"{where} prefix", "must be one to three capital letters")
        if prefix in prefixes:
            raise ConfigError(f"{where} prefix", f"{prefix!r} is used by another service")
        prefixes.add(prefix)
        minutes = spec.get("default_minutes", 10)
        if not isinstance(minutes, (int, float)) or isinstance(minutes, bool) or minutes <= 0:
            raise ConfigError(f"{where} default_minutes", "must be a positive number")
        services[sid] = ServiceConfig(
            sid, prefix, _names(f"{where} name", spec.get("name", sid), languages), float(minutes)
        )

    rooms: dict[str, RoomConfig] = {}
    raw_rooms = data.get("rooms")
    if not isinstance(raw_rooms, dict) or not raw_rooms:
        raise ConfigError("[rooms]", "at least one room is required")
    for rid, spec in raw_rooms.items():
        where = f"[rooms.{rid}]"
        if not SLUG.match(rid):
            raise ConfigError(where, "the id must be lower-case letters, digits, - or _")
        if not isinstance(spec, dict):
            raise ConfigError(where, "must be a table")
        served = spec.get("services")
        if not isinstance(served, list) or not served:
            raise ConfigError(f"{where} services", "must list at least one service")
        for sid in served:
            if sid not in services:
                raise ConfigError(f"{where} services", f"unknown service {sid!r}")
        rooms[rid] = RoomConfig(rid, _names(f"{where} name", spec.get("name", rid), languages), tuple(served))

    database_url = _get(data, "database", "url", str, "sqlite:///instance/queue.db")
    if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", database_url):
        raise ConfigError("[database] url", "must be a sqlite:// or postgresql:// URL")
    message_queue = _get(data, "realtime", "message_queue", str, "")
    if message_queue and not message_queue.startswith(("redis://", "rediss://")):
        raise ConfigError("[realtime] message_queue", "must be empty or a redis:// URL")
    channel = _get(data, "realtime", "channel", str, "queue-app")
    if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,80}", channel):
        raise ConfigError("[realtime] channel", "must be 1-80 letters, digits or -_.:")
    host = _get(data, "server", "host", str, "127.0.0.1")
    port = _get(data, "server", "port", int, 5000)
    if not 0 < port < 65536:
        raise ConfigError("[server] port", "must be between 1 and 65535")
    async_mode = _get(data, "server", "async_mode", str, "eventlet")
    if async_mode not in ASYNC_MODES:
        raise ConfigError("[server] async_mode", f"must be one of {', '.join(ASYNC_MODES)}")
    secret_key = _get(data, "server", "secret_key", str, "")
    if secret_key and len(secret_key.encode()) < MIN_SECRET_KEY_BYTES:
        raise ConfigError(
            "[server] secret_key",
            f"must be at least {MIN_SECRET_KEY_BYTES} bytes (make one with "
            "`python3 -c 'import secrets; print(secrets.token_urlsafe(48))'`), or empty to have "
            "one made and kept in the database",
        )
    session_idle_minutes = _get(data, "server", "session_idle_minutes", int, 480)
    if session_idle_minutes < 1:
        raise ConfigError("[server] session_idle_minutes", "must be at least 1")
    trusted_proxies = _trusted_proxies(data.get("server", {}).get("trusted_proxies", []))
    public_url = _get(data, "server", "public_url", str, "").rstrip("/")
    if public_url and not public_url.startswith(("http://", "https://")):
        raise ConfigError("[server] public_url", "must start with http:// or https://")
    allowed_hosts = _allowed_hosts(data.get("server", {}).get("allowed_hosts", []))
    retention_days = _get(data, "privacy", "retention_days", int, 30)
    if retention_days < 1:
        raise ConfigError("[privacy] retention_days", "must be at least 1")
    demo = _demo_mode(data)
    if not demo:
        refuse_demo_channel(data)
    notify = parse_notify(data, services, languages)
    kiosk_ticket_seconds = _get(data, "kiosk", "ticket_seconds", int, 20)
    try:
        inbox = parse_inbox(data, languages)
    except InboxConfigError as exc:
        raise ConfigError(exc.key, str(exc)) from None
    if not 2 <= kiosk_ticket_seconds <= 600:
        raise ConfigError("[kiosk] ticket_seconds", "must be between 2 and 600 seconds")

    return Settings(
        clinic_name=clinic_name,
        timezone=timezone,
        languages=languages,
        default_language=default_language,
        phone_region=phone_region,
        public_check_in=public_check_in,
        hours=hours,
        services=services,
        rooms=rooms,
        database_url=database_url,
        message_queue=message_queue,
        channel=channel,
        host=host,
        port=port,
        async_mode=async_mode,
        secret_key=secret_key,
        public_url=public_url,
        retention_days=retention_days,
        allowed_hosts=allowed_hosts,
        session_idle_minutes=session_idle_minutes,
        trusted_proxies=trusted_proxies,
        limits=_abuse_limits(data),
        inbox=inbox,
        kiosk_ticket_seconds=kiosk_ticket_seconds,
        appointments=parse_appointments(data),
        demo=demo,
        notify=with_demo_channel(notify) if demo else notify,
        raw=data,
    )
