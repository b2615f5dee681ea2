"""End-to-end fixtures: Debian's Chromium driven by Playwright against a live portal, with a real
Celery worker and beat, Redis, PostgreSQL and scim2-server (DESIGN §6).

- ``browser`` (session): headless Chromium at /usr/bin/chromium
  (``scripts/install_system_packages.sh`` installs it; ``playwright install`` cannot download here).
- ``page``: a fresh browser context on the live server; every console error and page error is
  collected and the test fails at teardown if there was any.
- ``engine`` (session): one worker and one beat on a queue of their own; the portal (the live
  server runs in this process) publishes its tasks to the same queue.
- ``scim``: the session's scim2-server, emptied for the test.
- ``goto``: the session's local fake of GoTo's API (``tests.fakes.goto_api``; not GoTo), with
  the portal's GOTO_* settings pointing at it (the worker gets them at start).
- ``screenshot(page, name)``: saves ``artifacts/screenshots/<name>.png`` (git-ignored); with
  ``readme_name=`` also ``docs/images/<readme_name>.png`` when that file is missing or
  ``UPDATE_README_SCREENSHOTS=1`` is set (so ordinary runs leave the tracked image alone).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TEST_ENCRYPTION_KEY
from tests.e2e.helpers import E2E_PASSWORD
from tests.fakes.goto_api import FakeGoTo, start_fake_goto
from tests.support.processes import (
    ManagedProcess,
    new_queue_name,
    route_this_process_to,
    start_beat,
    start_worker,
    wait_until,
)

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make between
# browser actions are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
README_IMAGES = ROOT / "docs" / "images"
VIEWPORT = {"width": 1280, "height": 900}
# The worker's scheduler, fast enough for a test and as the issue asks.
ENGINE_ENV = {"PROVISIONING_DISPATCH_SECONDS": "2", "PROVISIONING_WATCH_SECONDS": "2"}

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test here drives Chromium (``e2e``) and shares PostgreSQL with other processes."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install_system_packages.sh as root first.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


class ConsoleErrors(list):
    def record_console(self, message) -> None:
        if message.type == "error":
            self.append(f"console.error on {message.location.get('url', '?')}: {message.text}")

    def record_page_error(self, error) -> None:
        self.append(f"page error: {error}")


@pytest.fixture
def console_errors() -> ConsoleErrors:
    return ConsoleErrors()


@pytest.fixture
def page(browser, live_server, console_errors, settings):
    # Fast password hashing for the logins the tests create (the live server shares settings).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORT, locale="en-US")
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("console", console_errors.record_console)
    page.on("pageerror", console_errors.record_page_error)
    yield page
    context.close()
    assert not console_errors, "\n".join(console_errors)


@pytest.fixture
def screenshot():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str, *, readme_name: str | None = None) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        readme_path = README_IMAGES / f"{readme_name}.png"
        if readme_name and (
            not readme_path.exists() or os.environ.get("UPDATE_README_SCREENSHOTS")
        ):
            README_IMAGES.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(readme_path), full_page=True)
        return path

    return take


# -- the target ------------------------------------------------------------------------------


# ``scim_server`` and ``scim`` come from tests/conftest.py.


@pytest.fixture(scope="session")
def goto_server() -> Iterator[FakeGoTo]:
    with start_fake_goto() as fake:
        yield fake


def goto_settings_for(fake: FakeGoTo) -> dict[str, str]:
    return {
        "GOTO_OAUTH_TOKEN_URL": fake.token_url,
        "GOTO_OAUTH_AUTHORIZE_URL": fake.authorize_url,
        "GOTO_ADMIN_API_URL": fake.api_url,
        "GOTO_CLIENT_ID": fake.client_id,
        "GOTO_CLIENT_SECRET": fake.client_secret,
    }


@pytest.fixture
def goto(goto_server: FakeGoTo, settings) -> FakeGoTo:
    """The fake GoTo API, with this process's settings (the live server's) pointing at it."""
    for name, value in goto_settings_for(goto_server).items():
        setattr(settings, name, value)
    return goto_server


# -- the engine: a real worker and beat, and this process publishing to their queue ----------


class Engine:
    def __init__(self, queue: str, worker: ManagedProcess, beat: ManagedProcess) -> None:
        self.queue = queue
        self.worker = worker
        self.beat = beat

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.log()}" for p in (self.worker, self.beat))


# Package scope: the worker and beat stop when the last end-to-end test is done, so their
# dispatcher never claims the jobs of tests that come after (they share the test database).
@pytest.fixture(scope="package")
def engine(django_db_setup, django_db_blocker, goto_server) -> Iterator[Engine]:
    queue = new_queue_name()
    # The key the tests' autouse fixture gives the live server, so both read the same secrets;
    # GoTo's URLs and OAuth client point at the local fake.
    env = {
        **ENGINE_ENV,
        "FIELD_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY,
        **goto_settings_for(goto_server),
    }
    with django_db_blocker.unblock():
        worker = start_worker(queue, concurrency=2, **env)
        beat = start_beat(queue, **env)
    restore = route_this_process_to(queue)
    running = Engine(queue, worker, beat)
    try:
        wait_until(
            lambda: "ready" in worker.log() or not worker.alive(),
            timeout=30,
            message="the Celery worker did not start",
        )
        if not worker.alive():
            pytest.fail(f"the Celery worker died:\n{worker.log()}")
        yield running
    finally:
        restore()
        beat.stop()
        worker.stop()


# -- logins -------------------------------------------------------------------------------------


@pytest.fixture
def make_login(db):
    from django.contrib.auth import get_user_model

    from provisioning.roles import ensure_roles

    def create(username: str, role: str):
        administrators, auditors = ensure_roles()
        user = get_user_model().objects.create_user(username=username, password=E2E_PASSWORD)
        user.groups.add(administrators if role == "admin" else auditors)
        return user

    return create


@pytest.fixture
def open_page(browser, live_server, console_errors, settings):
    """A page in a browser context of the given locale (Accept-Language)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    contexts = []

    def open_in(locale: str):
        context = browser.new_context(base_url=live_server.url, viewport=VIEWPORT, locale=locale)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("console", console_errors.record_console)
        page.on("pageerror", console_errors.record_page_error)
        return page

    yield open_in
    for context in contexts:
        context.close()
    assert not console_errors, "\n".join(console_errors)
