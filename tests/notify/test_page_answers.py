"""Reception's answer reaches a patient whose phone page is closed, on their own channels.

An answer to the phone page shows there at once when the page is open, and the page says
so (``POST /api/v1/tickets/<token>/messages/read``).  Not shown within ``[inbox]
page_unseen_seconds`` (60 here), it goes out once on the patient's channels in the clinic's
order with fallback (web push, Telegram, SMS), carrying the page's link, not the answer.
Providers are the local stand-ins; web push is read by decrypting what the push service got.
"""

from __future__ import annotations

import json

import http_ece
import pytest

from queue_app import create_app
from queue_app.extensions import db

from ..conftest import Tokens
from .channels.test_webpush import subscription as browser_subscription
from .test_conversation_hooks import answer_as_providers, sent_texts
from .test_patient_channels import PUBLIC_URL, app_and_browser, check_in  # noqa: F401
from .test_patient_channels import clinic as clinic  # noqa: F401  (web push, Telegram, SMS on the stand-in)

PRIVATE = "혈액검사 결과가 나왔습니다. 당뇨 수치가 높아요."


@pytest.fixture
def providers(http_server):
    """Twilio, Telegram and a push service in one local server, each answering as the real one."""

    def answer(request):
        if request.path.startswith("/push/"):
            return 410, {}, b""  # the browser dropped the subscription: try the next channel
        return answer_as_providers(http_server, request)

    http_server.handler = answer
    return http_server


class Desk:
    """A patient with a ticket who wrote from their page, and reception answering."""

    def __init__(self, app, clock, **check_in_body) -> None:
        self.app, self.clock = app, clock
        self.client, self.tokens = app.test_client(), Tokens(app, clock)
        self.ticket = check_in(self.client, self.tokens, **check_in_body)
        self.page = f"/api/v1/tickets/{self.ticket['token']}/messages"
        assert self.client.post(self.page, json={"body": "결과 나왔나요?"}).status_code == 201
        [row] = self.client.get("/api/v1/conversations", headers=self.tokens.headers("staff")).get_json()[
            "conversations"
        ]
        self.conversation_id = row["id"]

    def answer(self, body: str) -> dict:
        response = self.client.post(
            f"/api/v1/conversations/{self.conversation_id}/reply",
            json={"body": body},
            headers=self.tokens.headers("staff"),
        )
        assert response.status_code == 201
        return response.get_json()["message"]

    def page_shows(self, message_id: int):
        return self.client.post(f"{self.page}/read", json={"up_to": message_id})

    def in_the_inbox(self) -> list[dict]:
        return self.client.get(
            f"/api/v1/conversations/{self.conversation_id}", headers=self.tokens.headers("staff")
        ).get_json()["messages"]

    def seconds_pass(self, seconds: float) -> None:
        self.clock.advance(seconds=seconds)
        self.app.extensions["queue_app"].dispatcher.run_once()

    @property
    def link(self) -> str:
        return f"{PUBLIC_URL}/t/{self.ticket['token']}"


def answers_texted(server) -> list[tuple[str, str]]:
    """Texts (SMS and Telegram) that told of an answer, not the check-in text."""
    return [(to, text) for to, text in sent_texts(server) if "접수처에서 답장" in text]


def test_an_answer_the_closed_page_did_not_show_is_texted_once_with_the_link_not_the_answer(clinic, clock, providers):
    desk = Desk(clinic, clock, phone="010-1234-5678", consent=True)
    answer = desk.answer(PRIVATE)
    assert (answer["channel"], answer["status"]) == ("page", "sent")
    desk.seconds_pass(59)
    assert answers_texted(providers) == []  # the page still has time to show it
    desk.seconds_pass(2)
    [(to, text)] = answers_texted(providers)
    assert to == "+821012345678"
    assert desk.ticket["number"] in text and desk.link in text
    assert "혈액검사" not in text and "당뇨" not in text  # the answer stays behind the page's link
    last = desk.in_the_inbox()[-1]
    assert (last["channel"], last["status"], last["body"]) == ("sms", "sent", PRIVATE)
    desk.seconds_pass(600)
    # A restart (a new process on the same database) does not send it again.
    restarted = create_app(clinic.extensions["queue_app"].settings, clock=clock)
    restarted.extensions["queue_app"].dispatcher.run_once()
    assert len(answers_texted(providers)) == 1


def test_an_answer_the_page_showed_is_not_sent_anywhere_else(clinic, clock, providers):
    desk = Desk(clinic, clock, phone="010-1234-5678", consent=True)
    answer = desk.answer("네, 나왔습니다. 진료실에서 설명해 드릴게요.")
    desk.seconds_pass(5)
    shown = desk.page_shows(answer["id"])
    assert shown.status_code == 200 and shown.get_json() == {"seen": 1}
    assert desk.page_shows(answer["id"]).get_json() == {"seen": 0}  # a second tab: nothing new
    desk.seconds_pass(120)
    assert answers_texted(providers) == []
    last = desk.in_the_inbox()[-1]
    assert (last["channel"], last["status"]) == ("page", "delivered") and last["seen_at"]


def test_answers_written_while_one_waits_are_told_in_one_text_unless_all_were_shown(clinic, clock, providers):
    desk = Desk(clinic, clock, phone="010-1234-5678", consent=True)
    first = desk.answer("확인해 볼게요.")
    desk.seconds_pass(20)
    desk.answer("네, 나왔습니다.")
    desk.page_shows(first["id"])  # the page showed the first, then was closed
    desk.seconds_pass(41)
    assert len(answers_texted(providers)) == 1
    statuses = [(m["channel"], m["status"]) for m in desk.in_the_inbox() if m["direction"] == "out"]
    assert statuses == [("page", "delivered"), ("sms", "sent")]


def test_web_push_goes_first_and_sms_takes_over_when_the_browser_dropped_it(app_and_browser, clock, providers):  # noqa: F811
    app, browser, _server, _tokens, client = app_and_browser
    desk = Desk(app, clock, phone="010-1234-5678", consent=True)
    subscribed = client.post(
        f"/api/v1/tickets/{desk.ticket['token']}/push", json=browser_subscription(browser, providers.url + "/push/x")
    )
    assert subscribed.status_code == 200
    desk.answer(PRIVATE)
    desk.seconds_pass(61)
    desk.seconds_pass(1)  # the next channel goes at the next pass
    [push] = [r for r in providers.requests if r.path == "/push/x"]
    shown = json.loads(
        http_ece.decrypt(
            push.body, private_key=browser["private_key"], auth_secret=browser["auth"], version="aes128gcm"
        )
    )
    assert shown["kind"] == "answer" and shown["url"] == desk.link
    assert desk.ticket["number"] in shown["body"] and "혈액검사" not in shown["body"]
    assert len(answers_texted(providers)) == 1  # push refused (410): SMS took over, once
    last = desk.in_the_inbox()[-1]
    assert (last["channel"], last["status"]) == ("sms", "sent")


def test_a_patient_no_channel_can_reach_shows_failed_in_the_inbox_so_staff_can_phone(clinic, clock, providers):
    desk = Desk(clinic, clock)  # no number, no notifications
    desk.answer("네, 나왔습니다.")
    desk.seconds_pass(61)
    last = desk.in_the_inbox()[-1]
    assert (last["channel"], last["status"]) == ("page", "failed")
    assert "no channel can reach" in last["error"]
    assert providers.requests == []


@pytest.mark.parametrize("up_to", ["7", None, 0, -1, True, 2**40])
def test_the_page_must_say_which_answer_it_showed(clinic, clock, providers, up_to):
    desk = Desk(clinic, clock)
    response = desk.client.post(f"{desk.page}/read", json={"up_to": up_to})
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "up_to"
    assert (
        desk.client.post("/api/v1/tickets/no-such-ticket-token-0000/messages/read", json={"up_to": 1}).status_code
        == 404
    )


def test_an_automatic_answer_is_not_relayed(clinic, clock, providers):
    desk = Desk(clinic, clock, phone="010-1234-5678", consent=True)
    assert desk.client.post(desk.page, json={"body": "늦어요"}).status_code == 201  # answered at once
    desk.seconds_pass(61)
    assert answers_texted(providers) == []


def test_every_console_sees_an_answer_shown_on_the_page_and_one_relayed(clinic, clock, providers):
    from ..support.publisher import RecordingPublisher

    desk = Desk(clinic, clock, phone="010-1234-5678", consent=True)
    consoles = RecordingPublisher(clinic.extensions["queue_app"].settings)
    clinic.extensions["queue_app"].clinic.publisher = consoles
    shown = desk.answer("확인해 볼게요.")
    desk.page_shows(shown["id"])
    event = consoles.inbox_events[-1]["message"]
    assert (event["id"], event["channel"], event["status"]) == (shown["id"], "page", "delivered")
    unseen = desk.answer("네, 나왔습니다.")
    desk.seconds_pass(61)
    relayed = [e["message"] for e in consoles.inbox_events if e["message"] and e["message"]["id"] == unseen["id"]]
    assert [(m["channel"], m["status"]) for m in relayed][-1] == ("sms", "sent")
    # The ticket's row in the staff console lists the relay among its messages too.
    assert [d.message["kind"] for d in consoles.deliveries][-1] == "answer"


def test_a_clinic_that_keeps_answers_on_the_page_sends_them_nowhere_else(clinic, clock, providers):
    from dataclasses import replace

    settings = clinic.extensions["queue_app"].settings
    page_only = create_app(replace(settings, inbox=replace(settings.inbox, page_unseen_seconds=0)), clock=clock)
    desk = Desk(page_only, clock, phone="010-1234-5678", consent=True)
    desk.answer("네, 나왔습니다.")
    desk.seconds_pass(3600)
    assert answers_texted(providers) == []
    assert (desk.in_the_inbox()[-1]["channel"], desk.in_the_inbox()[-1]["status"]) == ("page", "sent")


def teardown_module():
    db.session.remove()
