"""PayPal fixtures: a generated root -> intermediate -> signing certificate chain, a fake
PayPal on 127.0.0.1 serving it, and live hubs that trust that root."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hub.services import hub_of
from hub.simulate import SignedRequest, load_sample
from integrations.paypal_certs import SIGNER_NAMES
from integrations.paypal_dev import issue, new_key, pem, sign
from tests.payments.wire import LIVE, telegram_api
from tests.paypal.fake_paypal import CLIENT_ID, CLIENT_SECRET, FakePayPal, fake_paypal

WEBHOOK_ID = "WH-4SW78779LY2325805-07E03580SX1414828"
CERT_URL = "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77"


@dataclass
class Pki:
    """PayPal's chain as PayPal serves it (leaf then intermediate), and its root."""

    root_pem: bytes
    chain_pem: bytes
    leaf_key: Any
    intermediate: tuple[Any, Any]  # (key, certificate), to issue odd leaves with


@pytest.fixture(scope="session")
def pki() -> Pki:
    root_key, intermediate_key, leaf_key = new_key(), new_key(), new_key()
    root = issue(root_key, "Test Root CA", ca=True, days=3650)
    intermediate = issue(intermediate_key, "Test Intermediate CA", issuer=(root_key, root), ca=True)
    leaf = issue(leaf_key, SIGNER_NAMES["sandbox"], issuer=(intermediate_key, intermediate))
    return Pki(pem(root), pem(leaf, intermediate), leaf_key, (intermediate_key, intermediate))


@pytest.fixture
def roots_file(tmp_path: Path, pki: Pki) -> Path:
    path = tmp_path / "roots.pem"
    path.write_bytes(pki.root_pem)
    return path


@pytest.fixture
def paypal(pki: Pki) -> Iterator[FakePayPal]:
    with fake_paypal(pki.chain_pem) as fake:
        yield fake


@pytest.fixture
def live_config(paypal: FakePayPal, roots_file: Path) -> dict[str, str]:
    return {
        **LIVE,
        "PAYPAL_CLIENT_ID": CLIENT_ID,
        "PAYPAL_CLIENT_SECRET": CLIENT_SECRET,
        "PAYPAL_WEBHOOK_ID": WEBHOOK_ID,
        "PAYPAL_API_URL": paypal.url,
        "PAYPAL_CA_BUNDLE": str(roots_file),
    }


@pytest.fixture
def chat() -> Iterator[list[dict[str, Any]]]:
    """The Bot API on respx (PTB sends with httpx): the sendMessage calls, as they arrive."""
    with telegram_api() as sent:
        yield sent


@pytest.fixture
def live(make_app, live_config, chat):  # noqa: ANN001, ANN201
    """(test client, hub): dry-run off, PayPal pointed at the fake, its root trusted."""
    app = make_app(live_config)
    return app.test_client(), hub_of(app)


def now_text(offset: float = 0) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=offset)).strftime("%Y-%m-%dT%H:%M:%SZ")


def paypal_body(type: str, resource: dict[str, Any] | None = None, *, event_id: str = "") -> bytes:
    event = load_sample("paypal", type)
    event["id"] = event_id or "WH-" + secrets.token_hex(8).upper()
    if resource is not None:
        event["resource"] = resource
    return json.dumps(event).encode()


def delivery(
    body: bytes,
    key: Any,
    *,
    webhook_id: str = WEBHOOK_ID,
    cert_url: str = CERT_URL,
    time: str = "",
    algorithm: str = "SHA256withRSA",
) -> SignedRequest:
    """A delivery of `body` as PayPal makes it, signed with `key` for `webhook_id`."""
    transmission_id = secrets.token_hex(16)
    time = time or now_text()
    return SignedRequest(
        "/webhooks/paypal",
        body,
        {
            "Content-Type": "application/json",
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-TIME": time,
            "PAYPAL-TRANSMISSION-SIG": sign(key, transmission_id, time, webhook_id, body),
            "PAYPAL-CERT-URL": cert_url,
            "PAYPAL-AUTH-ALGO": algorithm,
        },
    )


def signed(pki: Pki, type: str, resource: dict[str, Any] | None = None, **kwargs: Any) -> SignedRequest:
    event_id = kwargs.pop("event_id", "")
    return delivery(paypal_body(type, resource, event_id=event_id), pki.leaf_key, **kwargs)
