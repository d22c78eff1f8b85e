"""A service a test needs is missing: skip with the reason, or fail when CI requires it."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(required_by: str, reason: str) -> NoReturn:
    """Skip, unless `required_by` (HUB_REQUIRE_REDIS, HUB_REQUIRE_BROWSER,
    HUB_REQUIRE_PACKAGE) is 1: then fail.

    CI sets those flags, so a missing Redis, browser or built package there is a red build,
    not a skip.
    """
    if os.environ.get(required_by) == "1":
        pytest.fail(f"{required_by}=1 but {reason}")
    pytest.skip(reason)
