import pytest
from django.urls import reverse

from portal.accounts import services as accounts
from portal.audit.models import Action, AuditEvent
from portal.teams import services
from portal.teams.models import Membership, Role, Team

pytestmark = pytest.mark.django_db


def test_new_account_gets_a_personal_team_it_owns(db):
    user = accounts.user_create(username="dora", password="x-very-long-pass-42")
    team = Team.objects.get(personal_owner=user)
    assert Membership.objects.get(team=team, user=user).role == Role.OWNER
    assert AuditEvent.objects.filter(action=Action.TEAM_CREATED, team_id=team.pk).exists()


def test_create_team_page_makes_the_creator_owner(alice_client, alice):
    response = alice_client.post(reverse("teams:create"), {"name": "  Payments   Squad "})
    team = Team.objects.get(name="Payments Squad")
    assert response.status_code == 302
    assert response["Location"] == reverse("teams:detail", args=[team.pk])
    assert Membership.objects.get(team=team, user=alice).role == Role.OWNER


def test_duplicate_team_name_is_a_form_error_regardless_of_case(alice_client, acme):
    response = alice_client.post(reverse("teams:create"), {"name": "ACME"})
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert Team.objects.filter(name__iexact="acme").count() == 1


@pytest.mark.parametrize("name", ["", "   ", "x" * 10_000, "bad\u0000name"])
def test_bad_team_names_are_form_errors_and_nothing_is_saved(alice_client, alice, name):
    before = Team.objects.count()
    response = alice_client.post(reverse("teams:create"), {"name": name})
    assert response.status_code == 200
    assert b"errorlist" in response.content
    assert Team.objects.count() == before


def test_owner_adds_member_by_email(alice_client, acme, mallory):
    response = alice_client.post(
        reverse("teams:member_add", args=[acme.pk]),
        {"identifier": "MALLORY@example.com", "role": "viewer"},
    )
    assert response.status_code == 200  # who it is, for the owner to confirm
    assert not Membership.objects.filter(team=acme, user=mallory).exists()
    response = alice_client.post(
        reverse("teams:member_add", args=[acme.pk]),
        {
            "identifier": "MALLORY@example.com",
            "role": "viewer",
            "account": mallory.pk,
            "confirm": 1,
        },
    )
    assert response.status_code == 302
    assert Membership.objects.get(team=acme, user=mallory).role == Role.VIEWER
    event = AuditEvent.objects.filter(action=Action.MEMBER_ADDED).latest("seq")
    assert event.details == {"member": "mallory", "role": "viewer"}


def test_adding_a_nonexistent_user_is_a_form_error(alice_client, acme):
    before = Membership.objects.filter(team=acme).count()
    response = alice_client.post(
        reverse("teams:member_add", args=[acme.pk]), {"identifier": "ghost", "role": "viewer"}
    )
    assert response.status_code == 400
    assert "No user with that username or email" in response.content.decode()
    assert Membership.objects.filter(team=acme).count() == before


def test_adding_an_existing_member_again_is_a_clear_error(alice_client, acme):
    response = alice_client.post(
        reverse("teams:member_add", args=[acme.pk]), {"identifier": "bob", "role": "owner"}
    )
    assert response.status_code == 400
    assert "already a member" in response.content.decode()


def test_bogus_role_is_rejected(alice_client, acme, mallory):
    response = alice_client.post(
        reverse("teams:member_add", args=[acme.pk]), {"identifier": "mallory", "role": "god"}
    )
    assert response.status_code == 400
    assert not Membership.objects.filter(team=acme, user=mallory).exists()


def test_role_change_is_saved_and_audited(alice_client, acme, carol):
    membership = Membership.objects.get(team=acme, user=carol)
    alice_client.post(
        reverse("teams:member_role", args=[acme.pk, membership.pk]), {"role": "issuer"}
    )
    membership.refresh_from_db()
    assert membership.role == Role.ISSUER
    event = AuditEvent.objects.filter(action=Action.MEMBER_ROLE_CHANGED).latest("seq")
    assert event.details == {"member": "carol", "from": "viewer", "to": "issuer"}


def test_last_owner_cannot_be_demoted(alice_client, acme, alice):
    membership = Membership.objects.get(team=acme, user=alice)
    response = alice_client.post(
        reverse("teams:member_role", args=[acme.pk, membership.pk]), {"role": "viewer"}, follow=True
    )
    assert "last owner cannot be demoted" in response.content.decode()
    membership.refresh_from_db()
    assert membership.role == Role.OWNER


def test_last_owner_cannot_leave(alice_client, acme, alice):
    membership = Membership.objects.get(team=acme, user=alice)
    response = alice_client.post(
        reverse("teams:member_remove", args=[acme.pk, membership.pk]), follow=True
    )
    assert "last owner cannot leave" in response.content.decode()
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_owner_can_leave_once_another_owner_exists(alice_client, acme, alice, bob):
    services.member_change_role(
        membership=Membership.objects.get(team=acme, user=bob), role=Role.OWNER, actor=alice
    )
    membership = Membership.objects.get(team=acme, user=alice)
    response = alice_client.post(reverse("teams:member_remove", args=[acme.pk, membership.pk]))
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_removed_member_loses_access_at_once(alice_client, acme, bob, client_for):
    bob_client = client_for(bob)
    assert bob_client.get(reverse("teams:detail", args=[acme.pk])).status_code == 200
    membership = Membership.objects.get(team=acme, user=bob)
    alice_client.post(reverse("teams:member_remove", args=[acme.pk, membership.pk]))
    assert bob_client.get(reverse("teams:detail", args=[acme.pk])).status_code == 404


def test_member_can_leave_after_confirmation(acme, carol, client_for):
    client = client_for(carol)
    membership = Membership.objects.get(team=acme, user=carol)
    url = reverse("teams:member_remove", args=[acme.pk, membership.pk])
    confirm = client.get(url)
    assert "Leave Acme?" in confirm.content.decode()
    assert Membership.objects.filter(pk=membership.pk).exists()
    client.post(url)
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_personal_team_takes_no_members(alice, bob):
    personal = Team.objects.get(personal_owner=alice)
    with pytest.raises(services.TeamRuleError):
        services.member_add(team=personal, user=bob, role=Role.VIEWER, actor=alice)


def test_team_switcher_remembers_the_current_team(alice_client, acme):
    alice_client.post(reverse("teams:switch"), {"team": str(acme.pk), "next": "/teams/"})
    page = alice_client.get(reverse("dashboard")).content.decode()
    assert "You are working in <strong>Acme</strong>" in page


def test_team_switch_ignores_offsite_next(alice_client, acme):
    response = alice_client.post(
        reverse("teams:switch"), {"team": str(acme.pk), "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("dashboard")
