"""The delivery runner: claims due deliveries and sends each through the outbox.

One run lasts at most `HUB_DELIVERY_RUN_SECONDS` (under half of the Lambda timeout), then
stops claiming and says whether more are due, so the task machinery starts another run
(a new invocation on Lambda) and no run is cut off by the platform mid-send. Within a run
`HUB_DELIVERY_CONCURRENCY` sends are in flight at once (each waits mostly on the network).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hub.backoff import asked_delay, error_text, retry_delay, until_stored
from hub.context import Context, is_refusal
from hub.deliveries import DEAD, FAILED, PENDING, SENT, SKIPPED, Delivery
from hub.events import Event
from hub.outbox import NoSlot
from hub.ratelimit import RateLimiter, limits_for, open_limiter, pause_key

if TYPE_CHECKING:
    from hub.services import Hub

log = logging.getLogger("hub.deliveries")

SUPPRESSED = "suppressed"  # the outbox status of a message to a number that texted STOP


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0  # due again after a backoff
    dead: int = 0
    skipped: int = 0
    lost: int = 0  # the lease ran out before the outcome was stored: another runner has it
    deferred: int = 0  # no send slot within this run's budget: due again, no attempt used
    more: bool = False  # the time budget ran out with deliveries still due
    seconds: float = 0.0

    @property
    def ran(self) -> int:
        return self.sent + self.failed + self.dead + self.skipped + self.lost

    def add(self, status: str | None) -> None:
        names = {SENT: "sent", FAILED: "failed", DEAD: "dead", SKIPPED: "skipped", PENDING: "deferred"}
        field = names.get(status or "", "lost")
        setattr(self, field, getattr(self, field) + 1)


def run_deliveries(hub: Hub, *, budget_seconds: float | None = None) -> DeliveryReport:
    """Send due deliveries until none is due or the time budget is spent."""
    settings = hub.settings
    budget = settings.hub_delivery_run_seconds if budget_seconds is None else budget_seconds
    started = time.monotonic()
    deadline = started + budget
    limiter = rate_limiter(hub)
    slot_deadline = limiter.clock() + budget  # in the limiter's (the store's) clock
    report = DeliveryReport()
    pool = hub.tasks.sending_pool(settings.hub_delivery_concurrency)
    concurrency = settings.hub_delivery_concurrency
    tried: set[str] = set()  # a run tries a delivery once (a zero backoff would loop here)
    while True:
        if time.monotonic() >= deadline:
            report.more = bool(hub.store.deliveries_due(1))
            break
        # Big batches keep every sender busy (a batch ends when its slowest send does); never
        # more than the time left can send at the bot's rate, so a run ends near its budget.
        left = deadline - time.monotonic()
        batch = max(concurrency, min(concurrency * 8, int(left * settings.hub_telegram_per_second)))
        claimed = hub.store.claim_deliveries(batch, lease_seconds=settings.hub_delivery_lease_seconds)
        again = [d for d in claimed if d.id in tried]
        for delivery in again:  # failed earlier in this run and already due: the next run's
            hub.store.finish_delivery(
                delivery, status=FAILED, attempts=delivery.attempts - 1, next_attempt_at=hub.store.clock()
            )
        claimed = [d for d in claimed if d.id not in tried]
        if not claimed:  # what is left is retries: the next sweep's
            break
        tried.update(d.id for d in claimed)
        # One chat's messages one after another, in the order told; chats in parallel.
        chats: dict[tuple[str, str], list[Delivery]] = {}
        for delivery in claimed:
            chats.setdefault((delivery.channel, delivery.address), []).append(delivery)

        def send_queue(queue: list[Delivery]) -> list[str | None]:
            return [deliver(hub, d, limiter=limiter, deadline=slot_deadline) for d in queue]

        queues = list(chats.values())
        if not limiter.warm:  # one send alone first: it opens the client (Telegram's getMe),
            # which would otherwise hold every parallel send's slot and let them go in a bunch
            report.add(send_queue(queues[0][:1])[0])
            queues[0] = queues[0][1:]
            limiter.warm = True
        for statuses in pool.map(send_queue, queues):
            for status in statuses:
                report.add(status)
        if report.deferred:  # the limits allow no more in this run's time
            report.more = True
            break
    report.seconds = round(time.monotonic() - started, 3)
    if report.ran:
        log.info(
            "delivery run: %d sent, %d failed, %d dead, %d skipped in %.1f s%s",
            report.sent,
            report.failed,
            report.dead,
            report.skipped,
            report.seconds,
            "; more are due" if report.more else "",
            extra={"stage": "delivery_run"},
        )
    return report


def deliver(
    hub: Hub, delivery: Delivery, *, limiter: RateLimiter | None = None, deadline: float = float("inf")
) -> str | None:
    """Send one claimed delivery under its rate limits and store how it ended; its status
    (None: lease lost; `pending`: no send slot before `deadline`, due again)."""
    limits = limits_for(hub.settings, delivery)
    if limiter is not None and limiter.earliest(limits) > deadline:
        return _finish(
            hub,
            delivery,
            {"status": PENDING, "attempts": delivery.attempts - 1, "next_attempt_at": hub.store.clock()},
        )
    ctx = Context(hub, _event_of(hub, delivery), scope=delivery.id)
    if limiter is not None:
        # The slot is taken at the wire (after the outbox row), not here: time spent writing
        # would otherwise bunch sends up at Telegram.
        ctx.gate = lambda: _slot_or_raise(limiter, limits, deadline)
    try:
        result = ctx.send_now(delivery.channel, delivery.address, delivery.text, **delivery.options)
    except NoSlot:  # nothing was sent: due again, no attempt used
        return _finish(
            hub,
            delivery,
            {"status": PENDING, "attempts": delivery.attempts - 1, "next_attempt_at": hub.store.clock()},
        )
    except Exception as exc:  # the provider's or the network's failure: this delivery's, not the run's
        asked = asked_delay(exc)
        if asked and limiter is not None:  # a 429: every send under that limit waits, not only this one
            limiter.pause(pause_key(delivery), limits, asked)
        return _failed(hub, delivery, exc)
    entry = result.entry
    if entry.status == SUPPRESSED:
        changes = {"status": SKIPPED, "last_error": entry.detail, "outbox_id": entry.id}
    elif result.response.get("delivered") is False:  # the chat cannot receive it (bot blocked)
        error = str(result.response.get("error") or "the recipient cannot receive messages")
        # The sender names its failed call by event (newest first); under a parallel fan-out
        # that may be another delivery's, so the link is kept only when it is provably ours.
        ours = entry.payload.get("chat_id", entry.payload.get("to")) == delivery.address
        changes = {"status": DEAD, "last_error": error[:2000], "outbox_id": entry.id if ours else ""}
    else:
        changes = {"status": SENT, "last_error": "", "outbox_id": entry.id, "ref": entry.ref}
    return _finish(hub, delivery, changes)


def _slot_or_raise(limiter: RateLimiter, limits: list, deadline: float) -> None:
    if limiter.wait_for(limits, deadline=deadline, at_once=True) is None:
        raise NoSlot("not sent: the rate limits leave no slot in this run; due again")


def _failed(hub: Hub, delivery: Delivery, exc: Exception) -> str | None:
    settings = hub.settings
    error = error_text(settings, exc)[:2000]
    if is_refusal(delivery.channel, exc) or delivery.attempts >= settings.hub_max_attempts:
        log.warning(
            "delivery dead after %d attempt(s): %s",
            delivery.attempts,
            error,
            extra=_fields(delivery, "delivery_dead"),
        )
        return _finish(hub, delivery, {"status": DEAD, "last_error": error})
    base, cap = settings.hub_retry_base_seconds, settings.hub_retry_max_seconds
    delay = retry_delay(delivery.attempts, base=base, cap=cap)
    delay = max(delay, asked_delay(exc))
    log.info("delivery failed, retry in %.0f s: %s", delay, error, extra=_fields(delivery, "delivery_failed"))
    return _finish(
        hub, delivery, {"status": FAILED, "last_error": error, "next_attempt_at": hub.store.clock() + delay}
    )


def _finish(hub: Hub, delivery: Delivery, changes: dict) -> str | None:
    finished = until_stored(hub.store, lambda: hub.store.finish_delivery(delivery, **changes))
    if finished is None:
        log.warning(
            "delivery lease lost before its outcome was stored", extra=_fields(delivery, "lease_lost")
        )
        return None
    return finished.status


def _event_of(hub: Hub, delivery: Delivery) -> Event:
    """The event whose run told this message (a stand-in once the event is purged)."""
    event = hub.store.get(delivery.event_id)
    if event is None:
        event = Event("hub", "delivery", provider_id=delivery.id, payload={}, id=delivery.event_id)
    return event


def _fields(delivery: Delivery, stage: str) -> dict[str, object]:
    return {
        "stage": stage,
        "event_id": delivery.event_id,
        "delivery_id": delivery.id,
        "channel": delivery.channel,
        "attempts": delivery.attempts,
    }


_limiter_lock = threading.Lock()


def rate_limiter(hub: Hub) -> RateLimiter:
    """The hub's shared rate limiter, opened on the first delivery run."""
    with _limiter_lock:
        if hub.limiter is None:
            hub.limiter = open_limiter(hub.settings, hub.store)
        return hub.limiter
