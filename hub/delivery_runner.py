"""The delivery runner: claims due deliveries and sends each through the outbox.

One run lasts at most `HUB_DELIVERY_RUN_SECONDS` (under half of the Lambda timeout), then
says whether more are due, so the task machinery starts another run (a new invocation on
Lambda) and no run is cut off by the platform mid-send. The bound holds by construction:
sends start until `SEND_RESERVE` before the end, and every send's HTTP timeout is cut to
the time left (`Context.answer_by`), so a Bot API that never answers ends the send, not
the run past its budget (the send's outcome is then unknown: the outbox keeps it
`sending`, and its retry is flagged as a possible duplicate). Within a run
up to `HUB_DELIVERY_CONCURRENCY` sends are in flight at once (each waits mostly on the
network), a new one starting as soon as one ends, paced by the shared rate limiter.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hub.backoff import asked_delay, error_text, retry_delay, until_stored
from hub.context import Context, is_refusal
from hub.deliveries import DEAD, FAILED, PENDING, SENT, SKIPPED, Delivery
from hub.events import Event
from hub.outbox import NoSlot
from hub.ratelimit import RateLimiter, limits_for, open_limiter, pause_key

if TYPE_CHECKING:
    from concurrent.futures import Executor, Future

    from hub.services import Hub

log = logging.getLogger("hub.deliveries")

SUPPRESSED = "suppressed"  # the outbox status of a message to a number that texted STOP
# Seconds before a run's end after which no send starts: a send needs its answer within the
# run, and a healthy one takes a round trip (at most a quarter of a short test budget).
SEND_RESERVE = 2.0
RATE_LIMITED_TRIES = 3  # sends of one claimed delivery that met a 429, in one run
# A send that reached the HTTP client later than this after its slot is counted from then
# (one limiter write more); most get there within a few ms, which the window's JITTER covers.
RESTAMP_AFTER = 0.004


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
    limiter = rate_limiter(hub)
    starting = budget - min(SEND_RESERVE, budget / 4)  # sends start within this
    window = _Window(
        hub,
        limiter,
        hub.tasks.sending_pool(settings.hub_delivery_concurrency),
        size=settings.hub_delivery_concurrency,
        deadline=started + starting,
        slot_deadline=limiter.clock() + starting,  # in the limiter's (the store's) clock
        answer_by=started + budget,
    )
    report = window.run()
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


class _Window:
    """One run's sends: up to `size` in flight, and a new one starts the moment one ends
    (not in batches, which would each wait for their slowest send and drain the pipeline
    once per batch). The shared limiter paces them at the wire. Deliveries are claimed a
    few at a time, just ahead of the sends, so what one run holds (leases, memory) is
    bounded by the window, not by how many are due; one chat's messages go one after
    another, in the order told, chats in parallel.
    """

    AHEAD = 2  # claimed and waiting, per send slot of the window

    def __init__(
        self,
        hub: Hub,
        limiter: RateLimiter,
        pool: Executor,
        *,
        size: int,
        deadline: float,
        slot_deadline: float,
        answer_by: float,
    ) -> None:
        self.hub = hub
        self.limiter = limiter
        self.pool = pool
        self.size = size
        self.deadline = deadline  # no send starts after it (monotonic)
        self.slot_deadline = slot_deadline  # the same, in the limiter's clock
        self.answer_by = answer_by  # every send's answer by then (monotonic): the run's end
        self.report = DeliveryReport()
        self.ready: deque[Delivery] = deque()  # claimed, its chat free
        self.behind: dict[tuple[str, str], deque[Delivery]] = {}  # claimed, its chat busy
        self.waiting = 0  # in `ready` and `behind`
        self.flying: dict[Future, Delivery] = {}
        # Deliveries that failed in this run (a zero backoff makes them due at once): the
        # next run's. Only failures are kept, so this is bounded by the run's sends.
        self.failed_here: set[str] = set()
        self.exhausted = False  # nothing more to claim in this run
        self.rate = hub.settings.hub_telegram_per_second  # the fastest this run can send
        self.events: dict[str, Event] = {}  # the events this run's deliveries were told in
        self.stopping = False  # the sending pool refused work: this process is ending

    def run(self) -> DeliveryReport:
        # Imported here: the module loads with every app, and a cold ack sends nothing.
        from concurrent.futures import FIRST_COMPLETED, wait

        while True:
            open_ = time.monotonic() < self.deadline and not self.report.deferred and not self.stopping
            if open_ and not self.exhausted and self._room_to_claim():
                self._claim()
            while open_ and self.ready and len(self.flying) < self.size and not self.stopping:
                self._start(self.ready.popleft())
                if not self.limiter.warm:  # the first send opens the client (Telegram's getMe),
                    # which would hold every parallel send's slot and let them go in a bunch
                    self._settle(wait(self.flying).done)
                    self.limiter.warm = True
            if not self.flying:
                if open_ and not self.exhausted and self._room_to_claim():
                    continue
                break
            self._settle(wait(self.flying, return_when=FIRST_COMPLETED).done)
        self._give_back()
        if not self.report.more and not self.exhausted:  # stopped for time, or for the limits
            self.report.more = bool(self.hub.store.deliveries_due(1))
        return self.report

    def _room_to_claim(self) -> bool:
        """Claim while fewer wait than twice the window and than the time left can send at
        the bot's rate: near the end of the run, what is claimed is sent rather than given
        back (a durable write each, while the limiter's slots go unused)."""
        left = self.deadline - time.monotonic()
        return self.waiting < min(self.size * self.AHEAD, left * self.rate)

    def _claim(self) -> None:
        settings = self.hub.settings
        claimed = self.hub.store.claim_deliveries(
            self.size, lease_seconds=settings.hub_delivery_lease_seconds
        )
        if not claimed:
            self.exhausted = True
            return
        again = [d for d in claimed if d.id in self.failed_here]
        for delivery in again:  # failed earlier in this run and already due: the next run's
            self._release(delivery, FAILED)
        if len(again) == len(claimed):  # what is left is retries: the next sweep's
            self.exhausted = True
        for delivery in claimed:
            if delivery.id in self.failed_here:
                continue
            self.waiting += 1
            chat = (delivery.channel, delivery.address)
            if chat in self.behind:
                self.behind[chat].append(delivery)
            else:
                self.behind[chat] = deque()  # the chat is now taken: later ones queue behind
                self.ready.append(delivery)

    def _start(self, delivery: Delivery) -> None:
        self.waiting -= 1
        event = self.events.get(delivery.event_id)
        if event is None:  # one read per event in a run, not per message: a fan-out's share one
            if len(self.events) >= 64:
                self.events.clear()
            event = self.events[delivery.event_id] = _event_of(self.hub, delivery)
        try:
            future = self.pool.submit(
                deliver,
                self.hub,
                delivery,
                limiter=self.limiter,
                deadline=self.slot_deadline,
                answer_by=self.answer_by,
                event=event,
            )
        except RuntimeError:  # the pool is shut down (the interpreter is exiting): stop
            # starting sends; what is claimed is given back, due again, and the next run or
            # the sweep sends it. What is in flight still finishes and is recorded.
            self.ready.appendleft(delivery)
            self.waiting += 1
            self.stopping = True
            return
        self.flying[future] = delivery

    def _settle(self, done: set[Future]) -> None:
        for future in done:
            delivery = self.flying.pop(future)
            status = future.result()
            self.report.add(status)
            if status == FAILED:
                self.failed_here.add(delivery.id)
            chat = (delivery.channel, delivery.address)
            queue = self.behind.get(chat)
            if queue:
                self.ready.append(queue.popleft())
            else:
                self.behind.pop(chat, None)

    def _give_back(self) -> None:
        """Claimed but never started (the budget ran out): due again, no attempt used."""
        left = [*self.ready, *(d for queue in self.behind.values() for d in queue)]
        for delivery in left:
            self._release(delivery, PENDING)
        if left:
            self.report.more = True
        self.ready.clear()
        self.behind.clear()
        self.waiting = 0

    def _release(self, delivery: Delivery, status: str) -> None:
        self.hub.store.finish_delivery(
            delivery, status=status, attempts=delivery.attempts - 1, next_attempt_at=self.hub.store.clock()
        )


def deliver(
    hub: Hub,
    delivery: Delivery,
    *,
    limiter: RateLimiter | None = None,
    deadline: float = float("inf"),
    answer_by: float | None = None,
    event: Event | None = None,
) -> str | None:
    """Send one claimed delivery under its rate limits and store how it ended; its status
    (None: lease lost; `pending`: no send slot before `deadline`, due again). The send's
    answer is awaited until `answer_by` (monotonic) at the latest."""
    limits = limits_for(hub.settings, delivery)
    if limiter is not None and limiter.earliest(limits) > deadline:
        return _not_sent(hub, delivery)
    event = event or _event_of(hub, delivery)
    for tried in range(1, RATE_LIMITED_TRIES + 1):
        ctx = Context(hub, event, scope=delivery.id)  # a new context: the same outbox key
        ctx.answer_by = answer_by
        stamps = _Stamps(limiter, limits, deadline) if limiter is not None else None
        if stamps is not None:
            # The slot is taken at the wire (after the outbox row), not here: time spent writing
            # would otherwise bunch sends up at Telegram.
            ctx.gate, ctx.on_wire = stamps.gate, stamps.on_wire
        try:
            result = ctx.send_now(delivery.channel, delivery.address, delivery.text, **delivery.options)
            break
        except NoSlot:  # nothing was sent: due again, no attempt used
            return _not_sent(hub, delivery)
        except Exception as exc:  # the provider's or the network's failure: this delivery's, not the run's
            if stamps is not None:
                stamps.restamp()
            asked = asked_delay(exc)
            if asked and limiter is not None:  # a 429: every send under that limit waits, not only this one
                limiter.pause(pause_key(delivery), limits, asked)
                # The rate's refusal, not this message's: sent again once the pause ends, if
                # that is within this run (the gate waits it out with every other send).
                if tried < RATE_LIMITED_TRIES and limiter.earliest(limits) <= deadline:
                    continue
            return _failed(hub, delivery, exc)
    if stamps is not None:
        stamps.restamp()
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


class _Stamps:
    """One delivery attempt's sends under the limiter: each waits for its slot at the gate
    (`ctx.gate`), and is counted from when it reached the HTTP client (`ctx.on_wire`) if that
    was noticeably later than the slot (`RateLimiter.restamp`)."""

    def __init__(self, limiter: RateLimiter, limits: list, deadline: float) -> None:
        self.limiter, self.limits, self.deadline = limiter, limits, deadline
        self.let_go: list[tuple[float, float]] = []  # (the slot, monotonic when it was taken)
        self.wired: list[float] = []  # monotonic, when each send was handed to the client

    def gate(self) -> None:
        slot = self.limiter.wait_for(self.limits, deadline=self.deadline, at_once=True)
        if slot is None:
            raise NoSlot("not sent: the rate limits leave no slot in this run; due again")
        self.let_go.append((slot, time.monotonic()))

    def on_wire(self) -> None:
        self.wired.append(time.monotonic())

    def restamp(self) -> None:
        for (slot, taken), wired in zip(self.let_go, self.wired, strict=False):
            if wired - taken > RESTAMP_AFTER:
                self.limiter.restamp(self.limits, slot, slot + (wired - taken))
        self.let_go.clear()
        self.wired.clear()


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


def _not_sent(hub: Hub, delivery: Delivery) -> str | None:
    """No slot for it in this run: due again at once, its claim's attempt given back."""
    return _finish(
        hub,
        delivery,
        {"status": PENDING, "attempts": delivery.attempts - 1, "next_attempt_at": hub.store.clock()},
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
