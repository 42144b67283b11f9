"""The website contact widget on a page of the clinic's own site, served from another origin.

The clinic's website is a local server on another port (another origin), with a strict CSP of
its own; the widget's script comes from the queue server, which lets only that origin in.
"""

from __future__ import annotations

import signal

import pytest
import requests

from .conftest import axe_check, start_clinic

XSS = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


def website_page(queue_url: str) -> str:
    """The clinic's home page, embedding the widget with one script tag, under a strict CSP."""
    csp = f"default-src 'self'; script-src {queue_url}; connect-src {queue_url}"
    return (
        '<!doctype html><html lang="ru"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}"><title>Клиника Ханбит</title></head>'
        "<body><main><h1>Клиника Ханбит</h1><p>Мы работаем с 9:00 до 18:00.</p></main>"
        f'<script src="{queue_url}/widget.js"></script></body></html>'
    )


@pytest.fixture
def website(tmp_path, http_server):
    """(queue server, the website's address): a queue server that lets the website's origin in."""
    http_server.handler = lambda request: (200, {"Content-Type": "text/html; charset=utf-8"}, page["html"])
    page = {"html": ""}
    server = start_clinic(tmp_path, {"QUEUE_APP_INBOX_WIDGET_ORIGINS": http_server.url})
    page["html"] = website_page(server.url)
    yield server, http_server.url
    server.stop(signal.SIGTERM)


def conversations(server):
    staff = {"Authorization": f"Bearer {server.tokens['staff']}"}
    return requests.get(f"{server.url}/api/v1/conversations", headers=staff, timeout=10).json()["conversations"]


def status_starts(page, text: str) -> None:
    page.wait_for_function(
        "text => document.getElementById('clinic-widget-status').textContent.startsWith(text)", arg=text
    )


def test_a_visitor_asks_through_the_widget_and_reception_finds_it_in_the_inbox(website, contexts, screenshots):
    server, site = website
    page = contexts(viewport={"width": 390, "height": 844}, locale="ko-KR").new_page()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(site + "/")
    # The page is in Russian (<html lang="ru">): so is the widget, whatever the browser's language.
    page.click("text=Написать в клинику")
    page.fill("#clinic-widget-phone", "12")
    page.fill("#clinic-widget-message", XSS)
    page.click("button[type=submit]")
    status_starts(page, "Проверьте")
    assert page.inner_text("#clinic-widget-status") == "Проверьте, пожалуйста, номер телефона."
    page.fill("#clinic-widget-phone", "010-5555-7777")
    page.check("text=Перезвоните мне, пожалуйста")
    page.fill("#clinic-widget-preferred_time", "после 15:00")
    screenshots(page, "widget-form")
    axe_check(page)
    page.click("button[type=submit]")
    status_starts(page, "Спасибо")
    assert page.inner_text("#clinic-widget-status") == "Спасибо. Регистратура ответит вам SMS-сообщением."
    [row] = conversations(server)
    assert (row["channel"], row["contact"], row["language"], row["callback"]) == ("web", "•••• 7777", "ru", True)
    assert row["preview"] == XSS and row["preferred_time"] == "после 15:00"
    # The visitor's markup was never run: not on their page, and it comes back as text.
    assert dialogs == []
    assert page.locator("[data-clinic-widget] img, [data-clinic-widget] script").count() == 0

    # localhost and 127.0.0.1 are two origins: only the second is in [inbox] widget_origins,
    # so a page of the first cannot even read the widget's setup.
    elsewhere = contexts().new_page()
    elsewhere.goto(site.replace("127.0.0.1", "localhost") + "/")
    elsewhere.wait_for_timeout(1000)
    assert elsewhere.locator("[data-clinic-widget]").count() == 0
