"""Reading a JWT access token's claims for display.

Gateways such as WSO2 API Manager 3.x/4.x issue JWT access tokens; showing their subject, scopes
and expiry helps people check what they got. Nothing here checks a signature, so the claims are
for display only and never for a security decision.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any


def _b64url_json(part: str) -> Any:
    padded = part + "=" * (-len(part) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))


def decode_jwt_claims(token: str) -> dict[str, Any] | None:
    """The payload of a three-part base64url token, or None (an opaque token, or not a JWT)."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        return None
    try:
        claims = _b64url_json(parts[1])
    except (ValueError, UnicodeError, binascii.Error):
        return None
    return claims if isinstance(claims, dict) else None
