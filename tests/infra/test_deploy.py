"""infra.deploy, the documented deploy command: one region, one bucket, touch left to AWS.

The whole cycle against the emulator is tests/deploy/cycle.py (run by .ci/run); these
tests hold each of the three deploy problems offline, with zappa's own objects.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra import deploy

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = json.loads((ROOT / "zappa_settings.json").read_text())
DUMMY = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def _zappa_for(stage: deploy.Stage, tmp_path: Path):  # noqa: ANN202
    """zappa's CLI object as `zappa <command> <stage> -s <effective settings>` builds it."""
    from zappa.cli import ZappaCLI

    path = deploy.effective_settings(stage, "hub-dev-bucket", {}, tmp_path)
    cli = ZappaCLI()
    cli.api_stage = stage.name
    cli.load_settings(str(path))
    return cli


def _regions(cli) -> dict[str, str]:  # noqa: ANN001
    zappa = cli.zappa
    clients = {
        "lambda": zappa.lambda_client,
        "events": zappa.events_client,
        "cloudformation": zappa.cf_client,
        "apigateway": zappa.apigateway_client,
        "s3": zappa.s3_client,
        "logs": zappa.logs_client,
    }
    return {name: client.meta.region_name for name, client in clients.items()}


@pytest.fixture
def shell(monkeypatch):  # noqa: ANN001, ANN201
    """A user's shell: credentials in the environment, a default region unlike the settings'."""
    for key in ("AWS_PROFILE", "AWS_REGION"):
        monkeypatch.delenv(key, raising=False)
    for key, value in {**DUMMY, "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    import os

    return os.environ


def test_zappa_alone_splits_a_stage_across_regions(shell, tmp_path) -> None:  # noqa: ANN001
    """Why infra.deploy pins the region: zappa's load_credentials prefers AWS_DEFAULT_REGION
    for its session, while its Lambda client alone keeps the settings' region. If this fails,
    zappa no longer does that and the pin may go."""
    regions = _regions(_zappa_for(deploy.load_stage("dev"), tmp_path))

    assert regions["lambda"] == "eu-west-1"
    assert regions["events"] == regions["cloudformation"] == regions["apigateway"] == "us-east-1"


@pytest.mark.parametrize("stage", list(SHIPPED))
def test_every_client_uses_the_settings_region_whatever_the_shell_says(shell, tmp_path, stage) -> None:  # noqa: ANN001
    config = deploy.load_stage(stage)

    note = deploy.pin_region(config, shell)

    assert set(_regions(_zappa_for(config, tmp_path)).values()) == {config.region}
    assert note is not None and "AWS_DEFAULT_REGION=us-east-1" in note and config.region in note


def test_no_note_when_the_shell_agrees(monkeypatch) -> None:  # noqa: ANN001
    environ = {"AWS_DEFAULT_REGION": "eu-west-1"}

    assert deploy.pin_region(deploy.load_stage("dev"), environ) is None
    assert environ == {"AWS_DEFAULT_REGION": "eu-west-1", "AWS_REGION": "eu-west-1"}


def test_each_stage_has_one_bucket_on_every_run() -> None:
    dev, prod = deploy.load_stage("dev"), deploy.load_stage("prod")

    names = {deploy.bucket_name(dev, "123456789012", {}) for _ in range(3)}

    assert names == {"hub-dev-123456789012-eu-west-1"}
    assert deploy.bucket_name(prod, "123456789012", {}) == "hub-prod-123456789012-eu-west-1"


def test_the_bucket_can_be_chosen_by_settings_or_environment(tmp_path) -> None:  # noqa: ANN001
    settings = {
        "dev": {"aws_region": "eu-west-1", "s3_bucket": "my-team-hub-dev"},
        "prod": {"extends": "dev", "s3_bucket": "my-team-hub-prod"},
    }
    path = tmp_path / "zappa_settings.json"
    path.write_text(json.dumps(settings))
    dev = deploy.load_stage("dev")

    assert deploy.bucket_name(dev, "1", {"HUB_DEPLOY_BUCKET": "chosen"}) == "chosen"
    prod = deploy.load_stage("prod", path)
    assert deploy.bucket_name(prod, "1", {"HUB_DEPLOY_BUCKET": "x"}) == "my-team-hub-prod"  # settings win


def test_the_bucket_reaches_zappa_and_the_shipped_settings_stay_as_they_are(tmp_path) -> None:  # noqa: ANN001
    before = (ROOT / "zappa_settings.json").read_bytes()

    path = deploy.effective_settings(deploy.load_stage("dev"), "hub-dev-b", {"touch": False}, tmp_path)

    written = json.loads(path.read_text())
    pinned = {"s3_bucket": "hub-dev-b", "aws_region": "eu-west-1", "touch": False}
    assert written["dev"] == {**SHIPPED["dev"], **pinned}
    assert written["prod"] == SHIPPED["prod"]
    assert (ROOT / "zappa_settings.json").read_bytes() == before


def test_the_shipped_settings_keep_touch_on_and_choose_no_bucket_or_region_elsewhere() -> None:
    for stage, config in SHIPPED.items():
        assert config.get("touch", True) is True, f"{stage}: touch must stay on for AWS"
        assert "s3_bucket" not in config or config["s3_bucket"], stage
    assert SHIPPED["dev"]["aws_region"] == "eu-west-1"


def test_extends_is_resolved_as_zappa_does() -> None:
    prod = deploy.load_stage("prod")

    assert prod.config["memory_size"] == 1024
    assert prod.config["runtime"] == SHIPPED["dev"]["runtime"]
    assert prod.config["environment_variables"]["HUB_STAGE"] == "prod"
    assert prod.lambda_name == "hub-prod" and "extends" not in prod.config


def test_deploy_without_a_built_package_says_how_to_build_it(monkeypatch, tmp_path, capsys) -> None:  # noqa: ANN001
    monkeypatch.setattr(deploy, "BUILD", tmp_path)

    assert deploy.main(["update", "dev"]) == 2

    assert "python -m infra.package dev" in capsys.readouterr().err


def test_an_unknown_stage_is_refused(capsys) -> None:  # noqa: ANN001
    assert deploy.main(["deploy", "staging"]) == 2
    assert "no stage 'staging'" in capsys.readouterr().err


def test_the_readme_deploys_the_way_the_emulator_cycle_does() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Deploy") :]
    section = section[: section.index("\n## ", 1)]
    cycle = (ROOT / "tests" / "deploy" / "cycle.py").read_text()

    for command in ("deploy", "update", "status", "schedule", "undeploy"):
        assert f'hub_deploy("{command}"' in cycle
        assert f"infra.deploy {command} dev" in section
    assert "python -m infra.package dev" in section
    assert "bin/zappa " not in section  # zappa alone splits regions and scatters buckets


def test_no_credentials_is_a_clear_error_not_a_traceback(monkeypatch, tmp_path, capsys) -> None:  # noqa: ANN001
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance-metadata lookup either
    for key in deploy.REGION_VARIABLES:  # main() pins them: restore them after the test
        monkeypatch.setenv(key, "eu-west-1")

    assert deploy.main(["status", "dev"]) == 2

    assert "configure them as for the AWS CLI" in capsys.readouterr().err


def test_moto_stays_out_of_what_ships() -> None:
    """The emulator is installed by tests/deploy/cycle.py into its own virtualenv only."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = [*project["dependencies"], *sum(project["optional-dependencies"].values(), [])]
    assert not [r for r in requirements if r.lower().startswith("moto")]
    from infra.package import PROJECT_PACKAGES

    shipped = [path for package in PROJECT_PACKAGES for path in (ROOT / package).rglob("*.py")]
    assert not [p for p in shipped if "moto" in p.read_text()]
