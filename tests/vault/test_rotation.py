import pytest
from django.core.management import CommandError, call_command

from portal.audit.models import Action, AuditEvent
from portal.vault import crypto, rotation, services
from portal.vault.models import Credential
from tests import factories
from tests.factories import CONSUMER_KEY, CONSUMER_SECRET, ORG_KEY

from .conftest import KEY1, KEY2

FIELDS = ("consumer_key_encrypted", "consumer_secret_encrypted", "org_key_encrypted")


@pytest.fixture
def two_credentials(settings, acme, alice, gateway):
    settings.PORTAL_ENCRYPTION_KEYS = KEY1
    made = []
    for name in ("first", "second"):
        made.append(
            factories.credential_create(
                team=acme, actor=alice, gateway=gateway, name=name, org_key=ORG_KEY
            )
        )
    return made


def _key_ids() -> set[str]:
    return {
        crypto.key_id_of(value)
        for row in Credential.objects.values_list(*FIELDS)
        for value in row
        if value
    }


def _report(capsys) -> str:
    call_command("rotate_encryption_keys", "--report")
    return capsys.readouterr().out


def test_rotation_round_trip_then_the_old_key_can_be_removed(settings, two_credentials, capsys):
    assert _key_ids() == {"k1"}
    settings.PORTAL_ENCRYPTION_KEYS = f"{KEY2},{KEY1}"
    assert "vault.Credential.consumer_secret_encrypted: k1=2" in _report(capsys)

    call_command("rotate_encryption_keys", "--batch", "1")
    out = capsys.readouterr().out
    assert "re-encrypted 6" in out
    assert _key_ids() == {"k2"}
    report = _report(capsys)
    assert "vault.Credential.consumer_secret_encrypted: k2=2" in report
    assert "Total: k1=0, k2=6 (active key: k2)" in report

    settings.PORTAL_ENCRYPTION_KEYS = KEY2  # key 1 removed
    for credential in Credential.objects.all():
        secrets = services.credential_secrets(credential=credential)
        assert (secrets.consumer_key, secrets.consumer_secret, secrets.org_key) == (
            CONSUMER_KEY,
            CONSUMER_SECRET,
            ORG_KEY,
        )
    event = AuditEvent.objects.get(action=Action.KEYS_ROTATED)
    assert event.details["rotated"] == 6 and event.details["active_key_id"] == "k2"
    assert event.details["per_field"]["vault.Credential.org_key_encrypted"]["rotated"] == 2


def test_rotation_does_not_touch_updated_at(settings, two_credentials):
    before = dict(Credential.objects.values_list("pk", "updated_at"))
    settings.PORTAL_ENCRYPTION_KEYS = f"{KEY2},{KEY1}"
    rotation.keys_rotate()
    assert dict(Credential.objects.values_list("pk", "updated_at")) == before


def test_dry_run_changes_nothing(settings, two_credentials, capsys):
    before = list(Credential.objects.order_by("pk").values_list(*FIELDS))
    events = AuditEvent.objects.count()
    settings.PORTAL_ENCRYPTION_KEYS = f"{KEY2},{KEY1}"
    call_command("rotate_encryption_keys", "--dry-run")
    assert "would re-encrypt 6" in capsys.readouterr().out
    assert list(Credential.objects.order_by("pk").values_list(*FIELDS)) == before
    assert AuditEvent.objects.count() == events


def test_rotation_is_idempotent(settings, two_credentials):
    settings.PORTAL_ENCRYPTION_KEYS = f"{KEY2},{KEY1}"
    rotation.keys_rotate()
    after_first = list(Credential.objects.order_by("pk").values_list(*FIELDS))
    again = rotation.keys_rotate()
    assert again.rotated == 0 and again.already_current == 6
    assert list(Credential.objects.order_by("pk").values_list(*FIELDS)) == after_first


def test_interrupted_rotation_resumes_where_it_stopped(settings, two_credentials, monkeypatch):
    settings.PORTAL_ENCRYPTION_KEYS = f"{KEY2},{KEY1}"
    real = rotation._rotate_batch
    calls = {"n": 0}

    def crash_on_second_batch(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("power cut")
        return real(*args, **kwargs)

    monkeypatch.setattr(rotation, "_rotate_batch", crash_on_second_batch)
    with pytest.raises(RuntimeError):
        rotation.keys_rotate(batch_size=1)
    assert _key_ids() == {"k1", "k2"}  # the first batch was committed

    monkeypatch.setattr(rotation, "_rotate_batch", real)
    result = rotation.keys_rotate(batch_size=1)
    assert result.rotated == 3 and result.already_current == 3
    assert _key_ids() == {"k2"}


def test_unreadable_values_are_counted_audited_and_left_alone(settings, two_credentials):
    first = two_credentials[0]
    Credential.objects.filter(pk=first.pk).update(consumer_secret_encrypted="v1:lost:AAAA")
    settings.PORTAL_ENCRYPTION_KEYS = f"{KEY2},{KEY1}"
    with pytest.raises(CommandError, match="could not be decrypted"):
        call_command("rotate_encryption_keys")
    assert Credential.objects.get(pk=first.pk).consumer_secret_encrypted == "v1:lost:AAAA"
    failure = AuditEvent.objects.get(action=Action.CREDENTIAL_DECRYPT_FAILED)
    assert failure.details == {"field": "consumer_secret_encrypted", "key_id": "lost"}
    rotated = AuditEvent.objects.get(action=Action.KEYS_ROTATED)
    assert rotated.details["failed"] == 1 and rotated.details["rotated"] == 5


def test_rotation_refuses_a_malformed_keyring(settings, db):
    settings.PORTAL_ENCRYPTION_KEYS = "k1:short"
    with pytest.raises(CommandError, match="malformed"):
        call_command("rotate_encryption_keys")
