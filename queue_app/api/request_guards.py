"""What the API refuses before a handler reads anything: bodies that are not JSON, callers over a limit.

A write's body must say it is JSON.  A cross-site page can send ``text/plain`` (or a form)
without asking the browser's permission first, but not ``application/json``; refusing the
rest (415) means a page elsewhere cannot make a visitor's browser check in or act here.
Writes without a body (call next, leave the queue) have nothing to misread and pass.
"""

from __future__ import annotations

from flask import request
from flask_limiter.errors import RateLimitExceeded

from ..extensions import db
from ..throttles import retry_after_seconds
from . import api
from .errors import ApiError, error_response

WRITES = ("POST", "PUT", "PATCH", "DELETE")


def _has_body() -> bool:
    return bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "").lower()


@api.before_request
def _writes_are_json():
    """415 for a write whose body is not ``application/json``."""
    if request.method in WRITES and _has_body() and request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the body as application/json", "Content-Type")


@api.errorhandler(RateLimitExceeded)
def _rate_limited(exc: RateLimitExceeded):
    """429 ``rate_limited`` with ``Retry-After``: how long before trying again makes sense."""
    db.session.rollback()
    seconds = retry_after_seconds()
    response = error_response(429, "rate_limited", f"too many requests; try again in {seconds} seconds")
    response.headers["Retry-After"] = str(seconds)
    return response
