"""`hub poll` against the fake Bot API: same handlers, same pipeline, no webhook."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hub.cli import main
from hub.router import Router
from hub.services import hub_of
from tests.conftest import SECRETS
from tests.telegram.conftest import TOKEN


def invoke(app, *args):
    return app.test_cli_runner().invoke(main, ["poll", "--timeout", "1", *args])


def test_poll_deletes_the_webhook_and_answers_each_update(live_app, fake):
    fake.webhook_url = "https://old.example.com/webhooks/telegram"
    fake.push_message("/start", chat_id=7)
    fake.push_message("/help", chat_id=7)
    fake.push_message("hello", chat_id=8)
    app = live_app()

    result = invoke(app, "--max-updates", "3")

    assert result.exit_code == 0, result.output
    assert "deleted the webhook https://old.example.com/webhooks/telegram" in result.output
    assert fake.webhook_url == ""
    assert fake.methods().index("deleteWebhook") < fake.methods().index("getUpdates")
    lines = [line for line in result.output.splitlines() if line.startswith("update ")]
    assert len(lines) == 3 and all(": done" in line for line in lines)
    assert "chat 7 '/start': done, replied \"Hi Sam!" in lines[0]
    sent = fake.sent()
    assert [m["chat_id"] for m in sent] == ["7", "7", "8"]
    assert sent[0]["text"].startswith("Hi Sam!")
    assert sent[1]["text"].startswith("Commands:\n")
    assert "/help" in sent[2]["text"]
    assert [e.status for e in hub_of(app).store.events(source="telegram")] == ["done"] * 3
    assert "stopped after 3 update(s)" in result.output


def test_a_redelivered_update_is_skipped(live_app, fake):
    update_id = fake.push_message("/start")
    app = live_app()
    assert invoke(app, "--max-updates", "1").exit_code == 0
    fake.push(
        {
            "update_id": update_id,
            "message": {"message_id": 1, "date": 0, "text": "/start", "chat": {"id": 42, "type": "private"}},
        }
    )

    result = invoke(app, "--max-updates", "1")

    assert f"update {update_id} chat 42 '/start': seen before, skipped" in result.output
    assert len(fake.sent()) == 1


def test_every_reply_of_a_handler_is_sent_once(live_app, fake):
    router = Router()

    @router.text_fallback
    def answer(event, ctx):
        ctx.reply("first")
        ctx.reply("second", reply_markup={"inline_keyboard": [[{"text": "Go", "url": "https://e.com"}]]})

    fake.push_message("hi")
    result = invoke(live_app(router=router), "--max-updates", "1")
    assert result.exit_code == 0, result.output
    assert sorted(m["text"] for m in fake.sent()) == ["first", "second"]
    assert [("reply_markup" in m) for m in fake.sent() if m["text"] == "second"] == [True]


def test_poll_refuses_in_dry_run_and_says_why(make_app, fake):
    app = make_app({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": fake.url})
    result = invoke(app, "--max-rounds", "1")
    assert result.exit_code != 0
    assert "run with HUB_DRY_RUN=0" in result.output
    assert fake.calls == []


def test_poll_without_a_token_says_so(make_app):
    result = invoke(make_app({"HUB_DRY_RUN": "0"}), "--max-rounds", "1")
    assert result.exit_code != 0 and "set TELEGRAM_BOT_TOKEN" in result.output


def test_a_second_poller_is_reported_clearly(live_app, fake):
    fake.fail("getUpdates", 409, "Conflict: terminated by other getUpdates request")
    result = invoke(live_app(), "--max-rounds", "3")
    assert result.exit_code != 0
    assert "is another `hub poll` running?" in result.output


@pytest.mark.slow
def test_ctrl_c_stops_polling_cleanly(fake, tmp_path):
    env = {
        **os.environ,
        **SECRETS,
        "HUB_INSTANCE_PATH": str(tmp_path / "instance"),
        "HUB_DRY_RUN": "0",
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": fake.url,
        "HUB_TASKS": "inline",
    }
    code = "from hub.cli import main; main()"
    process = subprocess.Popen(
        [sys.executable, "-c", code, "poll", "--timeout", "2"],
        env=env,
        cwd=Path(__file__).parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert "polling Telegram" in process.stdout.readline()
        fake.push_message("/start")
        while "getUpdates" not in fake.methods() or not fake.sent():
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            time.sleep(0.05)
        # The reply goes out before the update is counted; the next getUpdates call comes
        # after it is (interrupting in between would rightly report 0 updates).
        rounds = fake.methods().count("getUpdates")
        while fake.methods().count("getUpdates") <= rounds:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "stopping" in out and "stopped after 1 update(s)" in out
    assert "Traceback" not in err and "Event loop is closed" not in err
