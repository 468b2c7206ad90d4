"""Encryption at rest for every secret the portal stores - the only user of ``cryptography``'s ciphers.

Contract (what the rest of the project may use):

``encrypt(plaintext, *, aad) -> str``
    AES-256-GCM under the *active* key (the first in ``PORTAL_ENCRYPTION_KEYS``), a fresh random
    96-bit nonce each call, so the same plaintext never encrypts to the same text twice. The result
    is ASCII text ``v1:<kid>:<base64url(nonce || ciphertext+tag)>`` - it names the key that sealed it.
``decrypt(ciphertext, *, aad) -> str``
    The plaintext, or ``DecryptionError`` for *any* failure: malformed text, unknown key id, wrong
    key, wrong associated data, tampering. It never returns the stored bytes. The caller audits the
    failure (``Action.CREDENTIAL_DECRYPT_FAILED``) and shows the user a message without the secret.
``aad_for(instance, field_name) -> str``
    The associated data binding a value to its row and column: ``app.model:field:pk``, e.g.
    ``vault.credential:consumer_secret_encrypted:6f1c…``. A ciphertext copied to another row or field
    does not decrypt. Models therefore need primary keys that exist before insert (UUIDs).
``seal(instance, field_name, plaintext)`` / ``unseal(instance, field_name) -> str``
    The two helpers models use: store / read a TextField holding ciphertext. The empty string means
    "no value" and is stored as is (its emptiness is not a secret).
``key_id_of(ciphertext) -> str``, ``active_key_id() -> str``
    Which key sealed a value (``DecryptionError`` when the text is not ours); which key seals now.
``fingerprint(value) -> str``
    16 hex characters of HMAC-SHA256 under a key derived from ``PORTAL_AUDIT_KEY`` (not from the
    encryption keys, so fingerprints survive key rotation). Audit details carry these, never secrets.
``register_encrypted_fields(model_label, *field_names)`` / ``encrypted_fields()``
    The registry ``manage.py rotate_encryption_keys`` walks. An app registers its ciphertext fields
    in its ``AppConfig.ready()``, e.g. ``register_encrypted_fields("tokens.Issuance",
    "access_token_encrypted", "refresh_token_encrypted")``.

Keyring: ``kid:base64key,kid:base64key`` - ids of letters, digits, ``_`` or ``-`` (at most 32),
keys of exactly 32 bytes in standard or URL-safe base64. It is parsed once per distinct setting
value (so ``override_settings`` in tests takes effect at once). A malformed keyring raises
``KeyringError``; the vault's system check (``vault.E001``-``vault.E005``) reports it at start-up.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

VERSION = "v1"
KEY_BYTES = 32
NONCE_BYTES = 12
KEY_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_FINGERPRINT_CONTEXT = b"token-portal fingerprint v1"


class CryptoError(Exception):
    """Base class of the vault's crypto errors. Messages never contain key material or plaintext."""


class KeyringError(CryptoError):
    """``PORTAL_ENCRYPTION_KEYS`` is malformed. ``code`` names the problem for the system check."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.code = code


class DecryptionError(CryptoError):
    """A stored value could not be decrypted (wrong key, moved, tampered, unknown key id, garbage)."""


@dataclass(frozen=True)
class Keyring:
    active_id: str
    keys: dict[str, bytes]

    def __repr__(self) -> str:  # never print key bytes, e.g. in a traceback
        return f"Keyring(active_id={self.active_id!r}, ids={list(self.keys)!r})"


def _decode_key(kid: str, encoded: str) -> bytes:
    text = encoded.strip().replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KeyringError(f"The key {kid!r} is not valid base64.", code="base64") from exc
    if len(key) != KEY_BYTES:
        raise KeyringError(
            f"The key {kid!r} is {len(key)} bytes long; AES-256 needs exactly {KEY_BYTES}.",
            code="length",
        )
    return key


@lru_cache(maxsize=8)
def parse_keyring(raw: str) -> Keyring:
    """Parse a ``kid:base64key,...`` keyring; the first entry is the active key.

    Empty entries (a trailing comma) are ignored. Raises ``KeyringError`` with ``code`` one of
    ``empty``, ``format``, ``base64``, ``length``, ``duplicate``.
    """
    entries = [e.strip() for e in (raw or "").split(",") if e.strip()]
    if not entries:
        raise KeyringError("The keyring holds no key.", code="empty")
    keys: dict[str, bytes] = {}
    for position, entry in enumerate(entries, start=1):
        kid, sep, encoded = entry.partition(":")
        kid = kid.strip()
        if not sep or not encoded.strip():
            raise KeyringError(f"Entry {position} is not of the form kid:base64key.", code="format")
        if not KEY_ID_RE.match(kid):
            raise KeyringError(
                f"Entry {position} has an invalid key id: use 1-32 letters, digits, '_' or '-'.",
                code="format",
            )
        if kid in keys:
            raise KeyringError(f"The key id {kid!r} appears more than once.", code="duplicate")
        keys[kid] = _decode_key(kid, encoded)
    return Keyring(active_id=next(iter(keys)), keys=keys)


def keyring() -> Keyring:
    """The configured keyring (cached per setting value). Raises ``KeyringError`` when malformed."""
    return parse_keyring(getattr(settings, "PORTAL_ENCRYPTION_KEYS", "") or "")


def active_key_id() -> str:
    return keyring().active_id


def generate_key() -> str:
    """A fresh random 256-bit key, standard base64 (for ``manage.py generate_encryption_key``)."""
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()


def _associated_data(kid: str, aad: str) -> bytes:
    # The header is authenticated too, so version and key id cannot be swapped undetected.
    return f"{VERSION}:{kid}:{aad}".encode()


def encrypt(plaintext: str, *, aad: str) -> str:
    """Seal ``plaintext`` under the active key, bound to ``aad`` (see ``aad_for``)."""
    if not aad:
        raise ValueError("encrypt() needs associated data (use aad_for(instance, field)).")
    ring = keyring()
    kid = ring.active_id
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(ring.keys[kid]).encrypt(
        nonce, plaintext.encode("utf-8"), _associated_data(kid, aad)
    )
    body = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")
    return f"{VERSION}:{kid}:{body}"


def _split(ciphertext: str) -> tuple[str, str]:
    if not isinstance(ciphertext, str):
        raise DecryptionError("The stored value is not text.")
    version, sep1, rest = ciphertext.partition(":")
    kid, sep2, body = rest.partition(":")
    if version != VERSION or not sep1 or not sep2 or not KEY_ID_RE.match(kid) or not body:
        raise DecryptionError("The stored value is not in the vault's format.")
    return kid, body


def key_id_of(ciphertext: str) -> str:
    """The id of the key that sealed ``ciphertext``; ``DecryptionError`` if it is not ours."""
    return _split(ciphertext)[0]


def decrypt(ciphertext: str, *, aad: str) -> str:
    """The plaintext, or ``DecryptionError`` - never the stored text itself."""
    kid, body = _split(ciphertext)
    try:
        ring = keyring()
    except KeyringError as exc:
        raise DecryptionError("The encryption keyring is malformed.") from exc
    key = ring.keys.get(kid)
    if key is None:
        raise DecryptionError(f"The value was sealed with key {kid!r}, which is not configured.")
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError) as exc:
        raise DecryptionError("The stored value is not valid base64.") from exc
    if len(raw) < NONCE_BYTES + 16:
        raise DecryptionError("The stored value is truncated.")
    try:
        plain = AESGCM(key).decrypt(
            raw[:NONCE_BYTES], raw[NONCE_BYTES:], _associated_data(kid, aad)
        )
        return plain.decode("utf-8")
    except (InvalidTag, UnicodeDecodeError) as exc:
        # Wrong key, another row's or field's value, or tampering - indistinguishable by design.
        raise DecryptionError(
            "The stored value does not decrypt for this record and field."
        ) from exc


def aad_for(instance, field_name: str) -> str:
    """``app.model:field:pk`` for a model instance; its primary key must already be set."""
    if instance.pk is None:
        raise ValueError("Encrypted fields need a primary key set before insert (use a UUID).")
    return f"{instance._meta.label_lower}:{field_name}:{instance.pk}"


def seal(instance, field_name: str, plaintext: str) -> None:
    """Store ``plaintext`` encrypted in ``instance.<field_name>`` (not saved); "" stays ""."""
    value = encrypt(plaintext, aad=aad_for(instance, field_name)) if plaintext else ""
    setattr(instance, field_name, value)


def unseal(instance, field_name: str) -> str:
    """The plaintext of ``instance.<field_name>`` ("" when empty); ``DecryptionError`` on failure."""
    stored = getattr(instance, field_name)
    if not stored:
        return ""
    return decrypt(stored, aad=aad_for(instance, field_name))


def reencrypt(ciphertext: str, *, aad: str) -> str:
    """``ciphertext`` sealed again under the active key (for rotation); ``DecryptionError`` if unreadable."""
    return encrypt(decrypt(ciphertext, aad=aad), aad=aad)


def _fingerprint_key() -> bytes:
    audit_key = (getattr(settings, "PORTAL_AUDIT_KEY", "") or "").encode()
    return hmac.new(audit_key, _FINGERPRINT_CONTEXT, hashlib.sha256).digest()


def fingerprint(value: str) -> str:
    """A stable, non-reversible 16-hex-character tag of ``value`` for audit details and lookups."""
    return hmac.new(_fingerprint_key(), value.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


# --- Registry of encrypted fields -----------------------------------------------------------------
_REGISTRY: dict[str, tuple[str, ...]] = {}


def register_encrypted_fields(model_label: str, *field_names: str) -> None:
    """Declare ciphertext fields of a model (``"app.Model"``) for key rotation. Idempotent."""
    current = list(_REGISTRY.get(model_label, ()))
    for name in field_names:
        if name not in current:
            current.append(name)
    _REGISTRY[model_label] = tuple(current)


def encrypted_fields() -> dict[str, tuple[str, ...]]:
    """Model label -> names of its ciphertext fields, in registration order."""
    return dict(_REGISTRY)
