"""The website contact widget: one ``<script src=".../widget.js">`` on a page of the clinic's site.

The script (``static/widget.js``) fetches ``/widget/setup.json`` (languages, texts, the
clinic's time zone) and posts ``/api/v1/contact``.  Both answer pages of ``[inbox]
widget_origins`` with CORS headers (``api.conversations``); the script itself is public.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, jsonify, send_from_directory

from ..runtime import runtime
from .i18n import language_name, texts_in, widget_texts

widget_pages = Blueprint("widget", __name__)
SETUP = "/widget/setup.json"
STATIC = Path(__file__).parent / "static"


@widget_pages.get("/widget.js")
def widget_script():
    """The widget's script, embedded by the clinic's own site (from another origin)."""
    response = send_from_directory(STATIC, "widget.js", max_age=300)
    response.headers["Content-Type"] = "text/javascript; charset=utf-8"
    return response


@widget_pages.get(SETUP)
def widget_setup():
    """What the widget needs: the clinic's name, languages, texts in each, its time zone."""
    settings = runtime().settings
    return jsonify(
        {
            "clinic": settings.clinic_name,
            "languages": [{"code": c, "name": language_name(c)} for c in settings.languages],
            "default_language": settings.default_language,
            "timezone": settings.timezone.key,
            "texts": texts_in(settings.languages, widget_texts),
        }
    )
