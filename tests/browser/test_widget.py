"""The contact widget on the clinic's own website, in a real browser: the website is another origin
(another loopback port) embedding ``<script src=".../widget.js">``; the question or the call-back
request lands in the staff inbox."""

from __future__ import annotations

import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from tests.support.xss import PAYLOADS, assert_nothing_ran, watch_dialogs

from .conftest import StaffApi, axe_check, staff_console, start_clinic


class Website:
    """The clinic's website: one page that embeds the widget, served on its own port."""

    def __init__(self) -> None:
        self.clinic_url = ""
        website = self

        class Page(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the standard library's name)
                lang = "ru" if "lang=ru" in self.path else "en"
                body = (
                    f'<!doctype html><html lang="{lang}"><head><title>Hanbit Clinic</title></head>'
                    "<body><main><h1>Hanbit Clinic</h1><p>Opening hours: 9 to 6.</p></main>"
                    f'<script src="{website.clinic_url}/widget.js"></script></body></html>'
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Page)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def website(tmp_path_factory, browser):
    """The website, and a clinic server that lets that website (only) post its contact form."""
    site = Website()
    clinic = start_clinic(
        tmp_path_factory.mktemp("widget-clinic"), {"QUEUE_APP_INBOX_WIDGET_ORIGINS": site.url, "NO_PROXY": "127.0.0.1"}
    )
    site.clinic_url = clinic.url
    site.clinic = clinic
    yield site
    clinic.stop(signal.SIGTERM)
    site.stop()


@pytest.fixture
def visitor(website, contexts):
    def open_site(path: str = "/", locale: str = "en-US"):
        context = contexts(viewport={"width": 1280, "height": 800}, locale=locale)
        page = context.new_page()
        page.goto(website.url + path)
        page.wait_for_selector("#clinic-contact-widget .open")
        return page

    return open_site


def inbox_rows(website) -> list[dict]:
    staff = StaffApi(website.clinic)
    answer = requests.get(f"{website.clinic.url}/api/v1/conversations", headers=staff.headers, timeout=10)
    return answer.json()["conversations"]


def write(page, phone: str, message: str = "", *, when: str | None = None) -> None:
    """Open the widget and send it: a question, or (``when`` given) a call-back request."""
    page.click("#clinic-contact-widget .open")
    if when is not None:
        page.check("#kind-callback")
        page.fill("#preferred-time", when)
    page.fill("#phone", phone)
    page.fill("#message", message)
    page.click("#clinic-contact-widget .send")


def test_a_question_from_the_website_in_russian_lands_in_the_inbox(website, visitor):
    page = visitor("/?lang=ru", locale="ko-KR")
    assert page.inner_text("#clinic-contact-widget .open") == "Связаться с нами"
    write(page, "010-2345-6789", "Можно ли прийти с собакой?")
    page.wait_for_selector("#clinic-contact-widget .thanks:not([hidden])")
    assert "Спасибо. Клиника вам ответит." in page.inner_text("#clinic-contact-widget .thanks")
    assert page.inner_text("#clinic-contact-widget .echo") == "Можно ли прийти с собакой?"
    # Nothing of ours is left in the website's own globals.
    assert page.evaluate("typeof setup === 'undefined' && typeof T === 'undefined' && window.Dom === undefined")
    axe_check(page)

    row = next(r for r in inbox_rows(website) if r["preview"] == "Можно ли прийти с собакой?")
    assert (row["channel"], row["language"], row["contact"], row["callback"]) == ("web", "ru", "•••• 6789", False)


def test_please_call_me_back_with_a_preferred_time(website, visitor):
    page = visitor()
    page.click("#clinic-contact-widget .open")
    assert page.is_hidden("#preferred-time")
    page.click("#clinic-contact-widget .close")
    write(page, "010-3456-7890", when="after 6 pm")
    page.wait_for_selector("#clinic-contact-widget .thanks:not([hidden])")
    assert "The clinic will call you back." in page.inner_text("#clinic-contact-widget .thanks")
    row = next(r for r in inbox_rows(website) if r["contact"] == "•••• 7890")
    assert (row["callback"], row["preferred_time"], row["language"]) == (True, "after 6 pm", "en")


def test_a_wrong_number_is_said_at_the_field_and_nothing_is_filed(website, visitor):
    before = len(inbox_rows(website))
    page = visitor()
    write(page, "12", "Hello?")
    page.wait_for_selector("#clinic-contact-widget .error:has-text('not a mobile number')")
    assert page.get_attribute("#phone", "aria-invalid") == "true"
    assert len(inbox_rows(website)) == before


def test_a_website_the_clinic_did_not_allow_cannot_post_the_form(website, visitor, contexts):
    before = len(inbox_rows(website))
    context = contexts(viewport={"width": 1280, "height": 800}, locale="en-US")
    page = context.new_page()
    # The same page under another name is another origin, not in [inbox] widget_origins.
    page.goto(f"http://localhost:{website.port}/")
    write(page, "010-4567-8901", "From a copy of the site")
    page.wait_for_selector("#clinic-contact-widget .error:has-text('was not sent')")
    assert len(inbox_rows(website)) == before


def test_markup_typed_into_the_widget_is_literal_text_there_and_in_the_staff_console(website, visitor, contexts):
    body, when = PAYLOADS[0], PAYLOADS[2]
    page = visitor()
    opened = watch_dialogs(page)
    write(page, "010-5678-9012", body, when=when)
    page.wait_for_selector("#clinic-contact-widget .thanks:not([hidden])")
    assert page.inner_text("#clinic-contact-widget .echo") == body
    assert_nothing_ran(page, opened, "#clinic-contact-widget")

    console = staff_console(contexts, website.clinic.url)
    seen = watch_dialogs(console)
    row = console.locator("#inbox-list .conversation:has-text('9012')")
    assert row.locator(".preview").inner_text() == body
    row.click()
    console.wait_for_selector("#thread-messages .from-patient")
    assert console.inner_text("#thread-messages .from-patient .body") == body
    assert console.inner_text("#inbox-list .conversation[aria-current=true] .callback").endswith(when)
    assert_nothing_ran(console, seen, "#inbox")
