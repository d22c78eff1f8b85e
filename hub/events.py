"""The Event: one verified delivery from a provider (or an internal source), as stored."""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field, fields, replace
from typing import Any

from hub.json_text import dumps, dumps_sorted

# Life of an event: received -> processing -> done | failed (retry at) -> ... -> dead
RECEIVED, PROCESSING, DONE, FAILED, DEAD = "received", "processing", "done", "failed", "dead"
STATUSES = (RECEIVED, PROCESSING, DONE, FAILED, DEAD)
# What a state change (claim, finish) may alter: the rest is fixed once the event is
# recorded, so a state change writes only these (no payload to encode and store again).
STATE_FIELDS = ("status", "attempts", "last_error", "next_attempt_at", "lease_until", "updated_at", "version")


@dataclass(frozen=True)
class ChatMessage:
    """A text someone sent on a chat channel; replies go back to `channel` at `address`."""

    channel: str  # "telegram" | "sms"
    address: str  # chat id or phone number
    text: str
    sender: str = ""

    @property
    def command(self) -> tuple[str, list[str]] | None:
        """`/weather London` or `WEATHER London` -> ("weather", ["London"]); None for plain text."""
        words = self.text.strip().split()
        if not words:
            return None
        head = words[0]
        if head.startswith("/"):
            name = head[1:].split("@", 1)[0].lower()  # "/start@MyBot" in groups
        elif self.channel == "sms" and head.isalpha():
            name = head.lower()
        else:
            return None
        return (name, words[1:]) if name else None


@dataclass(frozen=True, init=False)
class Event:
    """A verified event. `id` is hub's own; (`source`, `provider_id`) is unique.

    The fields, with their defaults, are `__init__`'s parameters.
    """

    source: str
    type: str
    provider_id: str
    payload: dict[str, Any]
    received_at: float
    id: str
    message: ChatMessage | None
    status: str
    attempts: int
    last_error: str
    next_attempt_at: float | None
    lease_until: float | None
    updated_at: float | None
    body_sha256: str
    version: int
    # The request headers as received, secret-bearing ones masked (`hub.webhooks`); {} for
    # internal events. Shown on the event's page, never used to decide anything.
    headers: dict[str, str]
    # The payload's JSON text as the provider sent it, when a verifier has it: stored as
    # is instead of encoding the payload again (the stored text is only ever parsed back).
    # Not stored as a field of its own; `with_changes(payload=...)` drops it.
    payload_json: str = field(compare=False, repr=False)

    def __init__(
        self,
        source: str,
        type: str,
        provider_id: str,
        payload: dict[str, Any],
        received_at: float | None = None,  # now
        id: str = "",  # a new one: "evt_" and 128 random bits, as uuid4's
        message: ChatMessage | None = None,
        status: str = RECEIVED,
        attempts: int = 0,
        last_error: str = "",
        next_attempt_at: float | None = None,
        lease_until: float | None = None,
        updated_at: float | None = None,
        body_sha256: str = "",
        version: int = 0,
        headers: dict[str, str] | None = None,  # {}
        payload_json: str = "",
    ) -> None:
        # Written here, not generated: a frozen dataclass's `__init__` sets each field with
        # its own `object.__setattr__` call, and every webhook makes an event (verifying a
        # Telegram update costs 18 k instructions less this way). Fields are set in
        # declaration order.
        self.__dict__.update(
            source=source,
            type=type,
            provider_id=provider_id,
            payload=payload,
            received_at=time.time() if received_at is None else received_at,
            id=id or "evt_" + os.urandom(16).hex(),
            message=message,
            status=status,
            attempts=attempts,
            last_error=last_error,
            next_attempt_at=next_attempt_at,
            lease_until=lease_until,
            updated_at=updated_at,
            body_sha256=body_sha256,
            version=version,
            headers={} if headers is None else headers,
            payload_json=payload_json,
        )

    @property
    def dedup_key(self) -> str:
        return f"{self.source}:{self.provider_id}"

    def with_changes(self, **changes: Any) -> Event:
        """A copy with `changes` (`dataclasses.replace`, without running `__init__` again:
        every field is already set and typed, and an intake makes three copies)."""
        if "payload" in changes and "payload_json" not in changes:
            changes["payload_json"] = ""  # the text would no longer be this payload's
        unknown = changes.keys() - _FIELD_NAMES
        if unknown:
            return replace(self, **changes)  # raises TypeError naming the field
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy.__dict__.update(changes)
        return copy

    def to_record(self) -> dict[str, Any]:
        # Not `asdict(self)`: it deep-copies the payload only for it to be dumped to JSON
        # below, which was about a quarter of a webhook's time (bench/load.py). The fields
        # are copied in one go from `__dict__` (a getattr each costs twice as much as this).
        record = self.__dict__.copy()
        del record["payload_json"]
        record["payload"] = self.payload_json or dumps_sorted(self.payload)
        record["message"] = dumps(self.message.__dict__) if self.message else ""
        record["headers"] = dumps(self.headers) if self.headers else ""
        return record

    def state_record(self) -> dict[str, Any]:
        """The fields a state change writes (`STATE_FIELDS`), as `to_record` gives them."""
        values = self.__dict__
        return {name: values[name] for name in STATE_FIELDS}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Event:
        data = dict(record)
        data["payload"] = json.loads(data["payload"]) if data.get("payload") else {}
        message = data.get("message")
        data["message"] = ChatMessage(**json.loads(message)) if message else None
        data["headers"] = json.loads(data["headers"]) if data.get("headers") else {}
        for key in ("next_attempt_at", "lease_until", "updated_at"):
            data[key] = float(data[key]) if data.get(key) not in (None, "") else None
        data["received_at"] = float(data["received_at"])
        data["attempts"] = int(data.get("attempts") or 0)
        data["version"] = int(data.get("version") or 0)
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in known})

    def summary(self) -> dict[str, Any]:
        """The public view, as the admin API lists it."""
        return {
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "provider_id": self.provider_id,
            "status": self.status,
            "attempts": self.attempts,
            "received_at": iso_time(self.received_at),
            "updated_at": iso_time(self.updated_at) if self.updated_at else None,
            "next_attempt_at": iso_time(self.next_attempt_at) if self.next_attempt_at else None,
            "last_error": self.last_error or None,
        }


_FIELD_NAMES = frozenset(f.name for f in fields(Event))


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def iso_time(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}Z"
