"""POST /webhooks/twilio/sms and /status: X-Twilio-Signature over the URL Twilio used, TwiML."""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET

import pytest

from hub.simulate import SignedRequest
from tests.auxil.events import load_event, twilio_json_request, twilio_request
from tests.conftest import SECRETS, post
from tests.webhooks.conftest import assert_rejected

TOKEN = SECRETS["TWILIO_AUTH_TOKEN"]


def sms(body: str = "HELP") -> dict[str, str]:
    params = load_event("twilio", "sms.received")
    params["Body"] = body
    return params


def twiml_messages(response) -> list[str]:  # noqa: ANN001
    """The texts of the <Message> verbs, after checking the document is plain TwiML."""
    assert response.status_code == 200
    assert response.mimetype in ("application/xml", "text/xml")
    root = ET.fromstring(response.data)
    assert root.tag == "Response"
    assert all(child.tag == "Message" and len(child) == 0 for child in root)
    return [child.text or "" for child in root]


def test_help_is_answered_in_twiml(client, hub):
    response = post(client, twilio_request(TOKEN, sms("HELP")))

    [text] = twiml_messages(response)
    assert text.startswith("Commands:") and "HELP - list the commands" in text
    [event] = hub.store.events()
    assert (event.type, event.provider_id) == ("sms.received", "SM5f1c2e3d4b5a69788796a5b4c3d2e1f0")
    assert hub.store.outbox() == []


@pytest.mark.parametrize(
    "text",
    ["<Say>Call me</Say>", "fish & chips", "</Message><Redirect>https://evil.example</Redirect>", "]]>"],
)
def test_reply_text_is_escaped_so_nothing_is_injected(spy_app, text):
    response = post(spy_app.test_client(), twilio_request(TOKEN, sms(text)))

    assert twiml_messages(response) == [f"you said: {text}"]
    assert b"<Say>" not in response.data and b"<Redirect>" not in response.data


def test_characters_xml_cannot_carry_are_dropped_from_replies(spy_app):
    response = post(spy_app.test_client(), twilio_request(TOKEN, sms("a\x01b\x1bc")))

    assert twiml_messages(response) == ["you said: abc"]


def test_the_same_message_twice_is_handled_once(spy_app, spy_hub, runs):
    client = spy_app.test_client()
    request = twilio_request(TOKEN, sms("hello"))

    first, second = post(client, request), post(client, request)

    assert twiml_messages(first) == ["you said: hello"]
    assert twiml_messages(second) == []
    assert len(spy_hub.store.events()) == 1 and len(runs) == 1


def test_a_known_message_sid_with_a_different_body_is_flagged_and_not_merged(spy_app, spy_hub, runs, caplog):
    client = spy_app.test_client()

    post(client, twilio_request(TOKEN, sms("first")))
    second = post(client, twilio_request(TOKEN, sms("second")))

    assert twiml_messages(second) == []
    [event] = spy_hub.store.events()
    assert event.payload["Body"] == "first"
    assert [e.message.text for e in runs] == ["first"]
    assert any(r.levelname == "WARNING" and "different body" in r.getMessage() for r in caplog.records)


def test_the_stored_digest_is_of_the_form_body_twilio_sent(spy_app, spy_hub):
    request = twilio_request(TOKEN, sms("hello"))

    post(spy_app.test_client(), request)

    [event] = spy_hub.store.events()
    assert event.body_sha256 == hashlib.sha256(request.body).hexdigest()


def test_missing_signature_is_403(spy_app, spy_hub, runs):
    request = twilio_request(TOKEN, sms())
    del request.headers["X-Twilio-Signature"]

    assert_rejected(post(spy_app.test_client(), request), spy_hub, runs, 403, "missing_signature")


def test_missing_signature_is_403_whatever_the_content_type(spy_app, spy_hub, runs):
    response = spy_app.test_client().post("/webhooks/twilio/sms", data=b"x", content_type="text/plain")

    assert_rejected(response, spy_hub, runs, 403, "missing_signature")


def _tampered():  # noqa: ANN202
    request = twilio_request(TOKEN, sms("HELP"))
    request.body = request.body.replace(b"HELP", b"STOP")
    return request


REFUSED = {
    "wrong token": lambda: twilio_request("not-the-token", sms()),
    "body changed after signing": _tampered,
    "signed for another host": lambda: twilio_request(TOKEN, sms(), signed_base="https://other.example"),
    "signed for another scheme": lambda: twilio_request(TOKEN, sms(), signed_base="https://localhost"),
    "garbage signature": lambda: SignedRequest(
        "/webhooks/twilio/sms",
        b"From=%2B1&MessageSid=SM1",
        {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "éé=="},
    ),
}


@pytest.mark.parametrize("build", REFUSED.values(), ids=REFUSED.keys())
def test_a_bad_signature_is_403(spy_app, spy_hub, runs, build):
    assert_rejected(post(spy_app.test_client(), build()), spy_hub, runs, 403, "bad_signature")


def test_the_query_string_is_part_of_the_signed_url(spy_app, spy_hub, runs):
    client = spy_app.test_client()
    signed = twilio_request(TOKEN, sms(), query="tenant=a")
    assert post(client, signed).status_code == 200

    signed.path = "/webhooks/twilio/sms?tenant=b"  # same signature, different query
    signed.body = signed.body.replace(b"SM5f", b"SM6f")  # a new message, so not a duplicate

    assert post(client, signed).status_code == 403
    assert len(spy_hub.store.events()) == 1 and len(runs) == 1


class TestPublicUrl:
    """With HUB_PUBLIC_URL set, the signature is checked against it, not the request's URL."""

    @pytest.mark.parametrize(
        "public", ["https://x.example.com/prod", "https://x.example.com/prod/", "https://hub.example.org"]
    )
    def test_a_request_signed_for_the_public_url_passes(self, make_app, public):
        app = make_app({"HUB_PUBLIC_URL": public})

        request = twilio_request(TOKEN, sms(), signed_base=public.rstrip("/"), query="a=1&b=2")

        assert twiml_messages(post(app.test_client(), request))

    def test_a_request_signed_for_the_local_url_fails(self, make_app):
        app = make_app({"HUB_PUBLIC_URL": "https://x.example.com/prod"})

        response = post(app.test_client(), twilio_request(TOKEN, sms()))

        assert response.status_code == 403

    def test_forwarded_headers_do_not_override_the_public_url(self, make_app):
        app = make_app({"HUB_PUBLIC_URL": "https://x.example.com/prod"})
        request = twilio_request(TOKEN, sms(), signed_base="https://attacker.example")
        request.headers.update({"X-Forwarded-Proto": "https", "X-Forwarded-Host": "attacker.example"})

        assert post(app.test_client(), request).status_code == 403

    def test_an_app_mounted_under_the_stage_verifies(self, make_app):
        """Zappa mounts the app at the stage: SCRIPT_NAME=/prod, path /webhooks/twilio/sms."""
        app = make_app({"HUB_PUBLIC_URL": "https://x.example.com/prod"})
        request = twilio_request(TOKEN, sms(), signed_base="https://x.example.com/prod")

        response = app.test_client().post(
            request.path, base_url="http://localhost/prod", data=request.body, headers=request.headers
        )

        assert response.status_code == 200


def test_without_a_public_url_forwarded_proto_and_host_are_honoured(client):
    request = twilio_request(TOKEN, sms(), signed_base="https://hub.example.org")
    request.headers.update({"X-Forwarded-Proto": "https", "X-Forwarded-Host": "hub.example.org"})

    assert twiml_messages(post(client, request))


def test_without_forwarded_headers_the_proxied_url_does_not_verify(client):
    request = twilio_request(TOKEN, sms(), signed_base="https://hub.example.org")

    assert post(client, request).status_code == 403


@pytest.mark.parametrize("host", ["[", "a]b", "[::1"])
def test_a_forwarded_host_that_makes_no_url_is_403_not_500(spy_app, spy_hub, runs, host):
    request = twilio_request(TOKEN, sms())
    request.headers["X-Forwarded-Host"] = host

    assert_rejected(post(spy_app.test_client(), request), spy_hub, runs, 403, "bad_signature")


class TestJsonBodies:
    """Twilio signs JSON bodies by putting their SHA-256 in the URL as bodySHA256."""

    def test_a_signed_json_body_is_accepted(self, spy_app, runs):
        response = post(spy_app.test_client(), twilio_json_request(TOKEN, sms("hi")))

        assert twiml_messages(response) == ["you said: hi"]
        assert runs[0].payload["Body"] == "hi"

    def test_a_tampered_json_body_is_rejected(self, spy_app, spy_hub, runs):
        request = twilio_json_request(TOKEN, sms("hi"))
        request.body = request.body.replace(b'"hi"', b'"ho"')

        assert_rejected(post(spy_app.test_client(), request), spy_hub, runs, 403, "bad_signature")

    def test_a_json_body_without_body_sha256_is_rejected(self, spy_app, spy_hub, runs):
        request = twilio_json_request(TOKEN, sms("hi"))
        request.path = request.path.split("?")[0]

        assert_rejected(post(spy_app.test_client(), request), spy_hub, runs, 403, "bad_signature")

    def test_a_signed_json_body_that_is_not_an_object_is_400(self, spy_app, spy_hub, runs):
        request = twilio_json_request(TOKEN, json.dumps(["From", "+1"]))

        assert_rejected(post(spy_app.test_client(), request), spy_hub, runs, 400, "bad_payload")


def test_a_signed_message_without_from_or_sid_is_400(spy_app, spy_hub, runs):
    params = sms()
    del params["From"]

    assert_rejected(post(spy_app.test_client(), twilio_request(TOKEN, params)), spy_hub, runs, 400)


class TestStatusCallbacks:
    def test_a_signed_status_is_recorded_and_answered_204(self, spy_app, spy_hub, runs):
        params = load_event("twilio", "sms.status")

        response = post(spy_app.test_client(), twilio_request(TOKEN, params, source="twilio-status"))

        assert response.status_code in (200, 204)
        [event] = spy_hub.store.events()
        assert (event.type, event.provider_id) == ("sms.status", f"{params['MessageSid']}:delivered")
        assert len(runs) == 1

    def test_a_bad_signature_is_403(self, spy_app, spy_hub, runs):
        request = twilio_request("wrong-token", load_event("twilio", "sms.status"), source="twilio-status")

        assert_rejected(post(spy_app.test_client(), request), spy_hub, runs, 403, "bad_signature")

    def test_a_signature_for_the_sms_url_does_not_pass_on_the_status_url(self, spy_app, spy_hub, runs):
        request = twilio_request(TOKEN, load_event("twilio", "sms.status"))
        request.path = "/webhooks/twilio/status"

        assert_rejected(post(spy_app.test_client(), request), spy_hub, runs, 403, "bad_signature")
