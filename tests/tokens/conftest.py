"""Token fixtures. The history/charts/dashboard ones come first; the write side's follow below.

``make_issuance(**overrides)`` writes an Issuance row directly (no gateway call): by default an
active password-grant token of bob's in Acme, issued now, expiring in an hour, with a sealed fake
access token so it can be revoked. Pass ``access_token=""`` for a row without token material.
"""

import secrets
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from portal.tokens.models import Grant, Issuance, Status, TokenFormat
from portal.vault import crypto
from portal.vault import services as vault

# --- history, charts, dashboard ---------------------------------------------------------------

ACME_CONSUMER_KEY = "hstCKey0123456789abcdefAbAa"
ACME_CONSUMER_SECRET = "hstSecret0123456789abcdef"


@pytest.fixture
def acme_gateway(db):
    """A sandbox-style plain HTTP gateway (tests allow HTTP gateways); never called here."""
    gateway, _ = vault.gateway_create(
        name="History test gateway",
        token_url="http://127.0.0.1:9/token",
        revoke_url="http://127.0.0.1:9/revoke",
        username_template="{email}",
        client_auth="basic",
    )
    return gateway


@pytest.fixture
def acme_credential(acme, alice, acme_gateway):
    """Acme's credential, created by its owner alice."""
    return vault.credential_create(
        team=acme,
        name="Acme sandbox",
        gateway=acme_gateway,
        consumer_key=ACME_CONSUMER_KEY,
        consumer_secret=ACME_CONSUMER_SECRET,
        default_scopes=["read", "write"],
        allow_client_credentials=True,
        actor=alice,
    )


def fake_token() -> str:
    return "fake-at-" + secrets.token_urlsafe(24)


@pytest.fixture
def make_issuance(acme, bob, acme_credential):
    """``make_issuance(**overrides)`` -> a saved Issuance (see the module docstring).

    Extra keywords: ``access_token`` / ``refresh_token`` (raw values, stored sealed only; the
    fingerprint and last 4 follow the access token unless overridden)."""

    def make(**overrides) -> Issuance:
        pk = overrides.pop("id", None) or uuid.uuid4()
        access_token = overrides.pop("access_token", None)
        if access_token is None:
            access_token = fake_token()
        refresh_token = overrides.pop("refresh_token", "")
        now = timezone.now()
        fields = {
            "team": acme,
            "credential": acme_credential,
            "issued_by": bob,
            "grant_type": Grant.PASSWORD,
            "upstream_username": "bob@bob.org",
            "requested_scopes": ["read"],
            "granted_scopes": ["read"],
            "token_type": "Bearer",
            "token_format": TokenFormat.OPAQUE,
            "issued_at": now,
            "expires_at": now + timedelta(hours=1),
            "status": Status.ACTIVE,
            "access_token_fingerprint": crypto.fingerprint(access_token) if access_token else "",
            "access_token_last4": access_token[-4:] if access_token else "",
            "has_refresh_token": bool(refresh_token),
        }
        fields.update(overrides)
        stub = Issuance(id=pk)
        if access_token and "access_token_encrypted" not in overrides:
            crypto.seal(stub, "access_token_encrypted", access_token)
            fields["access_token_encrypted"] = stub.access_token_encrypted
        if refresh_token and "refresh_token_encrypted" not in overrides:
            crypto.seal(stub, "refresh_token_encrypted", refresh_token)
            fields["refresh_token_encrypted"] = stub.refresh_token_encrypted
        return Issuance.objects.create(id=pk, **fields)

    return make


# --- generate / renew / revoke (write side) ------------------------------------------------------
