"""PayPal as one declaration: every part the provider registry (issue 11, part 1) will read.

Plain data, names by "module:attribute" string, nothing imported: loading it costs nothing
on a cold start. Until the registry exists, hub's tables (webhooks.INTAKES, simulate,
setup-webhooks, doctor, the dashboard card, /openapi.json, config) point at the same
objects; `tests/paypal/test_provider.py` checks that every name here resolves and that
those tables agree with it.
"""

from __future__ import annotations

PAYPAL = {
    "name": "paypal",
    "routes": {"/webhooks/paypal": "paypal"},  # path -> webhooks.INTAKES key
    "verifier": "integrations.paypal:verify",
    "responder": "integrations.paypal:respond",
    "secret_setting": "PAYPAL_WEBHOOK_ID",  # unset, and not in dry-run: 503 source_disabled
    "senders": {},  # PayPal is no chat channel: it asks (orders) and tells nothing itself
    "asks": {
        "orders.create": "integrations.paypal_api:create_order",
        "orders.capture": "integrations.paypal_api:capture_order",
    },
    "webhook_setup": "integrations.paypal_api:ensure_webhook",
    "doctor_check": "integrations.paypal_api:check",
    "simulate": {
        "samples": "hub/samples/paypal",
        "sign": "hub.simulate:paypal_event",
        "dev_signer": "integrations.paypal_dev:dev_signer",
    },
    "settings": {  # name -> secret (masked when shown)
        "PAYPAL_CLIENT_ID": True,
        "PAYPAL_CLIENT_SECRET": True,
        "PAYPAL_WEBHOOK_ID": False,
        "PAYPAL_ENVIRONMENT": False,
        "PAYPAL_API_URL": False,
        "PAYPAL_CA_BUNDLE": False,
    },
    "handlers": "handlers.paypal",
}
