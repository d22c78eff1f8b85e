"""A cold start that only acknowledges (Stripe) or replies in the webhook answer
(Telegram /help) imports no provider SDK: each costs 100-230 ms, more than bare Flask's
whole start. On Lambda, handing the event to an async invocation imports no boto3 either.
See docs/PERFORMANCE.md; the SDKs come in with the first outbound call."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.auxil.fake_lambda import fake_lambda

SDKS = (
    "stripe",
    "telegram",
    "twilio",
    "googleapiclient",
    "requests",
    "httpx",
    "boto3",
    "botocore",
    "paypalserversdk",
)

SCRIPT = f"""
import json, os, sys
SDKS = {SDKS!r}
from hub import create_app
from integrations.samples import paypal_event, stripe_event, telegram_message

app = create_app({{"HUB_INSTANCE_PATH": sys.argv[1]}})
settings = app.extensions["hub"].settings
signed = {{
    "stripe": lambda: stripe_event(settings, "checkout.session.completed"),
    "telegram": lambda: telegram_message(settings, "/help"),
    "paypal": lambda: paypal_event(settings, "CHECKOUT.ORDER.APPROVED"),
}}[sys.argv[2]]()
response = app.test_client().post(signed.path, data=signed.body, headers=signed.headers)
loaded = sorted(m for m in SDKS if m in sys.modules)
print(json.dumps({{"status": response.status_code, "body": response.get_json(), "loaded": loaded}}))
"""


def first_answer(tmp_path, source: str, env: dict[str, str]) -> dict:  # noqa: ANN001
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "AWS_", "REDIS_"))}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path), source],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**clean, **env},
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("source", ["stripe", "telegram", "paypal"])
def test_the_first_answer_imports_no_provider_sdk(tmp_path, source) -> None:  # noqa: ANN001
    answer = first_answer(tmp_path, source, {"HUB_TASKS": "thread"})

    assert answer["status"] == 200
    if source == "telegram":  # the reply rides in the answer: /help was actually handled
        assert answer["body"]["method"] == "sendMessage" and "/weather" in answer["body"]["text"]
    assert answer["loaded"] == []


def test_on_lambda_the_stripe_ack_and_its_async_invoke_import_no_sdk(tmp_path) -> None:  # noqa: ANN001
    with fake_lambda() as fake:
        answer = first_answer(tmp_path, "stripe", {"HUB_TASKS": "lambda", **fake.environ()})

    assert answer["status"] == 200
    assert len(fake.messages) == 1 and fake.bad_signatures == 0  # the event went to its invocation
    assert answer["loaded"] == []
