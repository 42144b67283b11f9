"""The phone page offers what the clinic can keep: its data island says which ways to reach
the patient exist, the service worker is served under /t/, and "called again" is on the page
as served (the browser tests cover the live parts)."""

from __future__ import annotations

import json
import re

import pytest
from flask_babel import force_locale

from queue_app.pages.i18n import recall_text

from ..api.test_patient_reach import browser_subscription, check_in, reach, reach_app  # noqa: F401
from ..notify.conftest import http_server  # noqa: F401  (the SMS provider's stand-in)


def page_data(client, token: str, lang: str | None = None) -> dict:
    body = client.get(f"/t/{token}" + (f"?lang={lang}" if lang else "")).get_data(as_text=True)
    island = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', body, re.S)
    return json.loads(island.group(1))


def test_the_page_offers_every_channel_the_clinic_has(reach):  # noqa: F811
    client, tokens = reach
    ticket = check_in(client, tokens)
    offers = page_data(client, ticket["token"])["reach"]
    assert offers["push"] == client.get("/api/v1/push/key").get_json()["public_key"]
    assert offers["telegram"] is True and offers["text"] is True and offers["any_channel"] is True
    assert offers["subscribed"] is False
    # The clinic's near_minutes (10 here) is what a patient gets without choosing.
    assert offers["lead"] == {"choices": [5, 10, 15, 30], "default": 10, "minutes": None}


def test_the_default_lead_time_is_the_services_own(reach):  # noqa: F811
    client, tokens = reach
    ticket = check_in(client, tokens, service="vaccination")  # near_minutes = 5 in the example
    assert page_data(client, ticket["token"])["reach"]["lead"]["default"] == 5


def test_what_the_patient_chose_shows_on_the_page(reach):  # noqa: F811
    client, tokens = reach
    ticket = check_in(client, tokens, language="en")
    client.post(f"/api/v1/tickets/{ticket['token']}/push", json=browser_subscription())
    client.put(f"/api/v1/tickets/{ticket['token']}/lead", json={"minutes": 30})
    client.post(f"/api/v1/tickets/{ticket['token']}/phone", json={"phone": "010-1234-5678", "consent": True})
    offers = page_data(client, ticket["token"])["reach"]
    assert offers["subscribed"] is True and offers["lead"]["minutes"] == 30
    assert offers["text"] is False  # a number is given once
    body = client.get(f"/t/{ticket['token']}").get_data(as_text=True)
    assert re.search(r'value="30" checked', body) and not re.search(r'value="10" checked', body)
    assert re.search(r'<p id="notify-status"[^>]*>Notifications are on\.', body)


def test_a_patient_who_gave_a_number_is_not_asked_for_one(reach):  # noqa: F811
    client, tokens = reach
    ticket = check_in(client, tokens, phone="010-2222-3333", consent=True)
    assert page_data(client, ticket["token"])["reach"]["text"] is False
    assert 'id="text-form"' not in client.get(f"/t/{ticket['token']}").get_data(as_text=True)


def test_a_clinic_without_channels_offers_only_the_sound(client, tokens):
    ticket = check_in(client, tokens)
    offers = page_data(client, ticket["token"])["reach"]
    assert offers["push"] is None and offers["telegram"] is False and offers["text"] is False
    body = client.get(f"/t/{ticket['token']}").get_data(as_text=True)
    assert 'id="notify-me"' in body
    assert 'id="telegram"' not in body and 'id="text-me"' not in body and 'id="lead"' not in body


def test_a_closed_ticket_offers_nothing(reach):  # noqa: F811
    client, tokens = reach
    ticket = check_in(client, tokens)
    client.delete(f"/api/v1/tickets/{ticket['token']}")
    assert 'id="reach"' not in client.get(f"/t/{ticket['token']}").get_data(as_text=True)


def test_the_service_worker_is_served_under_the_ticket_pages(client):
    response = client.get("/t/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert "showNotification" in response.get_data(as_text=True)
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-cache"


def recall_line(client, token: str, lang: str | None = None) -> str | None:
    """The "called again" line as served, or None while it is hidden."""
    body = client.get(f"/t/{token}" + (f"?lang={lang}" if lang else "")).get_data(as_text=True)
    line = re.search(r'<p id="recall" class="recall"( hidden)?>(.*?)</p>', body)
    return None if line.group(1) else line.group(2)


def test_called_again_is_on_the_served_page_in_the_patients_language(client, tokens):
    ticket = check_in(client, tokens, language="ru")
    staff = tokens.headers("staff")
    assert recall_line(client, ticket["token"]) is None
    called = client.post("/api/v1/rooms/room1/call-next", headers=staff).get_json()["ticket"]
    assert recall_line(client, ticket["token"]) is None  # the first call is just "your turn"
    client.post(f"/api/v1/tickets/{called['id']}/recall", headers=staff)
    assert recall_line(client, ticket["token"]) == "Повторный вызов (2-й) — пожалуйста, подойдите сейчас"
    assert recall_line(client, ticket["token"], "ko") == "다시 호출 (2번째) - 지금 와 주세요"
    assert recall_line(client, ticket["token"], "en") == "Called again (2nd call) – please come now"


@pytest.mark.parametrize(
    ("count", "language", "expected"),
    [
        (1, "en", None),
        (2, "en", "Called again (2nd call) – please come now"),
        (3, "en", "Called again (3rd call) – please come now"),
        (4, "en", "Called again (4th call) – please come now"),
        (11, "en", "Called again (11th call) – please come now"),
        (21, "en", "Called again (21st call) – please come now"),
        (3, "ko", "다시 호출 (3번째) - 지금 와 주세요"),
        (3, "ru", "Повторный вызов (3-й) — пожалуйста, подойдите сейчас"),
    ],
)
def test_the_call_count_reads_as_an_ordinal(app, count, language, expected):
    with app.test_request_context(), force_locale(language):
        assert recall_text(count, language) == expected
