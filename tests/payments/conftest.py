"""Payments fixtures: a hub that really calls Stripe, Twilio and the Bot API (mocked at the wire)."""

from __future__ import annotations

import pytest

from hub.services import hub_of
from tests.payments.wire import LIVE


@pytest.fixture
def live(make_app):  # noqa: ANN001, ANN201
    """(test client, hub) with dry-run off and every payments credential set."""
    app = make_app(LIVE)
    return app.test_client(), hub_of(app)
