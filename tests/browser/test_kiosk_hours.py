"""The kiosk outside opening hours: "Check-in opens at 09:00", not a ticket that says "no wait"."""

from __future__ import annotations

import signal
from datetime import UTC, datetime

from .conftest import axe_check, start_clinic


def closed_now() -> dict[str, str]:
    """Opening hours (UTC) that leave the present moment outside them by an hour or more."""
    hour = datetime.now(UTC).hour
    if hour < 12:
        opens, closes = f"{hour + 2:02d}:00", "23:00"  # not open yet
    else:
        opens, closes = "01:00", f"{hour - 1:02d}:00"  # closed already
    return {"QUEUE_APP_CLINIC_TIMEZONE": "UTC", "QUEUE_APP_HOURS_OPEN": opens, "QUEUE_APP_HOURS_CLOSE": closes}


def test_outside_opening_hours_the_kiosk_says_when_check_in_opens(tmp_path, contexts, screenshots):
    hours = closed_now()
    server = start_clinic(tmp_path, hours)
    try:
        page = contexts(viewport={"width": 1280, "height": 800}, locale="ko-KR").new_page()
        page.goto(f"{server.url}/kiosk?pair={server.tokens['kiosk']}")
        page.wait_for_selector("#closed-hours:not([hidden])")
        opens = hours["QUEUE_APP_HOURS_OPEN"]
        assert page.inner_text("#closed-hours") == f"접수는 {opens}에 시작합니다"
        # Nothing to press that would hand out a ticket.
        assert page.locator(".service-button:visible").count() == 0
        page.click("button.lang[data-lang=en]")
        assert page.inner_text("#closed-hours") == f"Check-in opens at {opens}"
        page.click("button.lang[data-lang=ru]")
        assert page.inner_text("#closed-hours") == f"Регистрация откроется в {opens}"
        screenshots(page, "kiosk-closed")
        axe_check(page)
    finally:
        server.stop(signal.SIGTERM)


def test_within_opening_hours_the_kiosk_offers_the_services(kiosk):
    # The shared clinic is open now (see conftest.open_all_day).
    assert kiosk.is_hidden("#closed-hours")
    assert kiosk.locator(".service-button:visible").count() == 3


def test_on_a_holiday_the_kiosk_shows_the_servers_refusal_with_the_opening_time(tmp_path, contexts):
    from tests.e2e.conftest import open_all_day

    hours = open_all_day()
    zone = hours["QUEUE_APP_CLINIC_TIMEZONE"]
    from zoneinfo import ZoneInfo

    today = datetime.now(ZoneInfo(zone)).date()
    server = start_clinic(tmp_path, {"QUEUE_APP_HOURS_HOLIDAYS": today.isoformat()})
    try:
        page = contexts(viewport={"width": 1280, "height": 800}, locale="ko-KR").new_page()
        page.goto(f"{server.url}/kiosk?pair={server.tokens['kiosk']}")
        # The tablet knows the hours (open all day), not the holidays: it offers the services.
        page.wait_for_selector("#start:not([hidden]) .service-button")
        page.click(".service-button[data-service=general]")
        page.click("#check-in")
        page.wait_for_selector("#sending-error:not([hidden])")
        assert page.inner_text("#sending-error") == "접수는 00:00에 시작합니다"
        assert page.is_hidden("#result")
    finally:
        server.stop(signal.SIGTERM)
