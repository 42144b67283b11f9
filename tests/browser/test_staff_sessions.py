"""A staff session cookie copied to another browser dies with the session it was copied from."""

from __future__ import annotations

from .conftest import staff_console


def queue_status_in(page, url: str) -> int:
    """The status the page's own fetch of the staff queue gets, with the browser's cookies."""
    return page.evaluate("async (url) => (await fetch(url, {credentials: 'same-origin'})).status", url)


def test_a_cookie_copied_from_a_signed_in_browser_is_refused_after_sign_out(server, contexts):
    laptop = staff_console(contexts, server.url)
    stolen = contexts(viewport={"width": 1366, "height": 900}, locale="en-US")
    stolen.add_cookies([c for c in laptop.context.cookies() if c["name"] == "session"])
    thief = stolen.new_page()
    thief.goto(f"{server.url}/staff")
    # While the nurse is signed in, the copy is as good as the original: the live console.
    assert thief.url == f"{server.url}/staff"
    thief.wait_for_function("document.getElementById('conn').className === 'conn'")
    assert queue_status_in(thief, f"{server.url}/api/v1/queue") == 200

    laptop.click("form[action='/logout'] button[type=submit]")
    laptop.wait_for_url(f"{server.url}/login")

    assert queue_status_in(thief, f"{server.url}/api/v1/queue") == 401
    thief.goto(f"{server.url}/staff")
    assert thief.url.startswith(f"{server.url}/login")
    assert thief.is_visible("#password")
