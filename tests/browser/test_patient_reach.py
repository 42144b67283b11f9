"""The phone page reaches the patient: "Notify me" above the fold, every outcome told, the
lead time and "text me instead" saved, and a recall that changes the page within 2 seconds.

The clinic here has web push (VAPID keys made by the test), Telegram and SMS, and serves
without its dispatcher: nothing is sent anywhere.  The Chromium of these tests has its
push service (Google's GCM/FCM) pointed at a closed port on loopback and every other host
name unresolvable, so pressing "Notify me" never leaves this machine; what it shows then
is what a phone shows when the push service cannot be reached.
"""

from __future__ import annotations

import signal

import pytest
import requests

from queue_app.notify.channels.webpush import generate_vapid_keys
from tests.api.test_patient_reach import browser_subscription
from tests.e2e.conftest import LiveServer
from tests.support.loopback import free_port

from .conftest import CHROMIUM, CHROMIUM_ARGS, StaffApi, axe_check

SID = "AC" + "4" * 32
#: Only loopback exists for this browser, and its push service is a closed port there.
DEAD = f"http://127.0.0.1:{free_port()}"
LOOPBACK_ONLY = [
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    f"--gcm-checkin-url={DEAD}/checkin",
    f"--gcm-registration-url={DEAD}/register",
    f"--gcm-mcs-endpoint={DEAD.replace('http', 'https')}",
]
NOTIFY_ME = {
    "ko": "차례가 되면 알림 받기",
    "en": "Notify me when it is my turn",
    "ru": "Сообщить мне, когда подойдёт очередь",
}
#: Counts the page's vibrations: the tap on "Notify me" and every call buzz.
COUNT_BUZZES = "window.__buzz = 0; navigator.vibrate = function () { window.__buzz += 1; return true; };"
PUSH_OUTCOMES = {
    "notify_on": "Notifications are on.",
    "notify_unreachable": "The notification service cannot be reached right now.",
}


@pytest.fixture(scope="module")
def reach_browser(browser):
    """A Chromium of its own (same Playwright), with the loopback-only switches."""
    own = browser.browser_type.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS + LOOPBACK_ONLY)
    yield own
    own.close()


@pytest.fixture(scope="module")
def reach_clinic(tmp_path_factory, reach_browser):
    """A real server whose clinic has web push, Telegram and SMS; no dispatcher."""
    private, _public = generate_vapid_keys()
    env = {
        "QUEUE_APP_NOTIFY_CHANNELS": "webpush,telegram,sms",
        "QUEUE_APP_CHANNELS_WEBPUSH_ENABLED": "true",
        "QUEUE_APP_CHANNELS_WEBPUSH_VAPID_PRIVATE_KEY": private,
        "QUEUE_APP_CHANNELS_TELEGRAM_ENABLED": "true",
        "QUEUE_APP_CHANNELS_TELEGRAM_BOT_TOKEN": "123:abc",
        "QUEUE_APP_CHANNELS_TELEGRAM_BOT_USERNAME": "hanbit_queue_bot",
        "QUEUE_APP_CHANNELS_TELEGRAM_WEBHOOK_SECRET": "tg-secret",
        "QUEUE_APP_CHANNELS_SMS_ENABLED": "true",
        "QUEUE_APP_CHANNELS_SMS_ACCOUNT_SID": SID,
        "QUEUE_APP_CHANNELS_SMS_AUTH_TOKEN": "token",
        "QUEUE_APP_CHANNELS_SMS_FROM_NUMBER": "+15005550006",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    server = LiveServer(tmp_path_factory.mktemp("reach-clinic"), env)
    server.command("db", "upgrade")
    server.tokens = {"staff": server.token("staff")}
    server.start("--without-dispatcher")
    yield server
    server.stop(signal.SIGTERM)


@pytest.fixture
def staff(reach_clinic):
    """Staff's API on an empty queue, so "call next" calls this test's patient."""
    api = StaffApi(reach_clinic)
    queue = api.queue()
    for ticket in queue["in_rooms"]:
        api.post(f"/tickets/{ticket['id']}/finish")
    for ticket in queue["waiting"]:
        api.post(f"/tickets/{ticket['id']}/cancel")
    return api


@pytest.fixture
def phone(reach_browser):
    """Opens a ticket page on a phone-sized, touch screen; closes every context afterwards."""
    made = []

    def open_page(url: str, width=390, height=844, locale="en-US", permission=None, init_script=None):
        context = reach_browser.new_context(
            viewport={"width": width, "height": height},
            is_mobile=True,
            has_touch=True,
            locale=locale,
            bypass_csp=True,  # lets the test inject axe-core
        )
        context.set_default_timeout(5000)
        made.append(context)
        if permission == "granted":
            context.grant_permissions(["notifications"], origin=url.split("/t/")[0])
        context.add_init_script(COUNT_BUZZES)
        if init_script:
            context.add_init_script(init_script)
        page = context.new_page()
        if permission == "denied":
            cdp = context.new_cdp_session(page)
            cdp.send(
                "Browser.setPermission",
                {"permission": {"name": "notifications"}, "setting": "denied", "origin": url.split("/t/")[0]},
            )
        page.goto(url)
        page.wait_for_selector("#reach:not([hidden])")
        return page

    yield open_page
    for context in made:
        context.close()


def channels_of(staff, number: str) -> list[str]:
    queue = staff.queue()
    return next(t for t in queue["waiting"] + queue["in_rooms"] if t["number"] == number)["channels"]


@pytest.mark.parametrize("language", ["ko", "en", "ru"])
@pytest.mark.parametrize(("width", "height"), [(390, 844), (320, 640)])
def test_notify_me_is_in_sight_without_scrolling(staff, phone, screenshots, language, width, height):
    staff.check_in()  # someone ahead: the page shows its place and wait, its tallest waiting state
    ticket = staff.check_in(language=language)
    page = phone(ticket["url"], width, height, locale=language)
    assert page.get_attribute("html", "lang") == language
    assert page.inner_text("#notify-me") == NOTIFY_ME[language]
    screenshots(page, f"phone-notify-me-{language}-{width}x{height}")
    box = page.locator("#notify-me").bounding_box()
    assert box["width"] > 0 and box["height"] >= 48
    assert 0 <= box["y"] and box["y"] + box["height"] <= height, f"the button ends at {box['y'] + box['height']}"
    assert 0 <= box["x"] and box["x"] + box["width"] <= width
    assert page.evaluate("window.scrollY") == 0


def test_notify_me_with_permission_registers_the_worker_and_tells_the_outcome(staff, phone, screenshots):
    ticket = staff.check_in(language="en")
    page = phone(ticket["url"], permission="granted")
    page.click("#notify-me")
    page.wait_for_function(
        "['notify_on', 'notify_unreachable'].includes(document.getElementById('reach').dataset.outcome)",
        timeout=15000,
    )
    outcome = page.get_attribute("#reach", "data-outcome")
    print(f"\nthis Chromium's push subscription: {outcome}")
    assert page.inner_text("#notify-status").startswith(PUSH_OUTCOMES[outcome])
    scope = page.evaluate("navigator.serviceWorker.getRegistration().then(r => r && r.active && r.scope)")
    assert scope == ticket["url"]
    assert page.evaluate("window.__buzz") == 1  # the tap itself: vibration works from now on
    if outcome == "notify_on":
        assert channels_of(staff, ticket["number"]) == ["webpush"]
        assert page.is_visible("#notify-off") and not page.is_visible("#notify-me")
    else:
        assert channels_of(staff, ticket["number"]) == []
        assert "leave your number below" in page.inner_text("#notify-status")
        assert page.is_visible("#notify-me") and page.is_enabled("#notify-me")
    screenshots(page, f"phone-notify-{outcome}")
    axe_check(page)


def test_notify_me_with_notifications_blocked_says_how_to_allow_them(staff, phone, screenshots):
    ticket = staff.check_in(language="en")
    page = phone(ticket["url"], permission="denied")
    page.click("#notify-me")
    page.wait_for_function("document.getElementById('reach').dataset.outcome === 'notify_blocked'")
    status = page.inner_text("#notify-status")
    assert status.startswith("Notifications are blocked for this page.")
    assert "lock icon" in status and "Allow" in status
    assert page.evaluate("navigator.serviceWorker.getRegistration().then(r => !!r)") is False
    assert channels_of(staff, ticket["number"]) == []
    screenshots(page, "phone-notify-blocked")
    axe_check(page)


def test_a_browser_without_push_is_told_to_add_the_page_to_the_home_screen(staff, phone, screenshots):
    """As iPhone Safari outside a home-screen app: no PushManager at all."""
    ticket = staff.check_in(language="ru")
    page = phone(ticket["url"], locale="ru-RU", init_script="delete window.PushManager;")
    page.click("#notify-me")
    page.wait_for_function("document.getElementById('reach').dataset.outcome === 'notify_unsupported'")
    status = page.inner_text("#notify-status")
    assert status.startswith("Этот браузер не может показывать уведомления с этой страницы.")
    assert "На экран „Домой“" in status and status.endswith("Или оставьте номер телефона ниже, и мы пришлём сообщение.")
    assert page.evaluate("window.__buzz") == 1  # sound and vibration are unlocked all the same
    screenshots(page, "phone-notify-unsupported")
    axe_check(page)


def test_a_subscribed_patient_turns_notifications_off(reach_clinic, staff, phone):
    ticket = staff.check_in(language="en")
    subscription = browser_subscription(f"{DEAD}/push/abc")  # never called: this server has no dispatcher
    assert requests.post(f"{ticket['url'].replace('/t/', '/api/v1/tickets/')}/push", json=subscription).ok
    page = phone(ticket["url"])
    assert page.inner_text("#notify-status").startswith("Notifications are on.")
    page.click("#notify-off")
    page.wait_for_function("document.getElementById('reach').dataset.outcome === 'notify_off'")
    assert page.is_visible("#notify-me") and not page.is_visible("#notify-off")
    assert channels_of(staff, ticket["number"]) == []


def test_the_patient_chooses_the_lead_time_and_leaves_a_number(staff, phone, screenshots):
    ticket = staff.check_in(language="en")
    page = phone(ticket["url"])
    # The clinic's near_minutes (15 in the example) is chosen until the patient chooses.
    assert page.is_checked("#lead input[value='15']")
    page.check("#lead input[value='30']")
    page.wait_for_function("document.getElementById('lead-status').textContent !== ''")
    assert page.inner_text("#lead-status") == "Saved: we will tell you about 30 minutes before your turn."
    assert requests.get(f"{ticket['url'].replace('/t/', '/api/v1/tickets/')}").json()["lead_minutes"] == 30

    page.click("#text-me")
    assert page.get_attribute("#text-me", "aria-expanded") == "true"
    page.fill("#text-phone", "12")
    page.check("#text-consent")
    page.click("#text-send")
    page.wait_for_selector("#text-error:not([hidden])")
    assert page.inner_text("#text-error") == "This is not a mobile number we can use. Please check it."
    assert page.get_attribute("#text-phone", "aria-invalid") == "true"
    page.fill("#text-phone", "010-1234-5678")
    page.uncheck("#text-consent")
    page.click("#text-send")
    page.wait_for_function("document.getElementById('text-error').textContent.startsWith('Please tick')")
    assert channels_of(staff, ticket["number"]) == []
    screenshots(page, "phone-text-me")
    axe_check(page)
    page.check("#text-consent")
    page.click("#text-send")
    page.wait_for_function("document.getElementById('reach').dataset.outcome === 'text_saved'")
    assert page.inner_text("#notify-status") == "We will send messages to •••• 5678."
    assert not page.is_visible("#text-form") and not page.is_visible("#text-me")
    assert channels_of(staff, ticket["number"]) == ["sms"]


def test_the_telegram_link_opens_the_clinics_bot(staff, phone):
    ticket = staff.check_in(language="en")
    page = phone(ticket["url"])
    # t.me answers from inside the browser: nothing leaves the machine.
    page.context.route("https://t.me/**", lambda route: route.fulfill(status=200, body="Telegram"))
    with page.context.expect_page() as opened:
        page.click("#telegram")
    opened.value.wait_for_load_state()
    assert opened.value.url.startswith("https://t.me/hanbit_queue_bot?start=")
    assert page.url == ticket["url"]  # the ticket page stays open behind it


def test_without_push_the_tap_still_turns_on_sound_and_vibration(server, staff_api, contexts):
    """The example clinic has no channel: "Notify me" unlocks the open page's sound, and says so."""
    ticket = staff_api.check_in(language="en")
    context = contexts(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="en-US")
    context.add_init_script(COUNT_BUZZES)
    page = context.new_page()
    page.goto(ticket["url"])
    page.wait_for_selector("#reach:not([hidden])")
    assert not page.locator("#telegram, #text-me, #lead").count()
    page.click("#notify-me")
    assert page.inner_text("#notify-status") == "Sound and vibration are on. Keep this page open."
    assert page.evaluate("window.__buzz") == 1
    assert page.evaluate("navigator.serviceWorker.getRegistration().then(r => !!r)") is False


def test_a_recall_changes_the_page_within_two_seconds(staff, phone, screenshots):
    ticket = staff.check_in(language="ko")
    page = phone(ticket["url"], locale="ko-KR")
    page.wait_for_timeout(300)  # the socket's snapshot
    called = staff.post("/rooms/room1/call-next").json()["ticket"]
    assert called["number"] == ticket["number"]
    page.wait_for_selector("#room:not([hidden])", timeout=2000)
    page.wait_for_function("window.__buzz === 1", timeout=2000)
    assert not page.is_visible("#recall")

    assert staff.post(f"/tickets/{called['id']}/recall").ok
    page.wait_for_selector("#recall:not([hidden])", timeout=2000)
    assert page.inner_text("#recall") == "다시 호출 (2번째) - 지금 와 주세요"
    page.wait_for_function("window.__buzz === 2", timeout=2000)  # it buzzed (and rang) again

    assert staff.post(f"/tickets/{called['id']}/recall").ok
    page.wait_for_function(
        "document.getElementById('recall').textContent === '다시 호출 (3번째) - 지금 와 주세요'", timeout=2000
    )
    page.wait_for_function("window.__buzz === 3", timeout=2000)
    assert not page.is_visible("#lead")  # called: the lead time no longer matters
    screenshots(page, "phone-called-again")
    axe_check(page)
