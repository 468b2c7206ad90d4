"""Who gets what on every team page: the cast against Acme's pages."""

import pytest
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db

# GET pages of a team: expected status per cast member.
TEAM_PAGES = {
    "teams:detail": {"alice": 200, "bob": 200, "carol": 200, "mallory": 404},
}


@pytest.mark.parametrize("view_name", TEAM_PAGES)
@pytest.mark.parametrize("who", ["alice", "bob", "carol", "mallory"])
def test_team_page_access_matrix(cast, acme, client_for, view_name, who):
    response = client_for(cast[who]).get(reverse(view_name, args=[acme.pk]))
    assert response.status_code == TEAM_PAGES[view_name][who]


@pytest.mark.parametrize(
    ("who", "expected"), [("alice", 302), ("bob", 403), ("carol", 403), ("mallory", 404)]
)
def test_adding_a_member_needs_owner_and_outsiders_get_404(cast, acme, client_for, who, expected):
    response = client_for(cast[who]).post(
        reverse("teams:member_add", args=[acme.pk]), {"identifier": "nobody", "role": "viewer"}
    )
    # alice gets a form error (400) for the unknown user; the point is who gets past access.
    assert response.status_code == (400 if who == "alice" else expected)


@pytest.mark.parametrize(
    ("who", "expected"), [("alice", 302), ("bob", 403), ("carol", 403), ("mallory", 404)]
)
def test_changing_a_role_needs_owner(cast, acme, client_for, who, expected):
    carol_membership = acme.memberships.get(user=cast["carol"])
    response = client_for(cast[who]).post(
        reverse("teams:member_role", args=[acme.pk, carol_membership.pk]), {"role": "issuer"}
    )
    assert response.status_code == expected
    carol_membership.refresh_from_db()
    assert carol_membership.role == ("issuer" if who == "alice" else "viewer")


@pytest.mark.parametrize(
    ("who", "expected"), [("alice", 200), ("bob", 403), ("carol", 403), ("mallory", 404)]
)
def test_remove_confirmation_page_for_someone_else(cast, acme, client_for, who, expected):
    bob_membership = acme.memberships.get(user=cast["bob"])
    if who == "bob":
        # bob's own membership is "leave", allowed; use carol's for him instead.
        bob_membership = acme.memberships.get(user=cast["carol"])
    response = client_for(cast[who]).get(
        reverse("teams:member_remove", args=[acme.pk, bob_membership.pk])
    )
    assert response.status_code == expected


def test_membership_id_of_another_team_is_404_even_for_an_owner(cast, acme, evil, client_for):
    mallory_membership = evil.memberships.get(user=cast["mallory"])
    response = client_for(cast["alice"]).post(
        reverse("teams:member_role", args=[acme.pk, mallory_membership.pk]), {"role": "viewer"}
    )
    assert response.status_code == 404


def test_switching_to_a_team_you_are_not_in_is_404(cast, acme, client_for):
    response = client_for(cast["mallory"]).post(reverse("teams:switch"), {"team": str(acme.pk)})
    assert response.status_code == 404


def test_unknown_team_id_is_404(cast, client_for):
    url = reverse("teams:detail", args=["00000000-0000-0000-0000-000000000000"])
    assert client_for(cast["alice"]).get(url).status_code == 404


def test_404_page_is_styled_and_leaks_nothing(cast, acme, client_for):
    response = client_for(cast["mallory"]).get(reverse("teams:detail", args=[acme.pk]))
    body = response.content.decode()
    assert "Not found" in body
    assert "Acme" not in body


def test_malformed_team_ids_are_404_not_500(cast, client_for):
    from django.http import Http404

    from portal.teams import access

    for bad in ["not-a-uuid", "", "1' OR '1'='1", "x" * 500]:
        with pytest.raises(Http404):
            access.team_get_for_user(cast["alice"], bad)
    response = client_for(cast["alice"]).post(reverse("teams:switch"), {"team": "not-a-uuid"})
    assert response.status_code == 302


def test_object_lookups_carry_the_users_own_role_not_another_members(cast, acme):
    from portal.vault import access

    credential = factories.credential_create(team=acme, actor=cast["alice"])
    roles = {
        who: access.credential_get_for_user(cast[who], credential.pk).my_role
        for who in ("alice", "bob", "carol")
    }
    assert roles == {"alice": "owner", "bob": "issuer", "carol": "viewer"}
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        access.credential_get_for_user(cast["carol"], credential.pk, need="issuer")
