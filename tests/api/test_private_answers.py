"""Answers that carry a patient's link or phone number are kept by no cache and sniffed by no browser.

The kiosk is one browser that many patients pass: the QR code of one patient's link, kept
in its cache for a day, was another's way into that patient's ticket.
"""

from __future__ import annotations


def check_in(client, tokens):
    answer = client.post(
        "/api/v1/tickets", json={"service": "general", "phone": "010-1234-5678"}, headers=tokens.headers("kiosk")
    )
    assert answer.status_code == 201
    return answer


def assert_private(answer):
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_the_check_in_answer_with_the_patients_link_is_not_kept(client, tokens):
    answer = check_in(client, tokens)
    assert "token" in answer.get_json()
    assert_private(answer)


def test_the_qr_code_of_a_patients_link_is_not_kept(client, tokens):
    token = check_in(client, tokens).get_json()["token"]
    qr = client.get(f"/api/v1/tickets/{token}/qr.svg")
    assert qr.status_code == 200 and qr.mimetype == "image/svg+xml"
    assert_private(qr)


def test_the_staff_queue_with_phone_numbers_and_errors_are_not_kept(client, tokens):
    check_in(client, tokens)
    queue = client.get("/api/v1/queue", headers=tokens.headers("staff"))
    assert queue.status_code == 200
    assert_private(queue)
    assert_private(client.get("/api/v1/tickets/no-such-ticket-token-000"))
    assert_private(client.get("/api/v1/queue"))


def test_the_patients_own_view_is_not_kept(client, tokens):
    token = check_in(client, tokens).get_json()["token"]
    assert_private(client.get(f"/api/v1/tickets/{token}"))
