"""API fixtures: keys for the cast, a JSON client that sends one, Acme's credential and a fake
Token API (``tests/fakes.py``)."""

import json

import pytest
from django.test import Client

from portal.api import services as api_services
from portal.teams.models import Role
from portal.vault import services as vault
from tests.fakes import FakeTokenApi


class ApiClient:
    """Django's test client speaking JSON to /api/v1/ with ``Authorization: Bearer <key>``."""

    def __init__(self, key: str | None, client: Client | None = None):
        self.key = key
        self.client = client or Client()

    def _headers(self, headers):
        merged = {}
        if self.key is not None:
            merged["Authorization"] = f"Bearer {self.key}"
        merged.update(headers or {})
        return merged

    def get(self, path: str, params=None, headers=None):
        return self.client.get(f"/api/v1{path}", params or {}, headers=self._headers(headers))

    def post(self, path: str, body=None, headers=None):
        return self.client.post(
            f"/api/v1{path}",
            json.dumps(body if body is not None else {}),
            content_type="application/json",
            headers=self._headers(headers),
        )


@pytest.fixture
def make_key(db):
    """``make_key(user, team, role="issuer", **kwargs)`` -> (ApiKey, secret)."""

    def make(user, team, role=Role.ISSUER, **kwargs):
        kwargs.setdefault("name", f"{user.username}'s {role} key")
        return api_services.api_key_create(actor=user, team=team, role=role, **kwargs)

    return make


@pytest.fixture
def api_for(make_key):
    """``api_for(user, team, role="issuer", **kwargs)`` -> an ApiClient with a new key."""

    def make(user, team, role=Role.ISSUER, **kwargs):
        key, secret = make_key(user, team, role, **kwargs)
        client = ApiClient(secret)
        client.api_key = key
        return client

    return make


@pytest.fixture
def api_gateway(db):
    gateway, _ = vault.gateway_create(
        name="API test gateway",
        token_url="http://127.0.0.1:9/token",
        revoke_url="http://127.0.0.1:9/revoke",
        username_template="{email}@{org_key}",
    )
    return gateway


@pytest.fixture
def credential(acme, alice, api_gateway):
    """Acme's credential: both grants, default scopes read and write."""
    return vault.credential_create(
        team=acme,
        name="Acme app",
        gateway=api_gateway,
        consumer_key="apiTestConsumerKey0123456789",
        consumer_secret="apiTestConsumerSecret0123456789",
        org_key="acmeorg",
        default_scopes=["read", "write"],
        allow_client_credentials=True,
        actor=alice,
    )


@pytest.fixture
def other_credential(acme, alice, api_gateway):
    return vault.credential_create(
        team=acme,
        name="Acme other app",
        gateway=api_gateway,
        consumer_key="apiOtherConsumerKey0123456789",
        consumer_secret="apiOtherConsumerSecret0123456789",
        default_scopes=["read"],
        allow_client_credentials=True,
        actor=alice,
    )


@pytest.fixture
def fake_api(monkeypatch):
    return FakeTokenApi().install(monkeypatch)


@pytest.fixture
def bob_api(api_for, bob, acme):
    return api_for(bob, acme)
