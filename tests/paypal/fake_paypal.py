"""A fake PayPal REST API on 127.0.0.1: OAuth, orders (create, capture), certificates, webhooks.

The SDK sends with requests, so a real local server is the most honest wire: the SDK's
own request building, auth and response parsing all run. Idempotency behaves like
PayPal's: a repeated PayPal-Request-Id gets the first answer again, and a second capture
of one order under another id is refused with ORDER_ALREADY_CAPTURED.
"""

from __future__ import annotations

import base64
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, jsonify, request

from tests.auxil.server import serving

CLIENT_ID = "hub-test-client-id"
CLIENT_SECRET = "hub-test-client-secret-0123"
TOKEN_SECONDS = 32400


@dataclass
class FakePayPal:
    url: str = ""
    cert_pem: bytes = b""
    cert_status: int = 200
    cert_name: str = ""  # set: only this certificate exists, as at PayPal (others are 404)
    cert_redirect: str = ""  # set: the certificate URL answers 302 to this location
    tokens_issued: int = 0
    cert_fetches: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)  # method, path, headers, json
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    captures: list[dict[str, Any]] = field(default_factory=list)
    capture_refusal: dict[str, Any] | None = None  # a 422 body to answer captures with
    capture_outages: int = 0  # this many capture requests get a 503 first
    webhooks: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _answers: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    _token: str = ""

    def calls(self, method: str, path_prefix: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] == method and r["path"].startswith(path_prefix)]


def _app(fake: FakePayPal) -> Flask:
    app = Flask("fake_paypal")

    @app.before_request
    def record() -> Response | None:
        with fake.lock:
            fake.requests.append(
                {
                    "method": request.method,
                    "path": request.path,
                    "headers": dict(request.headers),
                    "json": request.get_json(silent=True),
                }
            )
        if request.path.startswith(("/v1/oauth2/", "/v1/notifications/certs/")):
            return None
        if not fake._token or request.headers.get("Authorization") != f"Bearer {fake._token}":
            return _error(401, "AUTHENTICATION_FAILURE", "Authentication failed due to invalid credentials")
        return None

    @app.post("/v1/oauth2/token")
    def token() -> Any:
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return jsonify(error="invalid_client", error_description="Client Authentication failed"), 401
        with fake.lock:
            fake.tokens_issued += 1
            fake._token = fake._token or "A21AA" + secrets.token_hex(16)
        return jsonify(
            access_token=fake._token,
            token_type="Bearer",
            expires_in=TOKEN_SECONDS,
            scope="https://uri.paypal.com/services/payments/payment",
        )

    @app.post("/v2/checkout/orders")
    def create_order() -> Any:
        def make() -> tuple[int, dict[str, Any]]:
            order_id = secrets.token_hex(8).upper()
            body = request.get_json()
            fake.orders[order_id] = {"id": order_id, "status": "CREATED", "request": body}
            links = [
                {
                    "href": f"https://www.sandbox.paypal.com/checkoutnow?token={order_id}",
                    "rel": "approve",
                    "method": "GET",
                }
            ]
            return 201, {"id": order_id, "status": "CREATED", "links": links}

        return _idempotent("create", make)

    @app.post("/v2/checkout/orders/<order_id>/capture")
    def capture(order_id: str) -> Any:
        with fake.lock:
            if fake.capture_outages > 0:
                fake.capture_outages -= 1
                return _error(503, "SERVICE_UNAVAILABLE", "Service Unavailable")

        def make() -> tuple[int, dict[str, Any]]:
            if fake.capture_refusal is not None:
                return 422, fake.capture_refusal
            order = fake.orders.setdefault(order_id, {"id": order_id, "status": "APPROVED"})
            if order["status"] == "COMPLETED":
                return 422, _issue("ORDER_ALREADY_CAPTURED", "Order already captured.")
            order["status"] = "COMPLETED"
            fake.captures.append({"order_id": order_id})
            return 201, {"id": order_id, "status": "COMPLETED"}

        return _idempotent("capture", make)

    @app.get("/v1/notifications/certs/<name>")
    def cert(name: str) -> Any:
        with fake.lock:
            fake.cert_fetches += 1
        if fake.cert_redirect:
            return Response("moved", status=302, headers={"Location": fake.cert_redirect})
        if fake.cert_status != 200 or (fake.cert_name and name != fake.cert_name):
            return Response("unavailable", status=404 if fake.cert_status == 200 else fake.cert_status)
        return Response(fake.cert_pem, mimetype="application/x-pem-file")

    @app.get("/v1/notifications/webhooks")
    def list_webhooks() -> Any:
        return jsonify(webhooks=list(fake.webhooks.values()))

    @app.post("/v1/notifications/webhooks")
    def create_webhook() -> Any:
        body = request.get_json()
        webhook_id = "WH-" + secrets.token_hex(8).upper()
        fake.webhooks[webhook_id] = {"id": webhook_id, "url": body["url"], "event_types": body["event_types"]}
        return jsonify(fake.webhooks[webhook_id]), 201

    @app.route("/v1/notifications/webhooks/<webhook_id>", methods=["GET", "PATCH"])
    def webhook(webhook_id: str) -> Any:
        if webhook_id not in fake.webhooks:
            return _error(404, "INVALID_RESOURCE_ID", "Resource id is invalid")
        if request.method == "PATCH":
            for op in request.get_json():
                if op["path"] == "/event_types":
                    fake.webhooks[webhook_id]["event_types"] = op["value"]
        return jsonify(fake.webhooks[webhook_id])

    def _idempotent(kind: str, make: Any) -> Any:
        key = f"{kind}:{request.headers.get('PayPal-Request-Id') or secrets.token_hex(8)}"
        with fake.lock:  # PayPal answers a repeated PayPal-Request-Id with the first answer
            if key not in fake._answers:
                fake._answers[key] = make()
            status, body = fake._answers[key]
        return jsonify(body), status

    return app


def _issue(issue: str, description: str) -> dict[str, Any]:
    return {
        "name": "UNPROCESSABLE_ENTITY",
        "message": "The requested action could not be performed.",
        "debug_id": "f0f0f0",
        "details": [{"issue": issue, "description": description}],
    }


def _error(status: int, name: str, message: str) -> tuple[Response, int]:
    return jsonify(name=name, message=message, debug_id="d0d0d0"), status


@contextmanager
def fake_paypal(cert_pem: bytes = b"") -> Iterator[FakePayPal]:
    fake = FakePayPal(cert_pem=cert_pem)
    with serving(_app(fake)) as url:
        fake.url = url
        yield fake
