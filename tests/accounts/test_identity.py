"""No one can claim another person's identity: a username is never an email, usernames are unique
whatever their case or Unicode spelling, login emails are unique whatever their case, and every
collision is a form error - never a 500."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.test import Client, override_settings
from django.urls import reverse

from portal.accounts import services
from portal.accounts.checks import accounts_follow_identity_rules
from portal.accounts.forms import SignupForm
from portal.accounts.models import User
from portal.teams.models import Membership

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "a fine long passphrase 9"


def _signup(username, email=""):
    return Client().post(
        reverse("accounts:signup"),
        {
            "username": username,
            "email": email,
            "password1": GOOD_PASSWORD,
            "password2": GOOD_PASSWORD,
        },
    )


@override_settings(PORTAL_ALLOW_SIGNUP=True)
def test_signup_refuses_a_username_that_is_an_email(alice, bob):
    response = _signup("bob@example.com")
    assert response.status_code == 200
    assert "no @" in response.content.decode()
    assert not User.objects.filter(username="bob@example.com").exists()


@override_settings(PORTAL_ALLOW_SIGNUP=True)
@pytest.mark.parametrize("spelling", ["Ａlice", "ａｌｉｃｅ", "ALICE", "  Alice  "])
def test_signup_refuses_other_spellings_of_a_taken_username(alice, spelling):
    response = _signup(spelling)
    assert response.status_code == 200
    assert "This username is taken" in response.content.decode()
    assert User.objects.count() == 1


@override_settings(PORTAL_ALLOW_SIGNUP=True)
def test_usernames_compare_case_folded_not_just_lowercased(db):
    assert _signup("straße").status_code == 302
    response = _signup("STRASSE")
    assert response.status_code == 200
    assert "This username is taken" in response.content.decode()


@override_settings(PORTAL_ALLOW_SIGNUP=True)
def test_a_fullwidth_username_is_stored_normalised(db):
    assert _signup("ｎｅｗｂｉｅ").status_code == 302
    assert User.objects.get().username == "newbie"


@override_settings(PORTAL_ALLOW_SIGNUP=True)
def test_a_collision_found_only_when_saving_is_a_form_error_not_a_500(alice, monkeypatch):
    # Another sign-up taking the name between validation and saving: the service's own check.
    monkeypatch.setattr(SignupForm, "clean_username", lambda self: self.cleaned_data["username"])
    response = _signup("ALICE")
    assert response.status_code == 200
    assert "This username is taken" in response.content.decode()


def test_the_service_refuses_a_spelling_of_a_taken_username(alice):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        services.user_create(username="ＡＬＩＣＥ", password=GOOD_PASSWORD)
    assert "username" in exc.value.message_dict


def test_the_service_refuses_an_email_taken_in_another_case(alice):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        services.user_create(username="alice2", password=None, email="ALICE@example.COM")
    assert "Another account already uses this email" in str(exc.value)


def test_the_database_refuses_two_logins_emails_differing_in_case(alice):
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="other", email="ALICE@EXAMPLE.COM")


def test_the_database_refuses_two_spellings_of_one_username(alice):
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="ALICE")


def test_create_user_command_refuses_an_email_as_username(db):
    with pytest.raises(CommandError, match="no @"):
        call_command("create_user", "eve@example.com", stdout=io.StringIO())


def test_profile_refuses_an_email_another_account_uses_in_a_compatibility_spelling(
    alice, bob, client_for
):
    response = client_for(bob).post(
        reverse("accounts:profile"),
        {"display_name": "", "email": "ALICE@ｅxample.com", "api_store_email": ""},
    )
    assert response.status_code == 200
    assert "Another account already uses this email" in response.content.decode()


def test_admin_add_user_refuses_another_spelling_of_a_username(alice, client_for):
    alice.is_staff = alice.is_superuser = True
    alice.save()
    response = client_for(alice).post(
        "/admin/accounts/user/add/",
        {"username": "ＡＬＩＣＥ", "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD},
    )
    assert response.status_code == 200
    assert "This username is taken" in response.content.decode()
    assert User.objects.count() == 1


def test_admin_add_user_refuses_an_email_as_username(alice, client_for):
    alice.is_staff = alice.is_superuser = True
    alice.save()
    response = client_for(alice).post(
        "/admin/accounts/user/add/",
        {"username": "x@example.com", "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD},
    )
    assert response.status_code == 200
    assert not User.objects.filter(username="x@example.com").exists()


# --- Accounts created before the rules -------------------------------------------------------


def test_check_names_accounts_that_break_the_identity_rules(alice, bob, carol):
    # As an older portal let them be created (bypassing today's validation and key).
    User.objects.filter(pk=bob.pk).update(username="Alice", username_key=None)
    User.objects.filter(pk=carol.pk).update(username="dave@example.com")
    warnings = accounts_follow_identity_rules(None, databases=["default"])
    text = "\n".join(f"{w.msg} {w.hint}" for w in warnings)
    assert {w.id for w in warnings} == {"accounts.W001", "accounts.W002"}
    assert "'Alice'" in text and "'alice'" in text
    assert "'dave@example.com'" in text


def test_check_is_quiet_when_every_account_follows_the_rules(alice, bob):
    assert accounts_follow_identity_rules(None, databases=["default"]) == []


def test_an_older_colliding_account_still_logs_in_with_its_exact_username(alice, bob, password):
    User.objects.filter(pk=bob.pk).update(username="Alice", username_key=None)
    client = Client()
    response = client.post(reverse("accounts:login"), {"username": "Alice", "password": password})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(bob.pk)


# --- Adding team members ----------------------------------------------------------------------


def _add(client, team, identifier, role="issuer", **extra):
    return client.post(
        reverse("teams:member_add", args=[team.pk]),
        {"identifier": identifier, "role": role, **extra},
    )


@pytest.fixture
def dave(db):
    return services.user_create(
        username="dave",
        password=None,
        email="dave@example.com",
        display_name="Dave Davidson",
    )


def test_adding_a_member_asks_for_confirmation_showing_who_it_is(acme, alice, dave, client_for):
    response = _add(client_for(alice), acme, "  DAVE@example.com ")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Dave Davidson" in page and "dave" in page
    assert not Membership.objects.filter(team=acme, user=dave).exists()


def test_confirming_adds_exactly_the_account_shown(acme, alice, dave, client_for):
    client = client_for(alice)
    page = _add(client, acme, "ｄａｖｅ").content.decode()
    assert f'name="account" value="{dave.pk}"' in page
    response = _add(client, acme, "ｄａｖｅ", account=dave.pk, confirm="1")
    assert response.status_code == 302
    assert Membership.objects.get(team=acme, user=dave).role == "issuer"


def test_a_confirmation_for_another_account_than_the_identifier_names_is_refused(
    acme, alice, dave, mallory, client_for
):
    response = _add(client_for(alice), acme, "dave", account=mallory.pk, confirm="1")
    assert response.status_code == 400
    assert not Membership.objects.filter(team=acme, user__in=[dave, mallory]).exists()


def test_adding_an_unknown_identifier_is_a_form_error(acme, alice, client_for):
    response = _add(client_for(alice), acme, "nobody")
    assert response.status_code == 400
    assert "No user with that username or email" in response.content.decode()
