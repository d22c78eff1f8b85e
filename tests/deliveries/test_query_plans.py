"""A delivery's cost must not grow with what the store holds: every statement a delivery
run makes on SQLite (claim, outbox, delivery updates, the limiter) finds its rows through
an index, never by scanning a table.

Checked by SQLite's own query plans, with the parameters each statement ran with, so the
test does not depend on timing or on how many rows the store holds. A statement that
scanned the outbox once per message (its partial index unused) made 100,000 recipients
slow down from ~1,900 to ~900 messages per run as the outbox grew.
"""

from __future__ import annotations

import sqlite3

from hub.router import Router
from hub.services import hub_of
from integrations.samples import stripe_event
from tests.conftest import post

BIG_TABLES = ("events", "outbox", "deliveries", "attempts", "kv", "sends")


class Recording(sqlite3.Connection):
    """A connection that notes each statement with the parameters it ran with."""

    seen: list[tuple[str, str, tuple]] = []

    def execute(self, sql, params=(), /):  # noqa: ANN001, ANN201
        self.seen.append((self.database, sql, tuple(params)))
        return super().execute(sql, params)

    def executemany(self, sql, rows, /):  # noqa: ANN001, ANN201
        rows = list(rows)
        if rows:
            self.seen.append((self.database, sql, tuple(rows[0])))
        return super().executemany(sql, rows)


def tell(chats: int) -> Router:
    router = Router()

    @router.on("stripe", "invoice.paid")
    def tell_everyone(event, ctx):  # noqa: ANN001, ANN202
        for chat in range(chats):
            ctx.send_text("telegram", str(chat), "Paid!")

    return router


def scans(database: str, sql: str, params: tuple) -> list[str]:
    """The table scans in `sql`'s plan on `database`."""
    with sqlite3.connect(database) as conn:
        plan = conn.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
    return [row[3] for row in plan if row[3].startswith("SCAN ") and row[3].split()[1] in BIG_TABLES]


def record_statements(monkeypatch) -> list[tuple[str, str, tuple]]:  # noqa: ANN001
    """From here on, each new SQLite connection notes its statements."""
    connect = sqlite3.connect
    seen: list[tuple[str, str, tuple]] = []
    Recording.seen = seen

    def recording_connect(database, *args, **kwargs):  # noqa: ANN001, ANN202
        conn = connect(database, *args, factory=Recording, **kwargs)
        conn.database = str(database)
        return conn

    monkeypatch.setattr(sqlite3, "connect", recording_connect)
    return seen


def test_a_delivery_run_finds_every_row_through_an_index(make_app, bot_api, monkeypatch) -> None:  # noqa: ANN001
    app = make_app(
        {"HUB_DRY_RUN": "0", "TELEGRAM_BOT_TOKEN": "123:abc", "TELEGRAM_API_URL": bot_api.url},
        router=tell(5),
    )
    hub = hub_of(app)
    hub.store.close()  # pooled connections are made again, recorded, from here on
    seen = record_statements(monkeypatch)
    post(app.test_client(), stripe_event(hub.settings, "invoice.paid"))
    hub.tasks.drain()
    checked = list(seen)  # (not the listing below: an operator's page, newest first)
    sent = hub.store.outbox()
    assert sorted(e.payload["chat_id"] for e in sent) == ["0", "1", "2", "3", "4"]
    # A provider's report, and a retried handler looking for its call by key, find their row too.
    mark = len(seen)
    hub.store.record_provider_report(sent[0].ref, status="delivered")
    hub.store.outbox_by_key(sent[0].key)
    checked += seen[mark:]

    statements = {
        (database, sql): params
        for database, sql, params in checked
        if sql.lstrip().split()[0].upper() in ("SELECT", "UPDATE", "DELETE", "INSERT", "WITH")
    }
    assert any("FROM outbox WHERE key" in sql for _, sql in statements), "the run looked its calls up"
    assert any("UPDATE deliveries" in sql for _, sql in statements), "the run claimed and finished"
    assert any("FROM sends" in sql for _, sql in statements), "the run asked the limiter"
    scanning = {
        sql: found
        for (database, sql), params in statements.items()
        if (found := scans(database, sql, params))
    }
    assert scanning == {}, "each of these reads every row of a table, once per message"
