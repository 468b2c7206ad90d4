"""Every page in a real browser: nothing wider than a phone, times and scopes on one line on a
desktop, the audit trail in sentences, one's own account activity, a form that follows the grant."""

import re

import pytest
from playwright.sync_api import Page, expect

from portal.teams.models import Membership
from portal.tokens.models import Issuance
from tests.e2e.steps import (
    generate_token,
    last4,
    log_in,
    main_nav,
    open_menu,
    require_chromium,
    switch_team,
    user_menu,
)

require_chromium()
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# clientWidth is the layout viewport (390 on the phone); a mobile browser widens innerWidth to
# fit an overflowing page, so comparing with innerWidth would never fail there.
NOT_WIDER_THAN_THE_SCREEN = (
    "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
)

# What sticks out on the right, for the failure message.
STICKING_OUT = """
() => Array.from(document.querySelectorAll("body *")).filter((el) => {
  const r = el.getBoundingClientRect();
  return r.width > 0 && r.right > document.documentElement.clientWidth + 0.5;
}).slice(0, 6).map((el) => el.tagName + "." + el.className + " " + Math.round(el.getBoundingClientRect().right))
  .concat(
    Array.from(document.querySelectorAll("body *"))
      .filter((el) => el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1)
      .filter((el) => getComputedStyle(el).overflowX === "visible")
      .slice(0, 6)
      .map((el) => `${el.tagName}.${el.className} overflows to ${el.scrollWidth}`)
  )
"""

# Inline elements that wrapped have several boxes; chips (inline blocks) grow taller instead.
WRAPPED = """
(selector) => Array.from(document.querySelectorAll(selector)).filter((el) => {
  const rects = el.getClientRects();
  const line = parseFloat(getComputedStyle(el).lineHeight) || 20;
  return rects.length !== 1 || rects[0].height > line * 1.45;
}).map((el) => el.textContent.trim())
"""


def _generate_named(page: Page, *, name: str, note: str = "", extra_scopes: str = "") -> str:
    main_nav(page).get_by_role("link", name="Generate token").click()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Note").fill(note)
    if extra_scopes:
        page.get_by_label("Other scopes").fill(extra_scopes)
    page.get_by_label("API Store password").fill("sandbox-user-password-1")
    page.get_by_role("button", name="Generate token").click()
    expect(page.get_by_role("heading", name="Your token")).to_be_visible()
    return page.get_by_role("textbox", name="Access token").input_value()


@pytest.fixture
def acme_with_tokens(page, alice, bob, password, acme_credential):
    """bob's named token with a dropped scope, a failed attempt, and alice's plain token; the
    page is left logged in as alice, working in Acme."""
    log_in(page, "bob", password)
    switch_team(page, "Acme (issuer)")
    _generate_named(
        page,
        name="CI deploy for the orders service",
        note="GitHub Actions: runs on every merge to main, rotates nightly",
        extra_scopes="write",
    )
    main_nav(page).get_by_role("link", name="Generate token").click()
    page.get_by_label("API Store password").fill("not the password")
    page.get_by_role("button", name="Generate token").click()
    expect(page.get_by_role("alert")).to_contain_text("rejected the username or password")
    page.context.clear_cookies()
    log_in(page, "alice", password)
    switch_team(page, "Acme (owner)")
    generate_token(page)
    return page


def test_times_and_scope_chips_never_wrap_in_history_and_audit_tables(acme_with_tokens):
    page = acme_with_tokens
    page.set_viewport_size({"width": 1280, "height": 900})
    main_nav(page).get_by_role("link", name="History").click()
    expect(page.locator("table.history-table tbody tr")).to_have_count(3)
    page.wait_for_load_state("load")  # the stylesheet too
    assert page.locator("table.history-table time").count() >= 5
    assert page.locator("table.history-table .scope").count() >= 6
    assert page.evaluate(WRAPPED, "table.history-table time, table.history-table .scope") == []
    # Every row's actions are on screen, not cut off by the table's scroll box.
    wrap = page.locator("table.history-table").evaluate(
        "t => t.parentElement.scrollWidth <= t.parentElement.clientWidth"
    )
    assert wrap
    # A long failure reason is one line; the whole text is in its title and on the token's page.
    reason = page.locator("table.history-table .token-failure").first
    assert page.evaluate(WRAPPED, "table.history-table .token-failure") == []
    assert "rejected the username or password" in reason.get_attribute("title")
    assert page.evaluate(NOT_WIDER_THAN_THE_SCREEN)

    main_nav(page).get_by_role("link", name="Audit").click()
    expect(page.get_by_role("heading", name="Audit log · Acme")).to_be_visible()
    page.wait_for_load_state("load")
    assert page.locator("table.audit-table time").count() >= 8
    assert page.evaluate(WRAPPED, "table.audit-table time, table.audit-table .scope") == []
    assert page.evaluate(NOT_WIDER_THAN_THE_SCREEN)


def test_the_audit_sentence_of_a_generated_token_names_the_actor_and_its_last_characters(
    page, bob, alice, password, acme_credential
):
    log_in(page, "bob", password)
    switch_team(page, "Acme (issuer)")
    token = _generate_named(page, name="Nightly report")
    page.context.clear_cookies()
    log_in(page, "alice", password)
    switch_team(page, "Acme (owner)")
    main_nav(page).get_by_role("link", name="Audit").click()
    sentence = page.locator(".audit-sentence").filter(has_text="generated token")
    expect(sentence).to_have_count(1)
    expect(sentence).to_contain_text(
        re.compile(
            rf"^bob generated token …{re.escape(last4(token))} “Nightly report” with Sandbox app"
        )
    )
    # The token in the sentence leads to its page.
    sentence.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Nightly report")).to_be_visible()


def test_account_activity_lists_a_failed_and_a_successful_login(page, alice, password):
    page.goto("/accounts/login/")
    page.get_by_label("Username or email").fill("alice")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match")
    log_in(page, "alice", password)
    user_menu(page).locator("summary").click()
    user_menu(page).get_by_role("link", name="Account activity").click()
    expect(page.get_by_role("heading", name="Account activity")).to_be_visible()
    sentences = page.locator(".audit-sentence")
    expect(sentences.filter(has_text="A sign-in as alice failed")).to_have_count(1)
    expect(sentences.filter(has_text=re.compile(r"^alice signed in$"))).to_have_count(1)


def test_the_generate_form_follows_the_grant(page, bob, password, acme_credential):
    log_in(page, "bob", password)
    switch_team(page, "Acme (issuer)")
    main_nav(page).get_by_role("link", name="Generate token").click()
    password_box = page.get_by_label("API Store password")
    expect(password_box).to_be_visible()
    page.get_by_label("Client credentials").check()
    expect(password_box).to_be_hidden()
    expect(page.get_by_label("Gateway username")).to_be_hidden()
    page.get_by_role("button", name="Generate token").click()
    expect(page.get_by_role("heading", name="Your token")).to_be_visible()
    assert Issuance.objects.get().upstream_username == ""
    main_nav(page).get_by_role("link", name="Generate token").click()
    page.get_by_label("Client credentials").check()
    page.get_by_label("Password — a user token for you").check()
    expect(password_box).to_be_visible()


def test_a_form_error_takes_the_focus_to_its_summary(page, bob, password, acme_credential):
    log_in(page, "bob", password)
    switch_team(page, "Acme (issuer)")
    main_nav(page).get_by_role("link", name="Generate token").click()
    page.get_by_label("Gateway username").fill("")
    page.get_by_label("API Store password").fill("typed once")
    page.get_by_role("button", name="Generate token").click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Type this field again: API Store password.")
    summary.get_by_role("link", name=re.compile("^Gateway username")).click()
    expect(page.get_by_label("Gateway username")).to_be_focused()


def test_no_page_is_wider_than_a_phone(phone_page, alice, bob, password, acme_credential):
    page = phone_page
    alice.is_staff = True
    alice.save(update_fields=["is_staff"])
    log_in(page, "alice", password)
    switch_team(page, "Acme (owner)")
    generate_token(page, extra_scopes="write")
    page.wait_for_load_state("load")  # the stylesheet too: without it any page overflows
    assert page.evaluate(NOT_WIDER_THAN_THE_SCREEN), page.evaluate(STICKING_OUT)
    issuance = Issuance.objects.get()
    team, credential = issuance.team_id, issuance.credential_id
    bob_member = Membership.objects.get(team_id=team, user=bob).pk
    pages = [
        "/",
        "/credentials/",
        f"/credentials/team/{team}/?show=archived",
        f"/credentials/team/{team}/new/",
        f"/credentials/{credential}/edit/",
        f"/credentials/{credential}/archive/",
        "/tokens/generate/",
        f"/tokens/history/?team={team}",
        f"/tokens/history/?team={team}&status=active&search=a",
        f"/tokens/{issuance.pk}/",
        f"/tokens/{issuance.pk}/renew/",
        f"/tokens/{issuance.pk}/revoke/",
        f"/audit/?team={team}",
        f"/audit/?team={team}&action=token.issued&outcome=success",
        "/audit/account/",
        "/audit/all/",
        "/teams/",
        f"/teams/{team}/",
        "/teams/new/",
        f"/teams/{team}/members/{bob_member}/remove/",
        f"/teams/{team}/delete/",
        "/accounts/profile/",
        "/accounts/password/",
        "/no-such-page/",
    ]
    assert page.evaluate("document.documentElement.clientWidth") == 390
    wider = []
    for path in pages:
        response = page.goto(path)
        assert response.status in (200, 404), (path, response.status)
        page.wait_for_load_state("load")
        if not page.evaluate(NOT_WIDER_THAN_THE_SCREEN):
            wider.append((path, page.evaluate(STICKING_OUT)))
    assert wider == []

    # With its menus open the header still fits, and it is short while closed.
    page.goto(f"/tokens/history/?team={team}")
    assert page.locator("header.topbar").bounding_box()["height"] < 70
    open_menu(page)
    expect(main_nav(page).get_by_role("link", name="History")).to_be_visible()
    page.locator("details.team-menu summary").click()
    user_menu(page).locator("summary").click()
    assert page.evaluate(NOT_WIDER_THAN_THE_SCREEN)

    # A form that came back with errors fits too.
    page.goto("/tokens/generate/")
    page.get_by_role("button", name="Generate token").click()
    expect(page.locator("[data-error-summary]")).to_be_visible()
    assert page.evaluate(NOT_WIDER_THAN_THE_SCREEN)
