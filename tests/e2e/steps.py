"""What a person does in the portal, step by step, shared by the browser tests."""

import json
import os
import re
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import Page, expect

CHROMIUM = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")

# The sandbox application and its users (upstream usernames follow the gateway's template
# "{email}@{org_key}" with each portal user's API Store email, so the form's suggestion is right).
CONSUMER_KEY = "E2eConsumerKey00000000000000"
CONSUMER_SECRET = "E2eConsumerSecret0000000000000000"
ORG_KEY = "johnsorg"
UPSTREAM_PASSWORD = "sandbox-user-password-1"


def require_chromium() -> None:
    """Called at the top of every e2e test module. Without the browser the module is skipped -
    all of them under one line of the summary, since the skip is raised here - or, when
    PORTAL_E2E_REQUIRED=1 (CI), its collection fails."""
    if os.path.exists(CHROMIUM):
        return
    reason = f"Chromium not found at {CHROMIUM}; install it with apt-get install chromium"
    if os.environ.get("PORTAL_E2E_REQUIRED") == "1":
        pytest.fail(f"{reason} (PORTAL_E2E_REQUIRED=1)", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def upstream_username(user) -> str:
    return f"{user.api_store_email}@{ORG_KEY}"


def main_nav(page: Page):
    return page.get_by_role("navigation", name="Main")


def user_menu(page: Page):
    """The header's menu of the signed-in person (profile, account activity, log out)."""
    return page.locator("details.user-menu")


def log_in(page: Page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    # Wait for the whole next page (its deferred script too), not just the first bytes of it.
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    expect(user_menu(page)).to_have_count(1)
    page.wait_for_load_state("load")


def open_menu(page: Page) -> None:
    """On a phone the header's menu is collapsed behind "Menu": open it (no-op on a desktop)."""
    page.wait_for_load_state("load")  # whether "Menu" shows is the stylesheet's decision
    toggle = page.locator("[data-menu-toggle]")
    if toggle.count() and toggle.is_visible() and toggle.get_attribute("aria-expanded") != "true":
        toggle.click()


def log_out(page: Page) -> None:
    open_menu(page)
    user_menu(page).locator("summary").click()
    user_menu(page).get_by_role("button", name="Log out").click()


def switch_team(page: Page, option: str) -> None:
    """Choose a team in the header's Team menu (one button per team; the page reloads).
    ``option`` is "Acme (issuer)": the team's name and the role the menu must show there."""
    name, _, role = option.rpartition(" (")
    role = role.rstrip(")")
    open_menu(page)
    menu = page.locator("details.team-menu")
    menu.locator("summary").click()
    choice = menu.get_by_role("button", name=re.compile(rf"^{re.escape(name)} {re.escape(role)}$"))
    with page.expect_navigation():
        choice.click()
    expect(page.locator("details.team-menu .team-current")).to_have_text(name)
    expect(page.locator("details.team-menu summary .role-tag")).to_have_text(role)


def generate_token(page: Page, *, extra_scopes: str = "", password: str = UPSTREAM_PASSWORD) -> str:
    """From anywhere: open Generate, keep the suggested username and default scopes, type the API
    Store password and press Enter. Returns the token shown on the result page."""
    open_menu(page)
    main_nav(page).get_by_role("link", name="Generate token").click()
    expect(page.get_by_role("heading", name="Generate a token")).to_be_visible()
    if extra_scopes:
        page.get_by_label("Other scopes").fill(extra_scopes)
    page.get_by_label("API Store password").fill(password)
    page.get_by_label("API Store password").press("Enter")
    expect(page.get_by_role("heading", name="Your token")).to_be_visible()
    token = page.get_by_role("textbox", name="Access token").input_value()
    assert len(token) > 20, token
    return token


def last4(token: str) -> str:
    return token[-4:]


def echo(live_server, token: str) -> int:
    """The HTTP status the sandbox's protected API answers for this bearer token."""
    request = urllib.request.Request(
        f"{live_server.url}/sandbox/api/echo", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            json.loads(response.read() or b"{}")
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def history_row(page: Page, token: str):
    """The history table's row of the token (rows show the token's last four characters)."""
    table = page.get_by_role("table", name=re.compile(r"^Tokens of "))
    return table.get_by_role("row").filter(has_text=re.compile(r"…" + re.escape(last4(token))))
