"""Archived credentials come back: owners only, audited, through vault.services."""

import pytest
from django.urls import reverse

from portal.audit.models import Action, AuditEvent
from portal.vault import services
from portal.vault.models import Credential

from .conftest import CONSUMER_KEY, CONSUMER_SECRET

pytestmark = pytest.mark.django_db


@pytest.fixture
def archived(credential, alice):
    return services.credential_archive(credential=credential, actor=alice)


def test_owner_restores_an_archived_credential_and_it_is_audited(alice_client, archived):
    response = alice_client.post(reverse("vault:credential_restore", args=[archived.pk]))
    assert response.status_code == 302
    archived.refresh_from_db()
    assert not archived.is_archived
    event = AuditEvent.objects.get(action=Action.CREDENTIAL_RESTORED)
    assert event.target_id == str(archived.pk) and event.actor_label == "alice"
    assert event.details == {"name": "Acme production"}


@pytest.mark.parametrize("who, status", [("bob", 403), ("carol", 403), ("mallory", 404)])
def test_only_owners_restore(cast, archived, client_for, who, status):
    response = client_for(cast[who]).post(reverse("vault:credential_restore", args=[archived.pk]))
    assert response.status_code == status
    archived.refresh_from_db()
    assert archived.is_archived
    assert not AuditEvent.objects.filter(action=Action.CREDENTIAL_RESTORED).exists()


def test_restore_is_post_only(alice_client, archived):
    assert (
        alice_client.get(reverse("vault:credential_restore", args=[archived.pk])).status_code == 405
    )


def test_restore_is_refused_while_an_active_credential_has_the_name(
    alice_client, archived, acme, alice, gateway
):
    services.credential_create(
        team=acme,
        name="Acme production",
        gateway=gateway,
        consumer_key=CONSUMER_KEY,
        consumer_secret=CONSUMER_SECRET,
        org_key="johnsorg",
        actor=alice,
    )
    response = alice_client.post(
        reverse("vault:credential_restore", args=[archived.pk]), follow=True
    )
    assert "already has an active credential named “Acme production”" in response.content.decode()
    assert Credential.objects.get(pk=archived.pk).is_archived
    assert not AuditEvent.objects.filter(action=Action.CREDENTIAL_RESTORED).exists()


def test_the_archived_tab_offers_restore_to_owners_only(archived, client_for, alice, carol):
    url = reverse("vault:credential_list_team", args=[archived.team_id]) + "?show=archived"
    restore = reverse("vault:credential_restore", args=[archived.pk])
    assert restore in client_for(alice).get(url).content.decode()
    assert restore not in client_for(carol).get(url).content.decode()
