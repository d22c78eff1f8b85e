"""`GET /openapi.json`: an OpenAPI 3.1 description of hub's HTTP interface.

Built from one table of known operations and filtered by the app's URL map, so the
document never promises a route this app does not serve (and grows by itself when a
blueprint that has an entry here is registered). schemathesis checks it in CI.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify

from hub import __version__
from hub.providers import Route, routes

bp = Blueprint("openapi", __name__)

_STR = {"type": "string"}
_NULLABLE_STR = {"type": ["string", "null"]}


def _list(name: str) -> dict[str, Any]:
    return {"type": "array", "items": {"$ref": f"#/components/schemas/{name}"}}


_JSON_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {"error": _STR, "message": _STR},
    },
    "Ack": {
        "type": "object",
        "required": ["received", "event_id", "duplicate"],
        "properties": {"received": {"const": True}, "event_id": _STR, "duplicate": {"type": "boolean"}},
    },
    "TelegramReply": {
        "description": "Empty, or a Bot API method Telegram runs for us (the inline reply).",
        "type": "object",
        "properties": {"method": {"const": "sendMessage"}, "chat_id": _STR, "text": _STR},
    },
    "TelegramUpdate": {
        "description": "A Bot API Update: hub needs its integer update_id (its dedup key).",
        "type": "object",
        "required": ["update_id"],
        "properties": {"update_id": {"type": "integer"}},
    },
    "Health": {
        "type": "object",
        "required": ["status", "version", "store", "cache"],
        "properties": {
            "status": {"enum": ["ok", "degraded"]},
            "version": _STR,
            "store": {"$ref": "#/components/schemas/Component"},
            "cache": {"$ref": "#/components/schemas/Component"},
            "dry_run": {"type": "boolean"},
            "tasks": _STR,
        },
    },
    "Component": {
        "type": "object",
        "required": ["backend", "ok"],
        "properties": {
            "backend": _STR,
            "ok": {"type": "boolean"},
            "cluster": {"type": "boolean", "description": "Redis: whether it is a Redis Cluster."},
        },
    },
    "EventSummary": {
        "type": "object",
        "required": ["id", "source", "type", "status", "attempts", "received_at"],
        "properties": {
            "id": _STR,
            "source": _STR,
            "type": _STR,
            "provider_id": _STR,
            "status": {"enum": ["received", "processing", "done", "failed", "dead"]},
            "attempts": {"type": "integer", "minimum": 0},
            "received_at": _STR,
            "updated_at": _NULLABLE_STR,
            "next_attempt_at": _NULLABLE_STR,
            "last_error": _NULLABLE_STR,
            "run_error": _NULLABLE_STR,
            "payload": {"type": "object"},
            "outbox": _list("OutboxEntry"),
            "handled": {"type": "boolean", "description": "false: no handler took it"},
            "headers": {"type": "object", "additionalProperties": _STR, "description": "secrets masked"},
            "history": _list("Attempt"),
        },
    },
    "Attempt": {
        "type": "object",
        "required": ["attempt", "started_at", "finished_at", "outcome", "error"],
        "properties": {
            "attempt": {"type": "integer", "minimum": 1},
            "started_at": _STR,
            "finished_at": _NULLABLE_STR,
            "outcome": {"enum": ["done", "failed", "dead", "interrupted", "running"]},
            "error": _NULLABLE_STR,
            "outbox": {"type": "array", "items": _STR, "description": "ids of the calls it made"},
        },
    },
    "Replayed": {
        "type": "object",
        "required": ["replayed"],
        "properties": {
            "replayed": {"type": "integer", "minimum": 0},
            "matched": {"type": "integer", "minimum": 0},
            "busy": {"type": "integer", "minimum": 0},
            "limit": {"type": "integer"},
        },
    },
    "OutboxEntry": {
        "type": "object",
        "required": ["integration", "action", "payload", "event_id"],
        "properties": {
            "id": _STR,
            "integration": _STR,
            "action": _STR,
            "payload": {"type": "object"},
            "event_id": _NULLABLE_STR,
            "status": _STR,
        },
    },
}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": _JSON_ERROR}


RESPONSES = {
    "400": _error("Bad signature, stale or future timestamp, or a malformed body."),
    "401": _error("Missing credentials (admin bearer token, Telegram secret token)."),
    "403": _error("Wrong credentials or signature."),
    "404": _error("No such thing."),
    "409": _error("The event is being handled right now."),
    "413": _error("The body is over 1 MiB."),
    "415": _error("The body has the wrong content type."),
    "429": {
        **_error("Too many wrong admin tokens from this client: wait, then try again."),
        "headers": {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}},
    },
    "503": _error(
        "The source is disabled, the store is unreachable, or PayPal's certificate cannot "
        "be fetched: deliver again later."
    ),
}


def _answers(ok: dict[str, Any], *errors: str) -> dict[str, Any]:
    return {**ok, **{code: {"$ref": f"#/components/responses/{code}"} for code in errors}}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _header(name: str, required: bool = False, pattern: str = "") -> dict[str, Any]:
    # A required header that is sent empty is refused like a missing one.
    schema: dict[str, Any] = {"type": "string", "minLength": 1} if required else dict(_STR)
    if pattern:
        schema["pattern"] = pattern
    return {"name": name, "in": "header", "required": required, "schema": schema}


_ACK = {"200": _json("Accepted (duplicates included).", {"$ref": "#/components/schemas/Ack"})}
_WEBHOOK_ERRORS = ("400", "413", "415", "503")
_ADMIN = [{"adminBearer": []}]
_EVENT_ID = {"name": "event_id", "in": "path", "required": True, "schema": _STR}
_LIMIT = {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}}


def _cursor(id_pattern: str) -> dict[str, Any]:
    return {
        "name": "starting_after",
        "in": "query",
        "schema": {"type": "string", "pattern": id_pattern},
        "description": "the id of the last item of the previous page (see the Link header); "
        "404 when that event has been purged since",
    }


_PAGE_HEADERS = {
    "Link": {"schema": _STR, "description": 'the next page, as <url>; rel="next", when this one is full'},
}
_NON_EMPTY = {"type": "string", "minLength": 1}
_FILTERS = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,  # replaying everything is never meant
    "properties": {
        "source": _NON_EMPTY,
        "type": _NON_EMPTY,
        "status": {"enum": ["received", "processing", "done", "failed", "dead"]},
    },
}

# (flask rule, method) -> operation, for hub's own routes (the webhook routes' come from
# their providers' declarations). The OpenAPI path is derived from the rule.
OPERATIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("/healthz", "get"): {
        "summary": "Version, and whether the store and cache answer.",
        "responses": _answers(
            {
                "200": _json("Healthy.", {"$ref": "#/components/schemas/Health"}),
                "503": _json("Degraded.", {"$ref": "#/components/schemas/Health"}),
            }
        ),
    },
    ("/admin/api/events", "get"): {
        "summary": "Events, newest first.",
        "security": _ADMIN,
        "parameters": [
            {"name": "source", "in": "query", "schema": _STR},
            {"name": "type", "in": "query", "schema": _STR},
            {"name": "status", "in": "query", "schema": SCHEMAS["EventSummary"]["properties"]["status"]},
            _LIMIT,
        ],
        "responses": _answers(
            {"200": _json("Events.", _list("EventSummary"))},
            "400",
            "401",
            "404",
            "429",
            "503",
        ),
    },
    ("/admin/api/events/replay", "post"): {
        "summary": "Replay the newest events (up to 100) matching a filter; at least one filter.",
        "description": "The filter may also come as query parameters of the same names "
        "(`?status=dead`) with no body; without any filter the answer is 400.",
        "security": _ADMIN,
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": _FILTERS},
                "application/x-www-form-urlencoded": {"schema": _FILTERS},
            },
        },
        "responses": _answers(
            {"200": _json("How many ran; `matched` counts all.", {"$ref": "#/components/schemas/Replayed"})},
            "400",
            "401",
            "429",
            "503",
        ),
    },
    ("/admin/api/events/<event_id>", "get"): {
        "summary": "One event with its payload, headers, attempt history and outbound calls.",
        "security": _ADMIN,
        "parameters": [_EVENT_ID],
        "responses": _answers(
            {"200": _json("The event.", {"$ref": "#/components/schemas/EventSummary"})},
            "401",
            "404",
            "429",
            "503",
        ),
    },
    ("/admin/api/events/<event_id>/replay", "post"): {
        "summary": "Run the event's handler again now; attempts grows by one.",
        "security": _ADMIN,
        "parameters": [_EVENT_ID],
        "responses": _answers(
            {"200": _json("The event after the run.", {"$ref": "#/components/schemas/EventSummary"})},
            "401",
            "404",
            "409",
            "429",
            "503",
        ),
    },
    ("/admin/api/outbox", "get"): {
        "summary": "Outbound calls (recorded in dry-run, or sent), newest first.",
        "security": _ADMIN,
        "parameters": [{"name": "event_id", "in": "query", "schema": _STR}, _LIMIT],
        "responses": _answers(
            {"200": _json("Calls.", _list("OutboxEntry"))},
            "400",
            "401",
            "429",
            "503",
        ),
    },
    ("/admin", "get"): {
        "summary": "The dashboard (HTML).",
        "security": _ADMIN,
        "responses": _answers(
            {
                "200": {"description": "Dashboard.", "content": {"text/html": {"schema": _STR}}},
                "302": {"description": "To the login form."},
            },
            "401",
            "429",
        ),
    },
    ("/openapi.json", "get"): {
        "summary": "This document.",
        "responses": _answers({"200": _json("OpenAPI 3.1.", {"type": "object"})}),
    },
}


# Paging and the outbox's filters, added here as one block to the listings above.
for _listing, _extra in (
    (("/admin/api/events", "get"), [_cursor("^evt_[0-9a-f]{32}$")]),
    (
        ("/admin/api/outbox", "get"),
        [
            _cursor("^out_[0-9a-f]{32}$"),
            {"name": "integration", "in": "query", "schema": _STR},
            {"name": "status", "in": "query", "schema": _STR},
            {"name": "possible_duplicate", "in": "query", "schema": {"type": "boolean"}},
        ],
    ),
):
    OPERATIONS[_listing]["parameters"] = [*OPERATIONS[_listing]["parameters"], *_extra]
    OPERATIONS[_listing]["responses"]["200"] = {
        **OPERATIONS[_listing]["responses"]["200"],
        "headers": {
            **_PAGE_HEADERS,
            **(
                {"X-Total-Count": {"schema": _STR, "description": "events matching the filters"}}
                if _listing[0].endswith("/events")
                else {}
            ),
        },
    }


# Deliveries (hub.admin.deliveries_api): the messages handlers tell, each sent on its own.
_DELIVERY_STATUS = {"enum": ["held", "pending", "sending", "sent", "failed", "dead", "skipped"]}
_REPLAYABLE = {"enum": ["pending", "sending", "failed", "dead", "skipped"]}  # held and sent: 400
_DELIVERY_ID = {"name": "delivery_id", "in": "path", "required": True, "schema": _STR}
_DELIVERY_409 = _error(
    "The delivery is held (its run has not succeeded), already sent (replay its "
    "event), or being sent right now."
)
SCHEMAS["Delivery"] = {
    "type": "object",
    "required": ["id", "event_id", "channel", "address", "text", "status", "attempts", "created_at"],
    "properties": {
        "id": _STR,
        "event_id": _STR,
        "channel": {"type": "string", "description": "telegram or sms"},
        "address": _STR,
        "text": _STR,
        "status": _DELIVERY_STATUS,
        "attempts": {"type": "integer", "minimum": 0},
        "next_attempt_at": _NULLABLE_STR,
        "last_error": _NULLABLE_STR,
        "outbox_id": _NULLABLE_STR,
        "ref": {**_NULLABLE_STR, "description": "the provider's message id"},
        "created_at": _STR,
        "updated_at": _NULLABLE_STR,
        "options": {"type": "object", "description": "one delivery only"},
        "outbox": {**_list("OutboxEntry"), "description": "one delivery only: the calls that sent it"},
    },
}
_DELIVERY = {"$ref": "#/components/schemas/Delivery"}
_DELIVERY_FILTER = {
    "type": "object",
    "additionalProperties": False,
    "required": ["status"],
    "properties": {"status": _REPLAYABLE, "event_id": _STR},
}
OPERATIONS.update(
    {
        ("/admin/api/deliveries", "get"): {
            "summary": "Deliveries, newest first.",
            "security": _ADMIN,
            "parameters": [
                {"name": "event_id", "in": "query", "schema": _STR},
                {"name": "status", "in": "query", "schema": _DELIVERY_STATUS},
                _LIMIT,
            ],
            "responses": _answers(
                {"200": _json("Deliveries.", _list("Delivery"))}, "400", "401", "429", "503"
            ),
        },
        ("/admin/api/deliveries/<delivery_id>", "get"): {
            "summary": "One delivery with its options and the outbox calls that sent it.",
            "security": _ADMIN,
            "parameters": [_DELIVERY_ID],
            "responses": _answers({"200": _json("The delivery.", _DELIVERY)}, "401", "404", "429", "503"),
        },
        ("/admin/api/deliveries/<delivery_id>/replay", "post"): {
            "summary": "Make a delivery that was not sent (failed, dead, skipped) due now; attempts go on.",
            "security": _ADMIN,
            "parameters": [_DELIVERY_ID],
            "responses": {
                **_answers({"200": _json("The delivery, due.", _DELIVERY)}, "401", "404", "429", "503"),
                "409": _DELIVERY_409,
            },
        },
        ("/admin/api/deliveries/replay", "post"): {
            "summary": "Replay the deliveries (up to 500) with a status, optionally of one event.",
            "description": "The filter may also come as query parameters of the same names "
            "(`?status=dead`); held and sent deliveries are not replayed (400).",
            "security": _ADMIN,
            "requestBody": {"required": True, "content": {"application/json": {"schema": _DELIVERY_FILTER}}},
            "responses": _answers(
                {
                    "200": _json(
                        "How many were made due.",
                        {
                            "type": "object",
                            "required": ["replayed"],
                            "properties": {"replayed": {"type": "integer", "minimum": 0}},
                        },
                    )
                },
                "400",
                "401",
                "429",
                "503",
            ),
        },
    }
)


def webhook_operation(route: Route) -> dict[str, Any]:
    """A declared webhook route as an OpenAPI operation (what its declaration describes)."""
    described = route.described
    if described is None:
        return {"responses": _answers(_ACK, *_WEBHOOK_ERRORS)}
    operation: dict[str, Any] = {
        "summary": described.summary,
        "parameters": [_header(h.name, required=h.required, pattern=h.pattern) for h in described.headers],
    }
    if described.body is not None:
        operation["requestBody"] = dict(described.body)
    operation["responses"] = _answers(dict(described.answers) or _ACK, *described.rejects, *_WEBHOOK_ERRORS)
    return operation


def operations() -> dict[tuple[str, str], dict[str, Any]]:
    """Every known operation: each declared webhook route's, then hub's own."""
    webhooks = {(route.path, "post"): webhook_operation(route) for route in routes().values()}
    return {**webhooks, **OPERATIONS}


def _path(rule: str) -> str:
    return rule.replace("<", "{").replace(">", "}")


def build_spec(app: Flask) -> dict[str, Any]:
    """The document for the operations `app` actually serves."""
    from hub.admin.mount import rules  # the admin part's routes too (built by this, if need be)

    served = {(r.rule, m.lower()) for r in rules(app) for m in (r.methods or ())}
    paths: dict[str, dict[str, Any]] = {}
    for (rule, method), operation in operations().items():
        if (rule, method) in served:
            paths.setdefault(_path(rule), {})[method] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "hub",
            "version": __version__,
            "description": "Verified webhooks in, plain handlers, an admin API. Every error body is "
            '`{"error": code, "message": text}`; bodies over 1 MiB get 413.',
        },
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "responses": RESPONSES,
            "securitySchemes": {"adminBearer": {"type": "http", "scheme": "bearer"}},
        },
    }


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(build_spec(current_app))
