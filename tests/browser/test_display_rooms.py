"""The TV's "now calling": one row per room, every fresh call visible and as large as the others.

Three rooms call within a second: all three numbers stay on screen as current calls, each
in its room's row and each highlighted; a row clears when that patient's visit ends.
"""

from __future__ import annotations

import requests

from .conftest import axe_check


def test_three_rooms_calling_at_once_all_stay_current(server, display, staff_api, screenshots):
    first, second = staff_api.check_in("general"), staff_api.check_in("general")
    shot = staff_api.check_in("vaccination")
    called = {}
    for room in ("room1", "room2", "room4"):
        response = staff_api.post(f"/rooms/{room}/call-next")
        assert response.status_code == 200, response.text
        called[room] = response.json()["ticket"]
    assert {t["number"] for t in called.values()} == {first["number"], second["number"], shot["number"]}

    for room, ticket in called.items():
        display.wait_for_selector(f"[data-room={room}].fresh .room-number:text-is('{ticket['number']}')")
    # None of them dropped into the history as if it were over.
    history = display.inner_text("#calls")
    assert all(t["number"] not in history for t in called.values())

    rows = [display.locator(f"[data-room={room}]") for room in called]
    boxes = [row.bounding_box() for row in rows]
    heights = [b["height"] for b in boxes]
    assert max(heights) <= 1.1 * min(heights)
    sizes = {row.locator(".room-number").evaluate("el => getComputedStyle(el).fontSize") for row in rows}
    assert len(sizes) == 1
    # The room without a patient has its row too, without a number.
    assert display.inner_text("[data-room=room3] .room-number") == "–"
    screenshots(display, "display-three-calls")
    axe_check(display)

    # Finished and no-show: that room's row clears; the others keep their numbers.
    staff_api.post(f"/tickets/{called['room1']['id']}/start")
    staff_api.post(f"/tickets/{called['room1']['id']}/finish")
    display.wait_for_selector("[data-room=room1] .room-number:text-is('–')")
    staff_api.post(f"/tickets/{called['room2']['id']}/no-show")
    display.wait_for_selector("[data-room=room2] .room-number:text-is('–')")
    assert display.inner_text("[data-room=room4] .room-number") == shot["number"]
    # The numbers whose visit ended are history now.
    display.wait_for_function(f"document.getElementById('calls').textContent.includes('{first['number']}')")


def test_the_highlight_fades_but_the_number_stays(server, display, staff_api):
    ticket = staff_api.check_in("vaccination")
    staff_api.post("/rooms/room4/call-next")
    display.wait_for_selector(f"[data-room=room4].fresh .room-number:text-is('{ticket['number']}')")
    display.wait_for_selector("[data-room=room4]:not(.fresh)", timeout=9000)
    assert display.inner_text("[data-room=room4] .room-number") == ticket["number"]


def test_now_calling_clears_when_the_patient_is_started(server, display, staff_api):
    """Inside the room the patient is no longer being called: the row clears, the number
    goes to the last calls, and the public view says only "inside", never who."""
    ticket = staff_api.check_in("vaccination")
    staff_api.post("/rooms/room4/call-next")
    display.wait_for_selector(f"[data-room=room4] .room-number:text-is('{ticket['number']}')")
    staff_api.post(f"/tickets/{ticket['id']}/start")
    display.wait_for_selector("[data-room=room4] .room-number:text-is('–')")
    display.wait_for_function(f"document.getElementById('calls').textContent.includes('{ticket['number']}')")
    assert "fresh" not in display.get_attribute("[data-room=room4]", "class")
    rooms = requests.get(f"{server.url}/api/v1/rooms", headers=staff_api.headers, timeout=10).json()
    room = next(r for r in rooms if r["id"] == "room4")
    assert room["inside"] is True and room["serving"] == ticket["number"]
    assert set(room) == {"id", "name", "names", "services", "status", "serving", "inside"}  # no patient's name
