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
