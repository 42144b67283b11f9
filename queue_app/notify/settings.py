"""The ``[notify]`` and ``[channels.*]`` sections: when patients are told, and over what.

Validated with the rest of the configuration, so a clinic that writes ``near_minutes = -5``
or orders a channel it never configured learns it at start, with the key named.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .channels import CHANNELS, Channel, ChannelConfigError, build_channel
from .channels.base import KINDS

#: The patient's channels; the webhook is the clinic's own system and gets every event.
WEBHOOK = "webhook"
#: "I need about N minutes to come back": the choices the phone page offers.
LEAD_CHOICES = (5, 10, 15, 30)


@dataclass(frozen=True)
class NearThreshold:
    """Tell a patient their turn is near at this many places or minutes, whichever first."""

    positions: int
    minutes: float


@dataclass(frozen=True)
class NotifySettings:
    """How and when the service messages patients."""

    #: The fallback order of the patient's channels (configured and enabled ones only).
    order: tuple[str, ...] = ()
    #: Adapter settings per enabled channel, webhook included.
    channel_settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    near: NearThreshold = NearThreshold(3, 15.0)
    near_by_service: Mapping[str, NearThreshold] = field(default_factory=dict)
    kinds: tuple[str, ...] = KINDS
    retries: int = 3
    retry_base_seconds: float = 5.0
    retry_max_seconds: float = 300.0
    #: Messages with providers at the same time (one patient's messages stay in order).
    senders: int = 4
    sms_include_link: bool = False
    #: Cost of one message per channel, in ``currency`` (for SMS: one short text).
    costs: Mapping[str, float] = field(default_factory=dict)
    #: SMS channels: the price of one long text where the country bills it as one message
    #: (Korea: an LMS, over 90 bytes in EUC-KR).  Elsewhere a long text costs ``costs`` per part.
    costs_long: Mapping[str, float] = field(default_factory=dict)
    #: A paid check-in text waits this long for the patient to turn on free notifications.
    checkin_delay_seconds: float = 60.0
    #: ISO 4217 code the costs are in, for showing them (``KRW``).
    currency: str = "KRW"
    #: Clinic-edited message texts: ``templates[language][kind]``.
    templates: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def threshold(self, service: str) -> NearThreshold:
        """The "turn near" threshold of ``service``."""
        return self.near_by_service.get(service, self.near)

    @property
    def webhook_enabled(self) -> bool:
        return WEBHOOK in self.channel_settings

    def build_channels(self) -> dict[str, Channel]:
        """One adapter per enabled channel."""
        return {name: build_channel(name, dict(conf)) for name, conf in self.channel_settings.items()}


def parse_notify(data: Mapping[str, Any], services: Mapping[str, Any], languages: tuple[str, ...]) -> NotifySettings:
    """Validate ``[notify]`` and ``[channels.*]`` from the parsed configuration."""
    from ..config import ConfigError

    notify = data.get("notify", {}) or {}
    raw_channels = data.get("channels", {}) or {}
    if not isinstance(notify, dict):
        raise ConfigError("[notify]", "must be a table")
    if not isinstance(raw_channels, dict):
        raise ConfigError("[channels]", "must be a table")

    channel_settings: dict[str, dict] = {}
    costs: dict[str, float] = {}
    costs_long: dict[str, float] = {}
    for name, section in raw_channels.items():
        where = f"[channels.{name}]"
        if not isinstance(section, dict):
            raise ConfigError(where, "must be a table")
        section = dict(section)
        enabled = section.pop("enabled", True)
        cost = section.pop("cost", 0)
        cost_long = section.pop("cost_long", None)
        if not isinstance(enabled, bool):
            raise ConfigError(f"{where} enabled", "must be true or false")
        for key, value in (("cost", cost), ("cost_long", cost_long)):
            if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0):
                raise ConfigError(f"{where} {key}", "must be a number of zero or more")
        kind = section.get("type", name)
        if kind not in CHANNELS:
            raise ConfigError(f"{where} type", f"unknown channel {kind!r}; one of {', '.join(sorted(CHANNELS))}")
        if kind == WEBHOOK and not section.get("url"):
            enabled = False  # an empty url is how the example leaves the webhook off
        if not enabled:
            continue
        try:
            build_channel(name, dict(section))
        except ChannelConfigError as exc:
            raise ConfigError(where, str(exc)) from None
        channel_settings[name] = section
        costs[name] = float(cost)
        if cost_long is not None:
            costs_long[name] = float(cost_long)

    order = notify.get("channels", [])
    if not isinstance(order, list) or not all(isinstance(x, str) for x in order):
        raise ConfigError("[notify] channels", "must be a list of channel names")
    for name in order:
        if name == WEBHOOK:
            raise ConfigError("[notify] channels", "the webhook gets every event by itself; leave it out of the order")
        if name not in raw_channels:
            raise ConfigError("[notify] channels", f"{name!r} has no [channels.{name}] section")
    active_order = tuple(name for name in order if name in channel_settings)

    def threshold(where: str, table: Mapping, default: NearThreshold) -> NearThreshold:
        positions = table.get("near_positions", default.positions)
        minutes = table.get("near_minutes", default.minutes)
        if not isinstance(positions, int) or isinstance(positions, bool) or positions < 0:
            raise ConfigError(f"{where} near_positions", "must be a whole number of zero or more")
        if not isinstance(minutes, (int, float)) or isinstance(minutes, bool) or minutes < 0:
            raise ConfigError(f"{where} near_minutes", "must be a number of zero or more")
        return NearThreshold(positions, float(minutes))

    near = threshold("[notify]", notify, NearThreshold(3, 15.0))
    near_by_service: dict[str, NearThreshold] = {}
    for sid, table in (notify.get("services", {}) or {}).items():
        if sid not in services:
            raise ConfigError(f"[notify.services.{sid}]", f"unknown service {sid!r}")
        near_by_service[sid] = threshold(f"[notify.services.{sid}]", table, near)

    kinds = notify.get("messages", list(KINDS))
    if not isinstance(kinds, list) or any(k not in KINDS for k in kinds):
        raise ConfigError("[notify] messages", f"must list some of {', '.join(KINDS)}")

    def number(key: str, default: float, minimum: float) -> float:
        value = notify.get(key, default)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < minimum:
            raise ConfigError(f"[notify] {key}", f"must be a number of at least {minimum:g}")
        return float(value)

    retries = notify.get("retries", 3)
    if not isinstance(retries, int) or isinstance(retries, bool) or not 1 <= retries <= 20:
        raise ConfigError("[notify] retries", "must be a whole number from 1 to 20")
    currency = notify.get("currency", "KRW")
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        raise ConfigError("[notify] currency", "must be a three-letter ISO 4217 code such as KRW or RUB")
    senders = notify.get("senders", 4)
    if not isinstance(senders, int) or isinstance(senders, bool) or not 1 <= senders <= 32:
        raise ConfigError("[notify] senders", "must be a whole number from 1 to 32")
    include_link = notify.get("sms_include_link", False)
    if not isinstance(include_link, bool):
        raise ConfigError("[notify] sms_include_link", "must be true or false")

    templates: dict[str, dict[str, str]] = {}
    for language, table in (notify.get("templates", {}) or {}).items():
        if language not in languages:
            raise ConfigError(f"[notify.templates.{language}]", "not one of the clinic's languages")
        for kind, text in table.items():
            where = f"[notify.templates.{language}] {kind}"
            if kind not in KINDS:
                raise ConfigError(where, f"unknown message; one of {', '.join(KINDS)}")
            if not isinstance(text, str) or "{number}" not in text:
                raise ConfigError(where, "must be text that includes {number}")
            templates.setdefault(language, {})[kind] = text

    return NotifySettings(
        order=active_order,
        channel_settings=channel_settings,
        near=near,
        near_by_service=near_by_service,
        kinds=tuple(kinds),
        retries=retries,
        retry_base_seconds=number("retry_base_seconds", 5.0, 0.01),
        retry_max_seconds=number("retry_max_seconds", 300.0, 0.01),
        senders=senders,
        sms_include_link=include_link,
        costs=costs,
        costs_long=costs_long,
        checkin_delay_seconds=number("checkin_delay_seconds", 60.0, 0.0),
        currency=currency,
        templates=templates,
    )


#: The demo's own channel (``channels/demo.py``): the patient's phone is a page.
DEMO = "demo"
DEMO_ONLY = "the demo channel is for the demo only ([server] demo = true, which `make run` sets)"


def _demo_sections(raw_channels: Mapping[str, Any]) -> dict[str, bool]:
    """``[channels.*]`` sections that use the demo adapter -> whether each is enabled."""
    return {
        name: section.get("enabled", True) is not False
        for name, section in raw_channels.items()
        if isinstance(section, dict) and section.get("type", name) == DEMO
    }


def refuse_demo_channel(data: Mapping[str, Any]) -> None:
    """Outside the demo, the demo channel enabled or in ``[notify] channels`` is an error.

    Checked before :func:`parse_notify`, so that a demo channel ordered without a section
    is told it is the demo's, not that its section is missing.
    """
    from ..config import ConfigError

    raw_channels = data.get("channels", {}) or {}
    notify = data.get("notify", {}) or {}
    if not isinstance(raw_channels, dict) or not isinstance(notify, dict):
        return  # parse_notify names what is wrong with them
    sections = _demo_sections(raw_channels)
    for name, enabled in sections.items():
        if enabled:
            raise ConfigError(f"[channels.{name}]", DEMO_ONLY)
    order = notify.get("channels", [])
    for name in order if isinstance(order, list) else []:
        if name in sections or (name == DEMO and name not in raw_channels):
            raise ConfigError("[notify] channels", f"{name!r}: {DEMO_ONLY}")


def with_demo_channel(notify: NotifySettings) -> NotifySettings:
    """In the demo, with no patient channel configured, the demo phone is the patient's channel.

    That is what lets ``make run`` show messages going out with no provider account.  A
    demo that configures channels of its own (``[channels.demo]`` among them or not) keeps
    exactly those.
    """
    if notify.order:
        return notify
    return replace(
        notify,
        order=(DEMO,),
        channel_settings={DEMO: {}, **notify.channel_settings},
        costs={DEMO: 0.0, **notify.costs},
    )
