"""Hostile clients: no admin without the token, no oversized, truncated or stalled body
gets anything recorded, no reply text can inject markup, no stale Stripe event is replayed."""

from __future__ import annotations

import json
import socket
import time
import xml.etree.ElementTree as ET

import pytest
import requests

from hub.admin.mount import rules as rules_of
from hub.router import Router
from hub.services import hub_of
from integrations.samples import PATHS, stripe_event, telegram_message, twilio_sms
from tests.auxil.server import serving
from tests.conftest import ADMIN_TOKEN, post

WEBHOOKS = sorted(set(PATHS.values()))
HOSTILE_TEXTS = [
    "line one\r\nline two",
    "</Message><Message>free money</Message>",
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>&e;',
    "]]><Redirect>https://evil.example</Redirect><![CDATA[",
    "quote \" and apostrophe ' & ampersand",
    '", "chat_id": "666", "text": "hijacked',
    "Set-Cookie: session=evil\r\n\r\nHTTP/1.1 200 OK",
]


# The login form and logout need no token by design; what they accept is tested with them.
PUBLIC_ADMIN_PATHS = {"/admin/login", "/admin/logout"}


def admin_rules(app) -> list[tuple[str, str]]:  # noqa: ANN001
    rules = []
    for rule in rules_of(app):  # the app's and its /admin part's (hub/admin/mount.py)
        if rule.rule.startswith("/admin") and rule.rule not in PUBLIC_ADMIN_PATHS:
            path = rule.rule.replace("<event_id>", "evt_x").replace("<path:filename>", "x.css")
            rules += [(m, path) for m in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return rules


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer wrong-token", f"Basic {ADMIN_TOKEN}", f"Bearer {ADMIN_TOKEN}x"],
)
def test_every_admin_route_refuses_without_the_right_token(app, client, authorization) -> None:  # noqa: ANN001
    headers = {"Authorization": authorization} if authorization is not None else {}
    rules = admin_rules(app)
    assert len(rules) >= 4
    for method, path in rules:
        response = client.open(path, method=method, headers=headers)
        # 429: this client has had too many wrong tokens (the throttle), a refusal too.
        assert response.status_code in (401, 302, 429), f"{method} {path} answered {response.status_code}"
        if response.status_code in (401, 429) and response.is_json:
            assert set(response.json) == {"error", "message"}
            assert ADMIN_TOKEN not in response.get_data(as_text=True)


@pytest.mark.parametrize("path", WEBHOOKS)
def test_oversized_bodies_get_413_and_record_nothing(client, hub, path) -> None:  # noqa: ANN001
    body = b"{" + b" " * (1024 * 1024) + b"}"
    response = client.post(path, data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert set(response.json) == {"error", "message"}
    assert hub.store.events() == []


def raw_request(base_url: str, head: bytes, body: bytes, *, stall: float = 0.0) -> bytes:
    """Send `head` and `body` on a raw socket, optionally wait, then read whatever comes back."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head + body)
        if stall:
            time.sleep(stall)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def test_truncated_bodies_are_refused_and_record_nothing(make_app) -> None:  # noqa: ANN001
    app = make_app()
    hub = hub_of(app)
    signed = stripe_event(hub.settings, "invoice.paid")
    with serving(app) as base_url:
        for path in WEBHOOKS:
            head = (
                f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                f"Stripe-Signature: {signed.headers['Stripe-Signature']}\r\n"
                f"Content-Length: {len(signed.body) + 500}\r\nConnection: close\r\n\r\n"
            ).encode()
            answer = raw_request(base_url, head, signed.body)
            assert not answer.startswith(b"HTTP/1.1 2"), answer[:200]
            assert not answer.startswith(b"HTTP/1.1 5"), answer[:200]
        assert hub.store.events() == [], "a truncated body must not be recorded"
        # The server is still up and accepts the complete request.
        complete = requests.post(base_url + signed.path, data=signed.body, headers=signed.headers, timeout=10)
        assert complete.status_code == 200
    assert len(hub.store.events()) == 1


def test_a_stalled_body_blocks_no_one_and_records_nothing(make_app) -> None:  # noqa: ANN001
    app = make_app()
    hub = hub_of(app)
    with serving(app) as base_url:
        host, port = base_url.removeprefix("http://").split(":")
        stalled = socket.create_connection((host, int(port)), timeout=10)
        try:
            signed = stripe_event(hub.settings, "invoice.paid")
            stalled.sendall(
                (
                    "POST /webhooks/stripe HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    f"Stripe-Signature: {signed.headers['Stripe-Signature']}\r\n"
                    f"Content-Length: {len(signed.body)}\r\n\r\n"
                ).encode()
                + signed.body[:10]
            )
            other = stripe_event(hub.settings, "invoice.paid")
            answer = requests.post(base_url + other.path, data=other.body, headers=other.headers, timeout=10)
            assert answer.status_code == 200, "a stalled client must not hold up other deliveries"
        finally:
            stalled.close()
        assert requests.get(base_url + "/healthz", timeout=10).status_code == 200
    assert [e.provider_id for e in hub.store.events()] == [json.loads(other.body)["id"]]


def test_chunked_bodies_over_the_limit_are_refused(make_app) -> None:  # noqa: ANN001
    app = make_app()
    hub = hub_of(app)
    with serving(app) as base_url:
        chunk = b" " * 65536
        body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(20)) + b"0\r\n\r\n"
        head = (
            b"POST /webhooks/stripe HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            b"Stripe-Signature: t=1,v1=00\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        )
        answer = raw_request(base_url, head, body)
        assert answer.split(b" ", 2)[1] in (b"400", b"413"), answer[:200]
    assert hub.store.events() == []


@pytest.fixture
def echo_router() -> Router:
    router = Router()
    router.set_text_fallback(lambda event, ctx: ctx.reply(event.message.text))
    return router


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_reply_text_cannot_inject_into_twiml(make_app, echo_router, text) -> None:  # noqa: ANN001
    app = make_app(router=echo_router)
    response = post(app.test_client(), twilio_sms(hub_of(app).settings, "http://localhost", text))
    assert response.status_code == 200 and response.mimetype == "application/xml"
    root = ET.fromstring(response.get_data())  # well-formed: the text did not break out
    messages = root.findall("Message")
    assert root.tag == "Response" and len(messages) == 1 and list(messages[0]) == []
    # XML turns a raw CR LF into LF; nothing else of the text may change.
    assert messages[0].text == text.replace("\r\n", "\n")
    assert all("\r" not in v and "\n" not in v for v in response.headers.values())
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_reply_text_cannot_inject_into_the_telegram_method(make_app, echo_router, text) -> None:  # noqa: ANN001
    app = make_app(router=echo_router)
    response = post(app.test_client(), telegram_message(hub_of(app).settings, text, chat_id=42))
    assert response.status_code == 200
    assert response.json == {"method": "sendMessage", "chat_id": "42", "text": text}
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("age", [301, 600, 86400 * 3])
def test_a_replayed_stripe_event_outside_the_tolerance_is_refused(make_app, age) -> None:  # noqa: ANN001
    runs: list[str] = []
    router = Router()
    router.add_handler("stripe", "invoice.paid", lambda event, ctx: runs.append(event.provider_id))
    app = make_app(router=router)
    hub, client = hub_of(app), app.test_client()
    fresh = stripe_event(hub.settings, "invoice.paid", event_id="evt_replayed")
    assert post(client, fresh).status_code == 200
    # An attacker who captured the delivery resends it later: same body, same header.
    old = stripe_event(hub.settings, "invoice.paid", event_id="evt_old", timestamp=int(time.time()) - age)
    refused = post(client, old)
    assert refused.status_code == 400 and refused.json["error"] == "bad_signature"
    again = post(client, fresh)  # within the tolerance: acknowledged as the duplicate it is
    assert again.status_code == 200 and again.json["duplicate"] is True
    assert runs == ["evt_replayed"]
    assert [e.provider_id for e in hub.store.events()] == ["evt_replayed"]
