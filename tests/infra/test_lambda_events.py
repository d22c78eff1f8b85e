"""Scheduled events and asynchronous tasks through zappa's handler, offline.

The Lambda Invoke goes over HTTP to a local fake endpoint (tests/auxil/fake_lambda.py),
which checks its signature with botocore and keeps the message as AWS would receive it.
"""

from __future__ import annotations

import json

import pytest

from hub.config import load_settings
from hub.events import DONE, Event
from infra import lambda_events, schedules
from integrations.samples import stripe_event
from tests.auxil.fake_lambda import fake_lambda
from tests.conftest import SECRETS
from tests.infra.lambda_harness import lambda_handler

STAGE = "dev"
LAMBDA_NAME = "hub-dev"


@pytest.fixture
def env(tmp_path) -> dict[str, str]:  # noqa: ANN001
    return {
        **SECRETS,
        "HUB_INSTANCE_PATH": str(tmp_path / "instance"),
        "HUB_DATABASE": str(tmp_path / "hub.sqlite3"),
        "HUB_PUBLIC_URL": lambda_events.public_url(STAGE),
    }


@pytest.fixture
def invoke(tmp_path, monkeypatch, env):  # noqa: ANN001, ANN201
    overrides = {"HUB_DRY_RUN": "1"}
    with lambda_handler(tmp_path, monkeypatch, STAGE, env, environment_overrides=overrides) as call:
        yield call


@pytest.fixture
def on_lambda(monkeypatch):  # noqa: ANN001, ANN201
    """What the Lambda runtime sets, with fake credentials that only exist inside this test,
    and Lambda's Invoke API served locally."""
    with fake_lambda() as fake:
        for key, value in fake.environ(LAMBDA_NAME).items():
            monkeypatch.setenv(key, value)
        yield fake


def _hub():  # noqa: ANN202
    from hub.services import hub_of
    from hub.wsgi import app

    return hub_of(app)


@pytest.mark.parametrize("schedule", list(schedules.SCHEDULES.values()), ids=lambda s: s.type)
def test_scheduled_event_records_one_internal_event_per_slot(invoke, schedule) -> None:
    event = lambda_events.scheduled(f"infra.schedules.{schedule.function}", LAMBDA_NAME)

    first = invoke(event)
    again = invoke(lambda_events.scheduled(f"infra.schedules.{schedule.function}", LAMBDA_NAME))

    assert first["duplicate"] is False and again["duplicate"] is True
    stored = _hub().store.events(source="schedule", limit=10)
    assert [(e.type, e.provider_id) for e in stored] == [
        (schedule.type, schedules.slot_id(schedule, schedules.scheduled_time(event)))
    ]
    assert stored[0].status == DONE


def test_next_slot_is_a_new_run(invoke) -> None:
    invoke(lambda_events.scheduled("infra.schedules.weather_watch", LAMBDA_NAME, "2025-01-31T07:30:00Z"))
    invoke(lambda_events.scheduled("infra.schedules.weather_watch", LAMBDA_NAME, "2025-01-31T07:59:59Z"))
    invoke(lambda_events.scheduled("infra.schedules.weather_watch", LAMBDA_NAME, "2025-01-31T08:00:00Z"))

    ids = sorted(e.provider_id for e in _hub().store.events(source="schedule", limit=10))
    assert ids == ["weather.watch:2025-01-31T07:30Z", "weather.watch:2025-01-31T08:00Z"]


def test_sweep_schedule_runs_due_retries(invoke) -> None:
    hub = _hub()
    recorded = hub.store.record(Event("schedule", "weather.watch", "manual", {}), attention_after=0)

    report = invoke(lambda_events.scheduled("infra.schedules.sweep", LAMBDA_NAME))

    assert report["ran"] == 1 and report["done"] == 1
    assert hub.store.get(recorded.event.id).status == DONE


def test_keep_warm_ping_does_nothing(invoke) -> None:
    assert invoke(lambda_events.scheduled("handler.keep_warm_callback", LAMBDA_NAME)) is None
    assert _hub().store.events(limit=5) == []


@pytest.mark.parametrize("shape", ["rest_v1", "http_v2"])
def test_stripe_event_on_lambda_invokes_itself_with_only_the_event_id(invoke, env, on_lambda, shape) -> None:
    signed = stripe_event(load_settings(env, env["HUB_INSTANCE_PATH"], environ={}), "invoice.paid")

    response = invoke(getattr(lambda_events, shape)(signed, STAGE))

    assert response["statusCode"] == 200
    stored = _hub().store.events(source="stripe", limit=5)
    assert len(stored) == 1 and stored[0].status == "received"  # queued, not yet run
    assert on_lambda.bad_signatures == 0
    assert on_lambda.messages == [lambda_events.async_task("hub.lambda_tasks.process_event", stored[0].id)]
    assert signed.body.decode() not in json.dumps(on_lambda.messages)  # no webhook data travels


def test_the_async_invocation_runs_the_event(invoke, env, on_lambda) -> None:
    signed = stripe_event(load_settings(env, env["HUB_INSTANCE_PATH"], environ={}), "invoice.paid")
    invoke(lambda_events.http_v2(signed, STAGE))
    [message] = on_lambda.messages

    invoke(message)  # the asynchronous invocation arriving at the function

    assert _hub().store.get(message["args"][0]).status == DONE


@pytest.mark.parametrize("status", [429, 500])
def test_failed_async_invocation_leaves_the_event_for_the_sweep(
    invoke, env, on_lambda, status, capsys
) -> None:  # noqa: E501
    on_lambda.status = status
    signed = stripe_event(load_settings(env, env["HUB_INSTANCE_PATH"], environ={}), "invoice.paid")

    response = invoke(lambda_events.rest_v1(signed, STAGE))

    assert response["statusCode"] == 200  # durable already: Stripe must not retry for this
    assert _hub().store.events(source="stripe", limit=1)[0].status == "received"
    logged = capsys.readouterr().err  # hub's own JSON lines: on Lambda they stop at hub's handler
    assert f"answered {status}" in logged and "sweep" in logged
