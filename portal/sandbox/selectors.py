"""Reads of the sandbox gateway."""

from __future__ import annotations

import time

from django.utils import timezone

from portal.sandbox.models import SandboxToken
from portal.sandbox.services import jwt_decode


def token_for_bearer(raw: str) -> SandboxToken | None:
    """The live token a bearer string names, or None (bad signature, expired, revoked, unknown,
    or its application or user deactivated)."""
    claims = jwt_decode(raw)
    if claims is None:
        return None
    exp, jti = claims.get("exp"), claims.get("jti")
    if not isinstance(exp, int) or isinstance(exp, bool) or not isinstance(jti, str):
        return None
    if exp <= time.time():
        return None
    row = SandboxToken.objects.select_related("application", "user").filter(jti=jti).first()
    if row is None or row.revoked or row.expires_at <= timezone.now():
        return None
    if not row.application.active or (row.user is not None and not row.user.active):
        return None
    return row
