"""The log scrubber's shape rules: every shape is removed however it is spelled or repeated."""

from __future__ import annotations

import logging

import pytest

from hub.logs import SecretScrubber, scrub_text

SHAPES = [
    ("Authorization: BeArEr abc.DEF-123", "Authorization: Bearer [token]"),
    ("sent BEARER abc.DEF-123 along", "sent Bearer [token] along"),  # no other needle in it
    ("mail ann%40example.org now", "mail [email] now"),
    ("mail ann@example.org", "mail [email]"),
    ("call %2B44 20 7946 0958", "call [phone]"),
    ("call +1 (415) 555-0100", "call [phone]"),
    ("bot 123456789:" + "A" * 35, "bot [bot-token]"),
    ("key rk_test_abcdef12", "key [api-key]"),
    ("whsec_rotated_1 leaked", "[signing-secret] leaked"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----", "[key]"),
    ("evt_0123 stripe/invoice.paid received", "evt_0123 stripe/invoice.paid received"),
]


@pytest.mark.parametrize(("text", "scrubbed"), SHAPES)
def test_each_shape_is_scrubbed(text, scrubbed):
    assert scrub_text(text) == scrubbed


def test_a_short_field_is_scrubbed_every_time_it_repeats():
    scrubber = SecretScrubber(["s3cret-value"])
    for _ in range(3):
        record = logging.LogRecord("hub", logging.INFO, __file__, 1, "got %s", ("s3cret-value",), None)
        record.source = "a@b.io"
        record.event_id = "s3cret-value"
        scrubber.filter(record)
        assert (record.getMessage(), record.source, record.event_id) == ("got ***", "[email]", "***")
