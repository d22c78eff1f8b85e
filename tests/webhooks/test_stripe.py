"""POST /webhooks/stripe: hub's own check of Stripe's v1 signature (held to the SDK's verdict in
tests/hostile/test_stripe_scheme.py), 300 s both ways, rotation, payload shape."""

from __future__ import annotations

import json
import time

import pytest

from tests.auxil.events import load_event, stripe_request
from tests.conftest import SECRETS, post
from tests.webhooks.conftest import assert_rejected

SECRET = SECRETS["STRIPE_WEBHOOK_SECRET"]


def checkout() -> dict:
    return load_event("stripe", "checkout.session.completed")


def test_a_verified_event_is_acknowledged_queued_and_handled(spy_app, spy_hub, runs):
    event = checkout()

    response = post(spy_app.test_client(), stripe_request(SECRET, event))

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["received"] is True and body["duplicate"] is False
    [stored] = spy_hub.store.events()
    assert body["event_id"] == stored.id
    assert (stored.type, stored.provider_id, stored.payload) == (event["type"], event["id"], event)
    assert runs.ids() == [event["id"]]


def test_a_redelivery_is_acknowledged_as_duplicate_and_runs_nothing(spy_app, spy_hub, runs):
    client = spy_app.test_client()
    event = checkout()
    # Stripe signs each delivery attempt anew: same body, new timestamp and signature.
    first = post(client, stripe_request(SECRET, event, timestamp=int(time.time()) - 60))
    again = post(client, stripe_request(SECRET, event))

    assert again.status_code == 200
    assert again.get_json()["duplicate"] is True
    assert again.get_json()["event_id"] == first.get_json()["event_id"]
    assert len(spy_hub.store.events()) == 1
    assert runs.ids() == [event["id"]]


def test_a_known_id_with_a_different_body_is_flagged_and_not_merged(spy_app, spy_hub, runs, caplog):
    client = spy_app.test_client()
    original, changed = checkout(), checkout()
    changed["data"]["object"]["amount_total"] = 1

    post(client, stripe_request(SECRET, original))
    response = post(client, stripe_request(SECRET, changed))

    assert response.status_code == 200 and response.get_json()["duplicate"] is True
    [stored] = spy_hub.store.events()
    assert stored.payload["data"]["object"]["amount_total"] == 1500
    assert runs.ids() == [original["id"]]
    assert any("different body" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")


@pytest.mark.parametrize("skew", [-250, 250])
def test_a_timestamp_within_300_s_either_way_passes(client, skew):
    response = post(client, stripe_request(SECRET, checkout(), timestamp=int(time.time()) + skew))

    assert response.status_code == 200


@pytest.mark.parametrize("used", ["whsec_old_secret", "whsec_new_secret"])
def test_during_rotation_either_secret_verifies(make_app, used):
    app = make_app({"STRIPE_WEBHOOK_SECRET": "whsec_old_secret, whsec_new_secret"})

    response = post(app.test_client(), stripe_request(used, checkout()))

    assert response.status_code == 200


def test_during_rotation_a_third_secret_is_refused(make_app):
    app = make_app({"STRIPE_WEBHOOK_SECRET": "whsec_old_secret,whsec_new_secret"})

    response = post(app.test_client(), stripe_request("whsec_someone_else", checkout()))

    assert response.status_code == 400
    assert response.get_json()["error"] == "bad_signature"


def test_a_missing_signature_header_is_400(spy_app, spy_hub, runs):
    request = stripe_request(SECRET, checkout())
    del request.headers["Stripe-Signature"]

    response = post(spy_app.test_client(), request)

    assert_rejected(response, spy_hub, runs, 400, "missing_signature")


def _with_signature(header: str):  # noqa: ANN202
    request = stripe_request(SECRET, checkout())
    request.headers["Stripe-Signature"] = header
    return request


def _tampered():  # noqa: ANN202
    request = stripe_request(SECRET, checkout())
    request.body = request.body.replace(b"1500", b"1")
    return request


def _bad_v1():  # noqa: ANN202
    """A fresh t= with a v1 that was never computed from the body."""
    request = stripe_request(SECRET, checkout())
    t = request.headers["Stripe-Signature"].split(",")[0]
    request.headers["Stripe-Signature"] = f"{t},v1={'0' * 64}"
    return request


REFUSED = {
    "bad signature": _bad_v1,
    "wrong secret": lambda: stripe_request("whsec_not_ours", checkout()),
    "body tampered after signing": _tampered,
    "timestamp 301 s old": lambda: stripe_request(SECRET, checkout(), timestamp=int(time.time()) - 301),
    "timestamp 301 s in the future": lambda: stripe_request(
        SECRET, checkout(), timestamp=int(time.time()) + 301
    ),
    "header without v1": lambda: _with_signature(f"t={int(time.time())}"),
    "header without t": lambda: _with_signature("v1=" + "0" * 64),
    "header with t not a number": lambda: _with_signature("t=yesterday,v1=abc"),
    "header with two t": lambda: _with_signature(f"t={int(time.time())},t=1,v1=abc"),
    "header of garbage": lambda: _with_signature("garbage"),
    "header with a huge t": lambda: _with_signature("t=" + "9" * 400 + ",v1=abc"),
    "header with a t of 5000 digits": lambda: _with_signature("t=" + "9" * 5000 + ",v1=abc"),
}


@pytest.mark.parametrize("build", REFUSED.values(), ids=REFUSED.keys())
def test_a_request_that_fails_verification_is_400(spy_app, spy_hub, runs, build):
    response = post(spy_app.test_client(), build())

    assert_rejected(response, spy_hub, runs, 400, "bad_signature")


def test_a_stale_timestamp_is_explained_to_the_operator(client):
    response = post(client, stripe_request(SECRET, checkout(), timestamp=int(time.time()) + 3600))

    assert "future" in response.get_json()["message"]
    assert "clock" in response.get_json()["message"]


BAD_PAYLOADS = {
    "not JSON": "this is not json",
    "not UTF-8": b'{"id": "evt_1", "type": "x\xff"}',
    "a JSON list": "[]",
    "NaN": '{"id": "evt_1", "type": "invoice.paid", "amount": NaN}',
    "no id": json.dumps({"object": "event", "type": "invoice.paid"}),
    "no type": json.dumps({"object": "event", "id": "evt_1"}),
    "id not a string": json.dumps({"object": "event", "id": 1, "type": "invoice.paid"}),
    "empty type": json.dumps({"object": "event", "id": "evt_1", "type": ""}),
}


@pytest.mark.parametrize("payload", BAD_PAYLOADS.values(), ids=BAD_PAYLOADS.keys())
def test_a_correctly_signed_body_that_is_not_an_event_is_400(spy_app, spy_hub, runs, payload):
    response = post(spy_app.test_client(), stripe_request(SECRET, payload))

    assert_rejected(response, spy_hub, runs, 400, "bad_payload")


def test_the_content_type_does_not_matter_the_signature_does(client):
    request = stripe_request(SECRET, checkout())
    del request.headers["Content-Type"]

    assert post(client, request).status_code == 200
