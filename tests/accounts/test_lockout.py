"""The lockout counts failures against the account an identifier resolves to, whatever its
spelling; identifiers that resolve to no account are counted per client address. The Django
admin has no login of its own."""

import pytest
from django.test import Client
from django.urls import reverse

from portal.audit.models import Action, AuditEvent

pytestmark = pytest.mark.django_db


def _login(client, username, password, **extra):
    return client.post(
        reverse("accounts:login"), {"username": username, "password": password}, **extra
    )


@pytest.fixture
def limit_3(settings):
    settings.AXES_FAILURE_LIMIT = 3


def test_spellings_of_the_login_email_share_one_counter(alice, password, limit_3):
    client = Client()
    for spelling in ["Alice@example.com", "ALICE@EXAMPLE.COM"]:
        assert _login(client, spelling, "wrong").status_code == 200
    assert _login(client, "  alice@Example.COM  ", "wrong").status_code == 429
    # The account is locked, whichever way it is named.
    assert _login(client, "alice", password).status_code == 429
    assert _login(client, "alice@example.com", password).status_code == 429


def test_username_and_email_count_against_the_same_account(alice, password, limit_3):
    client = Client()
    assert _login(client, "alice", "wrong").status_code == 200
    assert _login(client, "ALICE", "wrong").status_code == 200
    assert _login(client, "alice@example.com", "wrong").status_code == 429
    assert _login(client, "Alice", password).status_code == 429


def test_unicode_lookalike_spellings_count_against_the_account(alice, password, limit_3):
    client = Client()
    # Full-width letters normalise (NFKC) to "alice"; case is folded.
    for spelling in ["ａｌｉｃｅ", "Ａlice", "ALİCE".replace("İ", "I")]:
        _login(client, spelling, "wrong")
    assert _login(client, "alice", password).status_code == 429


def test_a_locked_account_stays_locked_for_other_spellings_of_its_email(alice, password, settings):
    settings.AXES_FAILURE_LIMIT = 2
    client = Client()
    _login(client, "alice@example.com", "wrong")
    _login(client, "alice@example.com", "wrong")
    assert _login(client, "ALICE@example.com", password).status_code == 429
    assert AuditEvent.objects.filter(action=Action.LOGIN_LOCKED_OUT).exists()


def test_the_lockout_of_one_account_leaves_other_accounts_alone(alice, bob, password, limit_3):
    client = Client()
    for _ in range(3):
        _login(client, "ALICE", "wrong")
    assert _login(client, "bob@example.com", password).status_code == 302


def test_unknown_identifiers_are_counted_per_client_address(alice, password, limit_3):
    client = Client()
    assert _login(client, "nobody", "x", REMOTE_ADDR="192.0.2.7").status_code == 200
    assert _login(client, "no-one", "x", REMOTE_ADDR="192.0.2.7").status_code == 200
    locked = _login(client, "ghost@example.com", "x", REMOTE_ADDR="192.0.2.7")
    assert locked.status_code == 429
    # Another address has its own counter.
    assert _login(client, "nobody", "x", REMOTE_ADDR="192.0.2.8").status_code == 200


def test_a_successful_login_resets_the_account_counter_for_every_spelling(alice, password, limit_3):
    client = Client()
    _login(client, "ALICE", "wrong")
    _login(client, "alice@example.com", "wrong")
    assert _login(Client(), "Alice@Example.com", password).status_code == 302
    # Two more failures do not lock: the counter started again.
    _login(client, "alice", "wrong")
    _login(client, "alice", "wrong")
    assert _login(Client(), "alice", password).status_code == 302


def test_admin_login_is_the_portal_login(alice, password):
    response = Client().get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login") + "?next=/admin/"


def test_posting_to_the_admin_login_logs_no_one_in(alice, password, settings):
    alice.is_staff = True
    alice.save()
    client = Client()
    response = client.post("/admin/login/", {"username": "alice", "password": password})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert "_auth_user_id" not in client.session
    assert not AuditEvent.objects.filter(action=Action.LOGIN_SUCCEEDED).exists()


def test_admin_logout_is_the_audited_portal_logout(alice, client_for):
    alice.is_staff = True
    alice.save()
    client = client_for(alice)
    response = client.post("/admin/logout/")
    assert response.status_code == 302
    assert client.get(reverse("dashboard")).status_code == 302
    assert AuditEvent.objects.filter(action=Action.LOGOUT, actor=alice).exists()


def test_staff_reach_the_admin_after_the_portal_login(alice, password):
    alice.is_staff = True
    alice.is_superuser = True
    alice.save()
    client = Client()
    response = client.post(
        reverse("accounts:login"), {"username": "alice", "password": password, "next": "/admin/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_an_older_account_named_like_an_email_cannot_reset_that_persons_counter(
    alice, bob, password, settings
):
    from portal.accounts.models import User

    settings.AXES_FAILURE_LIMIT = 3
    # Created before usernames lost their @: bob is named after alice's login email.
    User.objects.filter(pk=bob.pk).update(username="alice@example.com", username_key=None)
    attacker = Client()
    _login(attacker, "alice", "wrong")
    _login(attacker, "alice", "wrong")
    # bob logs in to his own account (by his email) - alice's counter must not be cleared.
    assert _login(Client(), "bob@example.com", password).status_code == 302
    assert _login(attacker, "alice", "wrong").status_code == 429
