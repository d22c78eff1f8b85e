"""Property tests of every verifier: what the sender signed passes, any change is refused.

Each verifier runs on a real Flask request built from generated bodies and headers;
"refused" means it raised a hub error with a 4xx status (never an Event, never a crash).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from urllib.parse import urlencode

from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

import integrations.google_webhook as google
import integrations.stripe as stripe_intake
import integrations.telegram_webhook as telegram
import integrations.twilio as twilio
from hub.errors import HubError
from hub.events import Event
from tests.conftest import SECRETS
from tests.hostile.conftest import STRIPE_SECRETS, run

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TOLERANCE = stripe_intake.TOLERANCE_SECONDS

text = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40)
ids = st.text("abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=24)


def mutate(data: bytes, position: int, byte: int) -> bytes:
    """Replace one byte with a different one (so the result always differs)."""
    position %= len(data)
    new = byte if byte != data[position] else (byte + 1) % 256
    return data[:position] + bytes([new]) + data[position + 1 :]


# -- Stripe ---------------------------------------------------------------------------------

stripe_events = st.fixed_dictionaries(
    {"id": ids.map("evt_".__add__), "type": st.sampled_from(["invoice.paid", "a.b"]), "data": st.just({})},
    optional={"note": text, "amount": st.integers()},
)


def stripe_request(event: dict, secret: str, offset: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event)
    header = stripe_intake.signature_header(body, secret, int(time.time()) + offset)
    return body.encode(), {"Content-Type": "application/json", "Stripe-Signature": header}


@SETTINGS
@given(
    event=stripe_events,
    secret=st.sampled_from(STRIPE_SECRETS),
    offset=st.integers(-TOLERANCE + 20, TOLERANCE - 20),
)
def test_stripe_signed_events_within_the_tolerance_pass(app, event, secret, offset) -> None:  # noqa: ANN001
    verdict = run(app, stripe_intake.verify, "/webhooks/stripe", *stripe_request(event, secret, offset))
    assert isinstance(verdict, Event) and verdict.provider_id == event["id"]


@SETTINGS
@given(event=stripe_events, position=st.integers(0, 10**6), byte=st.integers(0, 255))
def test_stripe_any_changed_body_byte_is_refused(app, event, position, byte) -> None:  # noqa: ANN001
    body, headers = stripe_request(event, STRIPE_SECRETS[0], 0)
    changed = mutate(body, position, byte)
    assert isinstance(run(app, stripe_intake.verify, "/webhooks/stripe", changed, headers), HubError)


@SETTINGS
@given(event=stripe_events, position=st.integers(0, 10**6), char=st.sampled_from("0123456789abcdef,=tv "))
def test_stripe_any_changed_signature_header_is_refused(app, event, position, char) -> None:  # noqa: ANN001
    body, headers = stripe_request(event, STRIPE_SECRETS[0], 0)
    header = headers["Stripe-Signature"]
    position %= len(header)
    assume(header[position] != char)
    headers["Stripe-Signature"] = header[:position] + char + header[position + 1 :]
    assert isinstance(run(app, stripe_intake.verify, "/webhooks/stripe", body, headers), HubError)


@SETTINGS
@given(event=stripe_events, shift=st.integers(1, 10**6))
def test_stripe_a_re_signed_timestamp_without_the_secret_is_refused(app, event, shift) -> None:  # noqa: ANN001
    """A replay with a fresh `t=` but the old `v1=` (what an attacker can forge) fails."""
    body, headers = stripe_request(event, STRIPE_SECRETS[0], -shift)
    stamp = headers["Stripe-Signature"].split(",")[0]
    headers["Stripe-Signature"] = headers["Stripe-Signature"].replace(stamp, f"t={int(time.time())}")
    assert isinstance(run(app, stripe_intake.verify, "/webhooks/stripe", body, headers), HubError)


@SETTINGS
@given(
    event=stripe_events,
    offset=st.one_of(st.integers(TOLERANCE + 5, 10**8), st.integers(-(10**8), -TOLERANCE - 5)),
)
def test_stripe_correctly_signed_but_outside_the_tolerance_is_refused(app, event, offset) -> None:  # noqa: ANN001
    signed = stripe_request(event, STRIPE_SECRETS[0], offset)
    verdict = run(app, stripe_intake.verify, "/webhooks/stripe", *signed)
    assert isinstance(verdict, HubError) and verdict.code == "bad_signature"


@SETTINGS
@given(event=stripe_events)
def test_stripe_signed_with_an_unknown_secret_is_refused(app, event) -> None:  # noqa: ANN001
    verdict = run(app, stripe_intake.verify, "/webhooks/stripe", *stripe_request(event, "whsec_attacker", 0))
    assert isinstance(verdict, HubError)


# -- Twilio (form bodies) ---------------------------------------------------------------------

SMS = "/webhooks/twilio/sms"
form_params = st.dictionaries(
    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12).filter(
        lambda k: k not in ("From", "MessageSid")
    ),
    text,
    max_size=5,
).map(lambda extra: {"From": "+15550001111", "MessageSid": "SM" + "0" * 32, **extra})


def twilio_form(params: dict[str, str], url: str = "http://localhost" + SMS) -> tuple[bytes, dict[str, str]]:
    signature = twilio.signature(url, params, SECRETS["TWILIO_AUTH_TOKEN"])
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
    return urlencode(params).encode(), headers


@SETTINGS
@given(params=form_params)
def test_twilio_signed_forms_pass(app, params) -> None:  # noqa: ANN001
    verdict = run(app, twilio.verify_sms, SMS, *twilio_form(params))
    assert isinstance(verdict, Event) and verdict.payload == params


@SETTINGS
@given(params=form_params, data=st.data())
def test_twilio_any_changed_parameter_is_refused(app, params, data) -> None:  # noqa: ANN001
    _, headers = twilio_form(params)
    changed = dict(params)
    how = data.draw(st.sampled_from(["edit", "add", "drop"]))
    key = data.draw(st.sampled_from(sorted(params)))
    if how == "edit":
        changed[key] = data.draw(text.filter(lambda v: v != params[key]))
    elif how == "add":
        changed[data.draw(text.filter(lambda k: k not in params))] = data.draw(text)
    else:
        del changed[key]
    verdict = run(app, twilio.verify_sms, SMS, urlencode(changed).encode(), headers)
    assert isinstance(verdict, HubError)


@SETTINGS
@given(params=form_params, query=st.dictionaries(ids, ids, min_size=1, max_size=2))
def test_twilio_a_signature_for_another_url_is_refused(app, params, query) -> None:  # noqa: ANN001
    body, headers = twilio_form(params, url="http://localhost" + SMS + "?" + urlencode(query))
    assert isinstance(run(app, twilio.verify_sms, SMS, body, headers), HubError)


# -- Twilio (JSON bodies signed with bodySHA256) -----------------------------------------------


def twilio_json(params: dict[str, str]) -> tuple[str, bytes, dict[str, str]]:
    body = json.dumps(params).encode()
    path = f"{SMS}?bodySHA256={hashlib.sha256(body).hexdigest()}"
    signature = twilio.signature("http://localhost" + path, {}, SECRETS["TWILIO_AUTH_TOKEN"])
    return path, body, {"Content-Type": "application/json", "X-Twilio-Signature": signature}


@SETTINGS
@given(params=form_params)
def test_twilio_json_bodies_with_their_hash_pass(app, params) -> None:  # noqa: ANN001
    path, body, headers = twilio_json(params)
    assert isinstance(run(app, twilio.verify_sms, path, body, headers), Event)


@SETTINGS
@given(params=form_params, position=st.integers(0, 10**6), byte=st.integers(0, 255))
def test_twilio_json_any_changed_body_byte_is_refused(app, params, position, byte) -> None:  # noqa: ANN001
    path, body, headers = twilio_json(params)
    assert isinstance(run(app, twilio.verify_sms, path, mutate(body, position, byte), headers), HubError)


@SETTINGS
@given(params=form_params, other=form_params)
def test_twilio_json_a_hash_swapped_for_another_body_is_refused(app, params, other) -> None:  # noqa: ANN001
    path, body, headers = twilio_json(params)
    other_path, other_body, _ = twilio_json(other)
    assume(other_body != body)
    assert isinstance(run(app, twilio.verify_sms, other_path, other_body, headers), HubError)


# -- Telegram (shared secret token) and Google (channel token) --------------------------------


def telegram_update(update_id: int, chat_id: int, message: str) -> bytes:
    chat = {"id": chat_id, "type": "private"}
    return json.dumps(
        {
            "update_id": update_id,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": chat,
                "text": message,
                "from": {"id": chat_id, "is_bot": False, "first_name": "Sam"},
            },
        }
    ).encode()


@SETTINGS
@given(update_id=st.integers(0, 2**31), chat_id=st.integers(-(2**40), 2**40), message=text)
def test_telegram_updates_with_the_secret_token_pass(app, update_id, chat_id, message) -> None:  # noqa: ANN001
    headers = {"Content-Type": "application/json", telegram.SECRET_HEADER: SECRETS["TELEGRAM_WEBHOOK_SECRET"]}
    body = telegram_update(update_id, chat_id, message)
    verdict = run(app, telegram.verify, "/webhooks/telegram", body, headers)
    assert isinstance(verdict, Event) and verdict.message.text == message


@SETTINGS
@given(token=st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=40))
def test_telegram_any_other_secret_token_is_refused(app, token) -> None:  # noqa: ANN001
    assume(token != SECRETS["TELEGRAM_WEBHOOK_SECRET"])
    headers = {"Content-Type": "application/json", telegram.SECRET_HEADER: token}
    verdict = run(app, telegram.verify, "/webhooks/telegram", telegram_update(1, 1, "/start"), headers)
    assert isinstance(verdict, HubError) and verdict.STATUS_CODE in (401, 403)


def google_headers(token: str, channel: str, number: int) -> dict[str, str]:
    return {
        "X-Goog-Channel-Token": token,
        "X-Goog-Channel-ID": channel,
        "X-Goog-Message-Number": str(number),
        "X-Goog-Resource-State": "exists",
    }


@SETTINGS
@given(channel=ids, number=st.integers(0, 2**63))
def test_google_pushes_with_the_channel_token_pass(app, channel, number) -> None:  # noqa: ANN001
    headers = google_headers(SECRETS["GOOGLE_CHANNEL_TOKEN"], channel, number)
    verdict = run(app, google.verify_calendar, "/webhooks/google/calendar", b"", headers)
    assert isinstance(verdict, Event) and verdict.provider_id == f"{channel}:{number}"


@SETTINGS
@given(token=st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=40), channel=ids)
def test_google_any_other_channel_token_is_refused(app, token, channel) -> None:  # noqa: ANN001
    assume(token != SECRETS["GOOGLE_CHANNEL_TOKEN"])
    headers = google_headers(token, channel, 1)
    verdict = run(app, google.verify_calendar, "/webhooks/google/calendar", b"", headers)
    assert isinstance(verdict, HubError) and verdict.STATUS_CODE == 403


UPDATE_IDS = itertools.count(10**9)  # a new update each time, so its handlers run
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.floats(allow_nan=False) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
chat_texts = st.one_of(
    st.sampled_from(["/start", "/help", "/weather", "/weather Paris", "/pay 5", "/pay x", "hi"]),
    st.tuples(st.sampled_from(["/weather ", "/forecast ", "/pay ", "/unsubscribe ", ""]), text).map("".join),
)
entities = st.lists(st.dictionaries(text, json_values, max_size=2), max_size=2)
message_fields = st.fixed_dictionaries(
    {},
    optional={
        "message_id": st.one_of(st.integers(0, 2**31), json_values),
        "date": st.one_of(st.integers(0, 2**40), json_values),
        "chat": st.one_of(st.fixed_dictionaries({"id": st.integers(-(2**40), 2**40)}), json_values),
        "from": st.one_of(st.fixed_dictionaries({"id": st.integers(1, 2**40)}), json_values),
        "text": st.one_of(chat_texts, json_values),
        "entities": st.one_of(entities, json_values),
    },
)
valid_messages = st.fixed_dictionaries(
    {
        "message_id": st.integers(0, 2**31),
        "date": st.integers(0, 2**33),
        "chat": st.fixed_dictionaries({"id": st.integers(-(2**40), 2**40), "type": st.just("private")}),
        "text": chat_texts,
    },
    optional={"from": st.fixed_dictionaries({"id": st.integers(1, 2**40)}), "entities": entities},
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.one_of(st.just("message"), st.sampled_from(telegram.UPDATE_KINDS)),
    content=st.one_of(valid_messages, valid_messages, message_fields, json_values),
    extra=json_values,
)
def test_any_update_shape_is_answered_without_a_server_error(app, kind, content, extra) -> None:  # noqa: ANN001
    """The whole path, handlers included (inline): 200 or a 4xx, never a 5xx."""
    body = json.dumps({"update_id": next(UPDATE_IDS), kind: content, "extra": extra}).encode()
    headers = {"Content-Type": "application/json", telegram.SECRET_HEADER: SECRETS["TELEGRAM_WEBHOOK_SECRET"]}
    response = app.test_client().post("/webhooks/telegram", data=body, headers=headers)
    replied = "method" in (response.get_json() or {})
    event(f"{response.status_code}{' with a reply' if replied else ''}")
    assert response.status_code in (200, 400), response.get_data(as_text=True)[:300]
    assert response.is_json
