"""Every API error as JSON ``{"error": {"code", "message"}}`` with the right status.

A refused request changes nothing: the session is rolled back before the answer goes out.
Even an unexpected failure answers in the same shape, so a kiosk can always show a message,
and so does every JSON endpoint outside ``/api/`` (the kiosk's and display's setup, the
providers' hooks).  A database that cannot be reached is not our bug but an outage: 503
``unavailable`` with ``Retry-After``, which a kiosk answers with "try again".
"""

from __future__ import annotations

import logging

from flask import jsonify, make_response, request
from sqlalchemy import exc as sql_errors
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from ..extensions import db
from ..pages.i18n import unavailable_text
from ..queue import QueueError
from ..request_checks import check_request, loggable_path
from . import api

log = logging.getLogger(__name__)

#: Seconds a client is asked to wait before trying again when the database is away.
RETRY_AFTER_SECONDS = 5
#: What the database driver raises when it cannot be reached or stopped answering.
DATABASE_AWAY = (
    sql_errors.OperationalError,
    sql_errors.InterfaceError,
    sql_errors.DisconnectionError,
    sql_errors.TimeoutError,
)


class ApiError(Exception):
    """An error raised by a handler: status, stable code, message and the field at fault."""

    def __init__(
        self, status: int, code: str, message: str, field: str | None = None, extra: dict | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        #: More the caller can act on (``opens_at`` of a closed clinic), beside code and message.
        self.extra = extra or {}


def error_response(status: int, code: str, message: str, field: str | None = None, extra: dict | None = None):
    """The JSON body and status of an error."""
    body = {"code": code, "message": message}
    if field:
        body["field"] = field
    body.update(extra or {})
    response = jsonify({"error": body})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="queue-app"'
    return response


def wants_json() -> bool:
    """Does this request get its errors as JSON?  The API, the hooks, JSON files, JSON callers."""
    path = request.path
    if path.startswith(("/api/", "/hooks/")) or path.endswith((".json", ".webmanifest")):
        return True
    if request.is_json:
        return True
    accept = request.accept_mimetypes
    return accept.best_match(["text/html", "application/json"]) == "application/json" and not accept.accept_html


def database_away(exc: BaseException) -> bool:
    """Is ``exc`` the database being unreachable (an outage), rather than a fault of ours?"""
    return isinstance(exc, DATABASE_AWAY) or bool(getattr(exc, "connection_invalidated", False))


def outage_reason(exc: BaseException) -> str:
    """The driver's own first line (``connection refused``), never the statement or its parameters."""
    reason = str(getattr(exc, "orig", None) or exc).strip()
    return reason.splitlines()[0] if reason else type(exc).__name__


@api.before_app_request
def _check_request_text():
    # Before any handler (and any query): see queue_app.request_checks.
    check_request(request)


@api.errorhandler(ApiError)
def _api_error(exc: ApiError):
    db.session.rollback()
    return error_response(exc.status, exc.code, exc.message, exc.field, exc.extra)


@api.errorhandler(QueueError)
def _queue_error(exc: QueueError):
    db.session.rollback()
    return error_response(exc.status, exc.code, exc.message, exc.field)


@api.errorhandler(StaleDataError)
def _stale(exc: StaleDataError):
    # Two people changed the same ticket at the same instant; the other change won.
    db.session.rollback()
    return error_response(409, "conflict", "the ticket was changed by someone else; reload and try again")


@api.app_errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    db.session.rollback()
    if not wants_json():
        return exc
    codes = {
        400: "bad_request",
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        411: "length_required",
        413: "too_large",
        414: "too_long",
        415: "unsupported_media_type",
        431: "header_too_large",
    }
    message = {413: "the request body is larger than 64 KiB"}.get(exc.code, exc.description)
    code = getattr(exc, "error_code", None) or codes.get(exc.code, "http_error")
    response = error_response(exc.code or 500, code, message, getattr(exc, "field", None))
    headers = dict(exc.get_headers())
    for name in ("Allow", "Retry-After"):
        if name in headers:
            response.headers[name] = headers[name]
    return response


@api.app_errorhandler(Exception)
def _unexpected(exc: Exception):
    if isinstance(exc, HTTPException):
        return _http_error(exc)
    _rollback_quietly()
    if database_away(exc):
        # Logged once per request without the traceback: an outage is not a bug to read.
        log.warning(
            "database unreachable in %s %s: %s", request.method, loggable_path(request.path), outage_reason(exc)
        )
        return _unavailable()
    # %0a in a path would otherwise start a forged line in the log.
    log.exception("unexpected error in %s %s", request.method, loggable_path(request.path))
    if not wants_json():
        return "Internal error", 500
    return error_response(500, "internal", "something went wrong on our side; nothing was changed")


def _rollback_quietly() -> None:
    # With the database away even a rollback can fail; the session is dropped at teardown.
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - whatever the driver raises, the answer still goes out
        log.debug("rollback failed", exc_info=True)


def _unavailable():
    """503 ``unavailable`` with ``Retry-After``: the database is away, nothing was changed."""
    if wants_json():
        response = error_response(
            503, "unavailable", "the clinic's database cannot be reached just now; nothing was changed, try again"
        )
    else:
        # Plain text: a page's template may itself need the database.
        response = make_response(unavailable_text())
        response.status_code = 503
        response.mimetype = "text/plain"
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
