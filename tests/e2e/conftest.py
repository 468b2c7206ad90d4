"""Browser tests: Playwright (sync API) driving Debian's Chromium against pytest-django's live
server, with the built-in sandbox as the gateway.

Every test module starts with ``require_chromium()`` (see steps.py): without Chromium the tests are
skipped with one line of reason, unless ``PORTAL_E2E_REQUIRED=1`` (CI) makes a missing browser an
error that fails the run. A failing test leaves a screenshot in
``test-artifacts/e2e/<test name>.png``.
"""

import io
import os
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect, sync_playwright

from portal.gateway import client
from portal.sandbox import services as sandbox
from portal.vault.models import Gateway
from tests import factories
from tests.e2e.steps import (
    CHROMIUM,
    CONSUMER_KEY,
    CONSUMER_SECRET,
    ORG_KEY,
    UPSTREAM_PASSWORD,
    upstream_username,
)

# The machine may have no network: these keep Chromium from phoning home (updates, sync, QUIC)
# and flooding the logs with refused connections. --no-sandbox because CI runs as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
TIMEOUT_MS = 10_000


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    # Keep each phase's report on the item so the page fixture knows, at teardown, whether the
    # test failed and a screenshot is worth taking.
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="package")
def browser():
    """One headless Chromium for the whole e2e package (closed before other packages run)."""
    # Playwright's sync API keeps an asyncio event loop registered as running in this thread
    # while it is started; Django then refuses ORM calls from test code and from pytest-django's
    # database flush ("SynchronousOnlyOperation"), although they are plain synchronous calls that
    # never run inside that loop. Allow them for exactly as long as Playwright runs.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    # Generous for a shared 2-core CI machine; a passing step takes well under a second.
    expect.set_options(timeout=TIMEOUT_MS)
    try:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _new_page(browser, live_server, **context_options):
    context = browser.new_context(base_url=live_server.url, **context_options)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    # The portal has no favicon; the browser's request for one would only log a 404.
    context.route("**/favicon.ico", lambda route: route.abort())
    page = context.new_page()
    return context, page


def _screenshot_on_failure(request, page) -> None:
    failed = any(
        getattr(request.node, f"rep_{when}", None) is not None
        and getattr(request.node, f"rep_{when}").failed
        for when in ("setup", "call")
    )
    if not failed:
        return
    folder = Path(request.config.rootpath) / "test-artifacts" / "e2e"
    folder.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.\-\[\]]", "_", request.node.name)
    try:
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    except Exception as exc:  # a crashed page must not hide the test's own failure
        print(f"could not save a screenshot: {exc}")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Argon2 takes about half a second per hash on a busy CI machine, and every test creates
    the cast, seeds sandbox users and logs in: a cheap hasher keeps the suite fast. The login
    path is the same; only the hash function differs."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def close_token_api_connections():
    """The portal's pooled Token API session keeps keep-alive connections to the live server; each
    pins a server thread that holds a database connection (CONN_MAX_AGE), and PostgreSQL then
    refuses to drop the test database at the end. Close them after every test."""
    yield
    if client.session is not None:
        client.session.close()
        client.session = None


@pytest.fixture
def page(browser, live_server, request):
    """A fresh browser context (no cookies) on the live server, allowed to use the clipboard."""
    context, page = _new_page(browser, live_server)
    yield page
    _screenshot_on_failure(request, page)
    context.close()


@pytest.fixture
def phone_page(browser, live_server, request):
    """Like ``page``, on an iPhone 12/13-sized touch screen (390×844)."""
    context, page = _new_page(
        browser,
        live_server,
        viewport={"width": 390, "height": 844},
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
    )
    yield page
    _screenshot_on_failure(request, page)
    context.close()


@pytest.fixture
def sandbox_gateway(live_server, cast):
    """The sandbox registered as a gateway the way an administrator does it, with an application
    and one upstream user for each member who generates tokens."""
    for user in (cast["alice"], cast["bob"]):
        sandbox.sandbox_seed(
            consumer_key=CONSUMER_KEY,
            consumer_secret=CONSUMER_SECRET,
            username=upstream_username(user),
            password=UPSTREAM_PASSWORD,
            app_scopes="default read write",
            user_scopes="default read",
        )
    call_command(
        "add_gateway",
        name="Sandbox",
        token_url=f"{live_server.url}/sandbox/token",
        revoke_url=f"{live_server.url}/sandbox/revoke",
        username_template="{email}@{org_key}",
        sandbox=True,
        stdout=io.StringIO(),
    )
    return Gateway.objects.get(name="Sandbox")


@pytest.fixture
def acme_credential(sandbox_gateway, acme, alice):
    """Acme's credential for the sandbox application, as alice stored it."""
    return factories.credential_create(
        team=acme,
        actor=alice,
        gateway=sandbox_gateway,
        name="Sandbox app",
        consumer_key=CONSUMER_KEY,
        consumer_secret=CONSUMER_SECRET,
        org_key=ORG_KEY,
        default_scopes=["default", "read"],
        allow_client_credentials=True,
    )
