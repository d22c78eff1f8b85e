"""The naive peer for bench.load and bench/warmcost.py: the Stripe receiver a developer
writes from the docs.

What it does, and what hub does that it does not:
- verifies with the SDK (`stripe.Webhook.construct_event`, the docs' example);
- stores the event before the 200 and deduplicates on Stripe's id, with the same
  durability as hub: SQLite in WAL with `synchronous=FULL` (a connection opened per
  request, as the usual Flask example does), or Redis (`SET NX` of the body under the id,
  then `LPUSH` of the id on a work queue, two plain commands);
- nothing else: no lease or retry state, no listing indexes, no received headers, no log
  line, no size limit or error contract.

`REDIS_URL` set: Redis (keys under `HUB_REDIS_PREFIX`, if given); else SQLite at
`HUB_DATABASE` (or naive.sqlite3 in the instance folder). The signing secret is hub's
(`STRIPE_WEBHOOK_SECRET`), so the same pre-signed requests pass both.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import stripe
from flask import Flask, jsonify, request

SECRET = os.environ["STRIPE_WEBHOOK_SECRET"].split(",")[0]
REDIS_URL = os.environ.get("REDIS_URL", "")
PREFIX = os.environ.get("HUB_REDIS_PREFIX", "")
DATABASE = os.environ.get("HUB_DATABASE") or str(
    Path(os.environ.get("HUB_INSTANCE_PATH", ".")) / "naive.sqlite3"
)
WEEK = 7 * 86400

app = Flask("naive")

if REDIS_URL:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
else:
    Path(DATABASE).parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(DATABASE) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute(
            "CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, type TEXT, payload TEXT, at REAL)"
        )


def store(event_id: str, event_type: str, payload: str) -> bool:
    """Keep the event unless its id is known; True when it is new."""
    if REDIS_URL:
        if not client.set(f"{PREFIX}naive:event:{event_id}", payload, nx=True, ex=WEEK):
            return False
        client.lpush(f"{PREFIX}naive:queue", event_id)
        return True
    conn = sqlite3.connect(DATABASE, timeout=30)
    try:
        conn.execute("PRAGMA synchronous=FULL")
        with conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?)",
                (event_id, event_type, payload, time.time()),
            )
        return cursor.rowcount == 1
    finally:
        conn.close()


@app.post("/webhooks/stripe")
def stripe_webhook():  # noqa: ANN201
    payload = request.get_data(as_text=True)
    try:
        event = stripe.Webhook.construct_event(payload, request.headers.get("Stripe-Signature", ""), SECRET)
    except (ValueError, stripe.SignatureVerificationError):
        return jsonify(error="bad_request"), 400
    store(event["id"], event["type"], payload)
    return jsonify(received=True)
