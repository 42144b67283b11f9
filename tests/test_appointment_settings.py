"""``[appointments]`` and ``[preparation.<id>]``: the defaults, and a bad value stops the start naming the key."""

from __future__ import annotations

import pytest

from queue_app.config import ConfigError

from .conftest import make_settings


def test_the_defaults_and_the_examples_preparations(database_url):
    settings = make_settings(database_url).appointments
    assert settings.remind_minutes_before == (1440, 120)
    assert (settings.checkin_open_minutes_before, settings.no_show_after_minutes) == (30, 15)
    endoscopy = settings.preparations["endoscopy"]
    assert endoscopy.send_minutes_before == (900,) and endoscopy.text("ru").startswith("Не ешьте")
    assert settings.preparations["vaccination"].send_minutes_before == ()


@pytest.mark.parametrize(
    ("sections", "key"),
    [
        ({"appointments": {"remind_minutes_before": [0]}}, "[appointments] remind_minutes_before"),
        ({"appointments": {"remind_minutes_before": "1440"}}, "[appointments] remind_minutes_before"),
        ({"appointments": {"checkin_open_minutes_before": -5}}, "[appointments] checkin_open_minutes_before"),
        ({"appointments": {"no_show_after_minutes": 0}}, "[appointments] no_show_after_minutes"),
        ({"appointments": {"remind_before": [60]}}, "[appointments] remind_before"),
        ({"preparation": {"fasting": {"de": "Nüchtern"}}}, "[preparation.fasting] de"),
        ({"preparation": {"fasting": {"ko": ""}}}, "[preparation.fasting] ko"),
        ({"preparation": {"fasting": {"send_minutes_before": [60]}}}, "[preparation.fasting]"),
        ({"preparation": {"Fasting!": {"en": "x"}}}, "[preparation.Fasting!]"),
        (
            {"preparation": {"fasting": {"en": "x", "send_minutes_before": [-1]}}},
            "[preparation.fasting] send_minutes_before",
        ),
    ],
)
def test_a_bad_value_names_its_key(database_url, sections, key):
    with pytest.raises(ConfigError) as refused:
        make_settings(database_url, **sections)
    assert refused.value.key == key
