"""The API in the browser: its documentation page renders from the portal's own files under the
strict CSP, and a person creates an API key on the API keys page."""

import re

import pytest
from playwright.sync_api import expect

from portal.api import services
from tests.e2e.steps import log_in, require_chromium, user_menu

require_chromium()
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_api_docs_render_with_no_csp_violation_and_nothing_from_elsewhere(page, live_server):
    problems, outside = [], []
    page.on(
        "console",
        lambda message: (
            problems.append(message.text) if message.type in ("error", "warning") else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "request",
        lambda request: (
            outside.append(request.url)
            if not request.url.startswith(live_server.url) and not request.url.startswith("data:")
            else None
        ),
    )
    page.goto("/api/v1/docs")
    expect(page.get_by_role("heading", name=re.compile("Token Portal API"))).to_be_visible()
    expect(page.get_by_text("/api/v1/tokens/{issuance_id}/renew")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Authorize"))).to_be_visible()
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
    assert not outside, outside


def test_a_person_creates_an_api_key_and_sees_it_once(page, cast, acme, password):
    log_in(page, "bob", password)
    user_menu(page).locator("summary").click()
    user_menu(page).get_by_role("link", name="API keys").click()
    expect(page.get_by_role("heading", name="API keys", exact=True)).to_be_visible()
    page.get_by_label("Name").fill("CI deploy")
    page.locator("#id_team").select_option(label="Acme (you: issuer)")
    page.get_by_label("Issuer", exact=False).first.check()
    page.get_by_role("button", name="Create key").click()
    box = page.locator("#api-key")
    expect(box).to_be_visible()
    secret = box.input_value()
    assert re.fullmatch(r"tpk_[0-9A-Za-z]{38}", secret)
    assert services.api_key_authenticate(secret=secret).user == cast["bob"]
    page.reload()
    expect(page.locator("#api-key")).to_have_count(0)
    expect(page.get_by_role("cell", name=f"tpk_…{secret[-4:]}")).to_be_visible()
