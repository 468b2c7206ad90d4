import pytest
from django.test import Client, override_settings
from django.urls import reverse

from portal.accounts.models import User
from portal.audit.models import Action, AuditEvent
from portal.teams.models import Team

pytestmark = pytest.mark.django_db


def test_profile_saves_api_store_email(alice_client, alice):
    response = alice_client.post(
        reverse("accounts:profile"),
        {
            "display_name": "Alice A.",
            "email": "alice@example.com",
            "api_store_email": "john@johns.org",
        },
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.api_store_email == "john@johns.org"
    assert alice.display_name == "Alice A."
    event = AuditEvent.objects.filter(action=Action.PROFILE_UPDATED).latest("seq")
    assert event.details == {"changed": ["api_store_email", "display_name"]}


def test_profile_rejects_an_email_another_account_uses(alice_client, bob):
    response = alice_client.post(
        reverse("accounts:profile"),
        {"display_name": "", "email": "BOB@example.com", "api_store_email": ""},
    )
    assert response.status_code == 200
    assert "Another account already uses this email" in response.content.decode()


def test_profile_rejects_a_malformed_api_store_email(alice_client, alice):
    response = alice_client.post(
        reverse("accounts:profile"),
        {"display_name": "", "email": "alice@example.com", "api_store_email": "not an email"},
    )
    assert response.status_code == 200
    alice.refresh_from_db()
    assert alice.api_store_email == "alice@alice.org"


def test_password_change_keeps_this_session_and_ends_the_others(alice, password):
    here, elsewhere = Client(), Client()
    for client in (here, elsewhere):
        assert (
            client.post(
                reverse("accounts:login"), {"username": "alice", "password": password}
            ).status_code
            == 302
        )
    response = here.post(
        reverse("accounts:password_change"),
        {
            "old_password": password,
            "new_password1": "an entirely new passphrase 77",
            "new_password2": "an entirely new passphrase 77",
        },
    )
    assert response.status_code == 302
    assert here.get(reverse("dashboard")).status_code == 200
    assert elsewhere.get(reverse("dashboard")).status_code == 302
    assert AuditEvent.objects.filter(action=Action.PASSWORD_CHANGED, actor=alice).exists()


def test_password_change_with_wrong_old_password_is_refused(alice_client, alice, password):
    response = alice_client.post(
        reverse("accounts:password_change"),
        {
            "old_password": "nope",
            "new_password1": "x-new-pass-1234",
            "new_password2": "x-new-pass-1234",
        },
    )
    assert response.status_code == 200
    alice.refresh_from_db()
    assert alice.check_password(password)


def test_signup_is_off_by_default(db):
    assert Client().get(reverse("accounts:signup")).status_code == 404


@override_settings(PORTAL_ALLOW_SIGNUP=True)
def test_signup_creates_account_with_personal_team_and_logs_in(db):
    client = Client()
    response = client.post(
        reverse("accounts:signup"),
        {
            "username": "newbie",
            "email": "newbie@example.com",
            "password1": "a fine long passphrase 9",
            "password2": "a fine long passphrase 9",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="newbie")
    assert Team.objects.filter(personal_owner=user).exists()
    assert client.get(reverse("dashboard")).status_code == 200


@override_settings(PORTAL_ALLOW_SIGNUP=True)
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"username": "a b", "password1": "pp-long-enough-1", "password2": "pp-long-enough-1"},
            "Use letters",
        ),
        (
            {
                "username": "x" * 10_000,
                "password1": "pp-long-enough-1",
                "password2": "pp-long-enough-1",
            },
            "at most 150",
        ),
        (
            {"username": "ok", "password1": "pp-long-enough-1", "password2": "different-1234"},
            "differ",
        ),
        ({"username": "ok", "password1": "123", "password2": "123"}, "too short"),
    ],
)
def test_signup_bad_input_is_a_form_error(db, data, message):
    response = Client().post(reverse("accounts:signup"), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not User.objects.filter(username__in=["ok", "a b"]).exists()


def test_create_user_command_reads_password_from_stdin(db, monkeypatch, capsys):
    import io

    from django.core.management import call_command

    monkeypatch.setattr("sys.stdin", io.StringIO("a good long password 11\n"))
    call_command("create_user", "erin", "--email", "erin@example.com", "--password-stdin")
    user = User.objects.get(username="erin")
    assert user.check_password("a good long password 11")
    assert Team.objects.filter(personal_owner=user).exists()
    assert "a good long password" not in capsys.readouterr().out
