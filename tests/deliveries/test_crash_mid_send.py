"""A process SIGKILLed while its Telegram sendMessage is in flight: the outcome is unknown.
After the lease, the sweep sends again, and the outbox says it may have arrived twice
(`possible_duplicate`), in the admin API and in the log: never a silent duplicate."""

from __future__ import annotations

import logging
import time
import uuid

import pytest
import requests

from hub.services import hub_of
from integrations.samples import stripe_event
from tests.conftest import SECRETS
from tests.deliveries.fake_bot import TelegramLike, serve
from tests.deliveries.test_fanout_faults import spawn

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_a_send_cut_off_by_sigkill_is_resent_and_flagged(
    make_app, tmp_path, request, backend, caplog, admin_headers
) -> None:  # noqa: ANN001
    run_id = uuid.uuid4().hex[:12]
    store = {}
    if backend == "redis":
        store = request.getfixturevalue("redis_config")
    with serve(TelegramLike()) as bot:
        config = {
            **SECRETS,
            **store,
            "HUB_INSTANCE_PATH": str(tmp_path / "instance"),
            "HUB_TASKS": "thread",
            "HUB_DRY_RUN": "0",
            "TELEGRAM_BOT_TOKEN": "123:crash",
            "TELEGRAM_API_URL": bot.url,
        }
        process = spawn("tests.deliveries.hub_process", config)
        bot.hold()
        try:
            port = int(process.stdout.readline())
            app = make_app(config)
            hub = hub_of(app)
            paid = {
                "id": f"cs_{run_id}",
                "amount_total": 1500,
                "currency": "eur",
                "mode": "payment",
                "payment_status": "paid",
                "metadata": {"telegram_chat_id": "777"},
            }
            signed = stripe_event(hub.settings, "checkout.session.completed", paid, event_id=f"evt_{run_id}")
            ack = requests.post(
                f"http://127.0.0.1:{port}{signed.path}", data=signed.body, headers=signed.headers, timeout=10
            )
            assert ack.status_code == 200
            assert bot.arrived.wait(30), "the confirmation never reached the Bot API"
            process.kill()  # SIGKILL while sendMessage waits for Telegram's answer
            process.wait(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
            process.stdout.close()
        bot.release()  # Telegram got the first message: the dead process never learned it

        [started] = [e for e in hub.store.outbox(limit=50) if e.action == "sendMessage"]
        assert (started.status, started.possible_duplicate) == ("sending", False)

        later = time.time() + 24 * 3600  # past every lease
        hub.store.clock = lambda: later
        with caplog.at_level(logging.WARNING, logger="hub.outbox"):
            hub.sweep()
        hub.tasks.drain()

        sends = [e for e in hub.store.outbox(limit=50) if e.action == "sendMessage"]
        assert [(e.status, e.possible_duplicate) for e in sends] == [("sent", True)]
        assert any("possible_duplicate" in r.getMessage() for r in caplog.records)
        assert len(bot.sent()) == 2 and {str(p["chat_id"]) for p in bot.sent()} == {"777"}

        listed = app.test_client().get("/admin/api/outbox", headers=admin_headers).get_json()
        [row] = [r for r in listed if r["action"] == "sendMessage"]
        assert row["possible_duplicate"] is True and row["status"] == "sent"
        assert {"integration", "action", "payload", "event_id", "status", "possible_duplicate"} <= set(row)
