"""Two-factor authentication in the browser: enrolment with the QR page, then logging in with a
code from the (computed) authenticator app."""

import base64
import re

import pytest
from django_otp.oath import totp
from playwright.sync_api import expect

from portal.audit.models import Action, AuditEvent
from tests.e2e.steps import log_in, log_out, require_chromium, user_menu

require_chromium()
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _app_code(secret_text: str, steps_ahead: int = 0) -> str:
    """What an authenticator app shows for this key (``steps_ahead`` 30-second steps later)."""
    key = base64.b32decode(secret_text.replace(" ", ""))
    return f"{totp(key, step=30, digits=6, drift=steps_ahead):06d}"


def test_person_enrols_then_logs_in_with_a_code(page, alice, password):
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    log_in(page, "alice", password)
    user_menu(page).locator("summary").click()
    user_menu(page).get_by_role("link", name="Profile and password").click()
    page.get_by_role("link", name="Two-factor authentication").click()
    expect(page.get_by_text("Off.")).to_be_visible()
    page.get_by_role("link", name="Set up two-factor authentication").click()

    expect(page.get_by_role("heading", name="Set up two-factor authentication")).to_be_visible()
    qr = page.locator(".qr-code svg")
    expect(qr).to_be_visible()
    assert qr.bounding_box()["width"] >= 150  # big enough to scan
    secret = page.get_by_label("Secret key").inner_text()
    assert re.fullmatch(r"[A-Z2-7 ]{32,}", secret), secret

    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_text("That code is not right").first).to_be_visible()
    # django-otp refuses any code for a second after a wrong one (then 2 s, 4 s, …).
    page.wait_for_timeout(1200)
    page.get_by_label("Code").fill(_app_code(secret))
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", name="Two-factor authentication is on")).to_be_visible()
    codes = page.get_by_role("list", name="Recovery codes").get_by_role("listitem")
    expect(codes).to_have_count(10)
    page.get_by_role("link", name="I have saved them").click()
    expect(page.get_by_text("On.")).to_be_visible()
    assert violations == []

    log_out(page)
    page.get_by_label("Username or email").fill("ALICE@example.com")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    # The enrolment used this 30-second step's code; a code is accepted once per step.
    page.get_by_label("Code").fill(_app_code(secret, steps_ahead=1))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Welcome, alice")).to_be_visible()
    assert AuditEvent.objects.filter(action=Action.TWO_FACTOR_ENABLED, actor=alice).exists()
    assert AuditEvent.objects.filter(action=Action.LOGIN_SUCCEEDED, actor=alice).count() == 2


def test_person_who_lost_the_device_logs_in_with_a_recovery_code(page, alice, password):
    from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=alice, name="phone", confirmed=True)
    static = StaticDevice.objects.create(user=alice, name="Recovery codes", confirmed=True)
    StaticToken.objects.create(device=static, token="abcd2345")

    page.goto("/accounts/login/")
    page.get_by_label("Username or email").fill("alice")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Lost your device? Use a recovery code").click()
    expect(page.get_by_role("heading", name="Use a recovery code")).to_be_visible()
    page.get_by_label("Code").fill("ABCD 2345")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Welcome, alice")).to_be_visible()
    expect(page.get_by_text("You logged in with a recovery code; 0 left")).to_be_visible()
