"""Warm cost per webhook: the work Lambda bills for one invocation of a warm packaged handler.

    python -m infra.package dev          # first: build/hub-dev.zip and build/.lambda-venv
    python bench/warmcost.py --runs 3 [--redis redis://127.0.0.1:6379/12]

Each app runs from its package, unzipped like /var/task, in a fresh process that sees
only the package and boto3 (as bench/coldstart.py starts them, with the same bare Flask
app packaged the same way). After its cold start and `--warm` webhooks, `--webhooks`
more are timed one by one around `handler.lambda_handler(event, None)`: the span Lambda
bills. Each is a new signed event in an HTTP API (v2) envelope, as deployed:
- bare Flask: a JSON POST answered with JSON;
- hub, Stripe ack: `invoice.paid` verified, stored, handed to an asynchronous Invoke of
  the function (`HUB_TASKS=lambda`, to a local fake Lambda endpoint) and acknowledged;
- hub, Telegram /help: verified, stored, handled inline, the reply in the response;
- the naive peer, Stripe ack: `bench/naive_peer.py` (the receiver a developer writes from
  Stripe's docs: the SDK's `construct_event`, then `SET NX` and `LPUSH`, or one SQLite
  INSERT), packaged the same way: what the same durable ack costs without hub.
The store is a SQLite file (like /tmp on Lambda) or, with `--redis`, that Redis (hub's
`{hub}:` keys in it are deleted afterwards). Run by hand; the numbers go to
docs/PERFORMANCE.md.

`--instructions` counts instead of timing: each process runs under valgrind's callgrind
twice, answering a third of the timed webhooks and then all of them (the same input), and
the difference in instructions over the difference in webhooks is one warm webhook's
user-space instructions. Repeatable to about 1 % on a loaded machine, where wall and CPU
time are not; it leaves out the kernel's share (the socket and fsync system calls) and
the store server's work.

`--profile N` runs each app once under cProfile instead and prints where its warm webhooks
go, by library and by function (the top N). `--package old.zip` measures another build of
hub (both packaged from the same build/.lambda-venv: before and after in one sitting);
`--apps Telegram` measures only the apps whose name holds that text, beside bare Flask.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.coldstart import (  # noqa: E402
    BENCH_SECRETS,
    bare_package,
    built_package,
    flask_package,
    lambda_env,
    run_driver,
    runtime_dir,
    unzip,
)
from infra import lambda_events  # noqa: E402
from tests.auxil.fake_lambda import fake_lambda  # noqa: E402

DRIVER = """
import json, sys, time
sys.path[:0] = [{pkg!r}, {runtime!r}]
import handler
handler.LambdaHandler()
batches = json.loads(sys.stdin.read())
for event in batches["warm"]:
    handler.lambda_handler(event, None)
wall, cpu, statuses = [], [], set()
if batches.get("profile"):
    import cProfile
    profiler = cProfile.Profile()
    profiler.enable()
for event in batches["timed"][: batches.get("count")]:
    w0, c0 = time.perf_counter(), time.process_time()
    response = handler.lambda_handler(event, None)
    cpu.append((time.process_time() - c0) * 1000)
    wall.append((time.perf_counter() - w0) * 1000)
    statuses.add(response["statusCode"])
if batches.get("profile"):
    profiler.disable()
    profiler.dump_stats(batches["profile"])
print(json.dumps({{"wall": wall, "cpu": cpu, "statuses": sorted(statuses)}}))
"""


def run_warm(pkg: Path, runtime: Path, batches: dict, env: dict[str, str]) -> dict:
    return run_driver(DRIVER, pkg, runtime, batches, env, "warm run")


def instructions_per_webhook(
    pkg: Path, runtime: Path, batches: dict, env: dict[str, str], work: Path
) -> float:
    """User-space instructions of one warm webhook: two callgrind runs, few and all timed."""
    total = len(batches["timed"])
    counts = {}
    for count in (total // 3, total):
        out = work / f"callgrind.{count}.out"
        valgrind = ("valgrind", "--tool=callgrind", f"--callgrind-out-file={out}")
        # A store of its own per counted run: in one shared store the second run's webhooks
        # would all be duplicates of the first's, a cheaper path (no handler) than a new one.
        own_store = {
            **env,
            "HUB_DATABASE": f"{env['HUB_DATABASE']}.{count}",
            "HUB_REDIS_PREFIX": f"{{hub}}:counted-{count}:",
        }
        run_driver(
            DRIVER, pkg, runtime, {**batches, "count": count}, own_store, "counted run", wrapper=valgrind
        )
        summary = next(line for line in out.read_text().splitlines() if line.startswith("summary:"))
        counts[count] = int(summary.split()[1])
        out.unlink()
    few, every = sorted(counts)
    return (counts[every] - counts[few]) / (every - few)


def show_profile(
    name: str, pkg: Path, runtime: Path, batches: dict, env: dict[str, str], work: Path, top: int
) -> None:
    """Where one app's warm webhooks spend their time, by library and by function (cProfile:
    Python calls cost more than they do unprofiled, so read the ranking, not the µs)."""
    import pstats

    out = work / "profile.out"
    run_driver(DRIVER, pkg, runtime, {**batches, "profile": str(out)}, env, "profiled run")
    count = len(batches["timed"])
    stats = pstats.Stats(str(out))
    by_library: dict[str, float] = {}
    for (filename, _line, function), row in stats.stats.items():  # type: ignore[attr-defined]
        by_library[_library(filename, function, pkg)] = (
            by_library.get(_library(filename, function, pkg), 0.0) + row[2]
        )
    total = sum(by_library.values())
    print(f"== {name}: {count} warm webhooks, {total / count * 1e6:.0f} µs each under the profiler")
    for library, seconds in sorted(by_library.items(), key=lambda item: -item[1])[:top]:
        print(f"  {library:<40} {seconds / count * 1e6:7.1f} µs  {seconds / total:6.1%}")
    stats.sort_stats("cumulative").print_stats(top)
    out.unlink()


def _library(filename: str, function: str, pkg: Path) -> str:
    """`hub/store`, `redis`, `logging`, or the built-in's name: what a profile row belongs to."""
    if filename == "~":
        return function.strip("{}<>").replace("method ", "")
    parts = Path(filename).parts
    if str(pkg) in filename:
        inside = Path(filename).relative_to(pkg).parts
        return "/".join(inside[:2]) if inside[0] in ("hub", "integrations", "handlers") else inside[0]
    if "python3" in filename:
        return parts[-2] if parts[-2] not in ("python3.11",) else Path(filename).stem
    return Path(filename).stem


def forget_hub_keys(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match="{hub}:*", count=1000))
    if keys:
        client.delete(*keys)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per app")
    parser.add_argument("--warm", type=int, default=50)
    parser.add_argument("--webhooks", type=int, default=300, help="timed per run")
    parser.add_argument("--redis", help="store in this Redis instead of SQLite")
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--instructions", action="store_true", help="count instructions (valgrind)")
    parser.add_argument(
        "--package",
        type=Path,
        help="hub's zip to measure (default: build/hub-<stage>.zip), e.g. an older build",
    )
    parser.add_argument(
        "--profile", type=int, metavar="N", help="instead of timing: cProfile the timed webhooks, top N lines"
    )
    parser.add_argument(
        "--apps", default="", help="only the apps whose name holds this text (bare Flask always)"
    )
    args = parser.parse_args()
    hub_zip = built_package(args.stage)
    if hub_zip is None:
        return 2
    hub_zip = args.package or hub_zip
    from hub.config import load_settings
    from integrations.samples import stripe_event, telegram_message

    secrets = BENCH_SECRETS
    with tempfile.TemporaryDirectory() as tmp, fake_lambda() as fake:
        work = Path(tmp)
        settings = load_settings(secrets, work, environ={})
        env = lambda_env(args.stage)
        if args.redis:
            env["REDIS_URL"] = args.redis
        # Placeholders for the local fake endpoint; nothing here can reach AWS.
        lambda_mode = {**fake.environ(f"hub-{args.stage}"), "HUB_TASKS": "lambda"}
        runtime = runtime_dir(work / "runtime")
        bare = unzip(bare_package(work), work / "bare-pkg")
        peer_source = (ROOT / "bench" / "naive_peer.py").read_text()
        peer = unzip(flask_package(work, "naive", "naive_peer", peer_source), work / "naive-pkg")
        hub_pkg = unzip(hub_zip, work / "hub-pkg")
        apps = {  # name: (folder, extra env, a new signed webhook)
            "bare Flask": (bare, {}, lambda: telegram_message(settings, "/help")),
            "hub, Stripe ack": (hub_pkg, lambda_mode, lambda: stripe_event(settings, "invoice.paid")),
            "hub, Telegram /help": (hub_pkg, {}, lambda: telegram_message(settings, "/help")),
            "naive peer, Stripe ack": (
                peer,
                {"HUB_REDIS_PREFIX": "{hub}:naive:"},  # under {hub}: deleted afterwards
                lambda: stripe_event(settings, "invoice.paid"),
            ),
        }
        apps = {name: app for name, app in apps.items() if name == "bare Flask" or args.apps in name}
        results: dict[str, dict[str, list[float]]] = {
            name: {"wall": [], "cpu": [], "instr": []} for name in apps
        }
        statuses: dict[str, set[int]] = {name: set() for name in apps}
        for run in range(args.runs):
            for index, (name, (pkg, extra, webhook)) in enumerate(apps.items()):
                batches = {
                    kind: [lambda_events.http_v2(webhook(), args.stage) for _ in range(count)]
                    for kind, count in (("warm", args.warm), ("timed", args.webhooks))
                }
                run_env = {
                    **env,
                    **extra,
                    "HUB_DATABASE": str(work / f"db-{run}-{index}.sqlite3"),
                    "HUB_INSTANCE_PATH": str(work / "instance"),
                }
                if args.profile:
                    show_profile(name, pkg, runtime, batches, run_env, work, args.profile)
                    continue
                if args.instructions:
                    results[name]["instr"].append(
                        instructions_per_webhook(pkg, runtime, batches, run_env, work)
                    )
                    continue
                measured = run_warm(pkg, runtime, batches, run_env)
                results[name]["wall"] += measured["wall"]
                results[name]["cpu"] += measured["cpu"]
                statuses[name].update(measured["statuses"])
        print(f"fake Lambda: {len(fake.messages)} Invokes taken, {fake.bad_signatures} refused")
        if args.redis:
            forget_hub_keys(args.redis)
    store = "Redis" if args.redis else "SQLite"
    if args.profile:
        return 0
    if args.instructions:
        print(
            f"instructions per warm webhook, {store}: {args.runs} runs of {args.webhooks} after {args.warm}"
        )
        bare = statistics.median(results["bare Flask"]["instr"])
        for name, measured in results.items():
            median = statistics.median(measured["instr"])
            each = ", ".join(f"{n / 1e6:.3f}" for n in measured["instr"])
            print(f"{name:<22} {median / 1e6:7.3f} M  x bare {median / bare:5.2f}  ({each})")
        return 0
    bare_wall = statistics.median(results["bare Flask"]["wall"])
    bare_cpu = statistics.median(results["bare Flask"]["cpu"])
    print(f"warm webhooks, {store} store: {args.runs} runs x {args.webhooks} timed after {args.warm}")
    print(
        f"{'app':<22} {'wall ms':>8} {'p90 ms':>7} {'cpu ms':>7} {'billed ms':>10} {'x bare':>7}"
        f" {'cpu x bare':>11}"
    )
    for name, measured in results.items():
        wall = statistics.median(measured["wall"])
        p90 = statistics.quantiles(measured["wall"], n=10)[-1]
        cpu = statistics.median(measured["cpu"])
        billed = statistics.median(math.ceil(w) for w in measured["wall"])  # Lambda bills whole ms
        print(
            f"{name:<22} {wall:8.2f} {p90:7.2f} {cpu:7.2f} {billed:10.0f} {wall / bare_wall:7.2f}"
            f" {cpu / bare_cpu:11.2f}  status {sorted(statuses[name])}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
