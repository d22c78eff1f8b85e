"""No request ends in 500: random bodies and headers at every endpoint, signed and not."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.simulate import SignedRequest
from integrations.samples import PATHS
from tests.auxil.events import google_request, stripe_request, telegram_request, twilio_request
from tests.conftest import SECRETS

FUZZ = settings(
    max_examples=60,
    deadline=None,  # correctness only; speed belongs to bench/
    database=None,  # leave no .hypothesis folder in the work tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Header values as a WSGI server hands them over: latin-1, no line breaks.
header_text = st.text(
    st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"), max_size=40
)
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
HEADERS = [
    "Content-Type",
    "X-Telegram-Bot-Api-Secret-Token",
    "Stripe-Signature",
    "X-Twilio-Signature",
    "X-Goog-Channel-Token",
    "X-Goog-Channel-ID",
    "X-Goog-Message-Number",
    "X-Forwarded-Proto",
    "X-Forwarded-Host",
    "Transfer-Encoding",
]
CONTENT_TYPES = [
    "application/json",
    "application/x-www-form-urlencoded",
    "text/plain",
    "multipart/form-data; boundary=x",
    "application/json; charset=latin-1",
]
# Values shaped like the real ones too, so parsers past the first check get exercised.
shaped = st.builds("t={},v1={}".format, st.integers(), header_text) | st.integers().map(str)
headers = st.dictionaries(
    st.sampled_from(HEADERS), header_text | shaped | st.sampled_from(CONTENT_TYPES), max_size=6
)

message_like = st.fixed_dictionaries(
    {},
    optional={
        "message_id": scalars,
        "date": scalars,
        "text": scalars | st.just("/help"),
        "chat": st.fixed_dictionaries({}, optional={"id": scalars, "type": scalars}) | json_values,
        "from": st.fixed_dictionaries({}, optional={"id": scalars, "first_name": scalars}) | json_values,
        "entities": json_values,
    },
)
updates = st.fixed_dictionaries(
    {"update_id": st.integers() | scalars},
    optional={
        "message": message_like,
        "edited_message": message_like,
        "callback_query": json_values,
        "my_chat_member": json_values,
        "poll": json_values,
    },
)
stripe_events = st.fixed_dictionaries(
    {}, optional={"id": scalars, "type": scalars, "object": st.just("event"), "data": json_values}
)
form_params = st.dictionaries(st.text(min_size=1, max_size=10), st.text(max_size=30), max_size=6)
twilio_params = st.fixed_dictionaries(
    {},
    optional={
        "From": st.text(max_size=15),
        "MessageSid": st.text(max_size=34),
        "MessageStatus": st.text(max_size=10),
        "Body": st.text(max_size=60),
    },
).flatmap(lambda fixed: form_params.map(lambda extra: {**extra, **fixed}))


@pytest.fixture
def fuzz_app(make_app) -> Flask:  # noqa: ANN001
    return make_app()


def check(app: Flask, request: SignedRequest) -> None:
    response = app.test_client().post(request.path, data=request.body, headers=request.headers)
    assert response.status_code < 500, response.data[:300]
    if response.status_code >= 400:
        body = response.get_json()
        assert set(body) == {"error", "message"}


@pytest.mark.parametrize("path", sorted(set(PATHS.values())))
@FUZZ
@given(body=st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()), sent=headers)
def test_unsigned_noise_never_ends_in_500(fuzz_app, path, body, sent):
    check(fuzz_app, SignedRequest(path, body, sent))


@FUZZ
@given(update=updates | json_values)
def test_telegram_updates_with_the_right_token_never_end_in_500(fuzz_app, update: Any):
    check(fuzz_app, telegram_request(SECRETS["TELEGRAM_WEBHOOK_SECRET"], update))


@FUZZ
@given(event=stripe_events | json_values)
def test_signed_stripe_payloads_never_end_in_500(fuzz_app, event: Any):
    check(fuzz_app, stripe_request(SECRETS["STRIPE_WEBHOOK_SECRET"], event))


@pytest.mark.parametrize("source", ["twilio", "twilio-status"])
@FUZZ
@given(params=twilio_params)
def test_signed_twilio_forms_never_end_in_500(fuzz_app, source, params):
    check(fuzz_app, twilio_request(SECRETS["TWILIO_AUTH_TOKEN"], params, source=source))


@FUZZ
@given(sent=st.dictionaries(st.sampled_from(HEADERS[4:7] + ["X-Goog-Resource-State"]), header_text))
def test_google_pushes_with_the_right_token_never_end_in_500(fuzz_app, sent):
    check(fuzz_app, google_request(SECRETS["GOOGLE_CHANNEL_TOKEN"], sent))
