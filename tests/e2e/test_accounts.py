"""Logging in, and being locked out after too many wrong passwords, in the browser."""

import pytest
from playwright.sync_api import expect

from portal.audit.models import Action, AuditEvent
from tests.e2e.steps import require_chromium, user_menu

require_chromium()
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _is_login_post(response) -> bool:
    return response.request.method == "POST" and response.url.endswith("/accounts/login/")


def test_person_logs_in_with_the_keyboard_and_lands_on_the_dashboard(page, alice, password):
    page.goto("/tokens/history/")  # a private page sends them to the login form first
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_label("Username or email")).to_be_focused()
    page.keyboard.type("alice")
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Token history")).to_be_visible()
    page.get_by_role("link", name="Token Portal").click()
    expect(page.get_by_role("heading", name="Welcome, alice")).to_be_visible()
    user_menu(page).locator("summary").click()
    expect(user_menu(page).get_by_role("button", name="Log out")).to_be_visible()


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(page, alice, password):
    page.goto("/accounts/login/")
    username, secret = page.get_by_label("Username or email"), page.get_by_label("Password")
    for _ in range(4):
        username.fill("alice")
        secret.fill("not the password")
        with page.expect_response(_is_login_post) as answer:
            secret.press("Enter")
        assert answer.value.status == 200
        expect(page.get_by_role("alert")).to_contain_text("do not match")

    username.fill("alice")
    secret.fill("not the password")
    with page.expect_response(_is_login_post) as answer:
        page.get_by_role("button", name="Log in").click()
    assert answer.value.status == 429
    expect(page.get_by_role("alert")).to_contain_text("Too many failed logins")

    # Locked: the right password is refused too, with the same message.
    secret.fill(password)
    with page.expect_response(_is_login_post) as answer:
        page.get_by_role("button", name="Log in").click()
    assert answer.value.status == 429
    expect(page.get_by_role("alert")).to_contain_text("Too many failed logins")
    expect(user_menu(page)).to_have_count(0)
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    assert AuditEvent.objects.filter(action=Action.LOGIN_LOCKED_OUT).exists()
