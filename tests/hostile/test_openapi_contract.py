"""schemathesis against the app's own /openapi.json: no 5xx, every answer as documented."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from hub.services import hub_of
from integrations.samples import stripe_event
from tests.conftest import ADMIN_TOKEN, SECRETS, post

POSITIVE, NEGATIVE = GenerationMode.POSITIVE, GenerationMode.NEGATIVE
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]


@pytest.fixture
def api_schema(make_app):  # noqa: ANN001, ANN201
    app = make_app()
    # One real event, so the admin listings have something to describe.
    assert post(app.test_client(), stripe_event(hub_of(app).settings, "invoice.paid")).status_code == 200
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


# Only Stripe (or someone with its secret) can make a Stripe-Signature, and only PayPal's key
# a PayPal transmission signature; no schema can say which ones are valid, so a schema-valid
# request is refused (400) by contract. schemathesis.toml says the same for `st run`.
UNSIGNABLE = {"POST /webhooks/stripe", "POST /webhooks/paypal"}


def exercise(schema, *, examples: int, headers: dict[str, str] | None = None, checks=CHECKS) -> int:  # noqa: ANN001
    """Run every documented operation with generated requests (schemathesis' pytest plugin
    does not run under pytest 9, so the operations are driven through Hypothesis here)."""
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        chosen = [c for c in checks if c is not positive_data_acceptance or operation.label not in UNSIGNABLE]

        @given(case=st.one_of(operation.as_strategy(POSITIVE), operation.as_strategy(NEGATIVE)))
        @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
        def run(case) -> None:  # noqa: ANN001
            case.call_and_validate(headers=headers, checks=chosen)  # noqa: B023 - run() runs right here

        run()
    return operations


def test_anonymous_clients_get_only_documented_answers(api_schema) -> None:  # noqa: ANN001
    assert exercise(api_schema, examples=25) >= 10


def test_insiders_get_only_documented_answers(api_schema) -> None:  # noqa: ANN001
    """With the admin token and the shared-secret headers, requests reach the parsers."""
    insider = {
        "Authorization": f"Bearer {ADMIN_TOKEN}",
        "X-Telegram-Bot-Api-Secret-Token": SECRETS["TELEGRAM_WEBHOOK_SECRET"],
        "X-Goog-Channel-Token": SECRETS["GOOGLE_CHANNEL_TOKEN"],
    }
    # Fixed credentials undo the negative cases' credential mutations, and hub tolerates
    # unknown query parameters, so "negative data must be rejected" does not apply here;
    # with credentials, a request the schema calls valid must be accepted.
    checks = [c for c in CHECKS if c is not negative_data_rejection] + [positive_data_acceptance]
    assert exercise(api_schema, examples=25, headers=insider, checks=checks) >= 10


def test_the_document_describes_every_contract_endpoint(client) -> None:  # noqa: ANN001
    paths = client.get("/openapi.json").json["paths"]
    for path, method in [
        ("/webhooks/telegram", "post"),
        ("/webhooks/stripe", "post"),
        ("/webhooks/twilio/sms", "post"),
        ("/webhooks/twilio/status", "post"),
        ("/webhooks/google/calendar", "post"),
        ("/healthz", "get"),
        ("/admin/api/events", "get"),
        ("/admin/api/outbox", "get"),
        ("/admin/api/events/{event_id}/replay", "post"),
    ]:
        assert method in paths.get(path, {}), f"{method.upper()} {path} is not documented"
    assert "413" in paths["/webhooks/stripe"]["post"]["responses"]
    assert paths["/admin/api/events"]["get"]["security"] == [{"adminBearer": []}]
