"""PAYPAL_* settings: malformed values stop start-up by name; the environment picks the signer."""

from __future__ import annotations

import pytest

from hub.errors import ConfigError
from hub.services import hub_of
from integrations.paypal_certs import SIGNER_NAMES
from integrations.paypal_dev import issue, new_key, pem
from tests.conftest import post
from tests.paypal.conftest import delivery, paypal_body


@pytest.mark.parametrize(
    "name, value, hint",
    [
        ("PAYPAL_ENVIRONMENT", "production", "sandbox or live"),
        ("PAYPAL_API_URL", "api-m.paypal.com", "https://"),
        ("PAYPAL_CA_BUNDLE", "/nonexistent/roots.pem", "readable PEM file"),
    ],
)
def test_a_malformed_value_stops_start_up_naming_it(make_app, name, value, hint):
    with pytest.raises(ConfigError) as raised:
        make_app({name: value})
    assert name in str(raised.value) and hint in str(raised.value)


def test_the_defaults_are_the_sandbox_and_certifis_roots(hub):
    assert (hub.settings.paypal_environment, hub.settings.paypal_ca_bundle) == ("sandbox", "")


def test_the_client_secret_is_scrubbed(make_app, live_config):
    settings = hub_of(make_app(live_config)).settings
    assert live_config["PAYPAL_CLIENT_SECRET"] in settings.secret_values()


def test_a_live_hub_expects_the_live_signer(make_app, live_config, pki, paypal, chat):
    app = make_app({**live_config, "PAYPAL_ENVIRONMENT": "live"})
    sandbox_signed = post(app.test_client(), delivery(paypal_body("PAYMENT.CAPTURE.DENIED"), pki.leaf_key))
    assert sandbox_signed.status_code == 400 and sandbox_signed.json["error"] == "bad_certificate"
    key = new_key()
    paypal.cert_pem = pem(issue(key, SIGNER_NAMES["live"], issuer=pki.intermediate), pki.intermediate[1])
    url = "https://api-m.paypal.com/v1/notifications/certs/CERT-live-1"
    live_signed = post(app.test_client(), delivery(paypal_body("PAYMENT.CAPTURE.DENIED"), key, cert_url=url))
    assert live_signed.status_code == 200
