"""The API key format, and the only place a key's secret is turned into what is stored.

A key reads ``tpk_`` + 32 random base62 characters + 6 base62 characters of the CRC32 of those
32 (``tpk_`` = Token Portal key). The fixed prefix lets secret scanners recognise a leaked key;
the checksum lets them - and the portal, before any database query - tell a real key from a typo
or a random string, as GitHub's tokens do. 32 base62 characters are 190 bits of randomness.

The portal stores only ``digest(key)``: HMAC-SHA256 under a key derived from
``PORTAL_AUDIT_KEY`` (like the token fingerprints: separate from the database and from the
encryption keys, so a copy of the database alone neither holds nor can check a key), plus the
key's last four characters so people can tell their keys apart.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import zlib

from django.conf import settings

PREFIX = "tpk_"
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
RANDOM_CHARS = 32
CHECKSUM_CHARS = 6
LENGTH = len(PREFIX) + RANDOM_CHARS + CHECKSUM_CHARS
_SHAPE = re.compile(rf"^{PREFIX}[0-9A-Za-z]{{{RANDOM_CHARS + CHECKSUM_CHARS}}}$")
_DIGEST_CONTEXT = b"token-portal api key v1"


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, digit = divmod(number, len(ALPHABET))
        digits.append(ALPHABET[digit])
    return "".join(reversed(digits))


def checksum(random_part: str) -> str:
    """Six base62 characters of the CRC32 of ``random_part`` (62**6 > 2**32: no information lost)."""
    return _base62(zlib.crc32(random_part.encode("ascii")), CHECKSUM_CHARS)


def generate() -> str:
    """A new key. Shown once to its creator and never stored."""
    random_part = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_CHARS))
    return PREFIX + random_part + checksum(random_part)


def is_well_formed(key: str) -> bool:
    """Prefix, length, alphabet and checksum are right (says nothing of whether the key exists)."""
    if not isinstance(key, str) or not _SHAPE.match(key):
        return False
    body = key[len(PREFIX) :]
    return hmac.compare_digest(checksum(body[:RANDOM_CHARS]), body[RANDOM_CHARS:])


def _digest_key() -> bytes:
    audit_key = (getattr(settings, "PORTAL_AUDIT_KEY", "") or "").encode()
    return hmac.new(audit_key, _DIGEST_CONTEXT, hashlib.sha256).digest()


def digest(key: str) -> str:
    """What the database keeps of a key and looks it up by: 64 hex characters."""
    return hmac.new(_digest_key(), key.encode("ascii"), hashlib.sha256).hexdigest()


def last4(key: str) -> str:
    return key[-4:]
