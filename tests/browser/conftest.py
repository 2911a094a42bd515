"""Real Chromium (Debian's) driven by Playwright against pytest-django's live server."""

import os
from pathlib import Path

import pytest
from django.db import connections
from playwright.sync_api import sync_playwright

# Playwright's sync API runs an event loop in this thread; Django's ORM calls made by the test
# itself (fixtures, assertions) would otherwise be refused as "async unsafe".
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# The screenshots are looked at, not compared: kept beside the tests, out of git (.gitignore).
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR", Path(__file__).parent / "artefacts"))


@pytest.fixture
def browser():
    """One Chromium per test, started after the test's database setup.

    While Playwright's event loop runs, Django's `connections` hands out a separate connection
    object; a session-wide browser would make pytest-django restore the seeded registers
    (serialized_rollback) on that object instead of the one the test case holds, and they
    would be missing in every later test.
    """
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()
        # The connections the test opened inside Playwright's loop: left open, they would keep
        # the test database from being dropped at the end of the run.
        connections.close_all()


@pytest.fixture
def page(browser):
    """A fresh browser profile per test whose browser asks for English first."""
    context = browser.new_context(locale="en-GB", viewport={"width": 1100, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(autouse=True)
def _fresh_rate_limits(fresh_rate_limits):
    """Every test here starts with no rate limit used."""


@pytest.fixture
def site(live_server):
    """`site("nl")` is the base URL of that register: Chromium resolves *.localhost to loopback."""
    port = live_server.url.rsplit(":", 1)[1]
    return lambda slug: f"http://{slug}.localhost:{port}"


@pytest.fixture
def shot(page):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> None:
        page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)

    return take


def log_in_to_admin(page, base: str, email: str, password: str) -> None:
    """Logs in through the admin's login page (the portal's, allauth's, which leads back to the
    admin): the one place to change when that page does."""
    page.goto(f"{base}/admin/login/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
