"""The patient's phone page as a patient reads it: small phones, 200% zoom, large text, every
state of the visit in its own words, the clinic's time, and a leave button that is not the
obvious one to press."""

from __future__ import annotations

import re

import pytest

from .conftest import axe_check


def open_phone(contexts, url: str, width=390, height=844, scale=1, locale="ko-KR"):
    context = contexts(
        viewport={"width": width, "height": height},
        device_scale_factor=scale,
        is_mobile=True,
        has_touch=True,
        locale=locale,
        timezone_id="America/Los_Angeles",  # the phone's own zone is not the clinic's
    )
    page = context.new_page()
    page.goto(url)
    page.wait_for_load_state()
    return page


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def overflowing(page) -> list[str]:
    """Elements whose text runs out of their own box (a long word at large text)."""
    return page.evaluate(
        "() => [...document.querySelectorAll('#main *')].filter(e => e.offsetParent !== null"
        " && e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === 'visible'"
        " && !e.closest('.sr-only')).map(e => e.id || e.className || e.tagName)"
    )


def on_one_line(page, selector: str) -> bool:
    return page.evaluate(
        "s => { const e = document.querySelector(s); const r = document.createRange(); r.selectNodeContents(e);"
        " return r.getClientRects().length === 1 && e.scrollWidth <= e.clientWidth; }",
        selector,
    )


def test_the_place_is_a_number_under_its_label_and_the_number_never_wraps_at_320(staff_api, contexts):
    for _ in range(3):
        staff_api.check_in("general")
    ticket = staff_api.check_in("general", language="ko")
    page = open_phone(contexts, ticket["url"], 320, 640)
    assert page.inner_text("#facts dt >> nth=0") == "내 앞 대기"
    assert page.inner_text("#ahead") == "3명"
    assert on_one_line(page, "#number")
    assert no_sideways_scroll(page)
    page.goto(ticket["url"] + "?lang=en")
    assert page.inner_text("#ahead") == "3 people"


@pytest.mark.parametrize("how", ["zoom 200%", "large text"])
def test_at_200_percent_zoom_or_large_text_the_facts_stack_and_nothing_scrolls_sideways(
    staff_api, contexts, screenshots, how
):
    staff_api.check_in("general")
    ticket = staff_api.check_in("general", language="ru")
    if how == "zoom 200%":  # a 390 px phone zoomed to 200% lays the page out in 195 CSS px
        page = open_phone(contexts, ticket["url"], 195, 422, scale=4, locale="ru-RU")
    else:  # the phone's text size at its largest: twice the browser's default
        page = open_phone(contexts, ticket["url"], locale="ru-RU")
        page.add_style_tag(content="html { font-size: 225% !important; }")
    facts = page.locator("#facts > div")
    first, second = facts.nth(0).bounding_box(), facts.nth(1).bounding_box()
    assert second["y"] >= first["y"] + first["height"], "the facts stand in one column"
    assert on_one_line(page, "#number")
    assert no_sideways_scroll(page)
    assert overflowing(page) == []
    screenshots(page, f"phone-{how.replace(' ', '-').replace('%', '')}")


def test_the_languages_are_one_control(staff_api, contexts):
    ticket = staff_api.check_in("general", language="ko")
    page = open_phone(contexts, ticket["url"], 320, 640)
    assert page.locator("#language-menu a").first.is_hidden()
    assert page.text_content("#language-menu summary") == "언어: 한국어"
    page.click("#language-menu summary")
    page.get_by_role("link", name="Русский").click()
    page.wait_for_function("document.documentElement.lang === 'ru'")
    assert page.inner_text("#status-text") == "Вы в очереди"
    assert page.text_content("#language-menu summary") == "Язык: Русский"
    axe_check(page)


def test_each_state_says_what_it_is_and_no_more(server, staff_api, contexts, screenshots):
    ticket = staff_api.check_in("general", language="en")
    page = open_phone(contexts, ticket["url"], locale="en-US")
    assert page.is_visible("#hint")

    staff_api.post("/rooms/room1/call-next")
    page.wait_for_function("document.getElementById('status-text').textContent === 'It is your turn!'")
    assert page.inner_text("#room") == "Please go to Room 1"
    assert page.is_hidden("#hint"), "no 'we will ring when it is your turn' once it is the turn"
    assert page.is_hidden("#notify-me"), "no 'notify me when it is my turn' either"

    staff_api.post(f"/tickets/{ticket['id']}/start")
    page.wait_for_function("document.getElementById('status-text').textContent === 'You are in your consultation'")
    assert page.is_hidden("#room"), "no 'please go to Room 1' to a patient inside it"
    assert page.is_hidden("#hint")

    staff_api.post(f"/tickets/{ticket['id']}/finish")
    page.wait_for_function("document.getElementById('status-text').textContent.startsWith('Your visit is finished')")

    missed = staff_api.check_in("general", language="en")
    staff_api.post("/rooms/room1/call-next")
    staff_api.post(f"/tickets/{missed['id']}/no-show")
    page = open_phone(contexts, missed["url"], locale="en-US")
    text = page.inner_text("#status-text")
    assert "reception desk" in text and "did not" not in text

    cancelled = staff_api.check_in("general", language="ko")
    staff_api.post(f"/tickets/{cancelled['id']}/cancel")
    page = open_phone(contexts, cancelled["url"])
    assert page.inner_text("#status-text") == "이 번호는 취소되었습니다. 접수처에 문의해 주세요."
    assert page.is_hidden("#hint") and page.is_hidden("#room")
    axe_check(page)


def test_the_time_is_the_clinics_in_one_format(server, staff_api, contexts):
    """The server writes the time first, the script after each change: both the clinic's
    time as 14:05, though this phone is set to Los Angeles."""
    ticket = staff_api.check_in("general", language="en")
    page = open_phone(contexts, ticket["url"], locale="en-US")
    zone = page.evaluate("JSON.parse(document.getElementById('page-data').textContent).timezone")
    assert zone.startswith("Etc/GMT")  # the browser tests' clinic, where it is about noon

    def clinic_now():
        return page.evaluate(
            "zone => new Intl.DateTimeFormat('en-GB', {hour: '2-digit', minute: '2-digit', hourCycle: 'h23', "
            "timeZone: zone}).format(new Date())",
            zone,
        )

    before = clinic_now()
    rendered = page.inner_text("#updated")
    staff_api.post("/rooms/room1/call-next")
    page.wait_for_function("document.getElementById('status-text').textContent === 'It is your turn!'")
    live = page.inner_text("#updated")
    for shown in (rendered, live):
        assert re.fullmatch(r"Updated at \d\d:\d\d", shown), shown
        assert shown[-5:] in (before, clinic_now())


def test_leaving_is_not_the_filled_button(staff_api, contexts):
    ticket = staff_api.check_in("general", language="en")
    page = open_phone(contexts, ticket["url"], locale="en-US")
    page.click("#leave")
    yes, stay = page.locator("#leave-yes"), page.locator("#leave-no")
    assert "primary" in stay.get_attribute("class") and "danger" not in stay.get_attribute("class")
    assert "danger-outline" in yes.get_attribute("class")
    background = yes.evaluate("e => getComputedStyle(e).backgroundColor")
    assert background == "rgb(255, 255, 255)"
    assert stay.bounding_box()["y"] < yes.bounding_box()["y"]
    axe_check(page)
