"""Property: what PayPal signed passes; any change to the body or to a PAYPAL-* header does not.

PayPal does not sign PAYPAL-CERT-URL itself; a changed URL is refused because it is not
PayPal's, or names no certificate PayPal serves (503, nothing stored), or its certificate
did not sign the message.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from hub import create_app
from hub.services import hub_of
from integrations.paypal import HEADERS
from tests.conftest import post
from tests.hostile.test_verifier_properties import mutate
from tests.paypal.conftest import CERT_URL, WEBHOOK_ID, delivery
from tests.paypal.fake_paypal import CLIENT_ID, CLIENT_SECRET, fake_paypal

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

events = st.fixed_dictionaries(
    {
        "id": st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", min_size=1, max_size=30).map("WH-".__add__),
        "event_type": st.sampled_from(["PAYMENT.SALE.COMPLETED", "CUSTOMER.DISPUTE.CREATED"]),
        "resource": st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=20), max_size=3),
    },
)
header_chars = st.characters(min_codepoint=0x21, max_codepoint=0x7E)  # printable, no spaces


@pytest.fixture(scope="module")
def app(tmp_path_factory, pki) -> Iterator:  # noqa: ANN001
    """A live hub (no handler for these types: nothing leaves it) on a fake PayPal."""
    folder = tmp_path_factory.mktemp("paypal-properties")
    (folder / "roots.pem").write_bytes(pki.root_pem)
    with fake_paypal(pki.chain_pem) as fake:
        fake.cert_name = CERT_URL.rsplit("/", 1)[1]
        app = create_app(
            {
                "HUB_INSTANCE_PATH": str(folder),
                "HUB_TASKS": "inline",
                "HUB_DRY_RUN": "0",
                "PAYPAL_CLIENT_ID": CLIENT_ID,
                "PAYPAL_CLIENT_SECRET": CLIENT_SECRET,
                "PAYPAL_WEBHOOK_ID": WEBHOOK_ID,
                "PAYPAL_API_URL": fake.url,
                "PAYPAL_CA_BUNDLE": str(folder / "roots.pem"),
            }
        )
        yield app
        hub_of(app).store.close()


def refused(app, request) -> bool:  # noqa: ANN001
    """Not accepted: a JSON error, 4xx (or 503 for a certificate PayPal does not serve)."""
    before = len(hub_of(app).store.events(source="paypal", limit=500))
    response = post(app.test_client(), request)
    nothing_stored = len(hub_of(app).store.events(source="paypal", limit=500)) == before
    unserved = response.status_code == 503 and response.json["error"] == "cert_unavailable"
    expected = 400 <= response.status_code < 500 or unserved
    return expected and nothing_stored and set(response.json) == {"error", "message"}


@SETTINGS
@given(event=events)
def test_signed_deliveries_pass(app, pki, event) -> None:  # noqa: ANN001
    response = post(app.test_client(), delivery(json.dumps(event).encode(), pki.leaf_key))
    assert response.status_code == 200, response.json


@SETTINGS
@given(event=events, position=st.integers(0, 10**6), byte=st.integers(0, 255))
def test_any_changed_body_byte_is_refused(app, pki, event, position, byte) -> None:  # noqa: ANN001
    request = delivery(json.dumps(event).encode(), pki.leaf_key)
    request.body = mutate(request.body, position, byte)
    assert refused(app, request)


@SETTINGS
@given(
    event=events,
    header=st.sampled_from(HEADERS),
    position=st.integers(0, 10**6),
    char=header_chars,
    insert=st.booleans(),
)
def test_any_changed_header_is_refused(app, pki, event, header, position, char, insert) -> None:  # noqa: ANN001
    request = delivery(json.dumps(event).encode(), pki.leaf_key)
    value = request.headers[header]
    position %= len(value) + (1 if insert else 0)
    if not insert:
        assume(value[position] != char)
    request.headers[header] = value[:position] + char + value[position + (0 if insert else 1) :]
    assert refused(app, request)
