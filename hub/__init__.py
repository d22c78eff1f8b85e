"""hub: verified webhooks from Telegram, Stripe, Twilio and Google, stored exactly once,
routed to plain handler functions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

__version__ = "0.1.0"


def create_app(config: Mapping[str, Any] | None = None, **kwargs: Any) -> Flask:
    """Build the hub app; see `hub.app.create_app`. Imported lazily to keep `import hub` light."""
    from hub.app import create_app as factory

    return factory(config, **kwargs)


__all__ = ["__version__", "create_app"]
