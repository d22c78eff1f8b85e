"""The core's promise end to end: 24 simultaneous deliveries of one signed Stripe event
over real HTTP (threaded werkzeug) answer 200, store one event and run its handler once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask

from hub.events import DONE, Event
from hub.services import hub_of
from hub.simulate import SignedRequest
from hub.store import Store
from integrations.samples import stripe_event
from tests.auxil.redis import unique_prefix
from tests.auxil.server import serving
from tests.conftest import SECRETS
from tests.store.conftest import off_slot_url
from tests.store.racers import race
from tests.store.storm_server import STORM_TYPE, counting_router

DELIVERIES = 24
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("redis-cluster", marks=pytest.mark.redis),
    ]
)
def store_config(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """Config choosing the backend: one SQLite file, the test Redis, or a node of the test
    Redis Cluster that does not serve the prefix's slot."""
    if request.param == "sqlite":
        return {"HUB_DATABASE": str(tmp_path / "shared.sqlite3"), "HUB_TASKS": "inline"}
    if request.param == "redis-cluster":
        prefix = unique_prefix()
        url = off_slot_url(request.getfixturevalue("redis_cluster"), prefix)
        return {"REDIS_URL": url, "HUB_REDIS_PREFIX": prefix, "HUB_TASKS": "inline"}
    return {**request.getfixturevalue("redis_config"), "HUB_TASKS": "inline"}


def deliver(urls: list[str], signed: SignedRequest) -> list[int]:
    """POST the same signed body from DELIVERIES threads at once, spread over `urls`."""
    turns = iter(range(DELIVERIES))
    lock = threading.Lock()

    def post() -> int:
        with lock:
            url = urls[next(turns) % len(urls)]
        answer = requests.post(signed.url(url), data=signed.body, headers=signed.headers, timeout=60)
        return answer.status_code

    return race(DELIVERIES, post)


def stored_copies(store: Store, provider_id: str) -> list[Event]:
    # Filter by provider id: other test runs may share the Redis database.
    return [e for e in store.events(source="stripe", limit=1000) if e.provider_id == provider_id]


def test_a_storm_of_one_event_runs_its_handler_once(
    make_app: Callable[..., Flask], store_config: dict[str, str]
) -> None:
    runs: list[str] = []
    lock = threading.Lock()

    def on_run(event: Event) -> None:
        with lock:
            runs.append(event.id)

    app = make_app(store_config, router=counting_router(on_run))
    hub = hub_of(app)
    provider_id = "evt_storm_" + uuid.uuid4().hex
    signed = stripe_event(hub.settings, STORM_TYPE, event_id=provider_id)

    with serving(app) as url:
        statuses = deliver([url], signed)

    assert statuses == [200] * DELIVERIES
    [stored] = stored_copies(hub.store, provider_id)
    assert runs == [stored.id]
    assert (stored.status, stored.attempts) == (DONE, 1)
    assert len(hub.store.outbox(event_id=stored.id)) == 1


@pytest.fixture
def server_processes(tmp_path: Path) -> Iterator[Callable[[dict[str, Any], Path], str]]:
    """Start hub servers as separate OS processes; each call returns one base URL."""
    started: list[subprocess.Popen[str]] = []

    def start(config: dict[str, Any], runs_file: Path) -> str:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.store.storm_server", json.dumps(config), str(runs_file)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        assert process.stdout is not None
        port = process.stdout.readline().strip()
        assert port.isdigit(), f"the server process did not start (exit code {process.poll()})"
        return f"http://127.0.0.1:{port}"

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=20)
        if process.stdout is not None:
            process.stdout.close()


@pytest.mark.slow
def test_a_storm_over_two_server_processes_runs_its_handler_once(
    make_app: Callable[..., Flask],
    store_config: dict[str, str],
    server_processes: Callable[[dict[str, Any], Path], str],
    tmp_path: Path,
) -> None:
    runs_file = tmp_path / "runs.txt"
    runs_file.touch()
    urls = [
        server_processes({**SECRETS, **store_config, "HUB_INSTANCE_PATH": str(tmp_path / f"i{n}")}, runs_file)
        for n in range(2)
    ]
    hub = hub_of(make_app(store_config))  # this process reads what the servers stored
    provider_id = "evt_storm_" + uuid.uuid4().hex
    signed = stripe_event(hub.settings, STORM_TYPE, event_id=provider_id)

    statuses = deliver(urls, signed)

    assert statuses == [200] * DELIVERIES
    [stored] = stored_copies(hub.store, provider_id)
    assert runs_file.read_text().split() == [stored.id]
    assert (stored.status, stored.attempts) == (DONE, 1)
    assert len(hub.store.outbox(event_id=stored.id)) == 1
