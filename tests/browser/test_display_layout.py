"""The TV at 1920x1080 and 1280x720, with 0, 5, 40 and 150 waiting and 40-letter names.

What a person across the room would see: nothing outside the screen, no panel over another,
every number (ticket numbers, counts, the clock) on one line, long names ended with "…".
"""

from __future__ import annotations

import signal

import pytest

from .conftest import SPEECH_STUB, StaffApi, axe_check, start_clinic

LONG_SERVICE = "Pediatric and adult vaccination counsel A"  # 41 letters
LONG_ROOM = "Second floor east wing consultation room"  # 40 letters
SIZES = [(1920, 1080), (1280, 720)]

#: Every visible element's box outside the viewport, panels that overlap, numbers that wrap.
CHECK = """
() => {
  const w = innerWidth, h = innerHeight, problems = [];
  const visible = el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const name = el => el.id || el.className || el.tagName;
  // Inside a box that clips (a name ended with "…"), a part past the edge is not on screen:
  // the clipping box itself is checked.
  const clipped = el => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement)
      if (getComputedStyle(p).overflow !== 'visible') return true;
    return false;
  };
  for (const el of document.querySelectorAll('body *')) {
    if (!visible(el) || el.closest('script, dialog') || clipped(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.left < -0.5 || r.top < -0.5 || r.right > w + 0.5 || r.bottom > h + 0.5) problems.push('outside: ' + name(el));
  }
  const panels = [...document.querySelectorAll('.top, .now, .recent, .services')].filter(visible);
  const lis = [...document.querySelectorAll('#service-list li, #room-calls li')].filter(visible);
  for (const group of [panels, lis]) {
    for (let i = 0; i < group.length; i++) for (let j = i + 1; j < group.length; j++) {
      const a = group[i].getBoundingClientRect(), b = group[j].getBoundingClientRect();
      if (a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5)
        problems.push('overlap: ' + name(group[i]) + ' / ' + name(group[j]));
    }
  }
  // Ticket numbers, counts, the clock: one line each (a range over the text has one box per line).
  for (const el of document.querySelectorAll('.room-number, .count, .num, #clock')) {
    if (!visible(el) || !el.textContent) continue;
    const range = document.createRange();
    range.selectNodeContents(el);
    const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
    if (lines.size !== 1) problems.push('wraps: ' + el.textContent);
  }
  // Long names: cut with an ellipsis inside their box, not spilling out of it.
  for (const el of document.querySelectorAll('.room-name, #service-list .name')) {
    if (getComputedStyle(el).textOverflow !== 'ellipsis' || getComputedStyle(el).whiteSpace !== 'nowrap')
      problems.push('no ellipsis: ' + el.textContent);
  }
  return problems;
}
"""


@pytest.fixture
def long_names_clinic(tmp_path):
    server = start_clinic(
        tmp_path,
        {
            "QUEUE_APP_SERVICES_GENERAL_NAME": LONG_SERVICE,
            "QUEUE_APP_SERVICES_PEDIATRICS_NAME": LONG_SERVICE.replace("A", "B"),
            "QUEUE_APP_ROOMS_ROOM1_NAME": LONG_ROOM,
            "QUEUE_APP_ROOMS_ROOM2_NAME": LONG_ROOM.replace("east", "west"),
        },
    )
    yield server
    server.stop(signal.SIGTERM)


def test_nothing_is_cut_off_or_overlaps_at_any_size_or_queue_length(long_names_clinic, contexts, screenshots):
    server = long_names_clinic
    staff = StaffApi(server)
    pages = {}
    for width, height in SIZES:
        context = contexts(viewport={"width": width, "height": height}, locale="ko-KR")
        context.add_init_script(SPEECH_STUB)
        page = context.new_page()
        page.goto(f"{server.url}/display?pair={server.tokens['display']}")
        page.wait_for_function("document.querySelectorAll('#service-list li').length > 0")
        pages[(width, height)] = page
    assert LONG_SERVICE in pages[SIZES[0]].inner_text("#service-list")

    waiting = 0
    for target in (0, 5, 40, 150):
        while waiting < target:
            staff.check_in("general" if waiting % 3 else "pediatrics")
            waiting += 1
        for (width, height), page in pages.items():
            page.wait_for_function(
                "n => [...document.querySelectorAll('#service-list .count')]"
                ".reduce((s, e) => s + Number(e.textContent), 0) === n",
                arg=target,
                timeout=15000,
            )
            assert page.evaluate(CHECK) == [], f"{width}x{height} with {target} waiting"
            screenshots(page, f"display-{width}x{height}-{target}-waiting")

    # Every room calls: four numbers, long room names, the history filling up.
    for _ in range(2):
        for room in ("room1", "room2", "room3", "room4"):
            staff.post(f"/rooms/{room}/call-next")
        for ticket in staff.queue()["in_rooms"]:
            if ticket["room"] in ("room1", "room2"):
                staff.post(f"/tickets/{ticket['id']}/finish")
    for room in ("room1", "room2", "room3"):
        staff.post(f"/rooms/{room}/call-next")
    for (width, height), page in pages.items():
        page.wait_for_function("document.querySelectorAll('#calls li').length >= 2", timeout=10000)
        page.wait_for_function(
            "[...document.querySelectorAll('#room-calls .room-number')].filter(e => e.textContent !== '–').length >= 3"
        )
        assert page.evaluate(CHECK) == [], f"{width}x{height} while calling"
        screenshots(page, f"display-{width}x{height}-calling")
    axe_check(pages[SIZES[0]])
