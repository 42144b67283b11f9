"""``/api/v1/openapi.json``: the API described for integrators (OpenAPI 3.1)."""

from __future__ import annotations

from flask import jsonify

from ..notify.settings import LEAD_CHOICES
from . import api

ERROR = {"$ref": "#/components/schemas/Error"}


def _errors(*codes: int) -> dict:
    text = {
        400: "Malformed JSON or an invalid field (the error names it)",
        401: "No token, or an unknown one",
        403: "The caller's role may not do this",
        404: "Unknown service, room or ticket",
        409: "The ticket's status does not allow this, or the room is busy or paused",
        413: "Body over 64 KiB",
        415: "A body that is not application/json",
        429: "Too many tries (rate_limited); Retry-After says how many seconds to wait",
        503: "The clinic's database cannot be reached (`unavailable`); nothing was changed. Send the same "
        "request again after `Retry-After` seconds",
    }
    # Any operation can meet a database outage.
    return {
        str(code): {"description": text[code], "content": {"application/json": {"schema": ERROR}}}
        for code in (*codes, 503)
    }


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


STAFF = [{"bearer": []}, {"session": []}]
TICKET_REF = {"$ref": "#/components/schemas/PatientTicket"}
STAFF_TICKET_REF = {"$ref": "#/components/schemas/StaffTicket"}
WAIT_FIELDS = {
    "estimated_wait_minutes": {"type": ["integer", "null"]},
    "estimate_low_minutes": {"type": ["integer", "null"]},
    "estimate_high_minutes": {"type": ["integer", "null"]},
}

CHANNELS_ANSWER = {"type": "object", "properties": {"channels": {"type": "array", "items": {"type": "string"}}}}


def _path_param(name: str, kind: str = "string") -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": kind}}


APPOINTMENT_REF = {"$ref": "#/components/schemas/Appointment"}
APPOINTMENT_PATHS = {
    "/appointments": {
        "post": {
            "summary": "Book an appointment (the same reference at the same time: the one booked, 200)",
            "security": STAFF,
            "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Booking"}}}},
            "responses": {
                "201": _json(APPOINTMENT_REF, "the appointment, its token and page link"),
                "200": _json(APPOINTMENT_REF, "the appointment this reference and time already had"),
                **_errors(400, 401, 403, 413, 415),
            },
        },
        "get": {
            "summary": "One clinic day's appointments, every status",
            "security": STAFF,
            "parameters": [{"name": "day", "in": "query", "schema": {"type": "string", "format": "date"}}],
            "responses": {"200": _json({"type": "object"}, "day and appointments"), **_errors(400, 401, 403)},
        },
    },
    "/appointments/{id}": {
        "parameters": [_path_param("id", "integer")],
        "get": {
            "summary": "One appointment",
            "security": STAFF,
            "responses": {"200": _json(APPOINTMENT_REF, "appointment"), **_errors(401, 403, 404)},
        },
        "delete": {
            "summary": "Staff cancel the appointment",
            "security": STAFF,
            "responses": {"200": _json(APPOINTMENT_REF, "appointment, now cancelled"), **_errors(401, 403, 404, 409)},
        },
    },
    "/appointment-links/{token}": {
        "parameters": [_path_param("token")],
        "get": {
            "summary": "The patient's view of their appointment (time, place, instructions, actions)",
            "responses": {"200": _json({"type": "object"}, "appointment"), **_errors(404)},
        },
    },
    "/appointment-links/{token}/{action}": {
        "parameters": [
            _path_param("token"),
            {
                "name": "action",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "enum": ["confirm", "cancel", "arrive"]},
            },
        ],
        "post": {
            "summary": "The patient confirms, cancels, or has arrived (arrive: a ticket)",
            "responses": {"200": _json({"type": "object"}, "appointment"), **_errors(404, 409)},
        },
    },
    "/kiosk/appointments": {
        "post": {
            "summary": "Today's appointments of a phone number that can be arrived for (service and time only)",
            "security": STAFF,
            "responses": {"200": _json({"type": "object"}, "appointments"), **_errors(400, 401, 403)},
        },
    },
    "/kiosk/appointments/{id}/arrive": {
        "parameters": [_path_param("id", "integer")],
        "post": {
            "summary": "Arrive for the appointment (the phone number again in the body): a ticket, as a check-in",
            "security": STAFF,
            "responses": {
                "201": _json({"$ref": "#/components/schemas/NewTicket"}, "the ticket"),
                **_errors(400, 401, 403, 404, 409),
            },
        },
    },
}

SPEC = {
    "openapi": "3.1.0",
    "info": {
        "title": "Clinic queue API",
        "version": "1",
        "description": "Check patients in, call them to rooms and follow the queue. "
        "Live updates: Socket.IO events `queue`, `ticket` and `called` (see docs/api.md). "
        "Health checks, outside this API and without a token: `GET /healthz` (the process is up) and "
        "`GET /readyz` (the database and message queue answer; else 503 naming which does not).",
    },
    "servers": [{"url": "/api/v1"}],
    "components": {
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "description": "a token from `queue-app create-token`"},
            "session": {"type": "apiKey", "in": "cookie", "name": "session"},
        },
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error"],
                "properties": {
                    "error": {
                        "type": "object",
                        "required": ["code", "message"],
                        "properties": {
                            "code": {"type": "string"},
                            "message": {"type": "string"},
                            "field": {"type": "string"},
                        },
                    }
                },
            },
            "Booking": {
                "type": "object",
                "required": ["service", "starts_at"],
                "properties": {
                    "service": {"type": "string"},
                    "starts_at": {"type": "string", "format": "date-time", "description": "ISO 8601 with offset"},
                    "phone": {"type": "string"},
                    "email": {"type": "string"},
                    "language": {"type": "string"},
                    "preparation": {"type": "string", "description": "a [preparation.<id>] of the configuration"},
                    "reference": {"type": "string", "maxLength": 64},
                },
            },
            "Appointment": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "token": {"type": "string"},
                    "url": {"type": "string"},
                    "status": {"type": "string", "enum": ["booked", "confirmed", "cancelled", "arrived", "no_show"]},
                    "service": {"type": "string"},
                    "starts_at": {"type": "string", "format": "date-time"},
                    "reference": {"type": ["string", "null"]},
                    "ticket_id": {"type": ["integer", "null"]},
                },
            },
            "Service": {
                "type": "object",
                "required": ["id", "name", "waiting", "estimated_wait_minutes"],
                "properties": {
                    "id": {"type": "string"},
                    "name": {"type": "string"},
                    "names": {"type": "object", "additionalProperties": {"type": "string"}},
                    "prefix": {"type": "string"},
                    "waiting": {"type": "integer"},
                    **WAIT_FIELDS,
                },
            },
            "CheckIn": {
                "type": "object",
                "required": ["service"],
                "properties": {
                    "service": {"type": "string"},
                    "phone": {"type": "string", "description": "any format; the clinic's region is assumed"},
                    "language": {"type": "string"},
                    "priority": {
                        "type": "string",
                        "enum": ["walk_in", "appointment", "urgent"],
                        "description": "staff only",
                    },
                    "shared_phone": {
                        "type": "boolean",
                        "description": "staff only: a second open ticket for this phone (a family's phone)",
                    },
                },
            },
            "PatientTicket": {
                "type": "object",
                "required": ["id", "number", "status", "position"],
                "properties": {
                    "id": {"type": "integer"},
                    "number": {"type": "string", "examples": ["A-007"]},
                    "service": {"type": "string"},
                    "status": {
                        "type": "string",
                        "enum": [
                            "waiting",
                            "called",
                            "in_consultation",
                            "finished",
                            "no_show",
                            "left",
                            "cancelled",
                            "expired",
                        ],
                    },
                    "position": {"type": ["integer", "null"]},
                    "ahead": {"type": ["integer", "null"]},
                    "room": {"type": "string", "description": "once called"},
                    **WAIT_FIELDS,
                },
            },
            "NewTicket": {
                "allOf": [
                    TICKET_REF,
                    {
                        "type": "object",
                        "required": ["token", "url", "qr_url"],
                        "properties": {
                            "token": {"type": "string"},
                            "url": {"type": "string"},
                            "qr_url": {"type": "string"},
                        },
                    },
                ]
            },
            "StaffTicket": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "number": {"type": "string"},
                    "service": {"type": "string"},
                    "status": {"type": "string"},
                    "priority": {"type": "string"},
                    "position": {"type": ["integer", "null"]},
                    "room": {"type": ["string", "null"]},
                    "reachable": {"type": "boolean"},
                    **WAIT_FIELDS,
                },
            },
            "PushSubscription": {
                "type": "object",
                "required": ["endpoint", "keys"],
                "properties": {
                    "endpoint": {"type": "string", "format": "uri"},
                    "expirationTime": {"type": ["number", "null"]},
                    "keys": {
                        "type": "object",
                        "required": ["p256dh", "auth"],
                        "properties": {
                            "p256dh": {"type": "string", "description": "base64url P-256 point, 65 bytes"},
                            "auth": {"type": "string", "description": "base64url, 16 bytes"},
                        },
                    },
                },
            },
            "Room": {
                "type": "object",
                "required": ["id", "name", "services", "status"],
                "properties": {
                    "id": {"type": "string"},
                    "name": {"type": "string"},
                    "services": {"type": "array", "items": {"type": "string"}},
                    "status": {"type": "string", "enum": ["open", "paused"]},
                    "serving": {"type": ["string", "null"]},
                    "inside": {"type": "boolean", "description": "the patient serving is in consultation"},
                },
            },
        },
    },
    "paths": {
        "/services": {
            "get": {
                "summary": "Services with the number waiting and the wait for a new check-in",
                "parameters": [{"name": "lang", "in": "query", "schema": {"type": "string"}}],
                "responses": {
                    "200": _json({"type": "array", "items": {"$ref": "#/components/schemas/Service"}}, "services"),
                    **_errors(400),
                },
            }
        },
        "/tickets": {
            "post": {
                "summary": "Check a patient in",
                "security": [{"bearer": []}, {}],
                "parameters": [
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "schema": {"type": "string"},
                        "description": "the caller's own for the day; with another body: 409 idempotency_mismatch",
                    }
                ],
                "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/CheckIn"}}}},
                "responses": {
                    "201": _json({"$ref": "#/components/schemas/NewTicket"}, "the new ticket"),
                    "200": _json(
                        {"$ref": "#/components/schemas/NewTicket"}, "the ticket this Idempotency-Key already made"
                    ),
                    **_errors(400, 401, 403, 404, 409, 413, 415, 429),
                },
            }
        },
        "/tickets/{token}": {
            "parameters": [{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": {
                "summary": "The patient's view of their ticket",
                "responses": {"200": _json(TICKET_REF, "ticket"), **_errors(404)},
            },
            "delete": {
                "summary": "The patient leaves the queue",
                "responses": {"200": _json(TICKET_REF, "ticket, now left"), **_errors(404, 409)},
            },
        },
        "/push/key": {
            "get": {
                "summary": "The VAPID public key browsers subscribe with",
                "responses": {
                    "200": _json({"type": "object", "properties": {"public_key": {"type": "string"}}}, "the key"),
                    **_errors(404),
                },
            }
        },
        "/tickets/{token}/push": {
            "parameters": [{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}],
            "post": {
                "summary": "Store the browser's push subscription (PushSubscription.toJSON()) for this ticket",
                "requestBody": {
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PushSubscription"}}}
                },
                "responses": {
                    "200": _json(CHANNELS_ANSWER, "the channels that now reach the patient"),
                    **_errors(400, 404, 409),
                },
            },
            "delete": {
                "summary": "Turn push off: forget the subscription (allowed on a closed ticket too)",
                "responses": {
                    "200": _json(CHANNELS_ANSWER, "the channels that still reach the patient"),
                    **_errors(404),
                },
            },
        },
        "/tickets/{token}/telegram": {
            "parameters": [{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}],
            "post": {
                "summary": "A one-time t.me link that binds the patient's Telegram chat to this ticket",
                "responses": {
                    "200": _json({"type": "object", "properties": {"url": {"type": "string"}}}, "the link"),
                    **_errors(404, 409),
                },
            },
        },
        "/tickets/{token}/lead": {
            "parameters": [{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}],
            "put": {
                "summary": '"I need about N minutes to come back": how early "turn near" goes',
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["minutes"],
                                "properties": {"minutes": {"type": "integer", "enum": list(LEAD_CHOICES)}},
                            }
                        }
                    }
                },
                "responses": {
                    "200": _json({"type": "object", "properties": {"lead_minutes": {"type": "integer"}}}, "stored"),
                    **_errors(400, 404, 409),
                },
            },
        },
        "/tickets/{token}/phone": {
            "parameters": [{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}],
            "post": {
                "summary": '"Text me instead": a number for SMS or AlimTalk, once, where the clinic texts',
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["phone", "consent"],
                                "properties": {"phone": {"type": "string"}, "consent": {"const": True}},
                            }
                        }
                    }
                },
                "responses": {
                    "200": _json(
                        {
                            **CHANNELS_ANSWER,
                            "properties": {**CHANNELS_ANSWER["properties"], "phone": {"type": "string"}},
                        },
                        "the channels that now reach the patient, and the number masked",
                    ),
                    **_errors(400, 404, 409),
                },
            },
        },
        "/tickets/{token}/qr.svg": {
            "parameters": [{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": {
                "summary": "QR code of the patient's page",
                "responses": {"200": {"description": "SVG", "content": {"image/svg+xml": {}}}, **_errors(404)},
            },
        },
        "/tickets/{id}/{action}": {
            "parameters": [
                {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}},
                {
                    "name": "action",
                    "in": "path",
                    "required": True,
                    "schema": {
                        "type": "string",
                        "enum": ["recall", "start", "finish", "no-show", "transfer", "cancel", "late", "arrived"],
                    },
                },
            ],
            "post": {
                "summary": 'Act on a ticket (transfer takes {"service": id, "keep_place": bool}; '
                "keep_place true keeps the check-in time as the place, false (the default) joins the end)",
                "security": STAFF,
                "responses": {
                    "200": _json({"type": "object", "properties": {"ticket": STAFF_TICKET_REF}}, "the ticket"),
                    **_errors(400, 401, 403, 404, 409),
                },
            },
        },
        "/rooms": {
            "get": {
                "summary": "Rooms",
                "security": STAFF,
                "responses": {
                    "200": _json({"type": "array", "items": {"$ref": "#/components/schemas/Room"}}, "rooms"),
                    **_errors(401, 403),
                },
            }
        },
        "/rooms/{room}/call-next": {
            "parameters": [{"name": "room", "in": "path", "required": True, "schema": {"type": "string"}}],
            "post": {
                "summary": "Call the next patient to the room",
                "security": STAFF,
                "responses": {
                    "200": _json({"type": "object", "properties": {"ticket": STAFF_TICKET_REF}}, "the patient called"),
                    "204": {"description": "nobody waits for this room"},
                    **_errors(401, 403, 404, 409),
                },
            },
        },
        "/rooms/{room}/{action}": {
            "parameters": [
                {"name": "room", "in": "path", "required": True, "schema": {"type": "string"}},
                {
                    "name": "action",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "enum": ["pause", "resume"]},
                },
            ],
            "post": {
                "summary": "Pause or resume a room",
                "security": STAFF,
                "responses": {"200": _json({"type": "object"}, "the room"), **_errors(401, 403, 404, 409)},
            },
        },
        **APPOINTMENT_PATHS,
        "/queue": {
            "get": {
                "summary": "Everyone waiting and in rooms, with estimates (waiting paginated)",
                "security": STAFF,
                "parameters": [
                    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                    {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
                ],
                "responses": {"200": _json({"type": "object"}, "queue"), **_errors(401, 403)},
            }
        },
    },
}


def _json_body(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


CONVERSATION_ID = [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]
TOKEN = [{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}]
CONVERSATION_REF = {"$ref": "#/components/schemas/Conversation"}
CONVERSATION_ANSWER = _json({"type": "object", "properties": {"conversation": CONVERSATION_REF}}, "the conversation")
TEMPLATES_ANSWER = _json(
    {"type": "object", "properties": {"templates": {"type": "array", "items": {"type": "object"}}}}, "quick replies"
)
TEXT_BODY = _json_body({"type": "object", "required": ["body"], "properties": {"body": {"type": "string"}}})


def _conversation_action(summary: str, body: dict | None = None) -> dict:
    operation = {
        "summary": summary,
        "security": STAFF,
        "responses": {"200": CONVERSATION_ANSWER, **_errors(400, 401, 403, 404, 409)},
    }
    if body is not None:
        operation["requestBody"] = _json_body(body)
    return {"parameters": CONVERSATION_ID, "post": operation}


SPEC["components"]["schemas"]["Conversation"] = {
    "type": "object",
    "description": "One row of the inbox; see docs/conversations.md",
    "properties": {
        "id": {"type": "integer"},
        "channel": {"type": "string", "enum": ["sms", "telegram", "page", "web"]},
        "contact": {"type": ["string", "null"]},
        "status": {"type": "string", "enum": ["open", "closed"]},
        "ticket": {"type": ["object", "null"]},
        "unread": {"type": "integer"},
        "assigned_to": {"type": ["string", "null"]},
        "last_message_at": {"type": "string"},
        "preview": {"type": "string"},
    },
}
SPEC["paths"].update(
    {
        "/conversations": {
            "get": {
                "summary": "The inbox, newest message first",
                "security": STAFF,
                "parameters": [
                    {"name": "status", "in": "query", "schema": {"type": "string", "enum": ["open", "closed"]}}
                ],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "conversations": {"type": "array", "items": CONVERSATION_REF},
                                "unread_total": {"type": "integer"},
                            },
                        },
                        "conversations",
                    ),
                    **_errors(400, 401, 403),
                },
            }
        },
        "/conversations/{id}": {
            "parameters": CONVERSATION_ID,
            "get": {
                "summary": "One conversation with its messages, oldest first",
                "security": STAFF,
                "responses": {"200": _json(CONVERSATION_REF, "the conversation"), **_errors(401, 403, 404)},
            },
        },
        "/conversations/{id}/reply": {
            "parameters": CONVERSATION_ID,
            "post": {
                "summary": "Answer on the channel the patient last wrote on: {body} or {template}",
                "security": STAFF,
                "requestBody": _json_body(
                    {
                        "type": "object",
                        "properties": {"body": {"type": "string"}, "template": {"type": "string"}},
                    }
                ),
                "responses": {
                    "201": _json({"type": "object", "properties": {"message": {"type": "object"}}}, "the answer"),
                    **_errors(400, 401, 403, 404),
                },
            },
        },
        "/conversations/{id}/read": _conversation_action("Mark read: unread goes to 0 on every console"),
        "/conversations/{id}/assign": _conversation_action(
            "Give the conversation to a colleague (null: nobody)",
            {"type": "object", "properties": {"user": {"type": ["string", "null"]}}},
        ),
        "/conversations/{id}/close": _conversation_action("Close (a new message from the patient opens it again)"),
        "/conversations/{id}/reopen": _conversation_action("Open again"),
        "/tickets/{token}/messages": {
            "parameters": TOKEN,
            "get": {
                "summary": "The phone page's thread with reception",
                "responses": {
                    "200": _json({"type": "object", "properties": {"messages": {"type": "array"}}}, "the thread"),
                    **_errors(404),
                },
            },
            "post": {
                "summary": "Message reception from the phone page (plain text; over 1,000 characters is cut)",
                "requestBody": TEXT_BODY,
                "responses": {
                    "201": _json({"type": "object", "properties": {"message": {"type": "object"}}}, "filed"),
                    **_errors(400, 404, 409, 429),
                },
            },
        },
        "/contact": {
            "post": {
                "summary": "The website widget: a question or a call-back request (no token; CORS for "
                "[inbox] widget_origins; limited per address and per number)",
                "requestBody": _json_body(
                    {
                        "type": "object",
                        "required": ["phone"],
                        "properties": {
                            "phone": {"type": "string"},
                            "message": {"type": "string"},
                            "callback": {"type": "boolean"},
                            "preferred_time": {"type": "string", "maxLength": 80},
                            "language": {"type": "string"},
                        },
                    }
                ),
                "responses": {
                    "201": _json(
                        {
                            "type": "object",
                            "properties": {
                                "received": {"const": True},
                                "clinic_open": {"type": "boolean"},
                                "opens_at": {"type": ["string", "null"]},
                            },
                        },
                        "received (nothing stored is returned)",
                    ),
                    **_errors(400, 415, 429),
                },
            }
        },
        "/inbox/templates": {
            "get": {
                "summary": "Quick replies per language (configured and added by admins)",
                "security": STAFF,
                "responses": {"200": TEMPLATES_ANSWER, **_errors(401, 403)},
            }
        },
        "/inbox/templates/{template}": {
            "parameters": [{"name": "template", "in": "path", "required": True, "schema": {"type": "string"}}],
            "put": {
                "summary": "Add or edit a quick reply (admins): {texts: {ko, en, ru}}",
                "security": STAFF,
                "requestBody": _json_body(
                    {
                        "type": "object",
                        "required": ["texts"],
                        "properties": {"texts": {"type": "object"}},
                    }
                ),
                "responses": {"200": TEMPLATES_ANSWER, **_errors(400, 401, 403)},
            },
            "delete": {
                "summary": "Remove an admin's quick reply (configured ones: 409)",
                "security": STAFF,
                "responses": {"200": TEMPLATES_ANSWER, **_errors(401, 403, 404, 409)},
            },
        },
    }
)


@api.get("/openapi.json")
def openapi_document():
    """The OpenAPI document of this API."""
    return jsonify(SPEC)
