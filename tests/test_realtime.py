"""Live updates: who may connect, the snapshot on connect, and what each audience is sent."""

from __future__ import annotations

import json

import pytest

from queue_app.extensions import socketio


def check_in(client, tokens, **body):
    body.setdefault("service", "general")
    response = client.post("/api/v1/tickets", json=body, headers=tokens.headers("kiosk"))
    assert response.status_code == 201
    return response.get_json()


def connect(app, client, auth):
    return socketio.test_client(app, flask_test_client=client, auth=auth)


def events(sio, name=None):
    received = sio.get_received()
    return [e for e in received if name is None or e["name"] == name]


def test_patient_gets_own_ticket_on_connect_and_nothing_public(app, client, tokens):
    ticket = check_in(client, tokens, phone="01012345678")
    phone = connect(app, client, {"ticket": ticket["token"]})
    assert phone.is_connected()
    received = {e["name"]: e["args"][0] for e in events(phone)}
    assert received["ticket"]["number"] == ticket["number"]
    assert received["ticket"]["position"] == 1
    assert set(received) == {"ticket"}  # nobody's place but their own, and no public view


@pytest.mark.parametrize("auth", [None, {}, {"ticket": "made-up-token-0000000"}, {"token": "wrong"}, {"ticket": 5}])
def test_unknown_clients_are_refused(app, client, auth):
    sio = connect(app, client, auth)
    assert not sio.is_connected()


def test_call_reaches_patient_display_and_staff(app, client, tokens):
    first = check_in(client, tokens)
    second = check_in(client, tokens)
    phone1 = connect(app, client, {"ticket": first["token"]})
    phone2 = connect(app, client, {"ticket": second["token"]})
    display = connect(app, client, {"token": tokens["display"]})
    staff = connect(app, client, {"token": tokens["staff"]})
    for sio in (phone1, phone2, display, staff):
        sio.get_received()

    client.post("/api/v1/rooms/room1/call-next", headers=tokens.headers("staff"))

    own = events(phone1, "ticket")
    assert own and own[-1]["args"][0]["status"] == "called" and own[-1]["args"][0]["room"] == "room1"
    # The second patient's ticket did not change, but their place did: a small `place`,
    # sent to their phone only.
    received2 = events(phone2)
    assert [e["name"] for e in received2 if e["name"] not in ("queue", "called")] == ["place"]
    place = next(e["args"][0] for e in received2 if e["name"] == "place")
    assert (place["position"], place["ahead"]) == (1, 0)
    assert events(phone1, "place") == []
    # Everyone sees the call.
    display_events = events(display)
    called = [e["args"][0] for e in display_events if e["name"] == "called"]
    assert called == [{**called[0], "number": first["number"], "room": "room1"}]
    public = [e["args"][0] for e in display_events if e["name"] == "queue"][-1]
    assert public["services"][0]["waiting"] == 1 and public["rooms"][0]["serving"] == first["number"]
    staff_events = events(staff)
    assert any(e["name"] == "called" for e in staff_events)
    # Staff are sent what the call changed: the called ticket whole, the others' new places.
    [change] = [e["args"][0] for e in staff_events if e["name"] == "staff_changes"]
    assert [t["number"] for t in change["tickets"]] == [first["number"]]
    assert change["tickets"][0]["status"] == "called"
    assert [p[:2] for p in change["places"]] == [[second["id"], 1]]
    assert not [e for e in staff_events if e["name"] == "queue"]  # not the whole view again


def test_public_payloads_carry_no_tokens_phones_or_ids(app, client, tokens):
    ticket = check_in(client, tokens, phone="01012345678")
    display = connect(app, client, {"token": tokens["display"]})
    phone = connect(app, client, {"ticket": ticket["token"]})
    client.post("/api/v1/rooms/room1/call-next", headers=tokens.headers("staff"))
    for sio in (display, phone):
        for event in events(sio):
            if event["name"] == "ticket":
                continue  # the patient's own ticket
            text = json.dumps(event["args"], ensure_ascii=False)
            assert ticket["token"] not in text
            assert "5678" not in text and "+82" not in text
            assert '"id": ' + str(ticket["id"]) not in text


def test_reconnect_gets_a_fresh_snapshot(app, client, tokens):
    ticket = check_in(client, tokens)
    phone = connect(app, client, {"ticket": ticket["token"]})
    phone.disconnect()
    client.post("/api/v1/rooms/room1/call-next", headers=tokens.headers("staff"))
    phone.connect(auth={"ticket": ticket["token"]})
    snapshot = [e["args"][0] for e in events(phone, "ticket")]
    assert snapshot[-1]["status"] == "called"


def test_kiosk_gets_public_view_and_staff_get_staff_view(app, client, tokens):
    check_in(client, tokens, phone="01012345678")
    kiosk = connect(app, client, {"token": tokens["kiosk"]})
    staff = connect(app, client, {"token": tokens["staff"]})
    kiosk_queue = events(kiosk, "queue")[-1]["args"][0]
    staff_queue = events(staff, "queue")[-1]["args"][0]
    assert kiosk_queue["services"][0]["waiting"] == 1
    assert "in_rooms" not in kiosk_queue
    assert staff_queue["waiting"][0]["phone"] == "•••• 5678"


def test_patient_of_another_ticket_gets_nothing_personal(app, client, tokens):
    mine = check_in(client, tokens)
    theirs = check_in(client, tokens)
    phone = connect(app, client, {"ticket": mine["token"]})
    phone.get_received()
    client.delete(f"/api/v1/tickets/{theirs['token']}")
    assert events(phone, "ticket") == []


def test_every_queue_event_carries_the_next_version_and_a_resync_answers_the_latest(app, client, tokens):
    check_in(client, tokens)
    display = connect(app, client, {"token": tokens["display"]})
    [snapshot] = [e["args"][0] for e in events(display, "queue")]
    check_in(client, tokens)
    client.post("/api/v1/rooms/room1/call-next", headers=tokens.headers("staff"))
    views = [e["args"][0] for e in events(display, "queue")]
    assert [v["version"] for v in views] == [snapshot["version"] + 1, snapshot["version"] + 2]
    # A display that missed an event asks again and gets the whole picture, numbered.
    display.emit("resync")
    [again] = [e["args"][0] for e in events(display, "queue")]
    assert again == views[-1]


def test_a_phone_connecting_is_served_the_kept_snapshot(app, client, tokens):
    ticket = check_in(client, tokens)
    kept = app.extensions["queue_app"].clinic._latest
    phone = connect(app, client, {"ticket": ticket["token"]})
    assert phone.is_connected()
    # Nothing changed since the check-in: the connect was answered from what that change kept.
    assert app.extensions["queue_app"].clinic._latest is kept
    [view] = [e["args"][0] for e in events(phone, "ticket")]
    assert view["version"] == kept.version


def test_a_phone_hears_only_its_own_news_and_can_tell_it_missed_some(app, client, tokens):
    first = check_in(client, tokens)
    second = check_in(client, tokens)
    phone = connect(app, client, {"ticket": second["token"]})
    [snapshot] = [e["args"][0] for e in events(phone)]
    check_in(client, tokens)  # behind us: nothing for this phone
    assert events(phone) == []
    client.post("/api/v1/rooms/room1/call-next", headers=tokens.headers("staff"))  # we move up
    [place] = [e["args"][0] for e in events(phone)]
    assert place["position"] == 1 and place["since"] == snapshot["mark"]
    client.post(f"/api/v1/tickets/{first['id']}/finish", headers=tokens.headers("staff"))
    client.post("/api/v1/rooms/room1/call-next", headers=tokens.headers("staff"))  # we are called
    [called] = [e["args"][0] for e in events(phone)]
    assert called["status"] == "called" and called["since"] == place["mark"]
    # A phone that missed the `place` would see `since` it never had, and ask again.
    phone.emit("resync")
    [again] = [e["args"][0] for e in events(phone, "ticket")]
    assert again["status"] == "called" and again["mark"] == called["mark"]
