"""The sandbox's keys, hashes and tokens: HS256 JWTs signed with a key derived from ``SECRET_KEY``
(domain-separated, so the sandbox key is useless for anything else), hand-written with
hmac/hashlib to add no dependency; and the demo application's values, derived the same way so
every run of ``demo_setup`` prints the same ones."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import string
from typing import Any

from django.conf import settings


def _derive(label: str) -> bytes:
    """A key for one purpose, derived from SECRET_KEY (domain separation by label)."""
    return hmac.new(
        settings.SECRET_KEY.encode("utf-8"),
        f"token-portal.sandbox.{label}".encode(),
        hashlib.sha256,
    ).digest()


def secret_hash(value: str) -> str:
    """SHA-256 of a long random value (consumer secret, refresh token); not for passwords."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode((part + "=" * (-len(part) % 4)).encode("ascii"))


_JWT_HEADER = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())


def jwt_encode(claims: dict[str, Any]) -> str:
    """HS256 JWT. Canonical JSON (sorted keys), so the same claims always give the same token."""
    payload = _b64url(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode("utf-8"))
    signing_input = f"{_JWT_HEADER}.{payload}".encode("ascii")
    signature = hmac.new(_derive("jwt-signing-key"), signing_input, hashlib.sha256).digest()
    return f"{_JWT_HEADER}.{payload}.{_b64url(signature)}"


def jwt_decode(token: str) -> dict[str, Any] | None:
    """The claims of a JWT signed by this sandbox, or None (wrong shape, algorithm or signature).

    Expiry is not checked here; callers compare ``exp`` themselves.
    """
    if not isinstance(token, str) or len(token) > 8192:
        return None
    parts = token.split(".")
    if len(parts) != 3:
        return None
    header_part, payload_part, signature_part = parts
    try:
        header = json.loads(_b64url_decode(header_part))
        signature = _b64url_decode(signature_part)
    except (ValueError, UnicodeError, binascii.Error):
        return None
    # Only our own algorithm: "none" or anything else is refused before looking further.
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        return None
    expected = hmac.new(
        _derive("jwt-signing-key"),
        f"{header_part}.{payload_part}".encode("ascii"),
        hashlib.sha256,
    ).digest()
    if not hmac.compare_digest(expected, signature):
        return None
    try:
        claims = json.loads(_b64url_decode(payload_part))
    except (ValueError, UnicodeError, binascii.Error):
        return None
    return claims if isinstance(claims, dict) else None


# --- Demo values ----------------------------------------------------------------------------------

_ALPHANUMERIC = string.ascii_letters + string.digits


def _derived_alphanumeric(label: str, length: int) -> str:
    """Deterministic for one installation (SECRET_KEY), unguessable without it."""
    number = int.from_bytes(_derive(label) + _derive(label + ".more"), "big")
    chars = []
    for _ in range(length):
        number, index = divmod(number, len(_ALPHANUMERIC))
        chars.append(_ALPHANUMERIC[index])
    return "".join(chars)


def demo_consumer_key() -> str:
    """WSO2-looking (28 alphanumeric characters), derived from SECRET_KEY."""
    return _derived_alphanumeric("demo-consumer-key", 28)


def demo_consumer_secret() -> str:
    return _derived_alphanumeric("demo-consumer-secret", 32)


def demo_password() -> str:
    """The fallback demo password when PORTAL_DEMO_PASSWORD is not set."""
    return _derived_alphanumeric("demo-user-password", 16)
