"""Two-factor authentication: enrolment, the code step of the login, lockout on wrong codes,
recovery codes, disabling, team and staff requirements - all audited."""

import re
import time

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.accounts import two_factor
from portal.audit.models import Action, AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_otp_throttling(settings):
    # django-otp makes each verify wait after a wrong one (1 s, 2 s, …); these tests type a wrong
    # code and then the right one at once. The lockout is what this suite is about.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


def code_for(device, offset=0) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=offset):06d}"


def _enrol(client) -> tuple[TOTPDevice, list[str]]:
    page = client.get(reverse("accounts:two_factor_setup"))
    assert page.status_code == 200
    device = TOTPDevice.objects.get(confirmed=False)
    response = client.post(reverse("accounts:two_factor_setup"), {"code": code_for(device)})
    assert response.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", response.content.decode())
    device.refresh_from_db()
    return device, codes


@pytest.fixture
def alice_2fa(alice, client_for):
    device, codes = _enrol(client_for(alice))
    device.last_t = -1  # tests log in within the same 30 s; a code may be used once per step
    device.save()
    return device, codes


def _password_step(client, password, username="alice", **extra):
    return client.post(
        reverse("accounts:login"), {"username": username, "password": password, **extra}
    )


def test_enrolment_shows_a_server_rendered_qr_code_and_the_secret_as_text(alice_client):
    page = alice_client.get(reverse("accounts:two_factor_setup")).content.decode()
    assert "<svg" in page and "<script" not in page.split("<main", 1)[1]
    assert " style=" not in page
    device = TOTPDevice.objects.get()
    assert not device.confirmed
    secret = two_factor.enrolment_secret(device)
    assert secret in page


def test_a_device_is_active_only_after_a_first_code_is_verified(alice, alice_client):
    alice_client.get(reverse("accounts:two_factor_setup"))
    response = alice_client.post(reverse("accounts:two_factor_setup"), {"code": "000000"})
    assert response.status_code == 200
    assert "not right" in response.content.decode()
    assert not two_factor.is_enabled(alice)


def test_enrolment_shows_ten_recovery_codes_once_and_is_audited(alice, alice_client):
    device, codes = _enrol(alice_client)
    assert device.confirmed and len(codes) == 10
    assert two_factor.is_enabled(alice)
    for code in codes:
        assert code not in alice_client.get(reverse("accounts:two_factor")).content.decode()
    assert AuditEvent.objects.filter(action=Action.TWO_FACTOR_ENABLED, actor=alice).exists()
    assert AuditEvent.objects.filter(action=Action.RECOVERY_CODES_CREATED, actor=alice).exists()


def test_login_asks_for_the_code_after_the_password(alice, password, alice_2fa):
    device, _ = alice_2fa
    client = Client()
    response = _password_step(client, password, next="/tokens/history/")
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login_code")
    assert client.get(reverse("dashboard")).status_code == 302  # not logged in yet
    assert not AuditEvent.objects.filter(action=Action.LOGIN_SUCCEEDED).exists()

    response = client.post(reverse("accounts:login_code"), {"code": code_for(device)})
    assert response.status_code == 302
    assert response["Location"] == "/tokens/history/"
    assert client.get(reverse("dashboard")).status_code == 200
    assert AuditEvent.objects.filter(action=Action.LOGIN_SUCCEEDED, actor=alice).count() == 1


def test_the_code_page_without_a_password_step_sends_back_to_login(db):
    response = Client().get(reverse("accounts:login_code"))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login")


def test_wrong_codes_count_against_the_account_and_lock_it(alice, password, alice_2fa, settings):
    settings.AXES_FAILURE_LIMIT = 3
    device, _ = alice_2fa
    client = Client()
    _password_step(client, password)
    assert client.post(reverse("accounts:login_code"), {"code": "000000"}).status_code == 200
    assert client.post(reverse("accounts:login_code"), {"code": "111111"}).status_code == 200
    locked = client.post(reverse("accounts:login_code"), {"code": "222222"})
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    # Locked for every spelling, even with the right password and code.
    again = Client()
    assert _password_step(again, password, username="ALICE@example.com").status_code == 429
    assert AuditEvent.objects.filter(action=Action.TWO_FACTOR_FAILED).count() == 3


def test_wrong_codes_and_wrong_passwords_share_one_counter(alice, password, alice_2fa, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    _password_step(client, "wrong")
    _password_step(client, "wrong")
    _password_step(client, password)
    assert client.post(reverse("accounts:login_code"), {"code": "000000"}).status_code == 429


def test_a_recovery_code_logs_in_once(alice, password, alice_2fa):
    _, codes = alice_2fa
    client = Client()
    _password_step(client, password)
    page = client.get(reverse("accounts:login_code") + "?recovery=1").content.decode()
    assert "recovery code" in page
    response = client.post(reverse("accounts:login_code"), {"code": codes[0].upper()})
    assert response.status_code == 302
    assert client.get(reverse("dashboard")).status_code == 200
    assert AuditEvent.objects.filter(action=Action.RECOVERY_CODE_USED, actor=alice).exists()
    assert StaticToken.objects.count() == 9

    other = Client()
    _password_step(other, password)
    assert other.post(reverse("accounts:login_code"), {"code": codes[0]}).status_code == 200
    assert other.get(reverse("dashboard")).status_code == 302


def test_the_password_step_expires(alice, password, alice_2fa, monkeypatch):
    device, _ = alice_2fa
    client = Client()
    _password_step(client, password)
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 301)
    response = client.post(reverse("accounts:login_code"), {"code": code_for(device)})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login")


def test_disabling_needs_a_code(alice, alice_client, alice_2fa):
    device, _ = alice_2fa
    response = alice_client.post(reverse("accounts:two_factor_disable"), {"code": "000000"})
    assert response.status_code == 302
    assert two_factor.is_enabled(alice)
    response = alice_client.post(reverse("accounts:two_factor_disable"), {"code": code_for(device)})
    assert response.status_code == 302
    assert not two_factor.is_enabled(alice)
    assert AuditEvent.objects.filter(action=Action.TWO_FACTOR_DISABLED, actor=alice).exists()


# --- Requirements -----------------------------------------------------------------------------


def test_an_owner_needs_2fa_before_requiring_it(acme, alice, alice_client):
    response = alice_client.post(reverse("teams:require_2fa", args=[acme.pk]), {"require_2fa": "1"})
    assert response.status_code == 302
    acme.refresh_from_db()
    assert not acme.require_2fa


def test_members_without_2fa_are_sent_to_enrol_before_using_the_team(
    acme, alice, bob, alice_2fa, client_for, password
):
    owner = Client()
    _password_step(owner, password)
    owner.post(reverse("accounts:login_code"), {"code": code_for(alice_2fa[0])})
    response = owner.post(reverse("teams:require_2fa", args=[acme.pk]), {"require_2fa": "1"})
    assert response.status_code == 302
    acme.refresh_from_db()
    assert acme.require_2fa
    assert AuditEvent.objects.filter(action=Action.TEAM_2FA_CHANGED, team=acme).exists()
    assert owner.get(reverse("tokens:history")).status_code == 200  # alice has it

    member = client_for(bob)
    for url in [
        reverse("dashboard"),
        reverse("tokens:history"),
        reverse("tokens:generate"),
        reverse("vault:credential_list"),
        reverse("audit:log"),
        reverse("teams:detail", args=[acme.pk]),
    ]:
        response = member.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == reverse("accounts:two_factor")
    assert member.get(reverse("accounts:two_factor")).status_code == 200
    _enrol(member)
    assert member.get(reverse("tokens:history")).status_code == 200


def test_staff_need_2fa_before_the_admin_when_required(alice, alice_client, settings):
    settings.PORTAL_REQUIRE_2FA_FOR_STAFF = True
    alice.is_staff = alice.is_superuser = True
    alice.save()
    response = alice_client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == reverse("accounts:two_factor")
    _enrol(alice_client)
    assert alice_client.get("/admin/").status_code == 200


def test_staff_reach_the_admin_without_2fa_when_not_required(alice, alice_client, settings):
    settings.PORTAL_REQUIRE_2FA_FOR_STAFF = False
    alice.is_staff = alice.is_superuser = True
    alice.save()
    assert alice_client.get("/admin/").status_code == 200


def test_requiring_2fa_for_staff_is_on_by_default_in_production():
    import os
    import subprocess
    import sys
    from pathlib import Path

    from tests.test_settings import PRODUCTION_ENV

    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV}
    env.update(PRODUCTION_ENV)
    code = "from django.conf import settings as s; print(s.PORTAL_REQUIRE_2FA_FOR_STAFF)"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.strip() == "True", result.stderr
