"""A fan-out through deliveries: one weather alert to N subscribers, sent through a local
fake Bot API that enforces a rate (429 + retry_after beyond it) with a set latency.

    python -m bench.fanout                      # the table in docs/PERFORMANCE.md
    python -m bench.fanout --n 1000 --latency 0.1 --limit 30
    FANOUT_CONCURRENCY=4 python -m bench.fanout --n 10000 --limit 100   # sends in flight (16)
    FANOUT_PRODUCE_ONLY=1 python -m bench.fanout --child 100000 30 http://127.0.0.1:9 /tmp/x

Each case runs hub in a child process (its peak RSS is hub's alone; the fake Bot API runs
here). Reported: time from the alert to the last message against the ideal N/limit, 429s
met, messages lost, duplicates and how many of them the outbox flagged, the child's peak
RSS, and the longest single run (the handler's fan-out run and each delivery run), which
must stay under half of the Lambda timeout (zappa_settings.json: 30 s).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time

from bench.common import PYTHON, ROOT, SECRETS, git_revision
from tests.deliveries.fake_bot import TelegramLike, serve

CASES = [  # (recipients, latency s, limit per s): 1,000 at Telegram's limit, 10,000 time-scaled
    (1000, 0.02, 30),
    (1000, 0.1, 30),
    (10_000, 0.02, 100),
    (10_000, 0.1, 100),
]
HALF_TIMEOUT = 15.0


def child(n: int, limit: float, api_url: str, folder: str) -> None:
    """Runs in the child: record the alert, run its handler, then delivery runs to the end."""
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
        "HUB_DELIVERY_CONCURRENCY": os.environ.get("FANOUT_CONCURRENCY", "16"),
    }
    app = create_app(config)
    hub = hub_of(app)
    hub.tasks.enqueue_deliveries = lambda: None  # this loop runs the delivery runs itself
    rows = [
        (
            WEATHER_SUBSCRIPTIONS,
            f"telegram:{c}",
            json.dumps({"channel": "telegram", "address": str(c), "city": "oslo"}),
        )
        for c in range(1, n + 1)
    ]
    with sqlite3.connect(hub.settings.database_path) as conn:  # setup, not measured: one write
        conn.executemany("INSERT INTO kv (namespace, key, value) VALUES (?, ?, ?)", rows)
    del rows
    import integrations.telegram_bot  # noqa: F401 - a warm instance has PTB loaded

    print("go", flush=True)
    alert = Event("weather", "weather.alert", "oslo:storm", {"city": "oslo", "text": "Storm"})
    event = hub.store.record(alert, attention_after=0).event
    started = time.monotonic()
    with app.app_context():
        run_event(hub, event.id)
        runs = [("fan-out", time.monotonic() - started)]
        if os.environ.get("FANOUT_PRODUCE_ONLY"):  # the handler's run alone (100,000 recipients)
            print(
                json.dumps(
                    {
                        "fan_out_run": round(runs[0][1], 2),
                        "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                        "due": hub.store.deliveries_due(n + 1),
                    }
                ),
                flush=True,
            )
            return
        while True:
            report = run_deliveries(hub)
            if report.ran:
                runs.append(("deliveries", report.seconds))
            if not report.more and not hub.store.deliveries_due(1):
                if not hub.store.deliveries(status="failed", limit=1):
                    break
                time.sleep(0.05)  # a 429's retry is due shortly
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before counting below
    with sqlite3.connect(hub.settings.database_path) as conn:
        flagged = conn.execute("SELECT count(*) FROM outbox WHERE possible_duplicate = 1").fetchone()[0]
    print(
        json.dumps(
            {
                "rss_mib": rss_mib,
                "fan_out_run": round(runs[0][1], 2),
                "longest_delivery_run": max(s for k, s in runs[1:]),
                "delivery_runs": len(runs) - 1,
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
        process.wait(timeout=60)
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
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        n, limit, url, folder = args.child
        child(int(n), float(limit), url, folder)
        return
    cases = [(args.n, args.latency, args.limit)] if args.n else CASES
    print(f"bench.fanout at {git_revision()}; half the Lambda timeout: {HALF_TIMEOUT:g} s")
    print(
        "| recipients | latency | limit/s | ideal | took | ratio | 429s | lost | dup (flagged) "
        "| peak RSS | fan-out run | longest delivery run |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for case in cases:
        r = run_case(*case)
        print(
            f"| {r['n']:,} | {r['latency_ms']} ms | {r['limit']:g} | {r['ideal_s']} s | {r['took_s']} s "
            f"| {r['ratio']:.2f}x | {r['429s']} | {r['lost']} | {r['duplicates']} ({r['flagged']}) "
            f"| {r['rss_mib']:.1f} MiB | {r['fan_out_run']} s | {r['longest_delivery_run']} s |",
            flush=True,
        )


if __name__ == "__main__":
    sys.exit(main())
