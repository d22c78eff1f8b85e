"""hub: verified webhooks from Telegram, Stripe, Twilio and Google, stored exactly once,
routed to plain handler functions."""

from __future__ import annotations

__version__ = "0.1.0"


def create_app(config=None, **kwargs):  # noqa: ANN001, ANN201 - re-exported, typed in hub.app
    """Build the hub app; see `hub.app.create_app`."""
    from hub.app import create_app as factory

    return factory(config, **kwargs)


__all__ = ["__version__", "create_app"]
