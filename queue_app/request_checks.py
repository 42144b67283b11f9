"""Refuse request text that no database can store and no log should print, before any handler.

PostgreSQL stores no NUL byte, and no driver encodes a lone surrogate (half of a UTF-16 pair,
which JSON's ``"\\ud800"`` escape makes); either one answered a 500 from deep in a handler.
A control character in a path or a query (``%0a``) has no use but to forge a log line.  JSON
nested thousands deep exhausts the parser's recursion.  So every request is checked here
once, whatever route it is for: a bad path is 404 (there is no such page), a bad parameter
or field is 400 naming it.  A chunked body the server could not mark as complete is refused
with 411 rather than read as empty.

Only werkzeug's request is used, so the checks know nothing of Flask's routes.
"""

from __future__ import annotations

import json
import re

from werkzeug.exceptions import BadRequest, LengthRequired, NotFound, RequestEntityTooLarge
from werkzeug.wrappers import Request

#: In a path or a query nothing below space, DEL or half a surrogate pair is ever meant.
_BAD_IN_ADDRESS = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")
#: In a body tab, newline and carriage return are text (an SMS reply has lines); not the rest.
_BAD_IN_BODY = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
#: The API's deepest body is three levels (a push subscription's keys); this leaves room.
MAX_JSON_DEPTH = 32
_STRING_OR_BRACKET = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class BadField(BadRequest):
    """400 for one field of the request, named, with the API's error code."""

    def __init__(self, field: str, message: str, error_code: str = "invalid") -> None:
        super().__init__(message)
        self.field = field
        self.error_code = error_code


def check_request(request: Request) -> None:
    """Raise the 404, 400 or 411 this request deserves before any handler reads it; else nothing."""
    if _BAD_IN_ADDRESS.search(request.path):
        raise NotFound()
    for name, value in request.args.items(multi=True):
        if _BAD_IN_ADDRESS.search(name):
            raise BadField("query", "a query parameter's name has a control character")
        if _BAD_IN_ADDRESS.search(value):
            raise BadField(name, f"{name} has a control character or is not valid text")
    if "Transfer-Encoding" in request.headers and not request.environ.get("wsgi.input_terminated"):
        # Werkzeug reads such a body as empty; a check-in would lose its service silently.
        raise LengthRequired("send Content-Length: this server cannot read a chunked body")
    try:
        if request.mimetype in _FORM_TYPES:
            for name, value in request.form.items(multi=True):
                _check_text(value, name)
                _check_text(name, "body")
        elif request.is_json or request.path.startswith("/api/"):
            _check_json(_whole_body(request))
    except (OSError, ValueError):
        # The server's chunked reader found a broken chunk, or the client hung up mid-body.
        raise BadField("body", "the body could not be read") from None


def _whole_body(request: Request) -> bytes:
    """The body, or 413 when a chunked one reaches the limit (werkzeug stops there without a word)."""
    raw = request.get_data(cache=True)
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(raw) >= limit:
        raise RequestEntityTooLarge()
    return raw


def _check_json(raw: bytes) -> None:
    if not raw.strip():
        return
    if json_depth(raw) > MAX_JSON_DEPTH:
        raise BadField("body", f"the JSON is nested deeper than {MAX_JSON_DEPTH} levels", "malformed_json")
    try:
        data = json.loads(raw)
    except ValueError:
        return  # not JSON at all: the handler says so in its own words
    _check_value(data, "")


def _check_value(value, path: str) -> None:
    if isinstance(value, str):
        _check_text(value, path or "body")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, path or "body")
            _check_value(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_value(item, f"{path}.{index}" if path else str(index))


def _check_text(text: str, field: str) -> None:
    found = _BAD_IN_BODY.search(text)
    if found is None:
        return
    if "\ud800" <= found.group() <= "\udfff":
        raise BadField(field, f"{field} is not valid text (half of a surrogate pair)")
    raise BadField(field, f"{field} has a control character")


def json_depth(raw: bytes) -> int:
    """How deeply the arrays and objects of a JSON text nest (brackets inside strings not counted).

    Counted without parsing, so that a body nested 30,000 deep is measured, not recursed into.
    """
    depth = deepest = 0
    for match in _STRING_OR_BRACKET.finditer(raw):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_JSON_DEPTH:
                break
        elif token in (b"]", b"}"):
            depth -= 1
    return deepest


def loggable_path(path: str) -> str:
    """``path`` as one log line can show it: control characters escaped, so none starts a new line."""
    return _BAD_IN_ADDRESS.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), path)
