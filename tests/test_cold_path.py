"""A cold start that only acknowledges (Stripe) or replies in the webhook answer
(Telegram /help) imports no provider SDK: each costs 100-230 ms, more than bare Flask's
whole start. On Lambda, handing the event to an async invocation imports no boto3 either.
See docs/PERFORMANCE.md; the SDKs come in with the first outbound call.

Nor does it load what only other paths use (`DEFERRED`, 5-15 ms together): Flask-Caching
and cachelib (built by the cache's first use: weather, PayPal certificates, /healthz),
ElementTree (the playground reading TwiML), the thread pool's module (HUB_TASKS=thread),
and, on Redis, sqlite3 (the SQLite rate limiter's); nor urllib.request (PayPal's certificate
fetch, when it is not cached yet), nor the admin pages, their API, the playground and
`hub.simulate` (hub/admin/mount.py: built by the first /admin request). Nor does it
compile the URL builders of hub's ~30 routes (hub/url_rules.py: compiled by the first URL
built). And the app a serving process builds
(`hub.wsgi`) leaves Python's garbage collector running, with the start-up's objects frozen
out of its scans (hub/serving.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.auxil.fake_lambda import fake_lambda

SDKS = (
    "stripe",
    "telegram",
    "twilio",
    "googleapiclient",
    "requests",
    "httpx",
    "boto3",
    "botocore",
    "paypalserversdk",
)

# Never on these cold paths; concurrent.futures only where no pool runs the handler.
DEFERRED = ("flask_caching", "cachelib", "jinja2.ext", "xml.etree.ElementTree", "urllib.request")
POOL = "concurrent.futures"
# redis-py and what its package imports whatever one uses (~100 ms): a webhook on one Redis
# server speaks to it through hub's own RESP client (hub/store/resp.py).
REDIS_PY = ("redis", "asyncio", "opentelemetry")
# The admin part (hub/admin/mount.py): built by the first /admin request, never by a webhook's.
ADMIN = (
    "hub.admin.api",
    "hub.admin.auth",
    "hub.admin.charts",
    "hub.admin.dashboard",
    "hub.admin.deliveries_api",
    "hub.admin.integrations",
    "hub.admin.recipients",
    "hub.admin.timeline",
    "hub.playground",
)

SCRIPT = f"""
import json, os, sys
SDKS = {SDKS!r} + {DEFERRED!r} + {ADMIN!r} + {REDIS_PY!r} + ({POOL!r}, "sqlite3")
from hub import create_app
from integrations.samples import paypal_event, stripe_event, telegram_message

app = create_app({{"HUB_INSTANCE_PATH": sys.argv[1]}})
settings = app.extensions["hub"].settings
signed = {{
    "stripe": lambda: stripe_event(settings, "checkout.session.completed"),
    "telegram": lambda: telegram_message(settings, "/help"),
    "paypal": lambda: paypal_event(settings, "CHECKOUT.ORDER.APPROVED"),
}}[sys.argv[2]]()
client = app.test_client()
response = client.post(signed.path, data=signed.body, headers=signed.headers)
if sys.argv[3:] == ["again"]:  # the provider delivers the same event a second time
    response = client.post(signed.path, data=signed.body, headers=signed.headers)
loaded = sorted(m for m in SDKS if m in sys.modules)
builders = sum(r.builders_compiled for r in app.url_map.iter_rules() if r.endpoint != "static")
print(json.dumps({{"status": response.status_code, "body": response.get_json(), "loaded": loaded,
                  "builders": builders}}))
"""


def run_clean(script: str, *args: str, **env: str) -> str:
    """`script`'s output, run with `args` in a fresh interpreter that sees none of this
    shell's hub, AWS or Redis settings, only `env`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "AWS_", "REDIS_"))}
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**clean, **env},
    )
    return done.stdout


def first_answer(tmp_path, source: str, env: dict[str, str], *again: str) -> dict:  # noqa: ANN001
    return json.loads(run_clean(SCRIPT, str(tmp_path), source, *again, **env).strip().splitlines()[-1])


@pytest.mark.parametrize("source", ["stripe", "telegram", "paypal"])
def test_the_first_answer_imports_no_provider_sdk(tmp_path, source) -> None:  # noqa: ANN001
    answer = first_answer(tmp_path, source, {"HUB_TASKS": "thread"})

    assert answer["status"] == 200
    assert answer["builders"] == 0  # no URL was built, so no builder was compiled
    if source == "telegram":  # the reply rides in the answer: /help was actually handled
        assert answer["body"]["method"] == "sendMessage" and "/weather" in answer["body"]["text"]
    # The SQLite store needs sqlite3; a queued event goes to the pool (HUB_TASKS=thread).
    assert set(answer["loaded"]) <= {"sqlite3", POOL}
    assert ("sqlite3" in answer["loaded"], POOL in answer["loaded"]) == (True, source != "telegram")


def test_on_lambda_the_stripe_ack_and_its_async_invoke_import_no_sdk(tmp_path) -> None:  # noqa: ANN001
    with fake_lambda() as fake:
        answer = first_answer(tmp_path, "stripe", {"HUB_TASKS": "lambda", **fake.environ()})

    assert answer["status"] == 200
    assert len(fake.messages) == 1 and fake.bad_signatures == 0  # the event went to its invocation
    assert answer["loaded"] == ["sqlite3"]  # the store's; no pool, no cache, no SDK


@pytest.mark.redis
def test_on_redis_the_stripe_ack_loads_no_sqlite_no_cache_and_no_redis_py(tmp_path) -> None:  # noqa: ANN001
    from tests.auxil.redis import drop_prefix, require_redis, unique_prefix

    url, prefix = require_redis(), unique_prefix()
    try:
        with fake_lambda() as fake:
            env = {"HUB_TASKS": "lambda", "REDIS_URL": url, "HUB_REDIS_PREFIX": prefix, **fake.environ()}
            answer = first_answer(tmp_path, "stripe", env)
    finally:
        drop_prefix(url, prefix)

    assert answer["status"] == 200 and len(fake.messages) == 1
    assert answer["loaded"] == []  # no redis-py: the intake script went through hub's RESP client


@pytest.mark.redis
def test_on_redis_a_duplicate_is_answered_without_redis_py(tmp_path) -> None:  # noqa: ANN001
    from tests.auxil.redis import drop_prefix, require_redis, unique_prefix

    url, prefix = require_redis(), unique_prefix()
    try:
        env = {"HUB_TASKS": "inline", "REDIS_URL": url, "HUB_REDIS_PREFIX": prefix}
        answer = first_answer(tmp_path, "telegram", env, "again")
    finally:
        drop_prefix(url, prefix)

    assert answer["status"] == 200 and answer["body"] == {}, "a duplicate gets no second reply"
    assert answer["loaded"] == []  # the stored event read back through hub's RESP client too


SERVING = """
import gc, json, sys
import hub.wsgi
from hub.services import hub_of
cache = hub_of(hub.wsgi.app).cache
print(json.dumps({"collecting": gc.isenabled(), "frozen": gc.get_freeze_count(),
                  "cache_built": cache.is_built, "tracked": len(gc.get_objects())}))
cache.set("k", "v")
print(json.dumps({"cache_built": cache.is_built, "value": cache.get("k")}))
"""


def test_the_serving_app_leaves_the_collector_on_and_builds_the_cache_when_used(tmp_path) -> None:  # noqa: ANN001
    out = run_clean(SERVING, HUB_INSTANCE_PATH=str(tmp_path))
    started, used = (json.loads(line) for line in out.strip().splitlines()[-2:])

    assert started["collecting"] is True  # a paused collector would let cycles pile up for ever
    assert started["frozen"] > 10_000 and started["tracked"] < started["frozen"] / 10
    assert started["cache_built"] is False
    assert used == {"cache_built": True, "value": "v"}


ADMIN_PART = f"""
import json, sys
import hub.wsgi
from hub.admin.mount import rules
app = hub.wsgi.app
client = app.test_client()
def loaded():
    return sorted(m for m in {ADMIN!r} + ("hub.simulate",) if m in sys.modules)
answers = {{"health": client.get("/healthz").status_code, "missing": client.get("/nowhere").get_json()}}
answers["before"] = loaded()
login = client.get("/admin", headers={{"Accept": "text/html"}})
answers["login"] = [login.status_code, "/admin/login" in login.get_data(as_text=True)]
answers["api"] = client.get("/admin/api/events").status_code
answers["after"] = loaded()
answers["documented"] = "/admin/api/events" in client.get("/openapi.json").get_json()["paths"]
answers["rules"] = sum(r.rule.startswith("/admin") for r in rules(app))
print(json.dumps(answers))
"""


def test_the_admin_part_is_imported_by_the_first_admin_request_and_serves_as_before(tmp_path) -> None:  # noqa: ANN001
    out = run_clean(ADMIN_PART, HUB_INSTANCE_PATH=str(tmp_path), HUB_ADMIN_TOKEN="t" * 24)
    answers = json.loads(out.strip().splitlines()[-1])

    assert answers["before"] == [], "a start and non-admin requests import no admin module"
    assert answers["health"] == 200
    assert answers["missing"]["error"] == "not_found"  # JSON 404 outside /admin, as before
    assert answers["login"] == [401, True]  # a browser without a session gets the login page
    assert answers["api"] == 401  # the API refuses without the token
    assert set(answers["after"]) == {*ADMIN, "hub.simulate"}
    assert answers["documented"] and answers["rules"] > 20


def test_every_route_builds_the_url_werkzeugs_own_rule_builds(tmp_path) -> None:  # noqa: ANN001
    from flask import url_for
    from werkzeug.routing import Map, Rule

    from hub import create_app
    from hub.admin.mount import admin_part

    app = create_app({"HUB_INSTANCE_PATH": str(tmp_path)})
    checked = 0
    for serving in (app, admin_part(app)):  # the webhooks' app, and its /admin part
        rules = [rule for rule in serving.url_map.iter_rules() if rule.endpoint != "static"]
        eager = Map([Rule(rule.rule, endpoint=rule.endpoint, methods=rule.methods) for rule in rules])
        eager_urls = eager.bind("hub.test", url_scheme="https")
        assert sum(rule.builders_compiled for rule in rules) == 0
        with serving.test_request_context(base_url="https://hub.test"):
            for rule in rules:
                # A value needing quoting for each argument, and one unknown (a query argument).
                values = {name: f"id {n}/é" for n, name in enumerate(sorted(rule.arguments))}
                for extra in ({}, {"page": "2 & 3"}):
                    built = url_for(rule.endpoint, _external=True, **values, **extra)
                    assert built == eager_urls.build(rule.endpoint, {**values, **extra}, force_external=True)
        # url_for always uses the builder that appends unknown arguments: the other one is never made.
        assert all(rule.builders_compiled == 1 for rule in rules)
        checked += len(rules)
    assert checked > 20
