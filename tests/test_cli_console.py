"""The `hub` console script itself, run in a child process as a user runs it: what reaches
stdout and stderr, exit codes, and the banner of `hub serve`."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.cli import command_as_typed, main
from tests.conftest import SECRETS

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
HUB = Path(sys.executable).parent / "hub"  # the console script of this environment
PATH_WITHOUT_HUB = os.pathsep.join(
    p for p in os.environ.get("PATH", "").split(os.pathsep) if p and not (Path(p) / "hub").exists()
)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A clean environment: no HUB_* or provider variable from the caller, this test's folder."""
    kept = {k: v for k, v in os.environ.items() if k in ("HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")}
    return {
        **kept,
        "PATH": PATH_WITHOUT_HUB,
        "HUB_INSTANCE_PATH": str(tmp_path / "instance"),
        "PYTHONUNBUFFERED": "1",
    }


def run(env: dict[str, str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HUB), *args], env=env, cwd=cwd or ROOT, capture_output=True, text=True, timeout=60
    )


def test_hub_help_prints_help_only_and_builds_no_app(env, tmp_path):
    done = run(env, "--help")

    assert done.returncode == 0
    assert done.stderr == ""
    assert done.stdout.startswith("Usage: hub")
    for name in main.commands:
        assert f"  {name} " in done.stdout
    # No app was built for it: no store opened, no development secret written.
    assert not (tmp_path / "instance").exists()


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_commands_help_prints_help_only(env, command):
    done = run(env, command, "--help")

    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith(f"Usage: hub {command}")


def test_help_is_help_only_even_with_a_broken_configuration(env):
    done = run({**env, "HUB_DRY_RUN": "maybe"}, "--help")

    assert (done.returncode, done.stderr) == (0, "")
    assert "Commands:" in done.stdout


def test_reading_commands_print_no_log_lines(env):
    empty = run(env, "events")
    assert (empty.returncode, empty.stderr) == (0, "")
    assert "no events yet" in empty.stdout

    as_json = run(env, "events", "--json")
    assert (as_json.returncode, as_json.stderr, as_json.stdout.strip()) == (0, "", "[]")


def test_tick_waits_for_its_background_run_and_reports_how_it_ended(env):
    # HUB_TASKS is the local default, `thread`: the run happens after emit() returns.
    done = run(env, "tick", "weather.digest")

    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.rstrip().endswith(": done"), done.stdout
    assert "processing" not in done.stdout
    listed = run(env, "events", "--source", "schedule")
    assert " done " in listed.stdout and listed.stderr == ""


def test_serve_on_a_busy_port_says_so_before_any_banner(env):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        done = run(env, "serve", "--port", str(port))

    assert done.returncode == 1
    assert done.stdout == ""  # no banner announcing a server that is not there
    assert f"port {port} on 127.0.0.1 is already in use" in done.stderr
    assert f"serve --port {port + 1}" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.fixture
def served(env: dict[str, str]) -> Iterator[list[str]]:
    """`hub serve --port 0` started without `hub` on PATH; yields its banner lines."""
    process = subprocess.Popen(
        [str(HUB), "serve", "--port", "0"],
        env=env,
        cwd=ROOT,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        banner: list[str] = []
        assert process.stdout is not None
        for line in process.stdout:
            banner.append(line.rstrip("\n"))
            if line.lstrip().startswith("try:"):
                break
        assert banner and banner[-1].lstrip().startswith("try:"), banner
        yield banner
    finally:
        process.terminate()
        process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_the_banners_try_line_works_as_typed_without_hub_on_path(env, served):
    typed = served[-1].split("try:", 1)[1].strip()
    expected = os.path.relpath(HUB, ROOT) if HUB.is_relative_to(ROOT) else str(HUB)
    assert typed.startswith(f"{expected} simulate telegram message --text '/help' --url http://127.0.0.1:")

    done = subprocess.run(shlex.split(typed), env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    assert "POST /webhooks/telegram -> 200" in done.stdout
    assert "/weather <city>" in done.stdout  # the bot's /help answer rode back in the reply
    assert done.stderr == ""


def test_command_as_typed_is_hub_when_path_finds_this_script(monkeypatch, tmp_path):
    script = tmp_path / "venv" / "bin" / "hub"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.chdir(tmp_path)

    monkeypatch.setenv("PATH", str(script.parent))
    assert command_as_typed(str(script)) == "hub"

    monkeypatch.setenv("PATH", PATH_WITHOUT_HUB)
    assert command_as_typed(str(script)) == os.path.join("venv", "bin", "hub")
    monkeypatch.chdir(script.parent)
    assert command_as_typed("hub") == "./hub"  # a bare `hub` would be looked up on PATH
    monkeypatch.chdir(ROOT)
    assert command_as_typed(str(script)) == str(script)  # outside the working folder: absolute


def test_simulate_from_the_console_prints_the_answer_and_nothing_on_stderr(make_app, env):
    from tests.auxil.server import serving

    app = make_app({"HUB_INSTANCE_PATH": env["HUB_INSTANCE_PATH"]})
    with serving(app) as url:
        done = run({**env, **SECRETS}, "simulate", "stripe", "customer.subscription.deleted", "--url", url)

    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("POST /webhooks/stripe -> 200")
