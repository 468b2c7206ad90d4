"""Generating, copying, using, renewing and revoking tokens in the browser, against the sandbox
gateway through the live server."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from portal.tokens.models import Issuance, Status
from tests.e2e.steps import (
    echo,
    generate_token,
    history_row,
    last4,
    log_in,
    main_nav,
    require_chromium,
    switch_team,
    upstream_username,
)

require_chromium()
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def bob_in_acme(page, bob, password, acme_credential):
    log_in(page, "bob", password)
    switch_team(page, "Acme (issuer)")
    return page


def test_generated_token_is_copied_to_the_clipboard_and_works_at_the_echo_api(
    bob_in_acme, live_server, bob
):
    page = bob_in_acme
    main_nav(page).get_by_role("link", name="Generate token").click()
    # The form suggests the gateway username and ticks the credential's default scopes.
    expect(page.get_by_label("Gateway username")).to_have_value(upstream_username(bob))
    expect(page.get_by_role("checkbox", name="default")).to_be_checked()
    expect(page.get_by_role("checkbox", name="read")).to_be_checked()
    page.get_by_label("Other scopes").fill("write")
    page.get_by_label("API Store password").fill("sandbox-user-password-1")
    page.get_by_role("button", name="Generate token").click()

    expect(page.get_by_role("heading", name="Your token")).to_be_visible()
    token = page.get_by_role("textbox", name="Access token").input_value()
    page.get_by_role("button", name="Copy token").click()
    expect(page.get_by_role("status").filter(has_text="Copied.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == token

    assert echo(live_server, token) == 200
    # The sandbox user has no "write": the page says so first, above the token.
    expect(page.get_by_role("alert")).to_contain_text("Not granted: write.")
    issuance = Issuance.objects.get()
    assert issuance.status == Status.ACTIVE
    assert sorted(issuance.granted_scopes) == ["default", "read"]


def test_reloading_the_result_page_does_not_show_the_token_again(bob_in_acme):
    page = bob_in_acme
    token = generate_token(page)
    page.reload()
    expect(page.get_by_text("already displayed once and cannot be shown again")).to_be_visible()
    expect(page.get_by_role("textbox", name="Access token")).to_have_count(0)
    assert token not in page.content()
    page.go_back()  # Back from the result page does not bring it back either
    page.go_forward()
    assert token not in page.content()


def test_history_shows_the_token_with_granted_scopes_and_expiry(bob_in_acme):
    page = bob_in_acme
    token = generate_token(page, extra_scopes="write")
    main_nav(page).get_by_role("link", name="History").click()
    expect(page.get_by_role("heading", name="Token history")).to_be_visible()

    issuance = Issuance.objects.get()
    expires = timezone.localtime(issuance.expires_at)
    row = history_row(page, token)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("bob")
    expect(row).to_contain_text("Active")
    # Shown as "in 59 min"; the exact time is the title and the machine-readable datetime.
    expiry = row.locator(f'time[datetime="{expires.isoformat()}"]')
    expect(expiry).to_have_attribute("title", expires.strftime("%Y-%m-%d %H:%M:%S %Z"))
    expect(expiry).to_have_text(re.compile(r"^in 5\d min$"))
    expect(row.locator(".scope-list code.scope")).to_have_text(["default", "read"])
    expect(row).to_contain_text("did not grant write")


def test_renew_after_confirming_gives_a_new_token_that_works(bob_in_acme, live_server):
    page = bob_in_acme
    first = generate_token(page)
    main_nav(page).get_by_role("link", name="History").click()
    history_row(page, first).get_by_role("link", name=re.compile(r"^Renew")).click()

    expect(page.get_by_role("heading", name=f"Renew token …{last4(first)}?")).to_be_visible()
    page.get_by_role("button", name="Renew token").click()
    expect(page.get_by_role("heading", name="Your token")).to_be_visible()
    second = page.get_by_role("textbox", name="Access token").input_value()
    assert second != first
    assert echo(live_server, second) == 200

    main_nav(page).get_by_role("link", name="History").click()
    expect(history_row(page, first)).to_contain_text("Renewed")
    expect(history_row(page, second)).to_contain_text("Active")
    expect(history_row(page, second).get_by_role("link", name="↖ renewed from")).to_be_visible()


def test_revoke_after_confirming_makes_the_echo_api_answer_401(bob_in_acme, live_server):
    page = bob_in_acme
    token = generate_token(page)
    assert echo(live_server, token) == 200
    page.get_by_role("link", name="Revoke").click()

    expect(page.get_by_role("heading", name="Revoke this token?")).to_be_visible()
    page.get_by_role("button", name="Revoke token").click()
    expect(page.get_by_text(f"Token …{last4(token)} revoked.")).to_be_visible()
    expect(page.get_by_role("heading", name="Revocation")).to_be_visible()
    assert echo(live_server, token) == 401
    assert Issuance.objects.get().status == Status.REVOKED


def test_filtering_history_by_status_shows_only_matching_rows(bob_in_acme):
    page = bob_in_acme
    kept = generate_token(page)
    revoked = generate_token(page, extra_scopes="write")
    page.get_by_role("link", name="Revoke").click()
    page.get_by_role("button", name="Revoke token").click()
    expect(page.get_by_text(f"Token …{last4(revoked)} revoked.")).to_be_visible()

    main_nav(page).get_by_role("link", name="History").click()
    expect(history_row(page, kept)).to_have_count(1)
    expect(history_row(page, revoked)).to_have_count(1)
    page.get_by_text("Search and filter").click()  # the filters fold away until needed
    page.get_by_label("Status").select_option(label="Revoked")
    page.get_by_role("button", name="Apply filters").click()

    expect(page.get_by_role("heading", name="Tokens matching the filters")).to_be_visible()
    expect(page).to_have_url(re.compile(r"status=revoked"))
    expect(history_row(page, revoked)).to_contain_text("Revoked")
    expect(history_row(page, kept)).to_have_count(0)
    expect(page.locator("table.history-table tbody tr")).to_have_count(1)


def test_generate_form_fits_a_phone_screen(phone_page, bob, password, acme_credential):
    page = phone_page
    log_in(page, "bob", password)
    page.goto("/tokens/generate/")
    expect(page.get_by_role("heading", name="Generate a token")).to_be_visible()
    page.wait_for_load_state("load")  # the stylesheet too: without it any page overflows
    assert page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    submit = page.get_by_role("button", name="Generate token")
    submit.scroll_into_view_if_needed()
    box = submit.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    # Usable with touch: tap into the fields, type, tap the button, get a token.
    page.get_by_label("API Store password").tap()
    page.keyboard.type("sandbox-user-password-1")
    submit.tap()
    expect(page.get_by_role("heading", name="Your token")).to_be_visible()
    page.wait_for_load_state("load")
    assert page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
