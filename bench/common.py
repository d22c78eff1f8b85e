"""Shared by the benchmarks: the secrets both sides use, signed requests, statistics."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from hub.config import load_settings
from hub.simulate import SignedRequest
from infra.package import PROJECT_PACKAGES
from integrations.samples import (
    google_push,
    paypal_event,
    stripe_event,
    telegram_message,
    twilio_form,
    twilio_sms,
)

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
SECRETS = {
    "HUB_ADMIN_TOKEN": "bench-admin-token-0123456789",
    "TELEGRAM_WEBHOOK_SECRET": "bench-telegram-secret",
    "STRIPE_WEBHOOK_SECRET": "whsec_bench",
    "TWILIO_AUTH_TOKEN": "bench-twilio-auth-token",
    "GOOGLE_CHANNEL_TOKEN": "bench-google-channel-token",
    "PAYPAL_WEBHOOK_ID": "WH-BENCH-0123456789",
}
BASE_URL = "http://localhost"  # what Flask's test client and Twilio's signature see


def settings():  # noqa: ANN201
    return load_settings(SECRETS, tempfile.gettempdir(), environ={})


def signed(source: str) -> SignedRequest:
    """One correctly signed request per source, as the provider would send it."""
    s = settings()
    if source == "stripe":
        return stripe_event(s, "invoice.paid")
    if source == "telegram":
        return telegram_message(s, "/start")
    if source == "twilio":
        return twilio_sms(s, BASE_URL, "HELP")
    if source == "twilio-status":
        params = {"MessageSid": "SM" + "2" * 32, "MessageStatus": "delivered", "AccountSid": "AC" + "0" * 32}
        return twilio_form(s, BASE_URL, "twilio-status", params)
    if source == "google":
        return google_push(s)
    if source == "paypal":  # signed with the development certificate: see prepare_instance
        return paypal_event(s, "PAYMENT.CAPTURE.DENIED")
    raise LookupError(source)


def prepare_instance(instance: Path) -> None:
    """Give a child hub the development PayPal signer `signed("paypal")` used.

    A dry-run hub reads that certificate from its instance folder, as a deployed hub
    reads PayPal's from the shared cache once fetched: a file read, a PEM parse, the
    checks and one RSA verification (the dev path also re-checks the chain: it is the
    dearer of the two).
    """
    from integrations.paypal_dev import FILE_NAME

    source = Path(tempfile.gettempdir()) / FILE_NAME
    if source.exists():
        instance.mkdir(parents=True, exist_ok=True)
        (instance / FILE_NAME).write_bytes(source.read_bytes())


def hub_env(instance: Path, **extra: str) -> dict[str, str]:
    """A clean environment for a hub child process: only our settings."""
    ours = ("HUB_", "REDIS_", "TELEGRAM_", "STRIPE_", "TWILIO_", "GOOGLE_", "OPENWEATHER_", "PAYPAL_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    return {**env, **SECRETS, "HUB_INSTANCE_PATH": str(instance), "PYTHONPATH": str(ROOT), **extra}


def byte_compile() -> None:
    """Compile hub's own modules, as pip does for an installed package and infra.package
    for Lambda. Without it a shell with PYTHONDONTWRITEBYTECODE=1 (this machine's) would
    have every hub run compile its source while Flask loads from .pyc: ~30 ms of noise."""
    folders = [str(ROOT / name) for name in (*PROJECT_PACKAGES, "bench")]
    subprocess.run([PYTHON, "-m", "compileall", "-q", *folders], check=True, stdout=subprocess.DEVNULL)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def median(values: list[float]) -> float:
    return statistics.median(values)


def git_revision() -> str:
    try:
        command = ["git", "rev-parse", "--short", "HEAD"]
        out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        return out.stdout.strip()
    except OSError:
        return "unknown"
