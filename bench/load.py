"""Warm throughput and latency under gunicorn on 127.0.0.1: signed Stripe webhooks through
verification, dedup and the event log, against bare Flask echoing the same JSON and a naive
peer (`bench/naive_peer.py`) storing them, all three in the same run.

    python -m bench.load [--seconds 10] [--connections 8] [--stores sqlite,redis]
                         [--config infra/gunicorn_conf.py | --config ''] [--workers N]
                         [--threads N] [--with-handler] [--runs 3]

By default every app runs under the server configuration documented for self-hosting
(`gunicorn -c infra/gunicorn_conf.py`: hub's threaded worker, 2 x cores + 1 workers, 16
threads each), bound to a free port. `--config ''` runs gunicorn's defaults (sync workers)
instead; `--workers` and `--threads` (gthread) override either. hub, bare Flask and the
peer always run under the same server settings.

By default hub does intake only (`bench/intake_app.py`): verification, dedup and the event
log, i.e. what the provider waits for; handlers are deferred as on Lambda. `--with-handler`
runs each event's handler in the same gunicorn worker's thread pool (`HUB_TASKS=thread`),
competing for the same cores.

Needs `wrk` (Debian: apt-get install wrk) and gunicorn (the dev extra). Every request is a
distinct event, pre-signed before the run (so signing costs the load generator nothing).
Redis runs as a private redis-server on a free port, without persistence, like the shared one.
Loads go only to 127.0.0.1 and stop after --seconds. `--runs N` repeats the three
measurements N times per store, alternating, and prints every run.

Each row also gives the server's CPU time per request (master and workers, user and
system, from /proc) and how wrk's kept connections sat on the workers midway ("8/0/0":
all on one). On this 2-core machine, shared with wrk, req/s moves with that spread (a
worker without a connection idles); CPU per request does not, so its ratio is the steadier
measure of what hub costs per request, and req/s what a client sees.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from bench.common import PYTHON, ROOT, git_revision, hub_env, settings
from integrations.samples import stripe_event


def wait_for_port(port: int, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_events(path: Path, count: int) -> None:
    s = settings()
    with path.open("w") as out:
        for _ in range(count):
            signed = stripe_event(s, "invoice.paid")
            out.write(f"{signed.headers['Stripe-Signature']}\t{signed.body.decode()}\n")


def run_wrk(port: int, events: Path, seconds: int, connections: int) -> dict[str, float]:
    script = str(ROOT / "bench" / "load.lua")
    command = [
        "wrk",
        "-t",
        "1",
        "-c",
        str(connections),
        "-d",
        f"{seconds}s",
        "--timeout",
        "10s",
        "-s",
        script,
        f"http://127.0.0.1:{port}",
        "--",
        str(events),
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result = json.loads(out.split("RESULT ", 1)[1].splitlines()[0])
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def measure(app: str, env: dict[str, str], args: argparse.Namespace, folder: Path) -> dict[str, float]:
    port = free_port()
    command = [
        PYTHON,
        "-m",
        "gunicorn",
        *server_flags(args),
        "-b",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        app,
    ]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    server = subprocess.Popen(command, cwd=ROOT, env=env, **quiet)
    try:
        wait_for_port(port)
        warm = folder / "warm.txt"
        write_events(warm, 400)  # every worker imports stripe and opens its store before timing
        run_wrk(port, warm, 2, args.connections)
        events = folder / "events.txt"
        write_events(events, args.events)
        cpu_before = server_cpu_seconds(server.pid)
        spread: list[int] = []
        # Midway through the run: which worker holds which of wrk's kept connections.
        sampler = threading.Timer(
            args.seconds / 2, lambda: spread.extend(connections_per_worker(worker_pids(server.pid), port))
        )
        sampler.start()
        result = run_wrk(port, events, args.seconds, args.connections)
        sampler.join()
        used = server_cpu_seconds(server.pid) - cpu_before
        result["cpu_ms_per_request"] = used * 1000 / result["requests"]
        result["spread"] = "/".join(str(n) for n in sorted(spread, reverse=True))
        return result
    finally:
        server.terminate()
        server.wait(timeout=20)


def worker_pids(master: int) -> list[int]:
    """The gunicorn master's worker processes (Linux: /proc/<pid>/task/<pid>/children)."""
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


def server_cpu_seconds(master: int) -> float:
    """User and system CPU time the server used so far: the master, its live workers, and
    the workers it has reaped (recycled by max_requests: the kernel adds theirs to the
    master's children's time once it waits for them)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in (master, *worker_pids(master)):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            # utime, stime (stat's fields 14, 15); the master's also cutime, cstime (16, 17)
            total += sum(int(f) for f in fields[11 : 15 if pid == master else 13])
    return total / ticks


def connections_per_worker(workers: list[int], port: int) -> list[int]:
    """How many established connections to `port` each worker holds (from /proc/net/tcp)."""
    established = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                parts = line.split()
                if parts[3] == "01" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                    established.add(parts[9])  # the socket's inode
    counts = []
    for pid in workers:
        held = 0
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    held += target.startswith("socket:[") and target[8:-1] in established
        counts.append(held)
    return counts


def server_flags(args: argparse.Namespace) -> list[str]:
    """gunicorn's flags for every app of the run: the config file, then any override."""
    flags = ["-c", args.config] if args.config else []
    if args.workers:
        flags += ["-w", str(args.workers)]
    if args.threads:
        flags += ["--threads", str(args.threads)]
        if not args.config:
            flags += ["--worker-class", "gthread"]
    return flags


def describe_server(args: argparse.Namespace) -> str:
    if not args.config:
        workers = args.workers or 1
        kind = f"--threads {args.threads} (gthread)" if args.threads else "(sync)"
        return f"gunicorn -w {workers} {kind}"
    overrides = "".join(
        f" {flag} {value}" for flag, value in (("-w", args.workers), ("--threads", args.threads)) if value
    )
    return f"gunicorn -c {args.config}{overrides}"


def private_redis(folder: Path) -> tuple[subprocess.Popen, str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed")
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port)
    return process, f"redis://127.0.0.1:{port}/0"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=0, help="gunicorn workers (0: the config's)")
    parser.add_argument(
        "--threads", type=int, default=0, help="threads per worker (0: the config's; sync without one)"
    )
    parser.add_argument(
        "--config", default="infra/gunicorn_conf.py", help="gunicorn config file ('' for none)"
    )
    parser.add_argument("--events", type=int, default=30000, help="distinct events per run")
    parser.add_argument("--stores", default="sqlite,redis")
    parser.add_argument("--runs", type=int, default=1, help="repetitions per store")
    parser.add_argument(
        "--with-handler",
        action="store_true",
        help="also run each handler in the same worker (HUB_TASKS=thread)",
    )
    args = parser.parse_args()
    hub_app = "hub.wsgi:app" if args.with_handler else "bench.intake_app:app"
    scope = "intake + handler (HUB_TASKS=thread)" if args.with_handler else "intake only"
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"# bench.load  rev {git_revision()}  {scope}  {describe_server(args)}  wrk -t1 "
        f"-c{args.connections} -d{args.seconds}s  load average {load}"
    )
    head = ("target", "run", "req/s", "p50 ms", "p99 ms", "non-2xx", "rps ratio", "p99 ratio", "CPU ms/req")
    print("{:16} {:>3} {:>8} {:>7} {:>7} {:>8} {:>9} {:>9} {:>10} {:>6}  conns".format(*head, "ratio"))
    for store in args.stores.split(","):
        for run in range(1, args.runs + 1):
            results = measure_store(store, hub_app, args)
            bare = results["bare"]
            for name, r in results.items():
                rps_ratio = "" if name == "bare" else f"{r['rps'] / bare['rps']:.2f}"
                p99_ratio = "" if name == "bare" else f"{r['p99_us'] / bare['p99_us']:.2f}"
                p50, p99, bad = r["p50_us"] / 1000, r["p99_us"] / 1000, r["non2xx"] + r["socket_errors"]
                label = f"{name}/{store}"
                cpu = r["cpu_ms_per_request"]
                cpu_ratio = "" if name == "bare" else f"{cpu / bare['cpu_ms_per_request']:.2f}"
                figures = (
                    f"{r['rps']:8.0f} {p50:7.2f} {p99:7.2f} {bad:8d} {rps_ratio:>9} {p99_ratio:>9}"
                    f" {cpu:10.3f} {cpu_ratio:>6}  {r['spread']}"
                )
                print(f"{label:16} {run:>3} {figures}", flush=True)


def measure_store(store: str, hub_app: str, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """hub, the naive peer and bare Flask, one after the other, on a fresh store each."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        redis_process = None
        extra = {"HUB_TASKS": "thread"}
        if store == "redis":
            redis_process, url = private_redis(folder)
            extra["REDIS_URL"] = url
        try:
            return {
                "hub": measure(hub_app, hub_env(folder / "instance", **extra), args, folder),
                "naive": measure("bench.naive_peer:app", hub_env(folder / "naive", **extra), args, folder),
                "bare": measure("bench.bare_app:app", hub_env(folder / "bare"), args, folder),
            }
        finally:
            if redis_process is not None:
                redis_process.terminate()
                redis_process.wait(timeout=10)


if __name__ == "__main__":
    main()
