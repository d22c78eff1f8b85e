"""Browser tests: Playwright's Python package driving Debian's Chromium against a real server.

They skip with a reason when /usr/bin/chromium or playwright is missing; CI sets
HUB_REQUIRE_BROWSER=1, which turns that skip into a failure. Screenshots go to
artifacts/screenshots/ (kept by CI as artifacts, ignored by git).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.auxil.server import serving
from tests.auxil.unavailable import unavailable

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


# Module scope, not session: while sync Playwright runs, the main thread has a running
# asyncio loop, and later tests' asyncio.run() (python-telegram-bot) would fail.
@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        unavailable("HUB_REQUIRE_BROWSER", f"{CHROMIUM} is missing: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("HUB_REQUIRE_BROWSER", "the playwright package is missing: pip install playwright")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()


WIDTHS = {"desktop": 1366, "phone": 390}


@pytest.fixture
def sized(chromium: Any) -> Iterator[Any]:
    """`sized("phone")` opens a page at that width (phones with touch and a phone's scale)."""
    contexts: list[Any] = []

    def open_page(kind: str) -> Any:
        phone = kind == "phone"
        context = chromium.new_context(
            viewport={"width": WIDTHS[kind], "height": 844 if phone else 900},
            device_scale_factor=2 if phone else 1,
            is_mobile=phone,
            has_touch=phone,
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    try:
        yield open_page
    finally:
        for context in contexts:
            context.close()


def save_screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def shoot(page: Any, request: pytest.FixtureRequest) -> Any:
    """`shoot("step")` saves a full-page screenshot named after the test and the step."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(step: str) -> Path:
        path = SCREENSHOTS / f"{request.node.name}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def serve() -> Iterator[Any]:
    """`serve(app)` runs the app on a real threaded server on 127.0.0.1; returns its URL."""
    from contextlib import ExitStack

    with ExitStack() as stack:
        yield lambda app: stack.enter_context(serving(app))
