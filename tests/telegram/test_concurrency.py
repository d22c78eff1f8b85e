"""Many updates at once through a real threaded server: every message leaves exactly once."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from requests.adapters import HTTPAdapter

from hub.router import Router
from hub.services import hub_of
from integrations.samples import telegram_message
from tests.auxil.server import serving

UPDATES = 50


def chatty_router() -> Router:
    """Each message gets three replies (one inline, two through the Bot API) and emits an
    internal event whose handler - a task, in a worker thread with HUB_TASKS=thread - sends one more."""
    router = Router()

    @router.text_fallback
    def answer(event, ctx):
        n = event.message.text
        for part in ("a", "b", "c"):
            ctx.reply(f"{n}{part}")
        ctx.emit("test", "followup", n, {"chat_id": event.message.address, "n": n})

    @router.on("test", "followup")
    def followup(event, ctx):
        ctx.send_text("telegram", event.payload["chat_id"], f"{event.payload['n']}d")

    return router


@pytest.mark.parametrize("tasks", ["inline", "thread"])
def test_concurrent_updates_each_send_every_message_exactly_once(live_app, fake, caplog, tasks):
    caplog.set_level(logging.INFO)
    app = live_app({"HUB_TASKS": tasks}, router=chatty_router())
    settings = hub_of(app).settings
    requests_ = [telegram_message(settings, f"m{i}-", chat_id=100 + i, update_id=i) for i in range(UPDATES)]

    with serving(app) as base, requests.Session() as session:
        session.mount("http://", HTTPAdapter(pool_maxsize=16))

        def deliver(signed):
            return session.post(signed.url(base), data=signed.body, headers=signed.headers, timeout=30)

        with ThreadPoolExecutor(16) as pool:
            responses = list(pool.map(deliver, requests_))
        hub_of(app).tasks.drain()

    assert [r.status_code for r in responses] == [200] * UPDATES
    assert sorted(r.json()["text"] for r in responses) == sorted(f"m{i}-a" for i in range(UPDATES))
    sent = sorted((m["chat_id"], m["text"]) for m in fake.sent())
    expected = sorted((str(100 + i), f"m{i}-{p}") for i in range(UPDATES) for p in "bcd")
    assert sent == expected  # each exactly once: no loss, no duplicate
    assert fake.methods().count("getMe") == 1
    statuses = {e.status for e in hub_of(app).store.events(limit=500)}
    assert statuses == {"done"}
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING and r.name != "hub"]
    assert problems == []
    assert "Event loop is closed" not in caplog.text
    assert "123:ABC" not in caplog.text  # httpx logs request URLs, which carry the token
