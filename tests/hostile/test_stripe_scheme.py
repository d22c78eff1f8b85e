"""Hub's Stripe signature check gives the SDK's verdict (stripe.WebhookSignature).

Intake verifies Stripe's scheme v1 without importing the SDK (see integrations/stripe.py);
these properties hold it to the SDK on generated and mutated headers, so an SDK release
that reads the header differently fails here. Hub is stricter in two documented ways only:
the header must hold exactly one timestamp `t` of plain digits (at most 12), and it may not
lie in the future by more than the tolerance (the SDK checks only the past). Those two
rules are written out here again, not taken from hub's parser, so a change to the parser
cannot also change when the SDK's verdict is required.
"""

from __future__ import annotations

import json
import re
import time

import stripe
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import integrations.stripe as stripe_intake
from hub.errors import HubError
from tests.hostile.conftest import STRIPE_SECRETS, run

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TOLERANCE = stripe_intake.TOLERANCE_SECONDS

bodies = st.builds(
    lambda event_id, note: json.dumps({"id": event_id, "type": "invoice.paid", "note": note}),
    st.text("abcdef0123456789", min_size=1, max_size=12).map("evt_".__add__),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=30),
)
header_chars = st.sampled_from("0123456789abcdef,=tv1 ")
EDITS = ("insert", "delete", "replace")


def hub_accepts(app, body: str, header: str) -> bool:  # noqa: ANN001
    headers = {"Content-Type": "application/json", "Stripe-Signature": header}
    verdict = run(app, stripe_intake.verify, "/webhooks/stripe", body.encode(), headers)
    if isinstance(verdict, HubError):
        assert verdict.STATUS_CODE == 400, verdict
        return False
    return True


def sdk_accepts(body: str, header: str) -> bool:
    """The SDK's verdict with any of the configured secrets (as hub tries them all)."""
    for secret in STRIPE_SECRETS:
        try:
            if stripe.WebhookSignature.verify_header(body, header, secret, TOLERANCE):
                return True
        except stripe.SignatureVerificationError:
            continue
    return False


PLAIN_TIMESTAMP = re.compile(r"[0-9]{1,12}")


def hub_form(header: str) -> bool:
    """The header passes hub's two stricter rules: one plain-digits `t`, not in the future."""
    stamps = [value for key, _, value in (item.partition("=") for item in header.split(",")) if key == "t"]
    if len(stamps) != 1 or not PLAIN_TIMESTAMP.fullmatch(stamps[0]):
        return False
    return int(stamps[0]) <= time.time() + TOLERANCE - 2


def assert_same_verdict(app, body: str, header: str) -> None:  # noqa: ANN001
    # HTTP servers drop the spaces around a header value before any verifier sees it.
    header = header.strip()
    hub, sdk = hub_accepts(app, body, header), sdk_accepts(body, header)
    assert not hub or sdk, f"hub accepts what the SDK refuses: {header!r}"
    if hub_form(header):
        assert hub == sdk, f"hub {hub}, SDK {sdk} for {header!r}"


@SETTINGS
@given(body=bodies, secret=st.sampled_from(STRIPE_SECRETS), offset=st.integers(-TOLERANCE + 2, TOLERANCE - 2))
def test_hub_signs_exactly_as_the_sdk(body: str, secret: str, offset: int) -> None:
    timestamp = int(time.time()) + offset
    ours = stripe_intake.signature_header(body, secret, timestamp)
    assert ours == stripe.WebhookSignature.generate_signature_header(body, secret, timestamp)


@SETTINGS
@given(
    body=bodies,
    secret=st.sampled_from((*STRIPE_SECRETS, "whsec_attacker")),
    offset=st.integers(-2 * TOLERANCE, 2 * TOLERANCE),
    edits=st.lists(st.tuples(st.integers(0, 200), st.sampled_from(EDITS), header_chars), max_size=4),
    extra=st.sampled_from(["", ",v1=", ",v1", ",v0=abc", ",t=1", ", v1=00", ",v1=a=b"]),
)
def test_mutated_headers_get_the_sdks_verdict(app, body, secret, offset, edits, extra) -> None:  # noqa: ANN001
    header = stripe_intake.signature_header(body, secret, int(time.time()) + offset) + extra
    for position, action, char in edits:
        position %= len(header) + 1
        if action == "insert":
            header = header[:position] + char + header[position:]
        elif action == "delete":
            header = header[:position] + header[position + 1 :]
        else:
            header = header[:position] + char + header[position + 1 :]
    assert_same_verdict(app, body, header)


@SETTINGS
@given(body=bodies, data=st.data())
def test_signatures_listed_in_any_order_get_the_sdks_verdict(app, body, data) -> None:  # noqa: ANN001
    """Rotation: Stripe sends one v1 per active secret; junk and other schemes may sit between."""
    timestamp = int(time.time())
    signed = [stripe_intake.signature_header(body, s, timestamp).split(",")[1] for s in STRIPE_SECRETS]
    junk = ["v1=" + "0" * 64, "v0=" + signed[0][3:], "v1=", "x=y"]
    items = data.draw(st.lists(st.sampled_from(signed + junk), min_size=1, max_size=5))
    position = data.draw(st.integers(0, len(items)))
    items.insert(position, f"t={timestamp}")
    assert_same_verdict(app, body, ",".join(items))


@SETTINGS
@given(body=bodies, header=st.text(header_chars, max_size=90))
def test_arbitrary_header_text_gets_the_sdks_verdict(app, body, header) -> None:  # noqa: ANN001
    assert_same_verdict(app, body, header)
