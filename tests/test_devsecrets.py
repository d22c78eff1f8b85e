"""Development secrets: generated once into the instance folder, only in dry-run."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from hub.devsecrets import FILE_NAME
from hub.errors import ConfigError
from hub.services import hub_of
from integrations.samples import stripe_event, telegram_message, twilio_sms
from tests.conftest import post

# The conftest's fixed secrets, unset: hub must make its own.
NO_SECRETS = {
    "HUB_ADMIN_TOKEN": "",
    "TELEGRAM_WEBHOOK_SECRET": "",
    "STRIPE_WEBHOOK_SECRET": "",
    "TWILIO_AUTH_TOKEN": "",
    "GOOGLE_CHANNEL_TOKEN": "",
}
GENERATED = (
    "hub_admin_token",
    "telegram_webhook_secret",
    "stripe_webhook_secret",
    "twilio_auth_token",
    "google_channel_token",
    "paypal_webhook_id",
    "hub_secret_key",
)


def secrets_file(app) -> Path:  # noqa: ANN001
    return Path(app.instance_path) / FILE_NAME


def test_generated_once_into_the_instance_folder_readable_by_the_owner_only(make_app):
    app = make_app(NO_SECRETS)
    settings = hub_of(app).settings

    path = secrets_file(app)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = json.loads(path.read_text())
    assert set(stored) == set(GENERATED) == set(settings.dev_secrets)
    assert settings.telegram_webhook_secret == stored["telegram_webhook_secret"]
    assert settings.stripe_webhook_secret == (stored["stripe_webhook_secret"],)
    assert settings.stripe_webhook_secret[0].startswith("whsec_")
    assert not list(path.parent.glob("*.tmp"))


def test_the_same_secrets_after_a_restart_so_signed_requests_still_verify(make_app):
    first = hub_of(make_app(NO_SECRETS)).settings
    restarted = make_app(NO_SECRETS)
    client = restarted.test_client()

    for name in GENERATED:
        assert getattr(hub_of(restarted).settings, name) == getattr(first, name)
    assert post(client, stripe_event(first, "invoice.paid")).status_code == 200
    assert post(client, telegram_message(first, "/help")).status_code == 200
    assert post(client, twilio_sms(first, "http://localhost", "HELP")).status_code == 200


def test_no_endpoint_accepts_an_unsigned_request_with_dev_secrets(make_app):
    client = make_app(NO_SECRETS).test_client()

    assert client.post("/webhooks/telegram", json={"update_id": 1}).status_code == 401
    assert client.post("/webhooks/stripe", json={"id": "evt_1", "type": "x"}).status_code == 400
    assert client.post("/webhooks/twilio/sms", data={"From": "+1", "MessageSid": "SM1"}).status_code == 403
    assert client.post("/webhooks/google/calendar").status_code == 403


def test_nothing_is_generated_with_dry_run_off(make_app):
    app = make_app({**NO_SECRETS, "HUB_DRY_RUN": "0"})
    settings = hub_of(app).settings

    assert not secrets_file(app).exists()
    assert settings.dev_secrets == ()
    assert settings.telegram_webhook_secret == "" and settings.stripe_webhook_secret == ()
    response = post(app.test_client(), telegram_message(settings, "/help"))
    assert response.status_code == 503 and response.get_json()["error"] == "source_disabled"


def test_explicit_config_wins_over_a_stored_secret(make_app):
    make_app(NO_SECRETS)  # stores a generated Telegram secret

    app = make_app({**NO_SECRETS, "TELEGRAM_WEBHOOK_SECRET": "chosen-by-the-operator"})
    settings = hub_of(app).settings

    assert settings.telegram_webhook_secret == "chosen-by-the-operator"
    assert "telegram_webhook_secret" not in settings.dev_secrets
    stored = json.loads(secrets_file(app).read_text())
    assert stored["telegram_webhook_secret"] != "chosen-by-the-operator"


def test_only_missing_secrets_are_generated(make_app):
    app = make_app({**NO_SECRETS, "STRIPE_WEBHOOK_SECRET": "whsec_mine"})

    assert "stripe_webhook_secret" not in json.loads(secrets_file(app).read_text())
    assert hub_of(app).settings.stripe_webhook_secret == ("whsec_mine",)


def test_a_loosened_file_mode_is_tightened_again(make_app):
    app = make_app(NO_SECRETS)
    secrets_file(app).chmod(0o644)

    make_app(NO_SECRETS)

    assert stat.S_IMODE(secrets_file(app).stat().st_mode) == 0o600


@pytest.mark.parametrize("content", ["{not json", "[]", '{"telegram_webhook_secret": 5}'])
def test_a_damaged_file_stops_start_up_with_what_to_do(make_app, tmp_path, content):
    path = tmp_path / "instance" / FILE_NAME
    path.parent.mkdir(parents=True)
    path.write_text(content)

    with pytest.raises(ConfigError, match="delete it"):
        make_app(NO_SECRETS)


def test_an_unwritable_instance_folder_stops_start_up_with_what_to_do(make_app, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")

    with pytest.raises(ConfigError, match="HUB_INSTANCE_PATH"):
        make_app({**NO_SECRETS, "HUB_INSTANCE_PATH": str(blocker / "instance")})
