"""The page routes through Flask's test client: pairing, sign-in, the patient page, languages."""

from __future__ import annotations

import pytest

from queue_app.auth import DEVICE_COOKIE

from .conftest import PASSWORD, csrf_of


def check_in(client, tokens, language="en", service="general"):
    response = client.post(
        "/api/v1/tickets", json={"service": service, "language": language}, headers=tokens.headers("kiosk")
    )
    assert response.status_code == 201
    return response.get_json()


# -- pairing --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["kiosk", "display"])
def test_an_unpaired_device_shows_how_to_pair_it(client, kind):
    response = client.get(f"/{kind}", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert f"queue-app create-token --role {kind}" in body
    assert f"/{kind}?pair=" in body


@pytest.mark.parametrize("kind", ["kiosk", "display"])
def test_pairing_stores_the_device_cookie_and_drops_the_token_from_the_address(client, tokens, kind):
    response = client.get(f"/{kind}?pair={tokens[kind]}")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/{kind}"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{DEVICE_COOKIE}={tokens[kind]};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Max-Age=" in cookie
    page = client.get(f"/{kind}")
    assert page.status_code == 200 and f"/{kind}/{kind}.js" in page.get_data(as_text=True)
    assert client.get(f"/{kind}/setup.json").status_code == 200


@pytest.mark.parametrize("role", ["staff", "admin", "display"])
def test_a_kiosk_cannot_be_paired_with_another_roles_token(client, tokens, role):
    response = client.get(f"/kiosk?pair={tokens[role]}")
    assert response.status_code == 403
    assert "Set-Cookie" not in response.headers


def test_the_device_cookie_lets_the_kiosk_check_in_only_with_x_requested_with(client, tokens):
    client.get(f"/kiosk?pair={tokens['kiosk']}")
    body = {"service": "general", "consent": True, "phone": "010-1234-5678"}
    assert client.post("/api/v1/tickets", json=body).status_code == 403
    response = client.post("/api/v1/tickets", json=body, headers={"X-Requested-With": "fetch"})
    assert response.status_code == 201


def test_a_display_cookie_cannot_check_patients_in(client, tokens):
    client.get(f"/display?pair={tokens['display']}")
    response = client.post("/api/v1/tickets", json={"service": "general"}, headers={"X-Requested-With": "fetch"})
    assert response.status_code == 403


def test_setup_needs_the_paired_device(client):
    assert client.get("/kiosk/setup.json").status_code == 401
    assert client.get("/display/setup.json").status_code == 401


def test_kiosk_setup_has_every_language(client, tokens):
    client.get(f"/kiosk?pair={tokens['kiosk']}")
    setup = client.get("/kiosk/setup.json").get_json()
    assert [lang["code"] for lang in setup["languages"]] == ["ko", "en", "ru"]
    assert setup["texts"]["ko"]["check_in"] == "번호표 받기"
    assert setup["texts"]["ru"]["check_in"] == "Получить номер"
    assert setup["texts"]["en"]["check_in"] == "Get my number"


@pytest.mark.parametrize(
    ("phone", "valid", "reason"),
    [
        ("010-1234-5678", True, None),
        ("+7 912 345-67-89", True, None),
        ("12345", False, "invalid"),
        ("abc", False, "invalid"),
        ("02-123-4567", False, "not_mobile"),
        ("017-123-4567", False, "retired"),
    ],
)
def test_the_kiosk_checks_phone_numbers_as_the_api_will(client, tokens, phone, valid, reason):
    client.get(f"/kiosk?pair={tokens['kiosk']}")
    answer = client.post("/kiosk/phone-check", json={"phone": phone}, headers={"X-Requested-With": "fetch"})
    assert answer.get_json()["valid"] is valid
    assert answer.get_json().get("reason") == reason
    checked_in = client.post(
        "/api/v1/tickets",
        json={"service": "general", "phone": phone, "consent": True},
        headers={"X-Requested-With": "fetch"},
    )
    assert (checked_in.status_code == 201) is valid, checked_in.get_json()


def test_the_kiosk_keypad_starts_with_the_countrys_mobile_prefix_and_says_how_long_numbers_are_kept(client, tokens):
    client.get(f"/kiosk?pair={tokens['kiosk']}")
    setup = client.get("/kiosk/setup.json").get_json()
    assert setup["phone_prefix"] == "010"
    assert setup["retention_days"] == 30


# -- staff sign-in ----------------------------------------------------------------------------------


def test_the_console_needs_a_sign_in(client):
    response = client.get("/staff")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_sign_in_and_out(client, staff_user):
    page = client.get("/login")
    wrong = client.post("/login", data={"csrf": csrf_of(page), "username": staff_user, "password": "nope-nope"})
    # The form again with its message, not a 401 (which the browser logs as an error).
    assert wrong.status_code == 200 and 'id="login-error"' in wrong.get_data(as_text=True)
    response = client.post(
        "/login?next=/staff", data={"csrf": csrf_of(wrong), "username": staff_user, "password": PASSWORD}
    )
    assert response.status_code == 303 and response.headers["Location"] == "/staff"
    console = client.get("/staff")
    assert console.status_code == 200 and 'id="room-picker"' in console.get_data(as_text=True)
    assert client.get("/api/v1/queue").status_code == 200
    client.post("/logout", data={"csrf": csrf_of(console)})
    assert client.get("/staff").status_code == 302
    assert client.get("/api/v1/queue").status_code == 401


def test_sign_in_without_the_form_token_is_refused(client, staff_user):
    response = client.post("/login", data={"username": staff_user, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/staff").status_code == 302


def test_sign_in_never_redirects_to_another_site(client, staff_user):
    page = client.get("/login")
    response = client.post(
        "/login?next=//evil.example/", data={"csrf": csrf_of(page), "username": staff_user, "password": PASSWORD}
    )
    assert response.headers["Location"] == "/staff"


def test_logout_by_get_changes_nothing(signed_in):
    assert signed_in.get("/logout").status_code == 200
    assert signed_in.get("/staff").status_code == 200


# -- the patient page -------------------------------------------------------------------------------


def test_a_wrong_token_shows_a_friendly_404(client):
    response = client.get("/t/" + "x" * 40, headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert "This link does not work" in response.get_data(as_text=True)


def test_the_patient_page_works_without_javascript(client, tokens):
    ticket = check_in(client, tokens)
    body = client.get(f"/t/{ticket['token']}").get_data(as_text=True)
    assert ticket["number"] in body
    assert "You are in the queue" in body
    assert '<noscript><meta http-equiv="refresh" content="30"></noscript>' in body
    assert f'href="/t/{ticket["token"]}/leave"' in body
    assert "You are next" in body


def test_the_patient_page_speaks_the_tickets_language_unless_asked(client, tokens):
    ticket = check_in(client, tokens, language="ru")
    assert "Вы в очереди" in client.get(f"/t/{ticket['token']}").get_data(as_text=True)
    assert "대기 중입니다" in client.get(f"/t/{ticket['token']}?lang=ko").get_data(as_text=True)
    assert "You are in the queue" in client.get(f"/t/{ticket['token']}?lang=en").get_data(as_text=True)
    # An unknown language falls back to the ticket's.
    assert "Вы в очереди" in client.get(f"/t/{ticket['token']}?lang=xx").get_data(as_text=True)


def test_leaving_without_javascript(client, tokens):
    ticket = check_in(client, tokens)
    assert "Leave the queue?" in client.get(f"/t/{ticket['token']}/leave").get_data(as_text=True)
    response = client.post(f"/t/{ticket['token']}/leave")
    assert response.status_code == 303
    assert "You left the queue." in client.get(f"/t/{ticket['token']}").get_data(as_text=True)


def test_the_called_patient_sees_the_room(client, tokens):
    ticket = check_in(client, tokens)
    client.post("/api/v1/rooms/room1/call-next", headers=tokens.headers("staff"))
    body = client.get(f"/t/{ticket['token']}").get_data(as_text=True)
    assert "It is your turn!" in body and "Please go to Room 1" in body


def test_the_manifest_starts_at_the_ticket(client, tokens):
    ticket = check_in(client, tokens)
    manifest = client.get(f"/t/{ticket['token']}/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    assert manifest.get_json()["start_url"] == f"/t/{ticket['token']}"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("ko-KR,ko;q=0.9", "직원 로그인"),
        ("ru", "Вход для персонала"),
        ("en-US", "Staff sign in"),
        ("fr", "직원 로그인"),
    ],
)
def test_pages_follow_the_browsers_language_among_the_clinics(client, accept, expected):
    assert expected in client.get("/login", headers={"Accept-Language": accept}).get_data(as_text=True)


def test_pages_carry_security_headers(client):
    response = client.get("/login")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "no-referrer"
