"""`POST /webhooks/paypal`: PayPal's signature checked offline against a certificate chain.

The certificate comes from the fake PayPal on 127.0.0.1 (PAYPAL_API_URL), its root is
trusted through PAYPAL_CA_BUNDLE; everything else is the real intake path.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from hub.services import hub_of
from integrations.paypal import HEADERS
from integrations.paypal_certs import SIGNER_NAMES
from integrations.paypal_dev import issue, new_key, pem
from integrations.samples import paypal_event
from tests.conftest import post
from tests.paypal.conftest import CERT_URL, delivery, now_text, paypal_body, signed


def rejected(response, code: str, hub) -> None:  # noqa: ANN001
    assert response.status_code == 400, response.json
    assert response.json["error"] == code
    assert set(response.json) == {"error", "message"}
    assert hub.store.events(source="paypal") == [], "a rejected delivery stores nothing"


def test_a_signed_delivery_is_stored_once_under_its_event_id(live, pki, paypal):
    client, hub = live
    deliveries = [signed(pki, "PAYMENT.CAPTURE.DENIED", event_id="WH-8PT597110X687430LKGECATA") for _ in "ab"]
    answers = [post(client, d) for d in deliveries]  # PayPal signs each retry anew
    assert [a.status_code for a in answers] == [200, 200]
    assert [a.json["duplicate"] for a in answers] == [False, True]
    [event] = hub.store.events(source="paypal")
    assert (event.provider_id, event.type) == ("WH-8PT597110X687430LKGECATA", "PAYMENT.CAPTURE.DENIED")
    assert paypal.cert_fetches == 1, "the checked certificate is cached by URL"


def test_the_cached_certificate_is_shared_through_the_cache(
    make_app, live_config, redis_config, pki, paypal, chat
):
    config = {**live_config, **redis_config}
    first, second = make_app(config), make_app(config)  # two instances, one Redis
    assert post(first.test_client(), signed(pki, "PAYMENT.CAPTURE.DENIED")).status_code == 200
    assert post(second.test_client(), signed(pki, "PAYMENT.CAPTURE.DENIED")).status_code == 200
    assert paypal.cert_fetches == 1


def test_tampered_body(live, pki):
    client, hub = live
    request = signed(pki, "PAYMENT.CAPTURE.COMPLETED")
    tampered = dataclasses.replace(request, body=request.body.replace(b"15.00", b"1500.00"))
    rejected(post(client, tampered), "bad_signature", hub)


def test_signed_for_another_webhook_id(live, pki):
    client, hub = live
    rejected(
        post(client, signed(pki, "PAYMENT.CAPTURE.COMPLETED", webhook_id="WH-SOMEONE-ELSES")),
        "bad_signature",
        hub,
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/v1/notifications/certs/CERT-1",
        "https://api.sandbox.paypal.com.evil.example.com/v1/notifications/certs/CERT-1",
        "http://api.sandbox.paypal.com/v1/notifications/certs/CERT-1",
        "https://user@api.sandbox.paypal.com/v1/notifications/certs/CERT-1",
        "https://api.sandbox.paypal.com:8443/v1/notifications/certs/CERT-1",
        "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-1?x=1",
        "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-1#x",
        "https://api.sandbox.paypal.com/v1/other/CERT-1",
        "https://api.sandbox.paypal.com/v1/notifications/certs/../../oauth2/token",
        "https://api.sandbox.paypal.com/v1/notifications/certs/%2e%2e/%2e%2e/oauth2/token",
        "https://api.sandbox.paypal.com/v1/notifications/certs/a/b",
        "https://api.sandbox.paypal.com/v1/notifications/certs/",
        "https://API.sandbox.paypal.com/v1/notifications/certs/CERT-1",
        # The same URL to a browser, but not the text PayPal sends: one spelling, one cache key.
        "hTtps://api.sandbox.paypal.com/v1/notifications/certs/CERT-1",
        "HTTPS://api.sandbox.paypal.com/v1/notifications/certs/CERT-1",
        "https://www.paypal.com/v1/notifications/certs/CERT-1",
        "hub-dev:paypal-cert/0123456789abcdef",
    ],
)
def test_foreign_certificate_urls_are_refused_before_any_fetch(live, pki, paypal, url):
    client, hub = live
    rejected(post(client, signed(pki, "PAYMENT.CAPTURE.COMPLETED", cert_url=url)), "foreign_cert_url", hub)
    assert paypal.cert_fetches == 0


@pytest.mark.parametrize("host", ["api.paypal.com", "api-m.paypal.com", "api-m.sandbox.paypal.com"])
def test_every_paypal_api_host_is_accepted(live, pki, host):
    client, _ = live
    url = CERT_URL.replace("api.sandbox.paypal.com", host)
    assert post(client, signed(pki, "PAYMENT.CAPTURE.DENIED", cert_url=url)).status_code == 200


def _served(paypal, *certs) -> None:  # noqa: ANN001
    paypal.cert_pem = pem(*certs)


def test_a_self_signed_certificate_with_paypals_name(live, pki, paypal):
    client, hub = live
    key = new_key()
    _served(paypal, issue(key, SIGNER_NAMES["sandbox"]))
    rejected(post(client, delivery(paypal_body("PAYMENT.CAPTURE.COMPLETED"), key)), "bad_certificate", hub)


def test_an_expired_certificate(live, pki, paypal):
    client, hub = live
    key = new_key()
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)
    _served(
        paypal,
        issue(key, SIGNER_NAMES["sandbox"], issuer=pki.intermediate, not_before=long_ago),
        pki.intermediate[1],
    )
    rejected(post(client, delivery(paypal_body("PAYMENT.CAPTURE.COMPLETED"), key)), "bad_certificate", hub)


@pytest.mark.parametrize("name", [SIGNER_NAMES["live"], "messageverificationcerts.paypal.com.evil.example"])
def test_a_certificate_for_another_name(live, pki, paypal, name):
    client, hub = live  # a sandbox hub expects the sandbox signer
    key = new_key()
    _served(paypal, issue(key, name, issuer=pki.intermediate), pki.intermediate[1])
    rejected(post(client, delivery(paypal_body("PAYMENT.CAPTURE.COMPLETED"), key)), "bad_certificate", hub)


def test_a_chain_without_its_intermediate(live, pki, paypal):
    client, hub = live
    paypal.cert_pem = pki.chain_pem.split(b"-----END CERTIFICATE-----")[0] + b"-----END CERTIFICATE-----\n"
    rejected(post(client, signed(pki, "PAYMENT.CAPTURE.COMPLETED")), "bad_certificate", hub)


@pytest.mark.parametrize("algorithm", ["SHA1withRSA", "SHA256withECDSA", "sha256withrsa", "none"])
def test_another_algorithm(live, pki, algorithm):
    client, hub = live
    request = signed(pki, "PAYMENT.CAPTURE.COMPLETED", algorithm=algorithm)
    rejected(post(client, request), "bad_algorithm", hub)


@pytest.mark.parametrize("offset", [-301, 301, -86400])
def test_a_stale_or_future_transmission_time(live, pki, offset):
    client, hub = live
    request = signed(pki, "PAYMENT.CAPTURE.COMPLETED", time=now_text(offset))
    rejected(post(client, request), "stale_transmission", hub)


@pytest.mark.parametrize("header", HEADERS)
def test_a_missing_transmission_header(live, pki, header):
    client, hub = live
    request = signed(pki, "PAYMENT.CAPTURE.COMPLETED")
    del request.headers[header]
    rejected(post(client, request), "missing_signature", hub)


@pytest.mark.parametrize("value", ["not base64!", "", "AAAA"])
def test_a_malformed_signature(live, pki, value):
    client, hub = live
    request = signed(pki, "PAYMENT.CAPTURE.COMPLETED")
    request.headers["PAYPAL-TRANSMISSION-SIG"] = value
    rejected(post(client, request), "missing_signature" if not value else "bad_signature", hub)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"id": "WH-1"}',
        b'{"id": 1, "event_type": "X"}',
        b'{"id": "WH-1", "event_type": "X", "n": NaN}',
        b"\xff\xfe",
    ],
)
def test_a_signed_bad_payload(live, pki, body):
    client, hub = live
    rejected(post(client, delivery(body, pki.leaf_key)), "bad_payload", hub)


@pytest.mark.parametrize("status", [404, 500, 503])
def test_a_certificate_that_cannot_be_fetched_is_503_so_paypal_retries(live, pki, paypal, status):
    client, hub = live
    paypal.cert_status = status
    response = post(client, signed(pki, "PAYMENT.CAPTURE.COMPLETED"))
    assert response.status_code == 503 and response.json["error"] == "cert_unavailable"
    assert hub.store.events(source="paypal") == []
    paypal.cert_status = 200  # PayPal delivers again: now it goes through
    assert post(client, signed(pki, "PAYMENT.CAPTURE.COMPLETED")).status_code == 200


def test_a_redirected_certificate_url_is_not_followed(live, pki, paypal):
    # A redirect could lead off PayPal's hosts: a failed fetch (503), never a second request.
    client, hub = live
    paypal.cert_redirect = f"{paypal.url}/v1/notifications/certs/CERT-elsewhere"
    response = post(client, signed(pki, "PAYMENT.CAPTURE.COMPLETED"))
    assert response.status_code == 503 and response.json["error"] == "cert_unavailable"
    assert paypal.cert_fetches == 1 and hub.store.events(source="paypal") == []


def test_an_unreachable_certificate_host_is_503(make_app, live_config, pki):
    app = make_app({**live_config, "PAYPAL_API_URL": "http://127.0.0.1:9"})  # discard port: refused
    response = post(app.test_client(), signed(pki, "PAYMENT.CAPTURE.COMPLETED"))
    assert response.status_code == 503 and response.json["error"] == "cert_unavailable"


def test_an_oversized_certificate_document_is_refused(live, pki, paypal):
    client, hub = live
    paypal.cert_pem = pki.chain_pem + b"#" * 70_000
    rejected(post(client, signed(pki, "PAYMENT.CAPTURE.COMPLETED")), "bad_certificate", hub)


def test_unconfigured_and_live_the_source_is_disabled(make_app):
    app = make_app({"HUB_DRY_RUN": "0"})
    response = app.test_client().post("/webhooks/paypal", json={})
    assert response.status_code == 503 and response.json["error"] == "source_disabled"


# -- the development certificate: dry-run only -------------------------------------------------


def test_a_dry_run_hub_accepts_hub_simulate_paypal(client, hub):
    response = post(client, paypal_event(hub.settings, "PAYMENT.CAPTURE.DENIED"))
    assert response.status_code == 200 and response.json["duplicate"] is False
    assert hub.store.events(source="paypal")[0].type == "PAYMENT.CAPTURE.DENIED"


def test_a_live_hub_refuses_the_development_certificate(make_app, live_config, paypal, chat):
    dry = make_app()
    simulated = paypal_event(hub_of(dry).settings, "PAYMENT.CAPTURE.DENIED")
    live_app = make_app({**live_config, "PAYPAL_WEBHOOK_ID": hub_of(dry).settings.paypal_webhook_id})
    live_hub = hub_of(live_app)
    rejected(post(live_app.test_client(), simulated), "foreign_cert_url", live_hub)
    # Served from a PayPal URL, the development chain still leads to no root a live hub trusts.
    from integrations.paypal_dev import dev_signer

    signer = dev_signer(hub_of(dry).settings)
    paypal.cert_pem = pem(signer.leaf, signer.ca)
    request = delivery(
        paypal_body("PAYMENT.CAPTURE.DENIED"), signer.key, webhook_id=live_hub.settings.paypal_webhook_id
    )
    rejected(post(live_app.test_client(), request), "bad_certificate", live_hub)


def test_a_dry_run_hub_refuses_another_instances_development_certificate(make_app, tmp_path):
    other = make_app({"HUB_INSTANCE_PATH": str(tmp_path / "other")})
    app = make_app()
    simulated = paypal_event(hub_of(other).settings, "PAYMENT.CAPTURE.DENIED")
    rejected(post(app.test_client(), simulated), "bad_certificate", hub_of(app))


def test_the_development_certificate_is_made_once_and_kept_private(make_app, hub):
    from pathlib import Path

    from integrations.paypal_dev import FILE_NAME

    paypal_event(hub.settings, "PAYMENT.CAPTURE.DENIED")
    path = Path(hub.settings.instance_path) / FILE_NAME
    text = path.read_text()
    assert path.stat().st_mode & 0o077 == 0
    paypal_event(hub_of(make_app()).settings, "PAYMENT.CAPTURE.DENIED")
    assert path.read_text() == text
    assert "hub development CA (not PayPal)" in _issuer_names(text)


def _issuer_names(text: str) -> str:
    from cryptography import x509

    certs = x509.load_pem_x509_certificates(text[text.index("-----BEGIN CERTIFICATE-----") :].encode())
    return " ".join(c.issuer.rfc4514_string() for c in certs)
