"""Vault fixtures: an API Cloud style gateway and Acme's credential with the WSO2 docs' example
values (docs/token-api.md)."""

import base64

import pytest

from portal.vault import services

CONSUMER_KEY = "wU62DjlyDBnq87GlBwplfqvmAbAa"
CONSUMER_SECRET = "ksdSdoefDDP7wpaElfqvmjDue"
ORG_KEY = "johnsorg"
KEY1 = "k1:" + base64.b64encode(b"\x01" * 32).decode()
KEY2 = "k2:" + base64.b64encode(b"\x02" * 32).decode()


@pytest.fixture
def gateway(db):
    gw, _ = services.gateway_create(
        name="API Cloud",
        token_url="https://gateway.example/token",
        revoke_url="https://gateway.example/revoke",
        username_template="{email}@{org_key}",
        client_auth="basic",
    )
    return gw


@pytest.fixture
def plain_gateway(db):
    gw, _ = services.gateway_create(
        name="Self-hosted",
        token_url="https://apim.example:8243/token",
        revoke_url="https://apim.example:8243/revoke",
        username_template="{username}",
        client_auth="basic_raw",
    )
    return gw


@pytest.fixture
def credential(acme, alice, gateway):
    return services.credential_create(
        team=acme,
        name="Acme production",
        gateway=gateway,
        consumer_key=CONSUMER_KEY,
        consumer_secret=CONSUMER_SECRET,
        org_key=ORG_KEY,
        default_scopes=["read", "update"],
        actor=alice,
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
