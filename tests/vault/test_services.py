import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404
from django.urls import reverse

from portal.audit.models import Action, AuditEvent, Outcome
from portal.teams.models import Role
from portal.vault import access, services
from portal.vault.models import Credential
from tests.factories import CONSUMER_KEY, CONSUMER_SECRET, ORG_KEY


def _all_database_text() -> str:
    """Every value of every table, read through the raw connection (what a DB dump would hold)."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        value = bytes(value).decode("latin-1")
                    chunks.append(str(value))
    return "\n".join(chunks)


def test_raw_database_holds_no_plaintext_key_secret_or_org_key(credential, alice):
    services.credential_update(
        credential=credential,
        actor=alice,
        name="renamed",
        gateway=credential.gateway,
        default_scopes=["read"],
        allow_password=True,
        allow_client_credentials=False,
        consumer_secret=CONSUMER_SECRET[::-1],
    )
    dump = _all_database_text()
    assert credential.consumer_secret_encrypted in dump  # the dump really covers the table
    for plaintext in (CONSUMER_KEY, CONSUMER_SECRET, CONSUMER_SECRET[::-1], ORG_KEY):
        assert plaintext not in dump


def test_credential_secrets_decrypt_what_was_stored(credential):
    fresh = Credential.objects.get(pk=credential.pk)
    secrets = services.credential_secrets(credential=fresh)
    assert secrets.consumer_key == CONSUMER_KEY
    assert secrets.consumer_secret == CONSUMER_SECRET
    assert secrets.org_key == ORG_KEY
    assert CONSUMER_SECRET not in repr(secrets)


def test_client_credentials_carry_the_gateway_and_the_decrypted_key_and_secret(credential):
    fresh = Credential.objects.select_related("gateway").get(pk=credential.pk)
    credentials = services.credential_client_credentials(credential=fresh)
    assert credentials.gateway == credential.gateway
    assert credentials.consumer_key == CONSUMER_KEY
    assert credentials.consumer_secret == CONSUMER_SECRET
    for text in (repr(credentials), str(credentials)):
        assert CONSUMER_KEY not in text and CONSUMER_SECRET not in text


def test_client_credentials_of_an_unreadable_credential_are_refused_and_audited(credential, bob):
    Credential.objects.filter(pk=credential.pk).update(
        consumer_key_encrypted=credential.consumer_secret_encrypted
    )
    broken = Credential.objects.get(pk=credential.pk)
    with pytest.raises(services.CredentialUnreadable):
        services.credential_client_credentials(credential=broken, actor=bob)
    event = AuditEvent.objects.get(action=Action.CREDENTIAL_DECRYPT_FAILED)
    assert event.details == {"field": "consumer_key_encrypted", "key_id": "k1"}


def test_decrypt_failure_raises_is_audited_and_reveals_nothing(credential, bob):
    other = Credential.objects.get(pk=credential.pk)
    # A ciphertext copied from another field of the same row: well-formed, but bound elsewhere.
    Credential.objects.filter(pk=credential.pk).update(
        consumer_secret_encrypted=other.consumer_key_encrypted
    )
    broken = Credential.objects.get(pk=credential.pk)
    with pytest.raises(services.CredentialUnreadable) as exc:
        services.credential_secrets(credential=broken, actor=bob)
    assert "cannot be decrypted" in exc.value.user_message
    assert CONSUMER_KEY not in str(exc.value)
    event = AuditEvent.objects.get(action=Action.CREDENTIAL_DECRYPT_FAILED)
    assert event.outcome == Outcome.FAILURE and event.actor == bob
    assert event.target_id == str(credential.pk) and event.team_id == credential.team_id
    assert event.details == {"field": "consumer_secret_encrypted", "key_id": "k1"}


def test_edit_page_shows_a_clear_message_when_the_org_key_does_not_decrypt(
    credential, alice_client
):
    Credential.objects.filter(pk=credential.pk).update(org_key_encrypted="v1:gone:AAAA")
    response = alice_client.get(reverse("vault:credential_edit", args=[credential.pk]))
    assert response.status_code == 200
    assert "cannot be decrypted" in response.content.decode()
    assert AuditEvent.objects.filter(action=Action.CREDENTIAL_DECRYPT_FAILED).count() == 1


def test_duplicate_active_name_in_a_team_is_refused_by_the_database_too(credential, alice):
    with pytest.raises(ValidationError) as exc:
        services.credential_create(
            team=credential.team,
            name="ACME Production",
            gateway=credential.gateway,
            consumer_key="k",
            consumer_secret="s",
            actor=alice,
        )
    assert "name" in exc.value.message_dict


def test_same_name_in_another_team_is_fine(credential, evil, mallory):
    other = services.credential_create(
        team=evil,
        name="Acme production",
        gateway=credential.gateway,
        consumer_key="k",
        consumer_secret="s",
        actor=mallory,
    )
    assert other.pk != credential.pk


def test_a_credential_needs_a_grant(acme, alice, gateway):
    with pytest.raises(ValidationError):
        services.credential_create(
            team=acme,
            name="x",
            gateway=gateway,
            consumer_key="k",
            consumer_secret="s",
            allow_password=False,
            actor=alice,
        )


def test_short_consumer_keys_are_fully_masked(acme, alice, gateway):
    short = services.credential_create(
        team=acme,
        name="short",
        gateway=gateway,
        consumer_key="abcdefgh12",
        consumer_secret="s",
        actor=alice,
    )
    assert short.masked_key == "••••••••"


def test_update_without_changes_writes_no_audit_event(credential, alice):
    before = AuditEvent.objects.count()
    services.credential_update(
        credential=credential,
        actor=alice,
        name=credential.name,
        gateway=credential.gateway,
        default_scopes=["read", "update"],
        allow_password=True,
        allow_client_credentials=False,
    )
    assert AuditEvent.objects.count() == before


def test_archiving_is_idempotent_and_archived_credentials_cannot_change(credential, alice):
    services.credential_archive(credential=credential, actor=alice)
    services.credential_archive(credential=credential, actor=alice)
    assert AuditEvent.objects.filter(action=Action.CREDENTIAL_ARCHIVED).count() == 1
    with pytest.raises(ValidationError):
        services.credential_update(
            credential=credential,
            actor=alice,
            name="x",
            gateway=credential.gateway,
            default_scopes=[],
            allow_password=True,
            allow_client_credentials=False,
        )


def test_mark_used_sets_last_used_at_shown_in_the_list(credential, alice_client):
    services.credential_mark_used(credential=credential)
    credential.refresh_from_db()
    assert credential.last_used_at is not None
    html = alice_client.get(
        reverse("vault:credential_list_team", args=[credential.team_id])
    ).content.decode()
    assert credential.last_used_at.strftime("%Y-%m-%d") in html


def test_credential_access_gives_outsiders_404_and_low_roles_403(cast, credential):
    assert access.credential_get_for_user(cast["alice"], credential.pk, need=Role.OWNER)
    assert access.credential_get_for_user(cast["bob"], credential.pk, need=Role.ISSUER)
    assert access.credential_get_for_user(cast["carol"], credential.pk)
    with pytest.raises(PermissionDenied):
        access.credential_get_for_user(cast["carol"], credential.pk, need=Role.ISSUER)
    with pytest.raises(PermissionDenied):
        access.credential_get_for_user(cast["bob"], credential.pk, need=Role.OWNER)
    with pytest.raises(Http404):
        access.credential_get_for_user(cast["mallory"], credential.pk)
    with pytest.raises(Http404):
        access.credential_get_for_user(cast["alice"], "not-a-uuid")


def test_credentials_usable_by_issuers_and_owners_only_and_never_archived(cast, credential):
    assert list(access.credentials_usable_by(cast["alice"])) == [credential]
    assert list(access.credentials_usable_by(cast["bob"], team=credential.team)) == [credential]
    assert list(access.credentials_usable_by(cast["carol"])) == []
    assert list(access.credentials_usable_by(cast["mallory"])) == []
    services.credential_archive(credential=credential, actor=cast["alice"])
    assert list(access.credentials_usable_by(cast["alice"])) == []
