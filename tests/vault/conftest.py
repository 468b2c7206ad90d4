"""Vault fixtures: an API Cloud style gateway, a self-hosted one, and Acme's credential with the
example values of WSO2's documentation (``tests/factories.py``)."""

import base64

import pytest

from tests import factories
from tests.factories import CONSUMER_KEY, CONSUMER_SECRET, ORG_KEY

KEY1 = "k1:" + base64.b64encode(b"\x01" * 32).decode()
KEY2 = "k2:" + base64.b64encode(b"\x02" * 32).decode()


@pytest.fixture
def gateway(db):
    return factories.gateway_create(
        name="API Cloud",
        token_url="https://gateway.example/token",
        revoke_url="https://gateway.example/revoke",
        username_template="{email}@{org_key}",
        client_auth="basic",
    )


@pytest.fixture
def plain_gateway(db):
    return factories.gateway_create(
        name="Self-hosted",
        token_url="https://apim.example:8243/token",
        revoke_url="https://apim.example:8243/revoke",
        username_template="{username}",
        client_auth="basic_raw",
    )


@pytest.fixture
def credential(acme, alice, gateway):
    return factories.credential_create(
        team=acme,
        actor=alice,
        gateway=gateway,
        name="Acme production",
        org_key=ORG_KEY,
        default_scopes=["read", "update"],
    )


@pytest.fixture
def form_data(gateway):
    """A valid create-form submission."""
    return {
        "name": "Acme staging",
        "gateway": str(gateway.pk),
        "consumer_key": CONSUMER_KEY,
        "consumer_secret": CONSUMER_SECRET,
        "org_key": ORG_KEY,
        "default_scopes": "read update",
        "allow_password": "on",
    }
