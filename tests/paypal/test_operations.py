"""`hub setup-webhooks` and `hub doctor` for PayPal, against the fake PayPal on 127.0.0.1."""

from __future__ import annotations

import pytest

from hub.cli import main
from hub.services import hub_of
from tests.paypal.conftest import WEBHOOK_ID

URL = "https://abc123def4.execute-api.eu-west-1.amazonaws.com/prod"
TARGET = f"{URL}/webhooks/paypal"
HANDLED = [
    "CHECKOUT.ORDER.APPROVED",
    "PAYMENT.CAPTURE.COMPLETED",
    "PAYMENT.CAPTURE.DENIED",
    "PAYMENT.CAPTURE.REFUNDED",
]


@pytest.fixture
def operator(make_app, live_config):  # noqa: ANN001, ANN201
    """A live PayPal-only configuration (the other providers are skipped)."""
    config = {k: v for k, v in live_config.items() if k.startswith(("PAYPAL_", "HUB_"))}
    return make_app({**config, "HUB_STAGE": "prod", "HUB_PUBLIC_URL": URL})


def invoke(app, *args):  # noqa: ANN001, ANN201
    return app.test_cli_runner().invoke(main, list(args))


def paypal_line(output: str) -> str:
    [line] = [line for line in output.splitlines() if line.startswith("paypal")]
    return line


def writes(paypal) -> list:  # noqa: ANN001
    return [r for r in paypal.requests if r["method"] in ("POST", "PATCH") and "/notifications/" in r["path"]]


def test_the_handled_types_are_the_routers(operator):
    registered = sorted(t for (s, t) in hub_of(operator).router.registrations() if s == "paypal")
    assert registered == HANDLED


def test_first_run_creates_the_webhook_and_prints_its_id(operator, paypal):
    result = invoke(operator, "setup-webhooks", "--url", URL)
    assert result.exit_code == 0, result.output
    [webhook] = paypal.webhooks.values()
    assert webhook["url"] == TARGET
    assert sorted(t["name"] for t in webhook["event_types"]) == HANDLED
    assert f"Set PAYPAL_WEBHOOK_ID={webhook['id']}" in paypal_line(result.output)
    assert paypal.tokens_issued == 1


def test_second_run_changes_nothing(operator, paypal):
    invoke(operator, "setup-webhooks", "--url", URL)
    before = len(writes(paypal))
    result = invoke(operator, "setup-webhooks", "--url", URL)
    assert result.exit_code == 0 and paypal_line(result.output).split()[1] == "unchanged"
    assert len(writes(paypal)) == before and len(paypal.webhooks) == 1


def test_other_event_types_are_replaced_by_the_handled_ones(operator, paypal):
    old = [{"name": "PAYMENT.SALE.COMPLETED"}]
    paypal.webhooks["WH-OLD"] = {"id": "WH-OLD", "url": TARGET, "event_types": old}
    result = invoke(operator, "setup-webhooks", "--url", URL)
    assert paypal_line(result.output).split()[1] == "update"
    assert "Set PAYPAL_WEBHOOK_ID=WH-OLD" in result.output, "the configured id is another one"
    assert sorted(t["name"] for t in paypal.webhooks["WH-OLD"]["event_types"]) == HANDLED


def test_dry_run_sends_no_change(operator, paypal):
    result = invoke(operator, "setup-webhooks", "--url", URL, "--dry-run")
    assert result.exit_code == 0 and paypal_line(result.output).split()[1] == "create"
    assert writes(paypal) == [] and paypal.webhooks == {}


def test_doctor_checks_oauth_and_the_webhook_id(operator, paypal):
    paypal.webhooks[WEBHOOK_ID] = {"id": WEBHOOK_ID, "url": TARGET, "event_types": []}
    line = paypal_line_of_doctor(operator)
    assert line.split()[0] == "ok" and WEBHOOK_ID in line and TARGET in line


def test_doctor_fails_on_a_webhook_id_paypal_does_not_know(operator, paypal):
    line = paypal_line_of_doctor(operator)
    assert line.split()[0] == "FAIL" and "run hub setup-webhooks" in line


def test_doctor_fails_without_a_webhook_id_once_oauth_works(make_app, live_config, paypal):
    app = make_app({**live_config, "PAYPAL_WEBHOOK_ID": "", "HUB_STAGE": "prod"})
    line = paypal_line_of_doctor(app)
    assert line.split()[0] == "FAIL" and "OAuth works, but PAYPAL_WEBHOOK_ID is unset" in line
    assert paypal.tokens_issued == 1


def test_doctor_fails_on_refused_credentials_without_showing_them(make_app, live_config, paypal):
    app = make_app({**live_config, "PAYPAL_CLIENT_SECRET": "wrong-secret-4567", "HUB_STAGE": "prod"})
    line = paypal_line_of_doctor(app)
    assert line.split()[0] == "FAIL" and "refused PAYPAL_CLIENT_ID/PAYPAL_CLIENT_SECRET (HTTP 401)" in line
    assert "wrong-secret" not in line


def paypal_line_of_doctor(app) -> str:  # noqa: ANN001
    result = invoke(app, "doctor")
    [line] = [ln for ln in result.output.splitlines() if ln.split()[1:2] == ["paypal"]]
    return line
