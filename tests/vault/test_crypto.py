import base64

import pytest
from django.test import override_settings

from portal.vault import checks, crypto
from portal.vault.models import Credential
from tests.factories import CONSUMER_SECRET

from .conftest import KEY1, KEY2


def _row(pk="00000000-0000-0000-0000-000000000001"):
    return Credential(pk=pk)


@override_settings(PORTAL_ENCRYPTION_KEYS=KEY1)
def test_encrypt_then_decrypt_returns_the_plaintext():
    sealed = crypto.encrypt(CONSUMER_SECRET, aad="vault.credential:x:1")
    assert crypto.decrypt(sealed, aad="vault.credential:x:1") == CONSUMER_SECRET


@override_settings(PORTAL_ENCRYPTION_KEYS=KEY1)
def test_ciphertext_is_versioned_names_its_key_and_hides_the_plaintext():
    sealed = crypto.encrypt(CONSUMER_SECRET, aad="a:b:c")
    assert sealed.startswith("v1:k1:")
    assert crypto.key_id_of(sealed) == "k1"
    assert CONSUMER_SECRET not in sealed


@override_settings(PORTAL_ENCRYPTION_KEYS=KEY1)
def test_same_plaintext_encrypts_differently_twice():
    assert crypto.encrypt("same", aad="a:b:c") != crypto.encrypt("same", aad="a:b:c")


@override_settings(PORTAL_ENCRYPTION_KEYS=KEY1)
def test_ciphertext_moved_to_another_row_does_not_decrypt():
    row1, row2 = _row(), _row("00000000-0000-0000-0000-000000000002")
    crypto.seal(row1, "consumer_secret_encrypted", CONSUMER_SECRET)
    row2.consumer_secret_encrypted = row1.consumer_secret_encrypted
    with pytest.raises(crypto.DecryptionError):
        crypto.unseal(row2, "consumer_secret_encrypted")


@override_settings(PORTAL_ENCRYPTION_KEYS=KEY1)
def test_ciphertext_moved_to_another_field_does_not_decrypt():
    row = _row()
    crypto.seal(row, "consumer_secret_encrypted", CONSUMER_SECRET)
    row.consumer_key_encrypted = row.consumer_secret_encrypted
    with pytest.raises(crypto.DecryptionError):
        crypto.unseal(row, "consumer_key_encrypted")
    assert crypto.unseal(row, "consumer_secret_encrypted") == CONSUMER_SECRET


def test_aad_names_app_model_field_and_pk():
    assert (
        crypto.aad_for(_row(), "org_key_encrypted")
        == "vault.credential:org_key_encrypted:00000000-0000-0000-0000-000000000001"
    )


def test_unknown_key_id_fails_to_decrypt():
    with override_settings(PORTAL_ENCRYPTION_KEYS=KEY2):
        sealed = crypto.encrypt("secret", aad="a:b:c")
    with override_settings(PORTAL_ENCRYPTION_KEYS=KEY1), pytest.raises(crypto.DecryptionError):
        crypto.decrypt(sealed, aad="a:b:c")


def test_a_different_key_under_the_same_id_fails_to_decrypt():
    other = "k1:" + base64.b64encode(b"\x09" * 32).decode()
    with override_settings(PORTAL_ENCRYPTION_KEYS=KEY1):
        sealed = crypto.encrypt("secret", aad="a:b:c")
    with override_settings(PORTAL_ENCRYPTION_KEYS=other), pytest.raises(crypto.DecryptionError):
        crypto.decrypt(sealed, aad="a:b:c")


@override_settings(PORTAL_ENCRYPTION_KEYS=KEY1)
@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "plaintext",
        "v1:k1:",
        "v2:k1:AAAA",
        "v1:k1:AAAA",
        "v1:k 1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "v1:k1:!!!!",
    ],
)
def test_malformed_ciphertext_raises_and_never_returns_the_stored_text(garbage):
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(garbage, aad="a:b:c")


@override_settings(PORTAL_ENCRYPTION_KEYS=KEY1)
def test_tampered_ciphertext_fails_to_decrypt():
    sealed = crypto.encrypt("secret value", aad="a:b:c")
    head, body = sealed.rsplit(":", 1)
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(f"{head}:{flipped}", aad="a:b:c")


def test_keyring_follows_setting_changes():
    with override_settings(PORTAL_ENCRYPTION_KEYS=KEY1):
        assert crypto.active_key_id() == "k1"
    with override_settings(PORTAL_ENCRYPTION_KEYS=f"{KEY2},{KEY1}"):
        assert crypto.active_key_id() == "k2"
        assert set(crypto.keyring().keys) == {"k1", "k2"}


def test_keyring_accepts_urlsafe_base64_and_a_trailing_comma():
    urlsafe = "u1:" + base64.urlsafe_b64encode(b"\xfb" * 32).decode().rstrip("=")
    ring = crypto.parse_keyring(urlsafe + ",")
    assert ring.keys["u1"] == b"\xfb" * 32


def test_keyring_repr_shows_no_key_bytes():
    ring = crypto.parse_keyring(KEY1)
    assert KEY1.split(":")[1] not in repr(ring)
    assert "k1" in repr(ring)


BAD_KEYRINGS = {
    "empty": (" , ", "vault.E001"),
    "no separator": ("k1" + base64.b64encode(b"\x01" * 32).decode(), "vault.E002"),
    "empty key": ("k1:", "vault.E002"),
    "bad key id": ("k 1:" + base64.b64encode(b"\x01" * 32).decode(), "vault.E002"),
    "bad base64": ("k1:not*base64!", "vault.E003"),
    "short key": ("k1:" + base64.b64encode(b"\x01" * 16).decode(), "vault.E004"),
    "long key": ("k1:" + base64.b64encode(b"\x01" * 33).decode(), "vault.E004"),
    "duplicate id": (f"{KEY1},{KEY1}", "vault.E005"),
}


@pytest.mark.parametrize("case", sorted(BAD_KEYRINGS))
def test_system_check_rejects_a_malformed_keyring(case):
    raw, error_id = BAD_KEYRINGS[case]
    with override_settings(PORTAL_ENCRYPTION_KEYS=raw):
        errors = checks.keyring_well_formed()
    assert [e.id for e in errors] == [error_id]
    assert "PORTAL_ENCRYPTION_KEYS is malformed" in errors[0].msg
    assert "AQEBAQEB" not in errors[0].msg  # no key material in the message


def test_system_check_accepts_a_well_formed_keyring():
    with override_settings(PORTAL_ENCRYPTION_KEYS=f"{KEY2},{KEY1}"):
        assert checks.keyring_well_formed() == []


def test_system_check_leaves_an_unset_keyring_to_the_portal_check():
    with override_settings(PORTAL_ENCRYPTION_KEYS=""):
        assert checks.keyring_well_formed() == []


def test_encrypting_with_a_malformed_keyring_raises():
    with override_settings(PORTAL_ENCRYPTION_KEYS="k1:short"), pytest.raises(crypto.KeyringError):
        crypto.encrypt("x", aad="a:b:c")


def test_fingerprint_is_stable_short_hex_and_survives_key_rotation():
    with override_settings(PORTAL_ENCRYPTION_KEYS=KEY1):
        first = crypto.fingerprint(CONSUMER_SECRET)
    with override_settings(PORTAL_ENCRYPTION_KEYS=KEY2):
        assert crypto.fingerprint(CONSUMER_SECRET) == first
    assert len(first) == 16 and int(first, 16) >= 0
    assert crypto.fingerprint("other") != first


def test_fingerprint_depends_on_the_audit_key():
    first = crypto.fingerprint(CONSUMER_SECRET)
    with override_settings(PORTAL_AUDIT_KEY="another-audit-key"):
        assert crypto.fingerprint(CONSUMER_SECRET) != first


def test_seal_keeps_empty_values_empty():
    row = _row()
    crypto.seal(row, "org_key_encrypted", "")
    assert row.org_key_encrypted == ""
    assert crypto.unseal(row, "org_key_encrypted") == ""


def test_aad_needs_a_primary_key():
    class NoPk:
        pk = None

    with pytest.raises(ValueError):
        crypto.aad_for(NoPk(), "field")


def test_credential_fields_are_registered_for_rotation():
    assert crypto.encrypted_fields()["vault.Credential"] == (
        "consumer_key_encrypted",
        "consumer_secret_encrypted",
        "org_key_encrypted",
    )


def test_generate_encryption_key_prints_a_usable_entry(capsys):
    from django.core.management import call_command

    with override_settings(PORTAL_ENCRYPTION_KEYS=""):
        call_command("generate_encryption_key", "--kid", "k9")
    entry = capsys.readouterr().out.strip()
    assert entry.startswith("k9:")
    ring = crypto.parse_keyring(entry)
    assert len(ring.keys["k9"]) == 32
