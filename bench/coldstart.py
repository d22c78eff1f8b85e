"""Cold start of the packaged handler (import + first webhook) beside a bare Flask app.

    python -m infra.package dev          # first: build/hub-dev.zip and build/.lambda-venv
    python bench/coldstart.py --runs 7

Both apps are packaged the same way (same venv, same zappa settings and exclusions,
hash-checked .pyc), unzipped into a folder like /var/task, and started in fresh
processes that see only the package plus boto3 (which the Lambda runtime provides).
Timed: importing zappa's handler and building the app (Lambda's init phase), then the
first request, a POST for the bare app and for hub:
- a signed Telegram /help update, answered in the webhook response (`HUB_TASKS=inline`);
- a signed Stripe event with `HUB_TASKS=lambda`, as deployed: stored, then handed to an
  asynchronous Invoke of the function (hub.lambda_invoke) before the ack. The Invoke goes
  to a local fake Lambda endpoint (AWS_ENDPOINT_URL_LAMBDA, placeholder keys) that checks
  its signature;
- a signed PayPal event, likewise, live on the local Redis with PayPal's certificate
  already checked and cached there (tests.paypal.cached: a generated chain served by the
  tests' fake PayPal, fetched once by a warm-up delivery).
`--instructions` counts instead of timing: each package's cold start (interpreter start to
the first answer, once) runs under valgrind's callgrind, whose user-space instruction count
does not move with the machine's load as the clock does.
Run by hand; the numbers go to docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from infra import lambda_events  # noqa: E402
from infra.package import BUILD, VENV, byte_compile, trim  # noqa: E402
from tests.auxil.fake_lambda import fake_lambda  # noqa: E402

BARE_APP = """from flask import Flask, jsonify, request

app = Flask(__name__)


@app.post("/webhooks/telegram")
def telegram():
    update = request.get_json()
    return jsonify(method="sendMessage", chat_id=update["message"]["chat"]["id"], text="hi")
"""

DRIVER = """
import json, sys, time
t0, c0 = time.perf_counter(), time.process_time()
sys.path[:0] = [{pkg!r}, {runtime!r}]
import handler
handler.LambdaHandler()
t1 = time.perf_counter()
response = handler.lambda_handler(json.loads(sys.stdin.read()), None)
t2, c2 = time.perf_counter(), time.process_time()
print(json.dumps({{"init_ms": (t1 - t0) * 1000, "first_ms": (t2 - t1) * 1000,
                  "cpu_ms": (c2 - c0) * 1000, "status": response["statusCode"]}}))
"""


def site_packages() -> Path:
    return next((VENV / "lib").glob("python3*/site-packages"))


def runtime_dir(into: Path) -> Path:
    """What /var/runtime gives a Python Lambda besides the package: boto3 and friends."""
    into.mkdir()
    for name in ("boto3", "botocore", "s3transfer"):
        (into / name).symlink_to(site_packages() / name)
    return into


def bare_package(work: Path) -> Path:
    """A one-route Flask app, packaged by zappa exactly like hub (same venv and settings)."""
    return flask_package(work, "bare", "bare_app", BARE_APP)


def flask_package(work: Path, name: str, module: str, source: str) -> Path:
    """The Flask app `app` of `source` (saved as `module`.py), packaged by zappa exactly like
    hub: same venv and settings, no schedules, no environment of its own."""
    project = work / name
    project.mkdir()
    (project / f"{module}.py").write_text(source)
    settings = json.loads((ROOT / "zappa_settings.json").read_text())["dev"]
    settings.update(app_function=f"{module}.app", project_name=name, events=[], environment_variables={})
    (project / "zappa_settings.json").write_text(json.dumps({name: settings}))
    subprocess.run(
        [
            str(VENV / "bin" / "python"),
            "-m",
            "compileall",
            "-q",
            "--invalidation-mode",
            "checked-hash",
            str(project),
        ],
        check=True,
    )
    output = work / f"{name}.zip"
    env = {**os.environ, "VIRTUAL_ENV": str(VENV), "AWS_DEFAULT_REGION": "eu-west-1"}
    subprocess.run(
        [str(VENV / "bin" / "zappa"), "package", name, "-o", str(output), "--disable_progress"],
        check=True,
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    trim(output)  # what infra.package does to hub's zip
    return output


def unzip(zip_path: Path, into: Path, *, strip_pyc: bool = False) -> Path:
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(into)
    if strip_pyc:  # what Lambda effectively does with timestamp .pyc files: recompile everything
        for cache in into.rglob("__pycache__"):
            shutil.rmtree(cache)
    return into


def run_driver(
    driver: str, pkg: Path, runtime: Path, given: object, env: dict[str, str], what: str, wrapper: tuple = ()
) -> dict:
    """Run `driver` (formatted with the package and runtime folders) in a fresh isolated
    process, as Lambda starts one, feeding it `given` as JSON; its last line is the result.
    `wrapper`: a command the interpreter runs under (valgrind, for bench/warmcost.py)."""
    code = driver.format(pkg=str(pkg), runtime=str(runtime))
    done = subprocess.run(
        [*wrapper, str(VENV / "bin" / "python"), "-I", "-S", "-B", "-c", code],
        input=json.dumps(given),
        capture_output=True,
        text=True,
        cwd=pkg,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{what} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_once(pkg: Path, runtime: Path, event: dict, env: dict[str, str]) -> dict:
    return run_driver(DRIVER, pkg, runtime, event, env, "cold start")


def count_once(pkg: Path, runtime: Path, event: dict, env: dict[str, str], out: Path) -> int:
    """User-space instructions of one whole cold start (callgrind), process start to answer."""
    valgrind = ("valgrind", "--tool=callgrind", f"--callgrind-out-file={out}")
    run_driver(DRIVER, pkg, runtime, event, env, "counted cold start", wrapper=valgrind)
    summary = next(line for line in out.read_text().splitlines() if line.startswith("summary:"))
    return int(summary.split()[1])


def print_counts(counts: dict[str, int]) -> None:
    bare = counts["bare Flask"]
    print(f"{'package':<22} {'instructions':>14} {'x bare':>7}  (callgrind, one cold start each)")
    for name, count in counts.items():
        print(f"{name:<22} {count:14,} {count / bare:7.2f}")


BENCH_SECRETS = {"TELEGRAM_WEBHOOK_SECRET": "bench-telegram-secret", "STRIPE_WEBHOOK_SECRET": "whsec_bench"}


def built_package(stage: str, given: Path | None = None) -> Path | None:
    """The stage's package (or `given`, e.g. another tree's build), this tree's venv
    byte-compiled as deployed; None (said) when not built."""
    hub_zip = given or BUILD / f"hub-{stage}.zip"
    if not hub_zip.exists() or not VENV.exists():
        print(f"build first: python -m infra.package {stage}", file=sys.stderr)
        return None
    byte_compile(VENV)
    return hub_zip


def lambda_env(stage: str) -> dict[str, str]:
    """What the Lambda runtime sets for the function, plus hub's bench secrets (inline tasks)."""
    return {
        "PATH": "/usr/bin:/bin",
        "AWS_LAMBDA_FUNCTION_NAME": f"hub-{stage}",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_REGION": "eu-west-1",
        **BENCH_SECRETS,
        "HUB_ADMIN_TOKEN": "bench-admin-token",
        "HUB_TASKS": "inline",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--instructions", action="store_true", help="count instructions (valgrind)")
    parser.add_argument("--zip", type=Path, help="hub's package to start (default: this tree's build)")
    args = parser.parse_args()
    hub_zip = built_package(args.stage, args.zip)
    if hub_zip is None:
        return 2
    from hub.config import load_settings
    from integrations.samples import stripe_event, telegram_message

    secrets = BENCH_SECRETS
    from tests.paypal.cached import cached_paypal

    with tempfile.TemporaryDirectory() as tmp, fake_lambda() as fake, cached_paypal(Path(tmp)) as paypal:
        work = Path(tmp)
        paypal_env, paypal_delivery = paypal
        settings = load_settings(secrets, work, environ={})
        env = lambda_env(args.stage)
        # Placeholders for the local fake endpoint; nothing here can reach AWS.
        lambda_mode = {**fake.environ(f"hub-{args.stage}"), "HUB_TASKS": "lambda"}
        runtime = runtime_dir(work / "runtime")
        bare = unzip(bare_package(work), work / "bare-pkg")
        hub_pkg = unzip(hub_zip, work / "hub-pkg")
        packages = {  # name: (folder, extra env, signed first request)
            "bare Flask": (bare, {}, lambda: telegram_message(settings, "/help")),
            "hub, Telegram /help": (hub_pkg, {}, lambda: telegram_message(settings, "/help")),
            "hub, Stripe (lambda)": (hub_pkg, lambda_mode, lambda: stripe_event(settings, "invoice.paid")),
            # Its baseline: the same store and cache on Redis (redis-py's import is ~100 ms itself).
            "hub, Stripe (λ, Redis)": (
                hub_pkg,
                {**lambda_mode, **paypal_env},
                lambda: stripe_event(settings, "invoice.paid"),
            ),
            "hub, PayPal (λ, Redis)": (hub_pkg, {**lambda_mode, **paypal_env}, paypal_delivery),
        }
        if args.instructions:  # one counted start each; the .pyc-less one only shows the clock's point
            counts = {}
            for name, (pkg, extra, first_request) in packages.items():
                run_env = {
                    **env,
                    **extra,
                    "HUB_DATABASE": str(work / f"db-counted-{len(counts)}.sqlite3"),
                    "HUB_INSTANCE_PATH": str(work / "instance"),
                }
                event = lambda_events.rest_v1(first_request(), args.stage)
                counts[name] = count_once(pkg, runtime, event, run_env, work / f"callgrind.{len(counts)}.out")
            print_counts(counts)
            return 0
        packages["hub /help, no .pyc"] = (
            unzip(hub_zip, work / "hub-nopyc", strip_pyc=True),
            {},
            lambda: telegram_message(settings, "/help"),
        )
        results: dict[str, list[dict]] = {name: [] for name in packages}
        for run in range(args.runs):
            for name, (pkg, extra, first_request) in packages.items():
                database = work / f"db-{run}-{len(results[name])}.sqlite3"
                instance = work / "instance"
                run_env = {**env, **extra, "HUB_DATABASE": str(database), "HUB_INSTANCE_PATH": str(instance)}
                event = lambda_events.rest_v1(first_request(), args.stage)
                results[name].append(run_once(pkg, runtime, event, run_env))
        print(f"fake Lambda: {len(fake.messages)} Invokes taken, {fake.bad_signatures} refused")
    bare_total = statistics.median(r["init_ms"] + r["first_ms"] for r in results["bare Flask"])
    bare_cpu = statistics.median(r["cpu_ms"] for r in results["bare Flask"])
    columns = ("init ms", "first ms", "total ms", "x bare", "cpu ms", "x bare")
    header = f"{'package':<22} " + " ".join(f"{c:>{max(len(c), 7)}}" for c in columns)
    print(f"{header}  (median of {args.runs}; cpu: the process's own CPU time over the same span)")
    for name, runs in results.items():
        init = statistics.median(r["init_ms"] for r in runs)
        first = statistics.median(r["first_ms"] for r in runs)
        total = statistics.median(r["init_ms"] + r["first_ms"] for r in runs)
        cpu = statistics.median(r["cpu_ms"] for r in runs)
        statuses = {r["status"] for r in runs}
        ratio = total / bare_total
        print(
            f"{name:<22} {init:8.0f} {first:9.0f} {total:9.0f} {ratio:7.2f} {cpu:7.0f} {cpu / bare_cpu:7.2f}"
            f"  status {statuses}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
