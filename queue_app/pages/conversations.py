"""What the conversation screens' scripts start with: the staff inbox and the phone page's thread.

Both are parts of pages rendered in ``pages/__init__.py`` (the console, the ticket page);
their scripts (``inbox.js``, ``quick-replies.js``, ``conversation.js``) get their texts and
the rest from the JSON islands made here.  The website widget is ``pages/widget.py``.
"""

from __future__ import annotations

from flask_babel import get_locale
from sqlalchemy import select

from ..auth import STAFF_ROLES
from ..extensions import db
from ..models import StaffUser
from ..runtime import runtime
from .conversation_texts import inbox_texts, thread_texts
from .i18n import language_name


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
