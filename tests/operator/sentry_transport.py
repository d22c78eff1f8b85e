"""An in-memory Sentry transport: what would have been sent, kept for assertions."""

from __future__ import annotations

from typing import Any

import sentry_sdk
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport


class MemoryTransport(Transport):
    """Collects envelopes instead of sending them; counts flushes."""

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.envelopes: list[Envelope] = []
        self.flushes = 0

    def capture_envelope(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)

    def flush(self, timeout: float, callback: Any = None) -> None:
        self.flushes += 1

    def items(self, kind: str) -> list[dict[str, Any]]:
        """The JSON payloads of every item of `kind` ("event", "transaction")."""
        return [
            item.payload.json
            for envelope in self.envelopes
            for item in envelope.items
            if item.headers.get("type") == kind and item.payload.json is not None
        ]

    def errors(self) -> list[dict[str, Any]]:
        return [e for e in self.items("event") if e.get("exception")]

    def raw(self) -> str:
        """Everything sent, as the bytes on the wire would read."""
        return "\n".join(envelope.serialize().decode("utf-8", "replace") for envelope in self.envelopes)


def reset_sentry() -> None:
    """Back to no Sentry client, so later tests in the process run without one."""
    client = sentry_sdk.get_client()
    if client.is_active():
        client.close()
    sentry_sdk.get_global_scope().set_client(None)
