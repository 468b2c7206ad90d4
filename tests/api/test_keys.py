"""API keys: the format, what is stored, creation rules, revocation, and when a key stops
working (expiry, revocation, its creator leaving the team or losing the role)."""

import io
import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from portal.api import keys, services
from portal.api.models import ApiKey
from portal.audit.models import AuditEvent
from portal.teams import services as teams
from portal.teams.models import Role

pytestmark = pytest.mark.django_db


def test_a_key_has_the_prefix_random_part_and_checksum():
    key = keys.generate()
    assert re.fullmatch(r"tpk_[0-9A-Za-z]{38}", key)
    assert keys.is_well_formed(key)
    assert key[-6:] == keys.checksum(key[4:36])
    assert keys.generate() != key


def test_a_typo_fails_the_checksum_before_any_lookup():
    key = keys.generate()
    typo = key[:10] + ("A" if key[10] != "A" else "B") + key[11:]
    assert not keys.is_well_formed(typo)
    assert not keys.is_well_formed(key[:-1])
    assert not keys.is_well_formed("ghp_" + key[4:])
    assert not keys.is_well_formed(None)


def test_the_database_holds_a_keyed_hash_never_the_key(acme, bob, settings):
    key, secret = services.api_key_create(actor=bob, team=acme, name="ci", role=Role.ISSUER)
    assert key.digest == keys.digest(secret) and len(key.digest) == 64
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM api_apikey")
        rows = " ".join(str(v) for row in cursor.fetchall() for v in row)
    assert secret not in rows and secret[4:36] not in rows
    assert key.last4 == secret[-4:]
    # The hash is keyed: without the portal's key the stored value does not match the key.
    settings.PORTAL_AUDIT_KEY = "another-audit-key-0123456789abcdef0123456789"
    assert keys.digest(secret) != key.digest


def test_creating_a_key_is_audited_without_the_key(acme, bob):
    key, secret = services.api_key_create(
        actor=bob, team=acme, name="ci", role=Role.ISSUER, expires_in_days=30
    )
    event = AuditEvent.objects.get(action="api_key.created")
    assert event.actor == bob and event.team_id == acme.pk
    assert event.details["api_key_id"] == str(key.pk)
    assert event.details["role"] == "issuer" and event.details["credentials"] == "all"
    assert secret not in str(event.details) and secret[4:36] not in str(event.details)
    assert key.expires_at - timezone.now() > timedelta(days=29, hours=23)


def test_default_expiry_is_90_days_and_at_most_a_year(acme, bob):
    key, _ = services.api_key_create(actor=bob, team=acme, name="ci", role=Role.ISSUER)
    assert timedelta(days=89, hours=23) < key.expires_at - timezone.now() <= timedelta(days=90)
    with pytest.raises(ValidationError) as info:
        services.api_key_create(
            actor=bob, team=acme, name="ci", role=Role.ISSUER, expires_in_days=366
        )
    assert "expires_in_days" in info.value.message_dict
    with pytest.raises(ValidationError):
        services.api_key_create(
            actor=bob, team=acme, name="ci", role=Role.ISSUER, expires_in_days=0
        )


def test_a_key_role_cannot_exceed_the_creators_role(acme, carol, alice):
    with pytest.raises(ValidationError) as info:
        services.api_key_create(actor=carol, team=acme, name="x", role=Role.ISSUER)
    assert "role" in info.value.message_dict
    with pytest.raises(ValidationError):  # owners hand out at most issuer keys
        services.api_key_create(actor=alice, team=acme, name="x", role=Role.OWNER)
    key, _ = services.api_key_create(actor=carol, team=acme, name="x", role=Role.VIEWER)
    assert key.role == "viewer"


def test_an_outsider_cannot_create_a_key_for_the_team(acme, mallory):
    with pytest.raises(ValidationError):
        services.api_key_create(actor=mallory, team=acme, name="x", role=Role.VIEWER)
    assert not ApiKey.objects.exists()


def test_a_key_can_be_restricted_to_credentials_of_its_own_team_only(
    acme, evil, bob, mallory, credential
):
    from portal.vault import services as vault

    foreign = vault.credential_create(
        team=evil,
        name="evil app",
        gateway=credential.gateway,
        consumer_key="evilConsumerKey0123456789",
        consumer_secret="evilConsumerSecret0123456789",
        actor=mallory,
    )
    with pytest.raises(ValidationError) as info:
        services.api_key_create(
            actor=bob, team=acme, name="x", role=Role.ISSUER, credentials=[foreign]
        )
    assert "credentials" in info.value.message_dict
    key, _ = services.api_key_create(
        actor=bob, team=acme, name="x", role=Role.ISSUER, credentials=[credential]
    )
    assert not key.all_credentials and list(key.credentials.all()) == [credential]


def test_authenticate_returns_the_creator_team_and_role(acme, bob):
    key, secret = services.api_key_create(actor=bob, team=acme, name="ci", role=Role.VIEWER)
    principal = services.api_key_authenticate(secret=secret, ip="10.0.0.7")
    assert principal.user == bob and principal.team == acme and principal.role == "viewer"
    assert principal.credential_ids is None
    key.refresh_from_db()
    assert key.last_used_ip == "10.0.0.7" and key.last_used_at is not None


def test_last_use_is_written_at_most_once_a_minute(acme, bob, django_assert_num_queries):
    key, secret = services.api_key_create(actor=bob, team=acme, name="ci", role=Role.ISSUER)
    services.api_key_authenticate(secret=secret, ip="10.0.0.1")
    first = ApiKey.objects.get(pk=key.pk).last_used_at
    with django_assert_num_queries(1):  # the lookup only: no write within the minute
        services.api_key_authenticate(secret=secret, ip="10.0.0.2")
    key.refresh_from_db()
    assert key.last_used_at == first and key.last_used_ip == "10.0.0.1"
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=first - timedelta(seconds=61))
    services.api_key_authenticate(secret=secret, ip="10.0.0.2")
    key.refresh_from_db()
    assert key.last_used_ip == "10.0.0.2" and key.last_used_at > first


@pytest.mark.parametrize("secret", ["", "tpk_short", "Bearer", "x" * 42])
def test_malformed_keys_are_rejected_without_a_query(secret, django_assert_num_queries):
    with django_assert_num_queries(0), pytest.raises(services.ApiKeyRejected) as info:
        services.api_key_authenticate(secret=secret)
    assert info.value.reason == "unknown"


def test_a_well_formed_unknown_key_is_rejected(db):
    with pytest.raises(services.ApiKeyRejected) as info:
        services.api_key_authenticate(secret=keys.generate())
    assert info.value.reason == "unknown"


def test_an_expired_key_stops_working(acme, bob):
    key, secret = services.api_key_create(actor=bob, team=acme, name="ci", role=Role.ISSUER)
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(services.ApiKeyRejected) as info:
        services.api_key_authenticate(secret=secret)
    assert info.value.reason == "expired"


def test_a_revoked_key_stops_working_and_the_revocation_is_audited(acme, bob, alice):
    key, secret = services.api_key_create(actor=bob, team=acme, name="ci", role=Role.ISSUER)
    services.api_key_revoke(actor=alice, api_key=key)
    with pytest.raises(services.ApiKeyRejected) as info:
        services.api_key_authenticate(secret=secret)
    assert info.value.reason == "revoked"
    event = AuditEvent.objects.get(action="api_key.revoked")
    assert event.actor == alice and event.details["api_key_id"] == str(key.pk)
    assert event.details["holder"] == "bob"
    services.api_key_revoke(actor=alice, api_key=key)  # again: nothing new recorded
    assert AuditEvent.objects.filter(action="api_key.revoked").count() == 1


def test_a_key_stops_working_when_its_creator_leaves_the_team(acme, bob, alice):
    _, secret = services.api_key_create(actor=bob, team=acme, name="ci", role=Role.ISSUER)
    teams.member_remove(membership=acme.memberships.get(user=bob), actor=alice)
    with pytest.raises(services.ApiKeyRejected) as info:
        services.api_key_authenticate(secret=secret)
    assert info.value.reason == "inactive"


def test_an_issuer_key_stops_working_when_its_creator_becomes_a_viewer(acme, bob, alice):
    _, issuer_secret = services.api_key_create(actor=bob, team=acme, name="w", role=Role.ISSUER)
    _, viewer_secret = services.api_key_create(actor=bob, team=acme, name="r", role=Role.VIEWER)
    teams.member_change_role(
        membership=acme.memberships.get(user=bob), role=Role.VIEWER, actor=alice
    )
    with pytest.raises(services.ApiKeyRejected) as info:
        services.api_key_authenticate(secret=issuer_secret)
    assert info.value.reason == "inactive"
    assert services.api_key_authenticate(secret=viewer_secret).role == "viewer"


def test_a_key_stops_working_when_its_creator_is_deactivated(acme, bob):
    _, secret = services.api_key_create(actor=bob, team=acme, name="ci", role=Role.ISSUER)
    bob.is_active = False
    bob.save(update_fields=["is_active"])
    with pytest.raises(services.ApiKeyRejected):
        services.api_key_authenticate(secret=secret)


def test_create_api_key_command_prints_the_key_alone_on_its_last_line(acme, bob, credential):
    out = io.StringIO()
    call_command(
        "create_api_key",
        "--user=bob",
        "--team=Acme",
        "--role=issuer",
        "--expires-in-days=7",
        "--name=deploy",
        "--credential=Acme app",
        stdout=out,
    )
    last = out.getvalue().rstrip("\n").splitlines()[-1]
    assert keys.is_well_formed(last)
    principal = services.api_key_authenticate(secret=last)
    assert principal.user == bob and principal.key.name == "deploy"
    assert principal.credential_ids == {credential.pk}
    assert principal.key.expires_at - timezone.now() <= timedelta(days=7)


def test_create_api_key_command_refuses_a_role_above_the_users(acme, carol):
    with pytest.raises(CommandError, match="higher than your own role"):
        call_command(
            "create_api_key", "--user=carol", "--team=Acme", "--role=issuer", stdout=io.StringIO()
        )
    with pytest.raises(CommandError, match="no team"):
        call_command(
            "create_api_key", "--user=carol", "--team=Evil", "--role=viewer", stdout=io.StringIO()
        )
