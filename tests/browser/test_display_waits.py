"""The TV's wait lines: "No wait" when nobody waits, hours past sixty minutes, and no promise past closing.

The rules live in ``display/wait-text.js``; they are checked here in Chromium with the texts
the server gives the display in each of the clinic's languages, then on the live page.
"""

from __future__ import annotations

import pytest

#: (service in the public view, clinic time now) -> expected text per language, closing at 18:00.
CASES = [
    (
        {"waiting": 0, "estimated_wait_minutes": 0, "estimate_low_minutes": 0, "estimate_high_minutes": 1},
        "10:00",
        {"en": "No wait", "ko": "바로 진료", "ru": "Без ожидания"},
    ),
    (
        {"waiting": 6, "estimated_wait_minutes": 80, "estimate_low_minutes": 80, "estimate_high_minutes": 80},
        "10:00",
        {"en": "about 1 h 20 min", "ko": "약 1시간 20분", "ru": "примерно 1 ч 20 мин"},
    ),
    (
        {"waiting": 9, "estimated_wait_minutes": 90, "estimate_low_minutes": 50, "estimate_high_minutes": 120},
        "10:00",
        {"en": "about 50 min – 2 h", "ko": "약 50분–2시간", "ru": "примерно 50 мин – 2 ч"},
    ),
    (
        {"waiting": 2, "estimated_wait_minutes": 20, "estimate_low_minutes": 15, "estimate_high_minutes": 25},
        "10:00",
        {"en": "about 15–25 min", "ko": "약 15–25분", "ru": "примерно 15–25 мин"},
    ),
    (
        # At 17:30 a wait of up to 45 minutes runs past the 18:00 closing.
        {"waiting": 4, "estimated_wait_minutes": 30, "estimate_low_minutes": 20, "estimate_high_minutes": 45},
        "17:30",
        {
            "en": "May not be seen today",
            "ko": "오늘 진료가 어려울 수 있습니다",
            "ru": "Сегодня могут не успеть принять",
        },
    ),
]


@pytest.mark.parametrize(("service", "now", "expected"), CASES)
def test_wait_lines_in_every_language(display, service, now, expected):
    setup = display.evaluate("() => fetch('/display/setup.json').then(r => r.json())")
    assert set(setup["hours"]) == {"opens", "closes"}
    got = display.evaluate(
        """([service, now, setup]) => {
            const minutes = (hhmm) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3));
            const out = {};
            for (const lang of ["en", "ko", "ru"]) {
                const T = (key, values) => setup.texts[lang][key].replace(/\\{(\\w+)\\}/g, (all, name) =>
                    values && values[name] !== undefined ? String(values[name]) : all);
                out[lang] = window.DisplayWait.text(T, service, minutes(now), minutes("18:00"));
            }
            return out;
        }""",
        [service, now, setup],
    )
    assert got == expected


def test_the_tv_says_no_wait_only_where_nobody_waits(display, staff_api):
    # The queue is empty: every service says so in the clinic's language, without minutes.
    waits = display.locator("#service-list .wait").all_inner_texts()
    assert waits and all(w == "바로 진료" for w in waits)

    staff_api.check_in("general")
    display.wait_for_function(
        "[...document.querySelectorAll('#service-list li')].some(li => li.querySelector('.count').textContent === '1')"
    )
    lines = display.locator("#service-list li").all()
    by_count = {li.locator(".count").inner_text(): li.locator(".wait").inner_text() for li in lines}
    # Someone waits: never the "nobody waits" line.  Their estimate may still be nothing to
    # speak of (two rooms free: "대기 없음"), or a range.
    assert by_count["1"] not in ("바로 진료", "")
    assert by_count["1"] == "대기 없음" or "분" in by_count["1"]
