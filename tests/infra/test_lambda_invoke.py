"""hub.lambda_invoke: the asynchronous Invoke hub sends itself, without boto3.

The signature is held to botocore's SigV4Auth, on generated requests and on the wire
(tests/auxil/fake_lambda.py re-signs every request it receives with botocore).
"""

from __future__ import annotations

import json
import string
from datetime import UTC, datetime
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub import lambda_invoke
from hub.lambda_invoke import InvokeError, invoke_async, sign, task_body, task_message
from tests.auxil.fake_lambda import botocore_authorization, fake_lambda

keys = st.text(string.ascii_letters + string.digits, min_size=16, max_size=40)
secrets = st.text(string.ascii_letters + string.digits + "+/=", min_size=20, max_size=60)
tokens = st.one_of(st.just(""), secrets.map(lambda s: s * 5))
regions = st.sampled_from(["eu-west-1", "us-east-1", "ap-southeast-2", "eu-central-2"])
functions = st.text(string.ascii_letters + string.digits + "-_", min_size=1, max_size=64)
moments = st.datetimes(datetime(2020, 1, 1), datetime(2035, 1, 1)).map(lambda d: d.replace(tzinfo=UTC))


@settings(max_examples=150, deadline=None)
@given(
    access_key=keys,
    secret_key=secrets,
    token=tokens,
    region=regions,
    function=functions,
    body=st.text(max_size=200),
    now=moments,
    spaced=st.sampled_from(["Event", " Event ", "E  v"]),
)
def test_the_signature_is_botocores(
    access_key, secret_key, token, region, function, body, now, spaced
) -> None:  # noqa: ANN001, E501
    host = f"lambda.{region}.amazonaws.com"
    path = f"/2015-03-31/functions/{function}/invocations"
    data = body.encode()
    headers = {"Content-Type": "application/json", "X-Amz-Invocation-Type": spaced}
    added = sign("POST", host, path, data, headers, (access_key, secret_key, token), region, now=now)

    sent = {**headers, **added}
    url = f"https://{host}{path}"
    assert added["Authorization"] == botocore_authorization("POST", url, sent, data, secret_key)
    assert ("X-Amz-Security-Token" in added) == bool(token)


def env_for(fake, **extra: str) -> dict[str, str]:  # noqa: ANN001
    return {**fake.environ(), **extra}


def test_a_task_reaches_the_function_signed_and_keeps_its_connection() -> None:
    with fake_lambda() as fake:
        invoke_async("hub.lambda_tasks.process_event", "evt_1", environ=env_for(fake))
        invoke_async("hub.lambda_tasks.process_event", "evt_2", environ=env_for(fake))

    assert fake.bad_signatures == 0
    assert fake.messages == [task_message("hub.lambda_tasks.process_event", f"evt_{n}") for n in (1, 2)]
    assert fake.connections == 1  # the warm instance's second Invoke skipped the handshake


def test_a_connection_closed_while_idle_is_opened_again() -> None:
    with fake_lambda() as fake:
        fake.close_after_answer = True
        for n in range(3):
            invoke_async("hub.lambda_tasks.process_event", f"evt_{n}", environ=env_for(fake))

    assert [m["args"] for m in fake.messages] == [["evt_0"], ["evt_1"], ["evt_2"]]


@pytest.mark.parametrize("status", [403, 429, 500])
def test_a_refused_invoke_says_what_lambda_answered(status: int) -> None:
    with fake_lambda() as fake:
        fake.status = status
        with pytest.raises(InvokeError, match=f"answered {status}"):
            invoke_async("hub.lambda_tasks.process_event", "evt_1", environ=env_for(fake))


def test_a_wrong_secret_key_is_refused_by_the_endpoint() -> None:
    with fake_lambda() as fake, pytest.raises(InvokeError, match="answered 403"):
        invoke_async("x.y", "evt_1", environ=env_for(fake, AWS_SECRET_ACCESS_KEY="not-the-key"))
    assert fake.bad_signatures == 1 and fake.messages == []


def test_missing_credentials_name_the_variable() -> None:
    with pytest.raises(InvokeError, match="AWS_ACCESS_KEY_ID"):
        invoke_async("x.y", environ={"AWS_LAMBDA_FUNCTION_NAME": "hub-dev", "AWS_REGION": "eu-west-1"})


def test_an_unreachable_endpoint_is_an_invoke_error() -> None:
    with fake_lambda() as fake:
        url = fake.url
    with mock.patch.object(lambda_invoke, "TIMEOUT_SECONDS", 1), pytest.raises(InvokeError, match="failed"):
        invoke_async("x.y", environ={**env_for(fake), "AWS_ENDPOINT_URL_LAMBDA": url})


def test_the_message_is_what_zappas_handler_routes() -> None:
    from zappa.asynchronous import route_lambda_task  # noqa: F401 - the route must exist

    message = task_message("hub.lambda_tasks.process_event", "evt_1")
    assert message["command"] == "zappa.asynchronous.route_lambda_task"
    assert json.loads(json.dumps(message)) == message


@settings(max_examples=100, deadline=None)
@given(
    task_path=st.sampled_from(["hub.lambda_tasks.process_event", "hub.lambda_tasks.run_deliveries"]),
    args=st.lists(st.one_of(st.text(max_size=40), st.integers(), st.none()), max_size=3),
)
def test_the_message_body_is_json_dumps_of_the_message(task_path, args) -> None:  # noqa: ANN001
    # Event ids (strings) go into a text made once per task; the body must stay json.dumps's.
    assert task_body(task_path, *args) == json.dumps(task_message(task_path, *args)).encode()


def test_credentials_changed_between_invokes_are_the_ones_signed_with() -> None:
    # The endpoint and credentials are worked out once per set of variables, not per process.
    with fake_lambda() as fake:
        invoke_async("x.y", "evt_1", environ=env_for(fake))
        with pytest.raises(InvokeError, match="answered 403"):
            invoke_async("x.y", "evt_2", environ=env_for(fake, AWS_SECRET_ACCESS_KEY="rotated-elsewhere"))
        invoke_async("x.y", "evt_3", environ=env_for(fake))

    assert [m["args"] for m in fake.messages] == [["evt_1"], ["evt_3"]] and fake.bad_signatures == 1
