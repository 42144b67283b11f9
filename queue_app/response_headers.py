"""Headers on every answer that keep patients' tokens and phone numbers out of shared caches.

A kiosk is a browser many patients pass; a clinic's network may have a caching proxy.  An
answer that carries a patient's link (the check-in answer, the QR code of the link) or a phone
number must not be kept by either, and no answer may be sniffed into another content type.
So every API and JSON answer is ``no-store`` unless its handler chose otherwise on purpose,
and every answer says ``nosniff``.  Pages set their own, stricter headers in ``pages``.
"""

from __future__ import annotations

from flask import request

#: Content types that may carry a token or a phone number, wherever they are served.
PRIVATE_MIMETYPES = ("application/json", "application/manifest+json", "image/svg+xml")


def private_answer_headers(response):
    """``nosniff`` always; ``no-store`` on API answers and JSON unless the handler set a policy."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if request.path.startswith("/api/") or response.mimetype in PRIVATE_MIMETYPES:
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def init_app(app) -> None:
    """Add the headers to every answer of ``app``."""
    app.after_request(private_answer_headers)
