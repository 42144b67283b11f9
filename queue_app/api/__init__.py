"""The REST API under ``/api/v1``: what integrators and our own front ends use.

Stable on purpose; ``openapi.json`` documents it.  Handlers are thin: read and validate the
request, call the queue, commit, publish the news, answer.
"""

from flask import Blueprint

api = Blueprint("api", __name__, url_prefix="/api/v1")

from . import appointments, conversations, errors, messaging, openapi, request_guards, routes  # noqa: E402,F401  (register handlers on the blueprint)
