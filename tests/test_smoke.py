from integrations.samples import google_push, stripe_event, telegram_message, twilio_sms
from tests.conftest import post


def test_stripe_event_is_stored_and_listed(client, hub, admin_headers):
    response = post(client, stripe_event(hub.settings, "invoice.paid", event_id="evt_1"))
    assert response.status_code == 200
    assert response.json["duplicate"] is False
    listed = client.get("/admin/api/events", headers=admin_headers).json
    assert [(e["source"], e["type"], e["status"]) for e in listed] == [("stripe", "invoice.paid", "done")]


def test_telegram_help_is_answered_in_the_webhook_response(client, hub):
    response = post(client, telegram_message(hub.settings, "/help", chat_id=42))
    assert response.status_code == 200
    assert response.json["method"] == "sendMessage"
    assert response.json["chat_id"] == "42"
    assert "/start" in response.json["text"]


def test_sms_help_is_answered_in_twiml(client, hub):
    response = post(client, twilio_sms(hub.settings, "http://localhost", "HELP"))
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    assert b"<Response><Message>Commands:" in response.data


def test_google_push_is_accepted(client, hub):
    response = post(client, google_push(hub.settings, number=7))
    assert response.status_code == 200
    assert hub.store.events(source="google")[0].provider_id == "hub-calendar-sample:7"
