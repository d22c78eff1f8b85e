"""Cold start and peak memory: process start to the first acknowledged webhook, per source,
against a bare Flask app answering the same request in the same run.

    python -m bench.startup [--runs 9] [--sources stripe,telegram,paypal-cached]

Each run is a fresh interpreter (`python -m bench.startup_child`): interpreter start, imports,
`hub.serving.serving_app()` as `hub.wsgi` runs it (SQLite store on a fresh temp folder,
HUB_TASKS=thread), then one request
through Flask's test client; the clock stops when the child holds the acknowledgement.
Hub and bare runs alternate so machine noise hits both alike. The CPU columns are each
child's own CPU time to the same moment (`time.process_time()`): on a shared machine they
move far less than the wall clock, which also counts the time other work held the cores.
`--instructions` counts instead of timing: one hub and one bare child per source under
valgrind's callgrind (user-space instructions, interpreter start to the acknowledgement),
which the machine's load does not move.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.common import PYTHON, ROOT, byte_compile, git_revision, hub_env, median, prepare_instance, signed
from hub.simulate import SignedRequest

# paypal: dry-run, signed with the development certificate; paypal-cached: live on Redis,
# PayPal's (generated, fake-served) certificate already checked and cached (tests.paypal.cached);
# stripe@redis: its baseline (redis-py alone imports cryptography and OpenTelemetry).
SOURCES = [
    "stripe",
    "telegram",
    "twilio",
    "twilio-status",
    "google",
    "paypal",
    "stripe@redis",
    "paypal-cached",
]


@contextmanager
def requests_for(source: str, folder: Path) -> Iterator[tuple[Callable[[], SignedRequest], dict[str, str]]]:
    """(a function making a fresh signed request, extra environment for the hub child)."""
    if source.endswith("@redis"):  # the store and cache on Redis, as paypal-cached runs
        from tests.auxil.redis import REDIS_TEST_URL, unique_prefix
        from tests.paypal.cached import forget

        on_redis = {"REDIS_URL": REDIS_TEST_URL, "HUB_REDIS_PREFIX": unique_prefix()}
        try:
            yield (lambda: signed(source.removesuffix("@redis"))), on_redis
        finally:
            forget(on_redis["HUB_REDIS_PREFIX"])
        return
    if source != "paypal-cached":
        yield (lambda: signed(source)), {}
        return
    from tests.paypal.cached import cached_paypal

    with cached_paypal(folder) as (env, make):
        yield make, env


def one_run(
    target: str, request_file: Path, folder: Path, extra: dict[str, str], count_in: Path | None = None
) -> tuple[float, int, float]:
    """(seconds to the ack, peak RSS KiB, CPU ms); with `count_in`, run under callgrind
    writing its counts there (see `instructions`)."""
    # HUB_TASKS=thread, the local default: Stripe and Google are acknowledged before their
    # handlers run (as with HUB_TASKS=lambda); Telegram and SMS answer inline by design.
    instance = folder / f"instance-{time.monotonic_ns()}"
    prepare_instance(instance)
    env = hub_env(instance, HUB_TASKS="thread", **extra)
    started = time.time()
    valgrind = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={count_in}"] if count_in else []
    out = subprocess.run(
        [*valgrind, PYTHON, "-m", "bench.startup_child", target, str(request_file)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"{target} failed: {out.stderr[-2000:]}")
    answer = json.loads(out.stdout.strip().splitlines()[-1])
    return answer["done"] - started, answer["rss_kib"], answer["cpu_ms"]


def instructions(count_in: Path) -> int:
    summary = next(line for line in count_in.read_text().splitlines() if line.startswith("summary:"))
    return int(summary.split()[1])


def count(sources: list[str], folder: Path, keep: Path | None = None) -> None:
    print(f"{'source':14} {'hub instructions':>17} {'bare':>15} {'ratio':>6}  (callgrind, one start each)")
    for source in sources:
        with requests_for(source, folder) as (make_request, extra):
            request = make_request()
            request_file = folder / "request.json"
            request_file.write_text(
                json.dumps(
                    {"path": request.path, "headers": request.headers, "body": request.body.decode("latin-1")}
                )
            )
            counted = {}
            for target in ("hub", "bare"):
                out = folder / f"callgrind.{target}.out"
                one_run(target, request_file, folder, extra if target == "hub" else {}, count_in=out)
                counted[target] = instructions(out)
                if keep:  # for callgrind_annotate --inclusive=yes
                    keep.mkdir(parents=True, exist_ok=True)
                    out.replace(keep / f"callgrind.{source}.{target}.out")
        h, b = counted["hub"], counted["bare"]
        print(f"{source:14} {h:17,} {b:15,} {h / b:6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--sources", default=",".join(SOURCES))
    parser.add_argument("--instructions", action="store_true", help="count instructions (valgrind)")
    parser.add_argument(
        "--keep", type=Path, help="with --instructions: keep each callgrind file in this folder"
    )
    args = parser.parse_args()
    byte_compile()
    if args.instructions:
        print(f"# bench.startup --instructions  rev {git_revision()}")
        with tempfile.TemporaryDirectory() as tmp:
            count(args.sources.split(","), Path(tmp), args.keep)
        return
    print(f"# bench.startup  rev {git_revision()}  runs {args.runs}  (medians)")
    head = (
        "source",
        "hub ms",
        "bare ms",
        "ratio",
        "hub MiB",
        "bare MiB",
        "ratio",
        "hub cpu",
        "bare cpu",
        "ratio",
    )
    print("{:14} {:>8} {:>8} {:>6} {:>8} {:>9} {:>6} {:>8} {:>8} {:>6}".format(*head))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for source in args.sources.split(","):
            times: dict[str, list[float]] = {"hub": [], "bare": []}
            rss: dict[str, list[float]] = {"hub": [], "bare": []}
            cpu: dict[str, list[float]] = {"hub": [], "bare": []}  # CPU ms: the load's share removed
            with requests_for(source, folder) as (make_request, extra):
                for _ in range(args.runs):
                    request = make_request()  # fresh ids and timestamps each run
                    request_file = folder / "request.json"
                    request_file.write_text(
                        json.dumps(
                            {
                                "path": request.path,
                                "headers": request.headers,
                                "body": request.body.decode("latin-1"),
                            }
                        )
                    )
                    for target in ("hub", "bare"):
                        elapsed, kib, cpu_ms = one_run(
                            target, request_file, folder, extra if target == "hub" else {}
                        )
                        times[target].append(elapsed * 1000)
                        rss[target].append(kib / 1024)
                        cpu[target].append(cpu_ms)
            h, b = median(times["hub"]), median(times["bare"])
            hm, bm = median(rss["hub"]), median(rss["bare"])
            hc, bc = median(cpu["hub"]), median(cpu["bare"])
            print(
                f"{source:14} {h:8.0f} {b:8.0f} {h / b:6.2f} {hm:8.1f} {bm:9.1f} {hm / bm:6.2f}"
                f" {hc:8.0f} {bc:8.0f} {hc / bc:6.2f}"
            )


if __name__ == "__main__":
    main()
