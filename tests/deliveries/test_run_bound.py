"""A delivery run ends within its budget by construction, even against a Bot API that
never answers: the send's wait is cut to the time the run has left, its outcome is kept
as unknown, and the retry is sent flagged as a possible duplicate, never silently."""

from __future__ import annotations

import threading

from hub.delivery_runner import DeliveryReport, run_deliveries
from hub.router import Router
from hub.services import hub_of
from integrations import telegram_bot
from integrations.samples import stripe_event
from tests.conftest import post
from tests.deliveries.fake_bot import TelegramLike, serve

BUDGET = 1.0  # seconds: the run's budget; the fake would hold its answer for 60


def tell_one() -> Router:
    router = Router()

    @router.on("stripe", "invoice.paid")
    def tell(event, ctx):  # noqa: ANN001, ANN202
        ctx.send_text("telegram", "42", "Paid!")

    return router


def test_a_bot_api_that_never_answers_ends_the_send_not_the_run(make_app) -> None:  # noqa: ANN001
    with serve(TelegramLike()) as bot:
        config = {
            "HUB_DRY_RUN": "0",
            "TELEGRAM_BOT_TOKEN": "123:bound",
            "TELEGRAM_API_URL": bot.url,
            "HUB_RETRY_BASE_SECONDS": "0",
        }
        app = make_app(config, router=tell_one())
        hub = hub_of(app)
        hub.tasks.enqueue_deliveries = lambda: None  # the runs below are this test's
        post(app.test_client(), stripe_event(hub.settings, "invoice.paid"))
        bot.hold()  # sendMessage reaches the fake and is never answered
        reports: list[DeliveryReport] = []
        run = threading.Thread(target=lambda: reports.append(run_deliveries(hub, budget_seconds=BUDGET)))
        run.start()
        # Without the bound the send would wait for the HTTP client's read timeout and its
        # retries (over 15 s), or the call's 60: the run would still be going here.
        run.join(timeout=10)
        assert not run.is_alive(), "the run waited on the silent Bot API past its budget"
        assert bot.arrived.is_set(), "the send was made"
        [report] = reports
        assert (report.sent, report.failed) == (0, 1)
        [entry] = hub.store.outbox()
        assert entry.status == "sending", "no answer: the outcome is unknown, not failed"

        bot.release()  # the held message was delivered after all
        again = run_deliveries(hub, budget_seconds=5)
        assert again.sent == 1
        [resent] = hub.store.outbox()
        assert (resent.status, resent.possible_duplicate) == ("sent", True), "a resend in doubt is flagged"
        assert [str(p["chat_id"]) for p in bot.sent()] == ["42", "42"]
        telegram_bot.close_all()


def test_a_run_in_a_process_that_is_stopping_gives_its_deliveries_back(make_app, caplog) -> None:  # noqa: ANN001
    """At interpreter exit (Ctrl-C on `hub serve`) the sending pool refuses new work: the
    run stops without a traceback and its claimed deliveries are due again, no attempt used,
    for the next process's run or the sweep."""
    with serve(TelegramLike()) as bot:
        config = {"HUB_DRY_RUN": "0", "TELEGRAM_BOT_TOKEN": "123:stop", "TELEGRAM_API_URL": bot.url}
        app = make_app(config, router=tell_one())
        hub = hub_of(app)
        hub.tasks.enqueue_deliveries = lambda: None  # the runs below are this test's
        post(app.test_client(), stripe_event(hub.settings, "invoice.paid"))
        hub.tasks.sending_pool(1).shutdown()  # as the interpreter's exit does to every pool

        report = run_deliveries(hub, budget_seconds=5)

        assert (report.sent, report.failed, report.more) == (0, 0, True)
        assert bot.sent() == []
        assert hub.store.deliveries_due(5) == 1
        [held] = hub.store.deliveries()
        assert held.attempts == 0, "giving it back used no attempt"
        assert "Traceback" not in caplog.text
        hub.tasks.drain()  # a pool for the next run
        assert run_deliveries(hub, budget_seconds=5).sent == 1
        assert [str(p["chat_id"]) for p in bot.sent()] == ["42"]
        telegram_bot.close_all()


def test_a_run_queued_while_the_process_stops_waits_for_the_sweep(make_app, caplog) -> None:  # noqa: ANN001
    """The background pool refuses work at interpreter exit: queueing a run then says so in
    one line instead of raising into the handler run that queued it."""
    hub = hub_of(make_app({"HUB_TASKS": "thread"}))
    hub.tasks._executor().shutdown()  # the pool, as the interpreter's exit leaves it

    hub.tasks.enqueue("evt_stopping")
    hub.tasks.enqueue_deliveries()

    assert caplog.text.count("this process is stopping") == 2
