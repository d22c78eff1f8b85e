"""zappa_settings.json and the package-size check, as plain data."""

from __future__ import annotations

import importlib
import json
import py_compile
import zipfile
from pathlib import Path

from infra import package_size, schedules
from infra.deploy import load_stage
from infra.package import runtime_version

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = json.loads((ROOT / "zappa_settings.json").read_text())


def test_schedules_in_zappa_settings_match_infra_schedules() -> None:
    assert SETTINGS["dev"]["events"] == schedules.zappa_events()
    for event in SETTINGS["dev"]["events"]:
        module, _, name = event["function"].rpartition(".")
        assert callable(getattr(importlib.import_module(module), name))


def test_every_stage_runs_the_build_python_and_keeps_secrets_out() -> None:
    secret_names = {"TELEGRAM_BOT_TOKEN", "STRIPE_API_KEY", "TWILIO_AUTH_TOKEN", "HUB_ADMIN_TOKEN"}
    for stage, config in SETTINGS.items():
        assert runtime_version(stage) == "3.11"
        assert not secret_names & set(config.get("environment_variables", {}))
        assert config.get("environment_variables", {}).get("HUB_STAGE") == stage


def test_each_stage_serves_an_http_api_that_can_read_form_posts() -> None:
    for stage in SETTINGS:
        config = load_stage(stage).config
        assert config["apigateway_version"] == "v2", f"{stage}: HTTP API ($1.00/M) is the default"
        assert config["binary_support"] is True, f"{stage}: Twilio's base64 form posts need it"


def _zip(tmp_path: Path, files: dict[str, bytes]) -> Path:
    path = tmp_path / "pkg.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def _required() -> dict[str, bytes]:
    return {name: b"x" for name in package_size.REQUIRED}


def test_a_package_within_budget_passes(tmp_path) -> None:  # noqa: ANN001
    assert package_size.measure(_zip(tmp_path, _required())).ok


def test_an_oversized_package_fails_and_names_what_to_exclude(tmp_path) -> None:  # noqa: ANN001
    report = package_size.measure(
        _zip(tmp_path, {**_required(), "twilio/big.py": b"0" * 3_000_000}), unzipped_budget_mib=2
    )
    assert not report.ok
    assert "twilio" in report.problems[0] and "exclude_glob" in report.problems[0]


def test_timestamp_pyc_and_local_secrets_are_refused(tmp_path) -> None:  # noqa: ANN001
    source = tmp_path / "m.py"
    source.write_text("x = 1\n")
    stamped = py_compile.compile(
        str(source), cfile=str(tmp_path / "m.pyc"), invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP
    )
    hashed = py_compile.compile(
        str(source),
        cfile=str(tmp_path / "h.pyc"),
        invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH,
    )
    files = {
        **_required(),
        "a/__pycache__/m.cpython-311.pyc": Path(stamped).read_bytes(),
        "b/__pycache__/h.cpython-311.pyc": Path(hashed).read_bytes(),
        "instance/dev-secrets.json": b"{}",
    }

    problems = " ".join(package_size.measure(_zip(tmp_path, files)).problems)

    assert "1 timestamp-based .pyc" in problems
    assert "instance/dev-secrets.json" in problems
    assert "missing" not in problems
