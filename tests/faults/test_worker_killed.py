"""A worker killed with SIGKILL mid-handler: after the lease and a sweep, the event
completes exactly once (one effect, one outbound call), whatever the store."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from hub.services import hub_of
from integrations.samples import stripe_event
from tests.conftest import SECRETS
from tests.faults.blocking_hub import build_router

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
LEASE = 60


def wait_for(path: Path, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, "the hub process died early"
        assert time.monotonic() < deadline, f"{path.name} did not appear"
        time.sleep(0.02)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def test_a_worker_killed_mid_handler_completes_exactly_once_after_the_sweep(
    make_app, tmp_path, request, backend
) -> None:  # noqa: ANN001
    run_id = uuid.uuid4().hex[:12]
    store = {}
    if backend == "redis":  # the shared test Redis: keys under a prefix of this test's own
        store = request.getfixturevalue("redis_config")
    config = {
        **SECRETS,
        **store,
        "HUB_INSTANCE_PATH": str(tmp_path / "instance"),
        "HUB_TASKS": "thread",  # acknowledge at once, handle in the background: the real shape
        "HUB_LEASE_SECONDS": str(LEASE),
    }
    folder = tmp_path / "flags"
    folder.mkdir()
    (folder / "block").touch()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "REDIS_URL"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.faults.blocking_hub", str(folder)],
        cwd=ROOT,
        env={**env, **config},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        port = int(process.stdout.readline())
        app = make_app(config, router=build_router(folder))
        hub = hub_of(app)
        signed = stripe_event(hub.settings, "invoice.paid", event_id=f"evt_killed_{run_id}")
        ack = requests.post(
            f"http://127.0.0.1:{port}{signed.path}", data=signed.body, headers=signed.headers, timeout=10
        )
        assert ack.status_code == 200
        wait_for(folder / "started", process)
        process.kill()  # SIGKILL while the handler is blocked
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        process.stdout.close()

    event_id = ack.json()["event_id"]
    stuck = hub.store.get(event_id)
    assert (stuck.status, stuck.attempts) == ("processing", 1)
    (folder / "block").unlink()

    assert hub.sweep().ran == 0, "the dead worker's lease is still live"
    later = time.time() + LEASE + 1
    hub.store.clock = lambda: later
    report = hub.sweep()
    assert (report.ran, report.done) == (1, 1)
    assert hub.sweep().ran == 0, "nothing left to do"

    event = hub.store.get(event_id)
    assert (event.status, event.attempts) == ("done", 2)
    assert (folder / "effects").read_text().splitlines() == [f"evt_killed_{run_id}"], "one effect"
    calls = hub.store.outbox(event_id=event_id)
    assert [(c.integration, c.action) for c in calls] == [("ledger", "credit")], "the call was not repeated"
