"""Settings: config keys over the environment over `.env`; malformed values stop start-up."""

from __future__ import annotations

import logging

import pytest
from click.testing import CliRunner

from hub import create_app
from hub.app import announce
from hub.cli import main
from hub.config import load_settings
from hub.errors import ConfigError
from hub.services import hub_of


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):  # noqa: ANN001
    """No HUB_*/provider variable or `.env` from the machine running the tests leaks in."""
    for name in load_settings({}, tmp_path, environ={}).__dataclass_fields__:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.delenv("HUB_INSTANCE_PATH", raising=False)
    monkeypatch.chdir(tmp_path)


def settings_of(make_app, config=None):  # noqa: ANN001, ANN201
    return hub_of(make_app(config)).settings


def test_config_keys_override_environment_variables(make_app, monkeypatch):
    monkeypatch.setenv("HUB_PUBLIC_URL", "https://from-env.example")
    monkeypatch.setenv("HUB_MAX_ATTEMPTS", "9")

    settings = settings_of(make_app, {"HUB_PUBLIC_URL": "https://from-config.example"})

    assert settings.hub_public_url == "https://from-config.example"
    assert settings.hub_max_attempts == 9  # not in config: the environment's


def test_config_keys_may_be_typed_values(make_app):
    settings = settings_of(
        make_app,
        {"HUB_DRY_RUN": False, "HUB_MAX_ATTEMPTS": 3, "STRIPE_WEBHOOK_SECRET": ["whsec_a", "whsec_b"]},
    )

    assert settings.hub_dry_run is False
    assert settings.hub_max_attempts == 3
    assert settings.stripe_webhook_secret == ("whsec_a", "whsec_b")


def test_none_in_config_means_unset_even_when_the_environment_has_it(make_app, monkeypatch):
    monkeypatch.setenv("HUB_PUBLIC_URL", "https://from-env.example")

    assert settings_of(make_app, {"HUB_PUBLIC_URL": None}).hub_public_url == ""


def test_a_dotenv_file_in_the_working_directory_is_read_and_the_environment_wins(
    make_app, monkeypatch, tmp_path
):
    (tmp_path / ".env").write_text(
        "HUB_PUBLIC_URL=https://from-dotenv.example\nHUB_MAX_ATTEMPTS=8\nOPENWEATHER_API_KEY=dotenv-key\n"
    )
    monkeypatch.setenv("HUB_MAX_ATTEMPTS", "2")

    settings = settings_of(make_app)

    assert settings.hub_public_url == "https://from-dotenv.example"
    assert settings.openweather_api_key == "dotenv-key"
    assert settings.hub_max_attempts == 2


MALFORMED = {
    "STRIPE_WEBHOOK_SECRET": ("sk_test_oops", "whsec_"),
    "HUB_PUBLIC_URL": ("x.example.com/prod", "https://"),
    "HUB_TASKS": ("celery", "inline, thread, lambda"),
    "HUB_DRY_RUN": ("maybe", "write 1 or 0"),
    "HUB_DEDUP_DAYS": ("3", "write 7 or more"),
    "REDIS_URL": ("localhost:6379", "redis://"),
    "HUB_REDIS_CLUSTER": ("maybe", "write auto, 1 or 0"),
    "HUB_REDIS_PREFIX": ("hub:", "{hub}:"),
    "SENTRY_TRACES_SAMPLE_RATE": ("2", "between 0 and 1"),
    "HUB_MAX_ATTEMPTS": ("many", "not a number"),
    "HUB_RETRY_BASE_SECONDS": ("nan", "not a number"),
}


@pytest.mark.parametrize("name", MALFORMED)
def test_a_malformed_value_stops_start_up_naming_the_variable_and_the_fix(make_app, name):
    value, hint = MALFORMED[name]

    with pytest.raises(ConfigError) as raised:
        make_app({name: value})

    assert name in str(raised.value)
    assert hint in str(raised.value)


@pytest.mark.parametrize("name", MALFORMED)
def test_a_malformed_environment_variable_stops_start_up_too(make_app, monkeypatch, name):
    monkeypatch.setenv(name, MALFORMED[name][0])

    with pytest.raises(ConfigError, match=name):
        create_app({"HUB_INSTANCE_PATH": "instance"})


@pytest.mark.parametrize(
    "name, value",
    [("STRIPE_WEBHOOK_SECRET", "whsec_ok,sk_live_secretvalue"), ("REDIS_URL", "http://:hunter2@redis:6379")],
)
def test_secret_values_are_not_echoed_in_config_errors(make_app, name, value):
    with pytest.raises(ConfigError) as raised:
        make_app({name: value})

    assert "secretvalue" not in str(raised.value) and "hunter2" not in str(raised.value)


def test_a_public_url_with_a_query_is_refused(make_app):
    with pytest.raises(ConfigError, match="HUB_PUBLIC_URL"):
        make_app({"HUB_PUBLIC_URL": "https://x.example.com/prod?stage=1"})


def test_a_trailing_slash_on_the_public_url_is_dropped(make_app):
    assert settings_of(make_app, {"HUB_PUBLIC_URL": "https://x.example.com/prod/"}).hub_public_url == (
        "https://x.example.com/prod"
    )


def test_with_dry_run_off_each_provider_missing_a_key_logs_one_line(make_app, caplog):
    caplog.set_level(logging.WARNING, logger="hub")

    announce(make_app({"HUB_DRY_RUN": "0", "STRIPE_API_KEY": "sk_test_123456"}))

    disabled = [r.getMessage() for r in caplog.records if " disabled: set " in r.getMessage()]
    telegram = [line for line in disabled if line.startswith("telegram disabled")]
    assert telegram == ["telegram disabled: set TELEGRAM_BOT_TOKEN to enable it"]
    assert not any(line.startswith("stripe") for line in disabled)  # both Stripe keys are set
    assert any(line.startswith("weather disabled: set OPENWEATHER_API_KEY") for line in disabled)


def test_with_dry_run_on_no_provider_is_reported_disabled(make_app, caplog):
    caplog.set_level(logging.WARNING, logger="hub")

    announce(make_app())

    assert not [r for r in caplog.records if " disabled: set " in r.getMessage()]


@pytest.mark.parametrize("command", [["events"], ["serve"]])  # `--help`: help only (tests/test_cli_quiet.py)
def test_the_cli_prints_a_config_error_as_one_line(tmp_path, command):
    env = {"HUB_INSTANCE_PATH": str(tmp_path / "instance"), "HUB_DRY_RUN": "maybe"}

    result = CliRunner().invoke(main, command, env=env)

    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert errors == ["Error: configuration: HUB_DRY_RUN='maybe' is not a boolean: write 1 or 0."]
    assert result.exit_code == 1
    assert result.output.strip() == errors[0]


def test_an_empty_dry_run_variable_keeps_dry_run_on(tmp_path):
    # HUB_DRY_RUN= in a .env file must not quietly turn live sending on.
    assert load_settings({}, tmp_path, environ={"HUB_DRY_RUN": ""}).hub_dry_run is True
    assert load_settings({}, tmp_path, environ={"HUB_DRY_RUN": "0"}).hub_dry_run is False
