import pytest
from django.test import Client, override_settings
from django.urls import reverse

from portal.audit.models import Action, AuditEvent

pytestmark = pytest.mark.django_db


def _login(client, username, password):
    return client.post(reverse("accounts:login"), {"username": username, "password": password})


def test_login_with_username_redirects_to_dashboard(alice, password):
    response = _login(Client(), "alice", password)
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")


def test_login_with_email_case_insensitive(alice, password):
    client = Client()
    assert _login(client, "ALICE@example.com", password).status_code == 302
    assert client.get(reverse("dashboard")).status_code == 200


def test_wrong_password_shows_clear_error_and_is_audited(alice):
    response = _login(Client(), "alice", "wrong")
    assert response.status_code == 200
    assert "do not match" in response.content.decode()
    event = AuditEvent.objects.filter(action=Action.LOGIN_FAILED).latest("seq")
    assert event.details == {"username": "alice"}
    assert "wrong" not in str(event.details)


def test_successful_login_is_audited(alice, password):
    _login(Client(), "alice", password)
    assert AuditEvent.objects.filter(action=Action.LOGIN_SUCCEEDED, actor=alice).count() == 1


@override_settings(AXES_FAILURE_LIMIT=3)
def test_lockout_after_configured_failures_shows_message(alice, password):
    client = Client()
    for _ in range(2):
        assert _login(client, "alice", "nope").status_code == 200
    locked = _login(client, "alice", "nope")
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    # Even the right password is refused while locked out.
    again = _login(client, "alice", password)
    assert again.status_code == 429
    assert "Too many failed logins" in again.content.decode()
    assert AuditEvent.objects.filter(action=Action.LOGIN_LOCKED_OUT).exists()


def test_lockout_is_per_username(alice, bob, password):
    client = Client()
    for _ in range(5):
        _login(client, "alice", "nope")
    assert _login(client, "bob", password).status_code == 302


def test_huge_and_odd_usernames_get_form_errors_not_500(db):
    client = Client()
    for username in ["x" * 10_000, "ünï\u202ecode\u0000", "", "   "]:
        response = _login(client, username, "pw")
        assert response.status_code in (200, 429)
        assert b"form-errors" in response.content or b"errorlist" in response.content


def test_logout_requires_post(alice_client):
    assert alice_client.get(reverse("accounts:logout")).status_code == 405
    response = alice_client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert alice_client.get(reverse("dashboard")).status_code == 302


def test_forged_post_without_csrf_token_gets_403_page(alice, password):
    client = Client(enforce_csrf_checks=True)
    response = _login(client, "alice", password)
    assert response.status_code == 403
    assert b"This form expired" in response.content


def test_anonymous_is_sent_to_login(db):
    response = Client().get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
