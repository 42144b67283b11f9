"""``[appointments]`` and ``[preparation.<id>]``: when reminders go, and what patients prepare.

Validated at start like the rest of the configuration (``config.py`` calls
``parse_appointments``), so a misspelt offset or an instruction without a language stops the
start naming the key, not the first reminder of a morning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: The longest reminder offset accepted: two weeks before.
LONGEST_OFFSET_MINUTES = 14 * 24 * 60
PREPARATION_LANGUAGES = ("ko", "en", "ru")


@dataclass(frozen=True)
class Preparation:
    """What a patient does before an appointment, per language, and when it is sent alone."""

    id: str
    texts: Mapping[str, str]
    #: Extra messages with these instructions, minutes before the appointment (the fasting
    #: instruction the evening before an endoscopy).
    send_minutes_before: tuple[int, ...] = ()

    def text(self, language: str) -> str:
        """The instructions in ``language``, else English, else any language given."""
        return self.texts.get(language) or self.texts.get("en") or next(iter(self.texts.values()))


@dataclass(frozen=True)
class AppointmentSettings:
    """When reminders go, when arrival opens, when an absent patient counts as a no-show."""

    remind_minutes_before: tuple[int, ...] = (1440, 120)
    checkin_open_minutes_before: int = 30
    no_show_after_minutes: int = 15
    preparations: Mapping[str, Preparation] = field(default_factory=dict)


def _minutes_list(where: str, value: Any) -> tuple[int, ...]:
    from .config import ConfigError

    if not isinstance(value, list) or any(
        not isinstance(m, int) or isinstance(m, bool) or not 0 < m <= LONGEST_OFFSET_MINUTES for m in value
    ):
        raise ConfigError(where, f"must list whole minutes between 1 and {LONGEST_OFFSET_MINUTES}, got {value!r}")
    return tuple(sorted(set(value), reverse=True))


def _whole_minutes(where: str, value: Any, low: int, high: int) -> int:
    from .config import ConfigError

    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ConfigError(where, f"must be whole minutes between {low} and {high}, got {value!r}")
    return value


def _preparation(pid: str, spec: Any) -> Preparation:
    from .config import SLUG, ConfigError

    where = f"[preparation.{pid}]"
    if not SLUG.match(pid):
        raise ConfigError(where, "the id must be lower-case letters, digits, - or _")
    if not isinstance(spec, dict):
        raise ConfigError(where, "must be a table")
    texts = {}
    for key, value in spec.items():
        if key == "send_minutes_before":
            continue
        if key not in PREPARATION_LANGUAGES:
            raise ConfigError(
                f"{where} {key}", f"unknown key; the instructions go in {', '.join(PREPARATION_LANGUAGES)}"
            )
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where} {key}", "must be a non-empty text")
        texts[key] = value.strip()
    if not texts:
        raise ConfigError(where, f"needs the instructions in at least one of {', '.join(PREPARATION_LANGUAGES)}")
    sends = _minutes_list(f"{where} send_minutes_before", spec.get("send_minutes_before", []))
    return Preparation(pid, texts, sends)


def parse_appointments(data: Mapping[str, Any]) -> AppointmentSettings:
    """``[appointments]`` and every ``[preparation.<id>]``, validated."""
    from .config import ConfigError

    section = data.get("appointments", {})
    if not isinstance(section, dict):
        raise ConfigError("[appointments]", "must be a table")
    known = {"remind_minutes_before", "checkin_open_minutes_before", "no_show_after_minutes"}
    for key in section:
        if key not in known:
            raise ConfigError(f"[appointments] {key}", f"unknown key; one of {', '.join(sorted(known))}")
    preparations = data.get("preparation", {})
    if not isinstance(preparations, dict):
        raise ConfigError("[preparation]", "must be tables [preparation.<id>]")
    return AppointmentSettings(
        remind_minutes_before=_minutes_list(
            "[appointments] remind_minutes_before", section.get("remind_minutes_before", [1440, 120])
        ),
        checkin_open_minutes_before=_whole_minutes(
            "[appointments] checkin_open_minutes_before", section.get("checkin_open_minutes_before", 30), 0, 24 * 60
        ),
        no_show_after_minutes=_whole_minutes(
            "[appointments] no_show_after_minutes", section.get("no_show_after_minutes", 15), 1, 24 * 60
        ),
        preparations={pid: _preparation(pid, spec) for pid, spec in preparations.items()},
    )
