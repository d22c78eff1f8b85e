"""A fan-out through deliveries: one weather alert to N subscribers, sent through a local
fake Bot API that enforces a rate (429 + retry_after beyond it) with a set latency.

    python -m bench.fanout                      # the four cases at Telegram's 30/s
    python -m bench.fanout --n 1000 --latency 0.1 --limit 30
    FANOUT_CONCURRENCY=24 python -m bench.fanout --n 100000 --limit 200   # time-scaled
    python -m bench.fanout --n 100000 --produce-only   # the handler's runs alone

Each case runs hub in a child process (its peak RSS is hub's alone; the fake Bot API runs
here), at the default HUB_DELIVERY_CONCURRENCY unless FANOUT_CONCURRENCY says otherwise.
Reported: time from the alert to the last message against the ideal N/limit, 429s met,
messages lost, duplicates and how many of them the outbox flagged, the child's peak RSS
and CPU time, and the handler's runs (the fan-out and its follow-ups) and delivery runs
with the longest of each, which must stay under half of the Lambda timeout
(zappa_settings.json: 30 s).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import resource
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

from bench.common import PYTHON, ROOT, SECRETS, git_revision
from tests.deliveries.fake_bot import TelegramLike, serve

CASES = [  # (recipients, latency s, limit per s), at Telegram's limit
    (1000, 0.02, 30),
    (1000, 0.1, 30),
    (10_000, 0.02, 30),
    (10_000, 0.1, 30),
]
HALF_TIMEOUT = 15.0


def child(n: int, limit: float, api_url: str, folder: str) -> None:
    """Runs in the child: record the alert, then its handler's runs (the fan-out and its
    follow-ups, in a thread of their own as on another instance) and delivery runs, to the end."""
    from handlers.subscriptions import WEATHER_SUBSCRIPTIONS
    from hub import create_app
    from hub.delivery_runner import run_deliveries
    from hub.events import Event
    from hub.services import hub_of
    from hub.worker import run_event

    config = {
        **SECRETS,
        "HUB_INSTANCE_PATH": folder,
        "HUB_TASKS": "inline",
        "HUB_DRY_RUN": "0",
        "TELEGRAM_BOT_TOKEN": "123:bench",
        "TELEGRAM_API_URL": api_url,
        "HUB_TELEGRAM_PER_SECOND": str(limit),
        "HUB_RETRY_BASE_SECONDS": "1",
    }
    if os.environ.get("FANOUT_CONCURRENCY"):
        config["HUB_DELIVERY_CONCURRENCY"] = os.environ["FANOUT_CONCURRENCY"]
    app = create_app(config)
    hub = hub_of(app)
    handler_runs: queue.Queue[str | None] = queue.Queue()
    hub.tasks.enqueue = lambda event_id, claimed=None: handler_runs.put(event_id)  # run below
    hub.tasks.enqueue_deliveries = lambda: None  # this loop runs the delivery runs itself
    with sqlite3.connect(hub.settings.database_path) as conn:  # setup, not measured: one write
        for first in range(1, n + 1, 10_000):
            rows = [
                (
                    WEATHER_SUBSCRIPTIONS,
                    f"telegram:{c}",
                    json.dumps({"channel": "telegram", "address": str(c), "city": "oslo"}),
                )
                for c in range(first, min(n, first + 9_999) + 1)
            ]
            conn.executemany("INSERT INTO kv (namespace, key, value) VALUES (?, ?, ?)", rows)
    del rows
    import integrations.telegram_bot  # noqa: F401 - a warm instance has PTB loaded

    print("go", flush=True)
    alert = Event("weather", "weather.alert", "oslo:storm", {"city": "oslo", "text": "Storm"})
    handler_runs.put(hub.store.record(alert, attention_after=0).event.id)
    fan_out_runs: list[float] = []

    def run_handlers() -> None:  # the alert's run, then each follow-up it records
        with app.app_context():
            while True:
                started = time.monotonic()
                run_event(hub, handler_runs.get())
                fan_out_runs.append(time.monotonic() - started)
                if handler_runs.empty():
                    return

    if os.environ.get("FANOUT_PRODUCE_ONLY"):  # the handler's runs alone: record, release, follow up
        run_handlers()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        result = {
            "rss_mib": round(usage.ru_maxrss / 1024, 1),
            "fan_out_runs": len(fan_out_runs),
            "longest_fan_out_run": round(max(fan_out_runs), 2),
            "all_runs_s": round(sum(fan_out_runs), 2),
            "due": hub.store.deliveries_due(n + 1),
        }
        print(json.dumps(result), flush=True)
        return
    handlers = threading.Thread(target=run_handlers)
    handlers.start()
    delivery_runs: list[float] = []
    with app.app_context():
        while True:
            report = run_deliveries(hub)
            if report.ran:
                delivery_runs.append(report.seconds)
            if not report.more and not hub.store.deliveries_due(1):
                if handlers.is_alive() or hub.store.deliveries(status="failed", limit=1):
                    time.sleep(0.05)  # more are being recorded, or a 429's retry is due shortly
                    continue
                break
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with sqlite3.connect(hub.settings.database_path) as conn:
        flagged = conn.execute("SELECT count(*) FROM outbox WHERE possible_duplicate = 1").fetchone()[0]
    print(
        json.dumps(
            {
                "rss_mib": usage.ru_maxrss / 1024,
                "cpu_s": round(usage.ru_utime + usage.ru_stime),
                "concurrency": hub.settings.hub_delivery_concurrency,
                "fan_out_runs": len(fan_out_runs),
                "longest_fan_out_run": round(max(fan_out_runs), 2),
                "longest_delivery_run": max(delivery_runs),
                "delivery_runs": len(delivery_runs),
                "flagged": flagged,
            }
        ),
        flush=True,
    )


def run_case(n: int, latency: float, limit: float) -> dict:
    fake = TelegramLike(latency=latency, per_second=int(limit))
    with serve(fake) as bot, tempfile.TemporaryDirectory() as tmp:
        process = subprocess.Popen(
            [PYTHON, "-m", "bench.fanout", "--child", str(n), str(limit), bot.url, tmp],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout.readline().strip() == "go"
        started = time.monotonic()
        result = json.loads(process.stdout.readline())
        process.wait(timeout=120)
        last = max(bot.arrivals)
        counts = bot.delivered()
    ideal = n / limit
    took = last - started + latency
    return {
        "n": n,
        "latency_ms": int(latency * 1000),
        "limit": limit,
        "ideal_s": round(ideal, 1),
        "took_s": round(took, 1),
        "ratio": round(took / ideal, 3),
        "429s": bot.rejected,
        "lost": n - len(counts),
        "duplicates": sum(c - 1 for c in counts.values()),
        **result,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--limit", type=float, default=30)
    parser.add_argument("--produce-only", action="store_true", help="the handler's runs alone (no sending)")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        n, limit, url, folder = args.child
        child(int(n), float(limit), url, folder)
        return
    if args.produce_only:
        with tempfile.TemporaryDirectory() as tmp:
            command = [PYTHON, "-m", "bench.fanout", "--child", str(args.n), "30", "http://127.0.0.1:9", tmp]
            out = subprocess.run(
                command,
                cwd=ROOT,
                env={**os.environ, "FANOUT_PRODUCE_ONLY": "1"},
                capture_output=True,
                text=True,
            )
        print(f"bench.fanout at {git_revision()}, the handler's runs alone, {args.n:,} recipients:")
        print(out.stdout.splitlines()[-1])
        return
    cases = [(args.n, args.latency, args.limit)] if args.n else CASES
    print(f"bench.fanout at {git_revision()}; half the Lambda timeout: {HALF_TIMEOUT:g} s")
    print(
        "| recipients | latency | limit/s | in flight | ideal | took | ratio | 429s | lost | dup (flagged) "
        "| peak RSS | hub CPU | fan-out runs (longest) | delivery runs (longest) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for case in cases:
        r = run_case(*case)
        print(
            f"| {r['n']:,} | {r['latency_ms']} ms | {r['limit']:g} | {r['concurrency']} | {r['ideal_s']} s "
            f"| {r['took_s']} s | {r['ratio']:.2f}x | {r['429s']} | {r['lost']} "
            f"| {r['duplicates']} ({r['flagged']}) | {r['rss_mib']:.1f} MiB | {r['cpu_s']} s "
            f"| {r['fan_out_runs']} ({r['longest_fan_out_run']} s) "
            f"| {r['delivery_runs']} ({r['longest_delivery_run']} s) |",
            flush=True,
        )


if __name__ == "__main__":
    sys.exit(main())
