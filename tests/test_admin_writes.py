"""Every write the Django admin can make is audited like the portal's own, or refused.

A staff account that could silently point a gateway's token URL elsewhere would receive every
team's consumer secret and every user's API Store password without a trace.
"""

import pytest
from django.test import Client

from portal.accounts import services as accounts
from portal.audit.models import Action, AuditEvent
from portal.teams.models import Membership, Role
from portal.vault import services as vault

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(db):
    root = accounts.user_create(
        username="root",
        password="x-very-long-password-1",
        email="root@example.com",
        is_staff=True,
        is_superuser=True,
    )
    client = Client()
    client.force_login(root, backend="portal.accounts.backends.UsernameOrEmailBackend")
    client.root = root
    return client


@pytest.fixture
def real_gateway(db):
    gateway, _ = vault.gateway_create(
        name="Real",
        token_url="https://real.example/token",
        revoke_url="https://real.example/revoke",
        username_template="{username}",
    )
    return gateway


def _form(gateway, **changes) -> dict:
    data = {
        "name": gateway.name,
        "token_url": gateway.token_url,
        "revoke_url": gateway.revoke_url,
        "username_template": gateway.username_template,
        "client_auth": gateway.client_auth,
        "ca_bundle": gateway.ca_bundle,
    }
    data.update(changes)
    return data


def test_changing_a_gateway_url_in_the_admin_is_audited_old_to_new(staff_client, real_gateway):
    url = f"/admin/vault/gateway/{real_gateway.pk}/change/"
    response = staff_client.post(url, _form(real_gateway, token_url="https://evil.example/token"))
    assert response.status_code == 302
    event = AuditEvent.objects.get(action=Action.GATEWAY_CHANGED)
    assert event.actor == staff_client.root
    assert event.details["changed"]["token_url"] == {
        "from": "https://real.example/token",
        "to": "https://evil.example/token",
    }


def test_saving_a_gateway_unchanged_records_no_change(staff_client, real_gateway):
    url = f"/admin/vault/gateway/{real_gateway.pk}/change/"
    assert staff_client.post(url, _form(real_gateway)).status_code == 302
    assert not AuditEvent.objects.filter(action=Action.GATEWAY_CHANGED).exists()


def test_gateways_cannot_be_deleted_in_the_admin(staff_client, real_gateway):
    url = f"/admin/vault/gateway/{real_gateway.pk}/delete/"
    assert staff_client.post(url, {"post": "yes"}).status_code == 403


def test_team_memberships_are_read_only_in_the_admin(staff_client, alice, acme):
    # The portal's team pages keep the last-owner rule and audit every change; the admin must
    # not be a way around them.
    membership = Membership.objects.get(team=acme, user=alice)
    url = f"/admin/teams/team/{acme.pk}/change/"
    staff_client.post(
        url,
        {
            "name": acme.name,
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "1",
            "memberships-0-id": str(membership.pk),
            "memberships-0-team": str(acme.pk),
            "memberships-0-user": str(alice.pk),
            "memberships-0-role": Role.VIEWER,
        },
    )
    assert Membership.objects.get(pk=membership.pk).role == Role.OWNER
    assert (
        staff_client.post(f"/admin/teams/team/{acme.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert staff_client.get("/admin/teams/team/add/").status_code == 403


def test_creating_a_user_in_the_admin_is_audited(staff_client):
    response = staff_client.post(
        "/admin/accounts/user/add/",
        {
            "username": "newbie",
            "password1": "a-long-pass-phrase-42",
            "password2": "a-long-pass-phrase-42",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.content.decode()[:500]
    event = AuditEvent.objects.get(action=Action.USER_CREATED, details__username="newbie")
    assert event.actor == staff_client.root


def test_making_a_user_superuser_in_the_admin_is_audited_old_to_new(staff_client, carol):
    url = f"/admin/accounts/user/{carol.pk}/change/"
    form = {
        "username": carol.username,
        "email": carol.email,
        "display_name": carol.display_name,
        "api_store_email": carol.api_store_email,
        "is_active": "on",
        "is_staff": "on",
        "is_superuser": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }
    response = staff_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:800]
    event = AuditEvent.objects.get(action=Action.USER_CHANGED, target_id=str(carol.pk))
    assert event.actor == staff_client.root
    assert event.details["changed"]["is_superuser"] == {"from": False, "to": True}
    assert event.details["changed"]["is_staff"] == {"from": False, "to": True}


def test_a_password_set_in_the_admin_is_audited(staff_client, carol):
    url = f"/admin/accounts/user/{carol.pk}/password/"
    response = staff_client.post(
        url,
        {
            "password1": "another-long-phrase-7",
            "password2": "another-long-phrase-7",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.content.decode()[:500]
    event = AuditEvent.objects.get(action=Action.PASSWORD_CHANGED, target_id=str(carol.pk))
    assert event.actor == staff_client.root
    assert "another-long-phrase-7" not in str(event.details)


def test_users_are_deactivated_not_deleted_in_the_admin(staff_client, carol):
    # Deleting would take the person's personal team and token records with it; deactivating
    # keeps the record and is audited like any change.
    url = f"/admin/accounts/user/{carol.pk}/delete/"
    assert staff_client.post(url, {"post": "yes"}).status_code == 403
    assert type(carol).objects.filter(pk=carol.pk).exists()
