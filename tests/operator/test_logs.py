"""Logs: one line per event stage with the event id; JSON on Lambda; secrets never logged."""

from __future__ import annotations

import json
import logging

import pytest

from hub.router import Router
from hub.services import hub_of
from integrations.samples import stripe_event, telegram_message, twilio_sms
from tests.conftest import post

PLANTED = {
    "STRIPE_API_KEY": "sk_test_PLANTEDlogKey0011223344",
    "TELEGRAM_BOT_TOKEN": "123456789:AAplantedLogBotToken_abcdefghijklmnop",
    "TWILIO_ACCOUNT_SID": "ACplanted",
    "TWILIO_AUTH_TOKEN": "plantedTwilioAuthToken0123456789",
    "OPENWEATHER_API_KEY": "plantedWeatherKey55667788",
    "HUB_ADMIN_TOKEN": "plantedAdminToken-abcdefghijkl",
    "TELEGRAM_WEBHOOK_SECRET": "plantedTelegramWebhookSecret",
    "STRIPE_WEBHOOK_SECRET": "whsec_plantedStripeSigning",
    "GOOGLE_CHANNEL_TOKEN": "plantedGoogleChannelToken",
}
PHONE = "+447700900456"


@pytest.fixture
def router():
    """A handler that fails loudly, with every secret in its message and its own log line."""
    router = Router()
    handler_log = logging.getLogger("handlers.planted")

    @router.on("stripe", "invoice.paid")
    def paid(event, ctx):
        s = ctx.settings
        handler_log.warning("calling stripe with %s for %s", s.stripe_api_key, PHONE)
        raise RuntimeError(
            f"refused: {s.stripe_api_key} {s.telegram_bot_token} {s.twilio_auth_token} "
            f"{s.openweather_api_key} {s.stripe_webhook_secret[0]}"
        )

    @router.command("hello")
    def hello(event, ctx):
        ctx.reply("hi")

    return router


def stages(caplog) -> list[tuple[str, str]]:
    return [(r.stage, r.event_id) for r in caplog.records if r.name == "hub.events"]


def test_every_stage_is_one_line_carrying_the_event_id(make_app, router, caplog):
    caplog.set_level(logging.INFO)
    app = make_app({"HUB_MAX_ATTEMPTS": "2", "HUB_RETRY_BASE_SECONDS": "0"}, router=router)
    hub = hub_of(app)
    client = app.test_client()

    hello = telegram_message(hub.settings, "/hello", update_id=42)
    post(client, hello)
    post(client, hello)  # a re-delivery
    failing = post(client, stripe_event(hub.settings, "invoice.paid")).json["event_id"]
    hub.sweep()  # the retry is due at once (base 0): it fails again and is dead

    seen = stages(caplog)
    told = hub.store.events(source="telegram")[0].id
    # Answered inline: one line for its arrival and its run, the outcome marked `received`.
    assert [s for s, e in seen if e == told] == ["handled", "duplicate"]
    handled = next(r for r in caplog.records if getattr(r, "stage", "") == "handled")
    assert handled.received is True and handled.attempts == 1
    assert [s for s, e in seen if e == failing] == ["received", "failed", "retried", "dead"]
    dead = next(r for r in caplog.records if getattr(r, "stage", "") == "dead")
    assert (dead.levelno, dead.source, dead.event_type, dead.attempts) == (
        logging.ERROR,
        "stripe",
        "invoice.paid",
        2,
    )
    assert "RuntimeError" in dead.error


def test_lines_are_json_on_lambda_and_readable_locally(make_app, router, capsys, monkeypatch):
    app = make_app(router=router)
    post(app.test_client(), telegram_message(hub_of(app).settings, "/hello"))
    local = capsys.readouterr().err
    assert "INFO    hub.events handled evt_" in local and "telegram/message" in local

    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "hub")
    app = make_app(router=router)
    post(app.test_client(), telegram_message(hub_of(app).settings, "/hello"))
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    [line] = [line for line in lines if "stage" in line]  # answered inline: one line
    assert line["event_id"].startswith("evt_")
    assert (line["stage"], line["received"], line["attempts"]) == ("handled", True, 1)
    assert (line["source"], line["event_type"], line["level"]) == ("telegram", "message", "INFO")


def test_on_lambda_each_line_is_written_once_beside_the_runtimes_root_handler(
    make_app, router, capsys, monkeypatch
):
    """The Lambda runtime (and zappa's handler) log through a handler on the root logger: a
    hub line that went on up to it was written twice, the second time in its plain format."""
    runtime = logging.StreamHandler()  # stands for the runtime's: everything on the root, to stderr
    runtime.setFormatter(logging.Formatter("RUNTIME %(levelname)s %(name)s %(message)s"))
    logging.getLogger().addHandler(runtime)
    try:
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "hub")
        app = make_app(router=router)
        post(app.test_client(), telegram_message(hub_of(app).settings, "/hello"))
        logging.getLogger("elsewhere").warning("a line of someone else's")
    finally:
        logging.getLogger().removeHandler(runtime)
    err = capsys.readouterr().err
    stages = [json.loads(line)["stage"] for line in err.splitlines() if '"stage"' in line]
    assert stages == ["handled"]  # answered inline: one line, marked received
    assert "RUNTIME INFO hub" not in err  # not a second time through the root handler
    assert "RUNTIME WARNING elsewhere a line of someone else's" in err  # the root handler still works


def test_secrets_never_reach_the_logs(make_app, router, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    app = make_app({**PLANTED, "HUB_MAX_ATTEMPTS": "1"}, router=router)
    settings = hub_of(app).settings
    client = app.test_client()
    bearer = {"Authorization": f"Bearer {PLANTED['HUB_ADMIN_TOKEN']}"}

    post(client, stripe_event(settings, "invoice.paid"))  # fails, dead at once
    post(client, twilio_sms(settings, "http://localhost", "HELLO", sender=PHONE))
    post(client, telegram_message(settings, "/hello"))
    # Bad requests: wrong secrets, bad signatures, junk bodies, wrong admin tokens.
    right_secret = PLANTED["TELEGRAM_WEBHOOK_SECRET"]
    client.post(
        "/webhooks/telegram",
        data=b"{",
        content_type="application/json",
        headers={"X-Telegram-Bot-Api-Secret-Token": right_secret},
    )
    client.post("/webhooks/telegram", data=b"{}", headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"})
    client.post("/webhooks/stripe", data=b"{}", headers={"Stripe-Signature": "t=1,v1=00"})
    client.post("/webhooks/twilio/sms", data={"From": PHONE}, headers={"X-Twilio-Signature": "bad"})
    client.post("/webhooks/google/calendar", headers={"X-Goog-Channel-Token": "nope"})
    client.get("/admin/api/events", headers={"Authorization": "Bearer nope"})
    client.get("/admin/api/events?limit=x", headers=bearer)
    event_id = client.get("/admin/api/events?source=stripe", headers=bearer).json[0]["id"]
    client.post(f"/admin/api/events/{event_id}/replay", headers=bearer)
    client.post("/admin/login", data={"token": "wrong-token"})

    records = "\n".join(
        f"{r.getMessage()} {r.__dict__.get('error', '')} {r.exc_text or ''}" for r in caplog.records
    )
    captured = capsys.readouterr()
    everything = "\n".join([caplog.text, records, captured.err, captured.out])
    assert "refused:" in everything and "calling stripe with" in everything, "the lines were captured"
    for name, value in PLANTED.items():
        if name != "TWILIO_ACCOUNT_SID":  # an account id, not a secret
            assert value not in everything, f"{name} leaked into the logs"
    assert PHONE not in everything


@pytest.mark.parametrize(
    "fields",
    [
        {"stage": "received", "event_id": "evt_1", "source": "stripe", "event_type": "x.y", "attempts": 0},
        {"stage": "handled", "attempts": 3, "duration_ms": 12.5, "received": True, "error": ""},
        {"stage": "failed", "error": 'quote " backslash \\ newline \n tab \t', "received": False},
        {"stage": "dead", "event_type": "ünïcode ✓ and \u2028", "duration_ms": float("nan")},
        {"attempts": 10**20, "duration_ms": float("inf"), "received": None},
        {"duration_ms": -0.0, "event_id": ["not", "a", "str"], "source": {"nested": 1}},
    ],
)
def test_a_json_line_is_exactly_what_json_dumps_writes(fields):
    """JsonFormatter writes its lines piece by piece: the text must be json.dumps's own."""
    from hub.logs import _FIELDS, JsonFormatter

    record = logging.LogRecord("hub.events", logging.WARNING, __file__, 1, "a %s line", ("stage",), None)
    vars(record).update(fields)
    record.exc_text = "Traceback: boom"
    line = JsonFormatter().format(record)

    expected = {
        "time": json.loads(line)["time"],
        "level": "WARNING",
        "logger": "hub.events",
        "message": "a stage line",
        **{name: fields[name] for name in _FIELDS if fields.get(name) is not None},
        "exception": "Traceback: boom",
    }
    assert line == json.dumps(expected)
