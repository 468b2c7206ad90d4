"""Owners rename and delete shared teams (audited; deletion confirmed and refused while the
team still has live tokens or credentials); roles are explained where they are chosen; the last
owner is not offered a Leave button that could only fail."""

import pytest
from django.urls import reverse

from portal.audit.models import Action, AuditEvent
from portal.teams import services
from portal.teams.models import Membership, Role, Team
from portal.tokens.models import Issuance, Status
from portal.vault import services as vault
from tests.tokens.conftest import acme_credential, acme_gateway, make_issuance  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def issuance_of_acme(request):
    """tests/tokens' ``make_issuance`` (Acme's credential, bob's token) under a local name."""
    return request.getfixturevalue("make_issuance")


def test_owner_renames_the_team_and_it_is_audited(alice_client, acme):
    response = alice_client.post(reverse("teams:rename", args=[acme.pk]), {"name": "Acme Corp"})
    assert response.status_code == 302
    acme.refresh_from_db()
    assert acme.name == "Acme Corp"
    event = AuditEvent.objects.get(action=Action.TEAM_RENAMED)
    assert event.details == {"from": "Acme", "to": "Acme Corp"}


def test_rename_to_a_taken_name_is_a_form_error(alice_client, acme, evil):
    response = alice_client.post(reverse("teams:rename", args=[acme.pk]), {"name": "evil"})
    assert response.status_code == 400
    assert "A team with this name already exists." in response.content.decode()
    acme.refresh_from_db()
    assert acme.name == "Acme"


@pytest.mark.parametrize("who, status", [("bob", 403), ("carol", 403), ("mallory", 404)])
def test_only_owners_rename_or_delete(cast, acme, client_for, who, status):
    client = client_for(cast[who])
    assert client.post(reverse("teams:rename", args=[acme.pk]), {"name": "X"}).status_code == status
    assert client.get(reverse("teams:delete", args=[acme.pk])).status_code == status
    assert Team.objects.filter(pk=acme.pk, name="Acme").exists()


def test_personal_teams_cannot_be_renamed_or_deleted(alice):
    personal = Team.objects.get(personal_owner=alice)
    with pytest.raises(services.TeamRuleError):
        services.team_rename(team=personal, name="Mine", actor=alice)
    with pytest.raises(services.TeamRuleError):
        services.team_delete(team=personal, actor=alice)


def test_delete_is_refused_and_says_why_while_tokens_or_credentials_are_active(
    alice_client, acme, issuance_of_acme
):
    issuance_of_acme()
    page = alice_client.get(reverse("teams:delete", args=[acme.pk])).content.decode()
    assert "The team cannot be deleted yet." in page
    assert "1 token is still active or pending: revoke it first" in page
    assert "1 credential is still active: archive it first." in page
    assert 'name="confirm_name"' not in page
    response = alice_client.post(reverse("teams:delete", args=[acme.pk]), {"confirm_name": "Acme"})
    assert response.status_code == 400
    assert Team.objects.filter(pk=acme.pk).exists()


def test_delete_needs_the_teams_name_typed(alice_client, acme):
    response = alice_client.post(reverse("teams:delete", args=[acme.pk]), {"confirm_name": "acme"})
    assert response.status_code == 400
    assert "Type the team's name exactly as shown" in response.content.decode()
    assert Team.objects.filter(pk=acme.pk).exists()


def test_a_team_without_live_tokens_and_credentials_is_deleted_and_audited(
    alice_client, acme, alice, issuance_of_acme, request
):
    first = issuance_of_acme(status=Status.REVOKED, access_token="")
    issuance_of_acme(status=Status.FAILED, access_token="", renewed_from=first)
    vault.credential_archive(credential=request.getfixturevalue("acme_credential"), actor=alice)
    response = alice_client.post(reverse("teams:delete", args=[acme.pk]), {"confirm_name": "Acme"})
    assert response.status_code == 302
    assert response["Location"] == reverse("teams:list")
    assert not Team.objects.filter(pk=acme.pk).exists()
    assert not Issuance.objects.filter(team_id=acme.pk).exists()
    assert not Membership.objects.filter(team_id=acme.pk).exists()
    event = AuditEvent.objects.get(action=Action.TEAM_DELETED)
    assert event.details == {
        "name": "Acme",
        "members": 3,
        "token_records": 2,
        "archived_credentials": 1,
    }
    # The team's earlier events stay in the trail.
    assert AuditEvent.objects.filter(team_id=acme.pk, action=Action.MEMBER_ADDED).count() == 2


def test_roles_are_explained_where_they_are_chosen(alice_client, acme):
    page = alice_client.get(reverse("teams:detail", args=[acme.pk])).content.decode()
    assert 'aria-describedby="roles-explained"' in page
    assert "Generates, renews and revokes their own tokens" in page
    assert "Reads the token history and the audit log; generates nothing." in page


def test_the_last_owner_is_not_offered_leave(alice_client, acme, alice):
    page = alice_client.get(reverse("teams:detail", args=[acme.pk])).content.decode()
    own = Membership.objects.get(team=acme, user=alice)
    assert reverse("teams:member_remove", args=[acme.pk, own.pk]) not in page
    assert "You are the only owner: make someone else owner before you leave." in page


def test_the_last_owners_leave_page_refuses_before_any_confirmation(alice_client, acme, alice):
    own = Membership.objects.get(team=acme, user=alice)
    page = alice_client.get(reverse("teams:member_remove", args=[acme.pk, own.pk]))
    body = page.content.decode()
    assert "The last owner cannot leave or be removed." in body
    assert "<form" not in body.split("<main", 1)[1].split("</main>", 1)[0]


def test_a_second_owner_may_leave(alice_client, acme, alice, bob):
    services.member_change_role(
        membership=Membership.objects.get(team=acme, user=bob), role=Role.OWNER, actor=alice
    )
    own = Membership.objects.get(team=acme, user=alice)
    page = alice_client.get(reverse("teams:detail", args=[acme.pk])).content.decode()
    assert reverse("teams:member_remove", args=[acme.pk, own.pk]) in page
