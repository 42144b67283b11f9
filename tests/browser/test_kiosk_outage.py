"""The kiosk while the clinic's database is away: "try again", never a failure, and one ticket after."""

from __future__ import annotations

import pytest
import requests

from tests.support.tcp_proxy import TcpProxy

from .conftest import axe_check, start_clinic

pytestmark = pytest.mark.postgres


@pytest.fixture
def outage_clinic(tmp_path, postgres_url):
    """A real server on PostgreSQL through a relay the test can cut, and the relay."""
    proxy = TcpProxy(("127.0.0.1", 5432))
    url = postgres_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    server = start_clinic(tmp_path, {"QUEUE_APP_DATABASE_URL": url})
    yield server, proxy
    server.stop()
    proxy.cut()


def test_the_kiosk_asks_to_try_again_while_the_database_is_away(outage_clinic, contexts, screenshots):
    server, proxy = outage_clinic
    page = contexts(viewport={"width": 1280, "height": 800}, locale="ko-KR").new_page()
    page.goto(f"{server.url}/kiosk?pair={server.tokens['kiosk']}")
    page.click(".service-button[data-service=general]")

    proxy.cut()
    # The number check cannot reach the database either: that is no reason to call the number wrong.
    page.fill("#phone", "010-2222-3333")
    page.locator("#phone").blur()
    page.wait_for_selector("#phone-feedback.good")
    page.check("#consent")
    page.click("#check-in")
    page.wait_for_selector("#sending-again:not([hidden])", timeout=15000)
    assert page.inner_text("#sending-text") == "병원 시스템이 잠시 응답하지 않습니다. 잠시 후 다시 시도해 주세요."
    assert page.inner_text("#sending-again") == "다시 시도"
    assert page.is_hidden("#sending-error") and page.is_hidden("#result")
    screenshots(page, "kiosk-database-away")
    axe_check(page)

    proxy.restore()
    page.click("#sending-again")
    page.wait_for_selector("#result:not([hidden])", timeout=15000)
    staff = {"Authorization": f"Bearer {server.tokens['staff']}"}
    queue = requests.get(f"{server.url}/api/v1/queue", headers=staff, timeout=10).json()
    assert [t["number"] for t in queue["waiting"]] == [page.inner_text("#result-number")]


def test_the_kiosk_in_english_says_the_same(outage_clinic, contexts):
    server, proxy = outage_clinic
    page = contexts(viewport={"width": 1280, "height": 800}, locale="ko-KR").new_page()
    page.goto(f"{server.url}/kiosk?pair={server.tokens['kiosk']}")
    page.click("button.lang[data-lang=en]")
    page.click(".service-button[data-service=vaccination]")
    proxy.cut()
    page.click("#check-in")
    page.wait_for_selector("#sending-again:not([hidden])", timeout=15000)
    assert "try again" in page.inner_text("#sending-text")
    assert page.inner_text("#sending-again") == "Try again"
