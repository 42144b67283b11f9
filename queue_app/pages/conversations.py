"""The conversation screens' setup, and the website contact widget's script.

The staff console's inbox and the phone page's thread are parts of pages rendered in
``pages/__init__.py``; what their scripts need to start (texts, the staff to assign to) is
made here.  The widget is different: it runs on the clinic's own website, another origin, so
``/widget.js`` is one self-contained script with its texts in every clinic language and the
address it posts to taken from its own ``src``.  Its styles (``/widget.css``) are loaded into
a shadow root, so the host page's CSS and ours never meet.
"""

from __future__ import annotations

import json
from pathlib import Path

from flask import Blueprint, make_response, send_from_directory
from flask_babel import get_locale
from sqlalchemy import select

from ..auth import STAFF_ROLES
from ..extensions import db
from ..models import StaffUser
from ..runtime import runtime
from .conversation_texts import inbox_texts, thread_texts, widget_texts
from .i18n import language_name, texts_in

STATIC = Path(__file__).parent / "static"
widget = Blueprint("widget", __name__, static_folder=STATIC)

#: The widget may be cached a little by the host page's visitors; a new release shows within minutes.
WIDGET_MAX_AGE = 300


def inbox_setup(user: StaffUser) -> dict:
    """What ``inbox.js`` starts with: texts, the clinic's time zone, who may be assigned.

    ``admin`` adds the quick-reply editor (``quick-replies.js``), a text per clinic language.
    """
    settings = runtime().settings
    staff = db.session.scalars(
        select(StaffUser.username).where(StaffUser.active, StaffUser.role.in_(STAFF_ROLES)).order_by(StaffUser.username)
    ).all()
    return {
        "user": user.username,
        "admin": user.role == "admin",
        "languages": [{"code": code, "name": language_name(code)} for code in settings.languages],
        "staff": list(staff),
        "language": str(get_locale() or settings.default_language),
        "timezone": settings.timezone.key,
        "texts": inbox_texts(),
    }


def thread_setup(token: str, status: str) -> dict:
    """What ``conversation.js`` starts with on the phone page: the ticket, its status, the texts."""
    settings = runtime().settings
    return {
        "token": token,
        "status": status,
        "language": str(get_locale() or settings.default_language),
        "timezone": settings.timezone.key,
        "texts": thread_texts(),
    }


@widget.get("/widget.js")
def widget_script():
    """The contact widget for the clinic's website: ``<script src="https://clinic/widget.js">``.

    ``dom.js`` and ``widget.js`` become the body of one function of ``setup`` (clinic name,
    languages, texts; one JSON literal) and of a ``window`` of its own: one tag, one request,
    no cookies, and no global name left on the host page.
    """
    settings = runtime().settings
    config = {
        "clinic": settings.clinic_name,
        "languages": list(settings.languages),
        "default_language": settings.default_language,
        "texts": texts_in(settings.languages, widget_texts),
    }
    # dom.js sets window.Dom: here `window` is the function's own object, not the host page's.
    scripts = [(STATIC / name).read_text(encoding="utf-8") for name in ("dom.js", "widget.js")]
    code, setup = "\n".join(scripts), json.dumps(config, ensure_ascii=True)
    body = f'(function (setup, window) {{\n"use strict";\n{code}\n}})({setup}, {{}});\n'
    response = make_response(body)
    response.headers["Content-Type"] = "text/javascript; charset=utf-8"
    response.headers["Cache-Control"] = f"public, max-age={WIDGET_MAX_AGE}"
    return response


@widget.get("/widget.css")
def widget_styles():
    """The widget's styles, loaded into its shadow root on the host page."""
    response = send_from_directory(widget.static_folder, "widget.css", max_age=WIDGET_MAX_AGE)
    response.headers["Cache-Control"] = f"public, max-age={WIDGET_MAX_AGE}"
    return response
