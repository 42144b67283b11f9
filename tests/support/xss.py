"""Message bodies that would run script if a screen ever set them as HTML, and the check that none did.

Each payload sets ``window.__xss`` and opens a dialog when it runs.  A page under test records
every dialog; after the bodies are on screen, no dialog was opened, the flag is unset, and no
element a payload would have made exists inside the part of the page that shows them.  Browser
contexts in these tests bypass the pages' CSP on purpose: the CSP is the second wall, and a
screen that set a body as HTML must fail here even though the CSP would have stopped it.
"""

from __future__ import annotations

PAYLOADS = [
    '<img src=x onerror="window.__xss=1;alert(1)">',
    "<script>window.__xss=1;alert(1)</script>",
    '"><svg onload="window.__xss=1;alert(1)">',
    '\'><iframe src="javascript:top.__xss=1;alert(1)"></iframe>',
    '<a href="javascript:alert(1)">tap</a>',
    '<details open ontoggle="window.__xss=1;alert(1)">x</details>',
    "<style>*{display:none}</style>",
    "&lt;b&gt; {body} {{7*7}} ${alert(1)}",
]

#: Elements the payloads would have made, had they been parsed as HTML.
MADE_BY_PAYLOADS = "img, script, svg, iframe, a[href^=javascript], details, style"


def watch_dialogs(page) -> list[str]:
    """Every dialog the page opens, recorded (and dismissed so the page goes on)."""
    opened: list[str] = []

    def record(dialog):
        opened.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    return opened


def assert_nothing_ran(page, opened: list[str], where: str) -> None:
    """No dialog, no flag, and none of the payloads' elements inside ``where``."""
    page.wait_for_timeout(300)  # an onerror or onload fires within a moment of insertion
    assert opened == []
    assert page.evaluate("window.__xss === undefined")
    assert page.locator(f"{where} :is({MADE_BY_PAYLOADS})").count() == 0
