"""The inbox's configuration: quick replies, the after-hours answer, holidays, the late hold.

Read from ``[inbox]``, ``[inbox.templates.<id>]``, ``[hours] holidays`` and ``[queue]
late_hold_minutes``, validated once at start like the rest of the configuration (a bad
value names its key).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlsplit

TEMPLATE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
#: The answer to a message written outside opening hours, when the clinic sets none.
#: ``{opens}``: when the clinic next opens (day and time); ``{booking}``: the booking line.
DEFAULT_AFTER_HOURS = {
    "ko": "{clinic}: 지금은 진료 시간이 아닙니다. 메시지는 잘 받았으며 {opens}에 답해 드리겠습니다.{booking}",
    "en": "{clinic}: we are closed now. We have your message and will answer from {opens}.{booking}",
    "ru": "{clinic}: сейчас клиника закрыта. Мы получили ваше сообщение и ответим с {opens}.{booking}",
}


class InboxConfigError(ValueError):
    """A bad inbox key: ``config.ConfigError`` is raised from it with the key's name."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(problem)
        self.key = key


@dataclass(frozen=True)
class InboxSettings:
    """What the inbox reads from the configuration."""

    #: template id -> language -> text (``[inbox.templates.<id>]``).
    templates: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: language -> the after-hours answer (``[inbox] after_hours_reply``).
    after_hours_reply: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_AFTER_HOURS))
    #: Where patients can book online, added to the after-hours answer (``[inbox] booking_url``).
    booking_url: str = ""
    #: Origins whose pages may post the website contact form (``[inbox] widget_origins``).
    widget_origins: tuple[str, ...] = ()
    #: Website contact messages per hour from one address, and per day for one number.
    contact_per_address_per_hour: int = 10
    contact_per_number_per_day: int = 5
    #: Days the clinic is closed all day (``[hours] holidays``).
    holidays: frozenset[date] = frozenset()
    #: Minutes a passed-over late patient keeps the front of the line (``[queue] late_hold_minutes``).
    late_hold_minutes: int = 15


def _texts(key: str, value: Any, languages: tuple[str, ...]) -> dict[str, str]:
    if not isinstance(value, dict) or not value:
        raise InboxConfigError(key, "must be a table of texts per language, e.g. { ko = ..., en = ... }")
    texts = {}
    for lang, text in value.items():
        if lang not in languages:
            raise InboxConfigError(f"{key}.{lang}", f"{lang!r} is not one of [clinic] languages")
        if not isinstance(text, str) or not text.strip() or len(text) > 1000:
            raise InboxConfigError(f"{key}.{lang}", "must be a text of 1 to 1000 characters")
        texts[lang] = text
    return texts


def _count(section: Mapping, key: str, default: int, where: str, low: int = 1) -> int:
    value = section.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise InboxConfigError(where, f"must be a whole number of at least {low}, got {value!r}")
    return value


def _holidays(value: Any) -> frozenset[date]:
    if not isinstance(value, list):
        raise InboxConfigError("[hours] holidays", 'must be a list of dates like ["2026-12-25"]')
    days = set()
    for i, raw in enumerate(value):
        if isinstance(raw, date):
            days.add(raw)
            continue
        try:
            days.add(date.fromisoformat(raw))
        except (TypeError, ValueError):
            raise InboxConfigError(f"[hours] holidays[{i}]", f'must be a date like "2026-12-25", got {raw!r}') from None
    return frozenset(days)


def _origins(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise InboxConfigError("[inbox] widget_origins", 'must be a list like ["https://clinic.example"]')
    origins = []
    for i, raw in enumerate(value):
        parts = urlsplit(raw) if isinstance(raw, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
            raise InboxConfigError(
                f"[inbox] widget_origins[{i}]", f"must be an origin like https://clinic.example, got {raw!r}"
            )
        origins.append(f"{parts.scheme}://{parts.netloc}".lower())
    return tuple(origins)


def parse_inbox(data: Mapping, languages: tuple[str, ...]) -> InboxSettings:
    """The inbox's settings from the whole configuration; ``InboxConfigError`` names a bad key."""
    inbox = data.get("inbox", {})
    if not isinstance(inbox, dict):
        raise InboxConfigError("[inbox]", "must be a table")
    raw_templates = inbox.get("templates", {})
    if not isinstance(raw_templates, dict):
        raise InboxConfigError("[inbox.templates]", "must be tables [inbox.templates.<id>]")
    templates = {}
    for template_id, texts in raw_templates.items():
        where = f"[inbox.templates.{template_id}]"
        if not TEMPLATE_ID.match(template_id):
            raise InboxConfigError(where, "the id must be lower-case letters, digits, - or _")
        templates[template_id] = _texts(where, texts, languages)
    after_hours = dict(DEFAULT_AFTER_HOURS)
    if "after_hours_reply" in inbox:
        after_hours.update(_texts("[inbox] after_hours_reply", inbox["after_hours_reply"], languages))
    booking_url = inbox.get("booking_url", "")
    if not isinstance(booking_url, str) or (booking_url and not booking_url.startswith(("https://", "http://"))):
        raise InboxConfigError("[inbox] booking_url", "must be empty or an http(s):// address")
    queue = data.get("queue", {})
    return InboxSettings(
        templates=templates,
        after_hours_reply=after_hours,
        booking_url=booking_url,
        widget_origins=_origins(inbox.get("widget_origins", [])),
        contact_per_address_per_hour=_count(
            inbox, "contact_per_address_per_hour", 10, "[inbox] contact_per_address_per_hour"
        ),
        contact_per_number_per_day=_count(inbox, "contact_per_number_per_day", 5, "[inbox] contact_per_number_per_day"),
        holidays=_holidays(data.get("hours", {}).get("holidays", [])),
        late_hold_minutes=_count(queue, "late_hold_minutes", 15, "[queue] late_hold_minutes", low=0),
    )
