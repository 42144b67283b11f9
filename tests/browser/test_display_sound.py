"""The TV's sound: asked once when the screen is set up, and never a banner over the live data.

The shared browser lets pages make sound without a touch (a TV in kiosk mode can be set up
so); here the browser's AudioContext is made to start "suspended" until ``resume()``, as an
ordinary browser does, so the page meets the case it must handle.
"""

from __future__ import annotations

import pytest

from .conftest import SPEECH_STUB, axe_check

#: An AudioContext the browser holds back (state "suspended") until the page resumes it.
SOUND_HELD_BACK = """
(() => {
  const Real = window.AudioContext;
  if (!Real) return;
  window.AudioContext = function () {
    const audio = new Real();
    let held = true;
    Object.defineProperty(audio, 'state', {get: () => held ? 'suspended' : 'running'});
    const resume = audio.resume.bind(audio);
    audio.resume = () => { held = false; return resume(); };
    return audio;
  };
})();
"""

LIVE_DATA = "#now, .recent, #service-list li .name, #service-list li .count, #service-list li .wait"


def tv(server, contexts, width=1920, height=1080):
    context = contexts(viewport={"width": width, "height": height}, locale="ko-KR")
    context.add_init_script(SOUND_HELD_BACK)
    context.add_init_script(SPEECH_STUB)
    page = context.new_page()
    page.goto(f"{server.url}/display?pair={server.tokens['display']}")
    page.wait_for_function("document.querySelectorAll('#service-list li').length > 0")
    return page


def overlaps(page, selector: str) -> list[str]:
    """The live-data elements whose box meets the box of ``selector``."""
    return page.evaluate(
        """([notice, live]) => {
            const a = document.querySelector(notice).getBoundingClientRect();
            return [...document.querySelectorAll(live)].filter(el => {
                const b = el.getBoundingClientRect();
                return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
            }).map(el => el.className || el.id);
        }""",
        [selector, LIVE_DATA],
    )


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (1280, 720)])
def test_sound_is_asked_once_then_never_covers_the_live_data(server, contexts, staff_api, width, height):
    staff_api.check_in("general")
    page = tv(server, contexts, width, height)
    page.wait_for_selector("#sound-setup[open]")
    assert "호출 안내 방송" in page.inner_text("#sound-setup-title")
    axe_check(page)
    page.click("#sound-on")
    page.wait_for_selector("#sound-setup", state="hidden")
    assert page.evaluate("localStorage.getItem('queue-display-sound')") == "on"

    # The next start (the nightly reload, a power cut): not asked again.  The browser holds
    # the sound back once more, so a notice says so, in the header, over nothing live.
    page.reload()
    page.wait_for_function("document.querySelectorAll('#service-list li').length > 0")
    page.wait_for_selector("#sound-hint:not([hidden])")
    assert page.locator("#sound-setup[open]").count() == 0
    assert overlaps(page, "#sound-hint") == []
    box = page.locator("#sound-hint").bounding_box()
    assert box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= width and box["y"] + box["height"] <= height
    axe_check(page)


def test_no_sound_is_kept_and_the_tv_stays_silent(server, contexts, staff_api):
    page = tv(server, contexts)
    page.wait_for_selector("#sound-setup[open]")
    page.click("#sound-off")
    page.reload()
    page.wait_for_function("document.querySelectorAll('#service-list li').length > 0")
    assert page.locator("#sound-setup[open]").count() == 0
    assert page.is_hidden("#sound-hint")

    ticket = staff_api.check_in("general")
    staff_api.post("/rooms/room1/call-next")
    page.wait_for_selector(f"[data-room=room1] .room-number:text-is('{ticket['number']}')")
    page.wait_for_selector("[data-room=room1].fresh")  # the call event arrived: where a call is announced
    assert page.evaluate("window.__spoken") == []


def test_the_offline_notice_covers_nothing_either(server, contexts, staff_api):
    staff_api.check_in("general")
    page = tv(server, contexts)
    page.click("#sound-on")
    page.evaluate("document.getElementById('offline').hidden = false")
    assert overlaps(page, "#offline") == []
