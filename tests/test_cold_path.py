"""A cold start that only acknowledges (Stripe) or replies in the webhook answer
(Telegram /help) imports no provider SDK: each costs 100-230 ms, more than bare Flask's
whole start. See docs/PERFORMANCE.md; the SDKs come in with the first outbound call."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

SDKS = ("stripe", "telegram", "twilio", "googleapiclient", "requests", "httpx")

SCRIPT = f"""
import json, sys
SDKS = {SDKS!r}
from hub import create_app
from hub.simulate import stripe_event, telegram_message

app = create_app({{"HUB_INSTANCE_PATH": sys.argv[1], "HUB_TASKS": "thread"}})
settings = app.extensions["hub"].settings
signed = {{
    "stripe": lambda: stripe_event(settings, "checkout.session.completed"),
    "telegram": lambda: telegram_message(settings, "/help"),
}}[sys.argv[2]]()
response = app.test_client().post(signed.path, data=signed.body, headers=signed.headers)
loaded = sorted(m for m in SDKS if m in sys.modules)
print(json.dumps({{"status": response.status_code, "body": response.get_json(), "loaded": loaded}}))
"""


@pytest.mark.parametrize("source", ["stripe", "telegram"])
def test_the_first_answer_imports_no_provider_sdk(tmp_path, source) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path), source],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["status"] == 200
    if source == "telegram":  # the reply rides in the answer: /help was actually handled
        assert answer["body"]["method"] == "sendMessage" and "/weather" in answer["body"]["text"]
    assert answer["loaded"] == []
