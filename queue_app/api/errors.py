"""Every API error as JSON ``{"error": {"code", "message"}}`` with the right status.

A refused request changes nothing: the session is rolled back before the answer goes out.
Even an unexpected failure answers in the same shape, so a kiosk can always show a message.
"""

from __future__ import annotations

import logging

from flask import jsonify, request
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from ..extensions import db
from ..queue import QueueError
from . import api

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error raised by a handler: status, stable code, message and the field at fault."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def error_response(status: int, code: str, message: str, field: str | None = None):
    """The JSON body and status of an error."""
    body = {"code": code, "message": message}
    if field:
        body["field"] = field
    response = jsonify({"error": body})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="queue-app"'
    return response


@api.errorhandler(ApiError)
def _api_error(exc: ApiError):
    db.session.rollback()
    return error_response(exc.status, exc.code, exc.message, exc.field)


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
    if not request.path.startswith("/api/"):
        return exc
    db.session.rollback()
    codes = {
        400: "bad_request",
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        413: "too_large",
        415: "unsupported_media_type",
    }
    message = {413: "the request body is larger than 64 KiB"}.get(exc.code, exc.description)
    return error_response(exc.code or 500, codes.get(exc.code, "http_error"), message)


@api.app_errorhandler(Exception)
def _unexpected(exc: Exception):
    if isinstance(exc, HTTPException):
        return _http_error(exc)
    log.exception("unexpected error in %s %s", request.method, request.path)
    db.session.rollback()
    if not request.path.startswith("/api/"):
        return "Internal error", 500
    return error_response(500, "internal", "something went wrong on our side; nothing was changed")
