"""PayPal where every provider appears: dashboard, /openapi.json, `hub simulate`, cold start."""

from __future__ import annotations

from hub.cli import main
from hub.services import hub_of
from tests.auxil.server import serving
from tests.paypal.fake_paypal import CLIENT_SECRET


def test_the_dashboard_card_shows_paypal_without_its_secret(make_app, live_config, admin_headers):
    app = make_app(live_config)
    html = app.test_client().get("/admin", headers=admin_headers).get_data(as_text=True)
    assert "PayPal" in html and "PAYPAL_CLIENT_SECRET" in html and "PAYPAL_WEBHOOK_ID" in html
    assert CLIENT_SECRET not in html
    assert live_config["PAYPAL_WEBHOOK_ID"] in html, "the webhook id is no secret: shown to compare"


def test_in_dry_run_the_webhook_id_is_a_development_value(client, admin_headers):
    from hub.admin.integrations import integration_table

    html = client.get("/admin", headers=admin_headers).get_data(as_text=True)
    assert "PayPal" in html
    settings = hub_of(client.application).settings
    [paypal] = [row for row in integration_table(settings) if row.name == "PayPal"]
    assert {s.name: s.state for s in paypal.settings}["PAYPAL_WEBHOOK_ID"] == "development"
    assert paypal.readiness == "dry-run"


def test_openapi_describes_the_paypal_webhook(client):
    operation = client.get("/openapi.json").json["paths"]["/webhooks/paypal"]["post"]
    headers = {p["name"] for p in operation["parameters"] if p["required"]}
    assert headers == {
        "PAYPAL-TRANSMISSION-ID",
        "PAYPAL-TRANSMISSION-TIME",
        "PAYPAL-TRANSMISSION-SIG",
        "PAYPAL-CERT-URL",
        "PAYPAL-AUTH-ALGO",
    }
    assert {"200", "400", "503"} <= set(operation["responses"])


def test_simulate_help_names_paypal(app):
    result = app.test_cli_runner().invoke(main, ["simulate", "--help"])
    assert result.exit_code == 0 and "paypal" in result.output


def test_hub_simulate_paypal_reaches_a_running_dry_run_hub(make_app):
    app = make_app()
    with serving(app) as url:
        args = ["simulate", "paypal", "CHECKOUT.ORDER.APPROVED", "--url", url]
        result = app.test_cli_runner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "POST /webhooks/paypal -> 200" in result.output
    [event] = hub_of(app).store.events(source="paypal")
    assert event.type == "CHECKOUT.ORDER.APPROVED" and event.status == "done"
    assert [e.action for e in hub_of(app).store.outbox()] == ["orders.capture"]


def test_simulating_an_unknown_paypal_type_names_the_known_ones(app):
    result = app.test_cli_runner().invoke(main, ["simulate", "paypal", "PAYMENT.NOPE"])
    assert result.exit_code != 0 and "PAYMENT.CAPTURE.COMPLETED" in result.output


def test_the_playground_sends_paypal_events_about_its_chat(make_app):
    from hub.playground import PLAYGROUND_CHAT_ID
    from tests.operator.admin_session import log_in

    app = make_app()
    client = app.test_client()
    csrf = log_in(client)

    def say(text):  # noqa: ANN001, ANN202
        return client.post(
            "/admin/playground/send", json={"channel": "paypal", "text": text}, headers={"X-CSRF-Token": csrf}
        )

    result = say("payment.capture.completed").json
    assert result["webhook_status"] == 200 and result["event"]["status"] == "done"
    [message] = [o for o in result["outbox"] if o["integration"] == "telegram"]
    assert message["payload"]["chat_id"] == str(PLAYGROUND_CHAT_ID)
    assert message["text"] == "Payment received: 15.00 EUR with PayPal. Thank you!"
    refused = say("../stripe/invoice.paid")
    assert refused.status_code == 400 and "PAYMENT.CAPTURE.COMPLETED" in refused.json["message"]
    assert 'data-channel="paypal"' in client.get("/admin/playground").get_data(as_text=True)
