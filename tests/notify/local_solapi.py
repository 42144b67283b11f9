"""A local Solapi: the send and message-list calls in Solapi's documented wire format.

Sits behind the ``http_server`` fixture (``handle`` answers its requests).  Each recipient
number has a scripted fate: Solapi accepts the AlimTalk at once (status 2000, as the real one
does even for a phone without KakaoTalk), lists it as 3000 (with Kakao) until ``after``
seconds have passed, then with its final code (4000 received, 3104 not a KakaoTalk user ...).
Time is whatever ``now`` says, so a test's ManualClock or the wall clock can drive it.

``list_mode`` makes the message list misbehave: ``"malformed"`` (200 without a messageList),
``"stall"`` (no answer until the client gives up), ``"error"`` (HTTP 500), ``"empty"`` (a
list that does not know the message yet).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

SEND_PATH = "/messages/v4/send-many/detail"
LIST_PATH = "/messages/v4/list"
AUTH_RE = re.compile(
    r"^HMAC-SHA256 apiKey=(?P<apiKey>[^,]+), date=(?P<date>[^,]+), "
    r"salt=(?P<salt>[^,]+), signature=(?P<signature>[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class Fate:
    """What becomes of an AlimTalk to one number: ``code`` after ``after`` seconds."""

    code: str = "4000"
    after: float = 0.0


@dataclass
class Accepted:
    message_id: str
    to: str
    custom_fields: dict
    accepted_at: float
    fate: Fate


class LocalSolapi:
    def __init__(self, server, api_key: str, api_secret: str, now: Callable[[], float] = time.monotonic) -> None:
        self.server = server
        self.api_key = api_key
        self.api_secret = api_secret
        self.now = now
        self.fates: dict[str, Fate] = {}
        self.default = Fate()
        self.list_mode = "ok"
        self.accepted: list[Accepted] = []
        self._lock = threading.Lock()

    # -- what the tests read -------------------------------------------------------------

    def sends(self) -> list:
        return [r for r in self.server.requests if r.path == SEND_PATH]

    def list_calls(self) -> list:
        return [r for r in self.server.requests if r.path == LIST_PATH]

    def status_of(self, message: Accepted) -> str:
        return message.fate.code if self.now() - message.accepted_at >= message.fate.after else "3000"

    # -- the wire ------------------------------------------------------------------------

    def handles(self, request) -> bool:
        return request.path in (SEND_PATH, LIST_PATH)

    def handle(self, request):
        error = self._authenticate(request)
        if error:
            return 401, {}, {"errorCode": error, "errorMessage": "authentication failed"}
        if request.path == SEND_PATH and request.method == "POST":
            return self._send(request)
        if request.path == LIST_PATH and request.method == "GET":
            return self._list(request)
        return 404, {}, {"errorCode": "NotFound", "errorMessage": "no such path"}

    def _authenticate(self, request) -> str | None:
        match = AUTH_RE.match(request.headers.get("Authorization", ""))
        if not match or match["apiKey"] != self.api_key:
            return "InvalidApiKey"
        date = datetime.fromisoformat(match["date"].replace("Z", "+00:00"))
        if abs(datetime.now(UTC) - date) > timedelta(minutes=15):
            return "RequestTimeTooSkewed"
        expected = hmac.new(
            self.api_secret.encode(), (match["date"] + match["salt"]).encode(), hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(expected, match["signature"]):
            return "SignatureDoesNotMatch"
        return None

    def _send(self, request):
        listed = []
        for entry in request.json()["messages"]:
            with self._lock:
                message = Accepted(
                    message_id=f"M4V20261123100000{len(self.accepted):014d}",
                    to=entry["to"],
                    custom_fields=entry.get("customFields") or {},
                    accepted_at=self.now(),
                    fate=self.fates.get(entry["to"], self.default),
                )
                self.accepted.append(message)
            listed.append(
                {
                    "messageId": message.message_id,
                    "to": message.to,
                    "statusCode": "2000",
                    "statusMessage": "정상 접수(이통사로 접수 예정)",
                    "customFields": message.custom_fields,
                }
            )
        group = {
            "groupId": "G4V20261123100000ABCDEFGHIJKLM",
            "status": "SENDING",
            "count": {"total": len(listed), "registeredFailed": 0, "registeredSuccess": len(listed)},
        }
        return 200, {}, {"groupInfo": group, "failedMessageList": [], "messageList": listed}

    def _list(self, request):
        if self.list_mode == "stall":
            self.server.stall()
            return 200, {}, {}
        if self.list_mode == "error":
            return 500, {}, {"errorCode": "InternalError", "errorMessage": "try later"}
        if self.list_mode == "malformed":
            return 200, {}, {"limit": 20, "startKey": None, "message": "no list here"}
        query = {key: values[0] for key, values in request.query.items()}
        if query.get("criteria") == "messageId" and query.get("cond") == "eq":
            wanted = {query["value"]}
        elif "messageIds" in query:
            wanted = set(json.loads(query["messageIds"]))
        else:
            return 400, {}, {"errorCode": "ValidationError", "errorMessage": "unsupported query"}
        found = (
            {}
            if self.list_mode == "empty"
            else {
                m.message_id: {
                    "messageId": m.message_id,
                    "groupId": "G4V20261123100000ABCDEFGHIJKLM",
                    "type": "ATA",
                    "to": m.to,
                    "statusCode": self.status_of(m),
                    "reason": None,
                    "customFields": m.custom_fields,
                }
                for m in self.accepted
                if m.message_id in wanted
            }
        )
        return 200, {}, {"startKey": None, "nextKey": None, "limit": int(query.get("limit", 20)), "messageList": found}
