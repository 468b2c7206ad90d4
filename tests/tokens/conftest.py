"""Token fixtures for the history, charts and dashboard tests.

``make_issuance(**overrides)`` writes an Issuance row directly (no gateway call): by default an
active password-grant token of bob's in Acme, issued now, expiring in an hour, with a sealed fake
access token so it can be revoked (``factories.issuance_create``). Pass ``access_token=""`` for a
row without token material.
"""

import pytest

from tests import factories

ACME_CONSUMER_KEY = "hstCKey0123456789abcdefAbAa"
ACME_CONSUMER_SECRET = "hstSecret0123456789abcdef"


@pytest.fixture
def acme_gateway(db):
    """A sandbox-style plain HTTP gateway (tests allow HTTP gateways); never called here."""
    return factories.gateway_create(
        name="History test gateway",
        token_url="http://127.0.0.1:9/token",
        revoke_url="http://127.0.0.1:9/revoke",
        username_template="{email}",
        client_auth="basic",
    )


@pytest.fixture
def acme_credential(acme, alice, acme_gateway):
    """Acme's credential, created by its owner alice."""
    return factories.credential_create(
        team=acme,
        actor=alice,
        gateway=acme_gateway,
        name="Acme sandbox",
        consumer_key=ACME_CONSUMER_KEY,
        consumer_secret=ACME_CONSUMER_SECRET,
        default_scopes=["read", "write"],
        allow_client_credentials=True,
    )


@pytest.fixture
def make_issuance(acme, bob, acme_credential):
    """``make_issuance(**overrides)`` -> a saved Issuance (see the module docstring)."""

    def make(**overrides):
        return factories.issuance_create(
            **{"team": acme, "credential": acme_credential, "issued_by": bob, **overrides}
        )

    return make
