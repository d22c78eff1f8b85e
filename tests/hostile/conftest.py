"""One app for the verifier properties: every source's secret, and two Stripe secrets
at once (rotation)."""

from __future__ import annotations

import pytest

from hub import create_app
from hub.errors import HubError
from hub.services import hub_of
from tests.conftest import SECRETS

STRIPE_SECRETS = ("whsec_test_primary", "whsec_test_rotated")


def run(app, verify, path: str, body: bytes, headers: dict[str, str]):  # noqa: ANN001, ANN201
    """The verifier's verdict: the Event, or the HubError it raised (4xx only)."""
    with app.test_request_context(path, method="POST", data=body, headers=headers) as ctx:
        try:
            return verify(ctx.request, hub_of(app).settings)
        except HubError as error:
            assert 400 <= error.STATUS_CODE < 500, error
            return error


@pytest.fixture(scope="module")
def app(tmp_path_factory):  # noqa: ANN001, ANN201
    config = {
        "HUB_INSTANCE_PATH": str(tmp_path_factory.mktemp("instance")),
        "HUB_TASKS": "inline",
        **SECRETS,
        "STRIPE_WEBHOOK_SECRET": ",".join(STRIPE_SECRETS),
    }
    app = create_app(config)
    yield app
    hub_of(app).store.close()
