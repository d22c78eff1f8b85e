"""The README's deploy steps, end to end, against moto's server on 127.0.0.1 with no other network.

    python -m tests.deploy.cycle                    # as root (it makes its own network namespace)
    python -m tests.deploy.cycle --api-version v1   # the same with a REST API instead

Runs `python -m infra.deploy` (the documented command) for stage `dev` with the project's
zappa_settings.json and build/hub-dev.zip (`python -m infra.package dev`, built if missing):
deploy, check, a second deploy (refused), status, update (three times, so the version
limit bites), check, schedule, undeploy, status (gone). The shell it gives zappa says
`AWS_DEFAULT_REGION=us-east-1` while the settings say eu-west-1, and every check also
looks in us-east-1 for anything that strayed there.

Isolation: moto runs in its own virtualenv (build/.emulator-venv, `moto[server]` pinned
below; never a dependency of hub), and the cycle re-runs itself under `unshare -n` with
only the loopback interface up, so no AWS address can be reached whatever goes wrong.
Credentials are dummies that exist only in this process's environment.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.deploy import checks

ROOT = Path(__file__).resolve().parents[2]
EMULATOR_VENV = ROOT / "build" / ".emulator-venv"
MOTO = "moto[server]==5.2.5"
STAGE = "dev"
SHELL_REGION = "us-east-1"  # what a user's shell may say; the settings say eu-west-1
UPDATES = 3
STEP_TIMEOUT = 300  # seconds; a step takes 2-15 s against the emulator
# README step 5's variables, with values that are not secrets of anyone's.
SECRETS = {
    "HUB_ADMIN_TOKEN": "emulator-admin-token",
    "TELEGRAM_BOT_TOKEN": "123:emulator",
    "REDIS_URL": "rediss://emulator.invalid:6379/0",
}


def isolated() -> bool:
    """True inside a network namespace whose only interface is loopback."""
    return [name for _, name in socket.if_nameindex()] == ["lo"]


def prepare() -> None:
    """Everything that needs the package registry, done before the network goes away."""
    python = EMULATOR_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(EMULATOR_VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", MOTO], check=True
    )
    if not (ROOT / "build" / f"hub-{STAGE}.zip").exists():
        subprocess.run([sys.executable, "-m", "infra.package", STAGE], check=True, cwd=ROOT)


def reexec_isolated(argv: list[str]) -> int:
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"):
        print("error: the cycle needs root, unshare and ip to cut itself off the network", file=sys.stderr)
        return 2
    inner = f"ip link set lo up && exec {sys.executable} -m tests.deploy.cycle --isolated {' '.join(argv)}"
    return subprocess.run(["unshare", "-n", "--", "sh", "-c", inner], cwd=ROOT).returncode


class Emulator:
    """moto's server (tests/deploy/emulator.py) as a child process on a free loopback port."""

    def __enter__(self) -> str:
        self.process = subprocess.Popen(
            [str(EMULATOR_VENV / "bin" / "python"), str(Path(__file__).with_name("emulator.py"))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.process.stdout.readline()  # type: ignore[union-attr]
        if not line.startswith("listening on 127.0.0.1:"):
            raise RuntimeError(f"the emulator did not start: {line!r}")
        return "http://" + line.split()[-1]

    def __exit__(self, *exc: object) -> None:
        self.process.stdin.close()  # type: ignore[union-attr]
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def aws_environment(endpoint: str, home: Path) -> dict[str, str]:
    """A shell with dummy credentials, every AWS client pointed at the emulator, and a
    default region that disagrees with the settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_DEFAULT_REGION": SHELL_REGION,
            "AWS_CONFIG_FILE": str(home / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
            "HOME": str(home),
        }
    )
    return env


class Cycle:
    def __init__(self, env: dict[str, str], overlay: Path) -> None:
        self.env, self.overlay = env, overlay

    def hub_deploy(self, command: str, *args: str, expect: int | None = 0) -> str:
        started = time.monotonic()
        progress = ["--disable_progress"] if command in ("deploy", "update") else []
        argv = [sys.executable, "-m", "infra.deploy", command, STAGE, "--settings-overlay", str(self.overlay)]
        try:
            result = subprocess.run(
                [*argv, *progress, *args],
                cwd=ROOT,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=STEP_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            raise checks.Failed(f"{command} still running after {STEP_TIMEOUT} s") from None
        output = result.stdout + result.stderr
        print(f"--- {command} {' '.join(args)}: rc {result.returncode} in {time.monotonic() - started:.1f} s")
        print("\n".join("    " + line for line in output.strip().splitlines()[-12:]))
        if expect is not None and result.returncode != expect:
            raise checks.Failed(f"{command} answered rc {result.returncode}, expected {expect}")
        if expect is None and result.returncode == 0:
            raise checks.Failed(f"{command} succeeded; it must be refused")
        return output


def run_cycle(api_version: str | None) -> int:
    with tempfile.TemporaryDirectory(prefix="hub-cycle-") as home, Emulator() as endpoint:
        home_path = Path(home)
        # The emulator's URL cannot answer an HTTP GET like AWS's does: no touch, here only.
        changes: dict[str, object] = {"touch": False}
        if api_version:
            changes["apigateway_version"] = api_version
        overlay = home_path / "emulator-overlay.json"
        overlay.write_text(json.dumps(changes))
        env = aws_environment(endpoint, home_path)
        cycle = Cycle(env, overlay)
        inspect = checks.Inspector(endpoint, STAGE, changes)
        results: list[str] = []

        output = cycle.hub_deploy("deploy")
        results += inspect.deployed(output, published_versions=1, secrets={})
        inspect.give_secrets(SECRETS)
        refused = cycle.hub_deploy("deploy", expect=None)
        results.append(checks.expect("already deployed" in refused, "a second deploy is refused"))
        status = json.loads(_json_part(cycle.hub_deploy("status", "--json")))
        named = status.get("Lambda Name") == f"hub-{STAGE}"
        results.append(checks.expect(named, "status names the function", status))
        for _ in range(UPDATES):
            output = cycle.hub_deploy("update")
        kept = min(1 + UPDATES, inspect.retained)
        results += inspect.deployed(output, published_versions=kept, secrets=SECRETS)
        cycle.hub_deploy("schedule")
        results += inspect.schedules_only()
        cycle.hub_deploy("undeploy", "--yes")
        gone = cycle.hub_deploy("status", expect=None)
        results.append(checks.expect("have you deployed yet" in gone, "status says nothing is deployed"))
        results += inspect.removed()
    print("\n".join(results))
    failed = sum(line.startswith("FAIL") for line in results)
    print(f"deploy cycle: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


def _json_part(output: str) -> str:
    return output[output.index("{") : output.rindex("}") + 1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.deploy.cycle", description=__doc__.split("\n")[0])
    parser.add_argument("--api-version", choices=["v1", "v2"], help="instead of the settings' one")
    parser.add_argument("--isolated", action="store_true", help=argparse.SUPPRESS)
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    if not args.isolated:
        prepare()
        return reexec_isolated(argv)
    if not isolated():
        print("error: --isolated given but a non-loopback interface exists", file=sys.stderr)
        return 2
    try:
        return run_cycle(args.api_version)
    except checks.Failed as exc:
        print(f"deploy cycle: FAIL {exc}")
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
