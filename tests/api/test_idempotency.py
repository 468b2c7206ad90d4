"""Idempotency-Key: one token per key, like the generate form's double-submit guard."""

import pytest

from portal.tokens.models import Issuance

pytestmark = pytest.mark.django_db

BODY = {"credential": "Acme app", "scopes": ["read"]}


def test_a_repeated_request_gets_the_first_token_record_not_a_second_token(
    bob_api, credential, fake_api
):
    first = bob_api.post("/tokens", BODY, headers={"Idempotency-Key": "deploy-42"})
    again = bob_api.post("/tokens", BODY, headers={"Idempotency-Key": "deploy-42"})
    assert first.status_code == 201 and first.json()["access_token"]
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"] and again.json()["access_token"] is None
    assert len(fake_api.issued) == 1 and Issuance.objects.count() == 1


def test_a_quoted_key_is_the_same_key(bob_api, credential, fake_api):
    bob_api.post("/tokens", BODY, headers={"Idempotency-Key": "abc"})
    again = bob_api.post("/tokens", BODY, headers={"Idempotency-Key": '"abc"'})
    assert again.status_code == 200 and len(fake_api.issued) == 1


def test_a_key_reused_for_a_different_request_is_refused(bob_api, credential, fake_api):
    bob_api.post("/tokens", BODY, headers={"Idempotency-Key": "k1"})
    other = bob_api.post(
        "/tokens", {**BODY, "scopes": ["write"]}, headers={"Idempotency-Key": "k1"}
    )
    assert other.status_code == 422
    assert other.json()["type"] == "/api/v1/problems/idempotency-key-mismatch"
    assert len(fake_api.issued) == 1


def test_the_same_idempotency_key_from_two_api_keys_gives_two_tokens(
    bob_api, api_for, bob, acme, credential, fake_api
):
    other = api_for(bob, acme)
    assert bob_api.post("/tokens", BODY, headers={"Idempotency-Key": "same"}).status_code == 201
    assert other.post("/tokens", BODY, headers={"Idempotency-Key": "same"}).status_code == 201
    assert len(fake_api.issued) == 2


def test_without_a_key_every_request_is_a_new_token(bob_api, credential, fake_api):
    bob_api.post("/tokens", BODY)
    bob_api.post("/tokens", BODY)
    assert len(fake_api.issued) == 2


def test_a_replayed_failure_is_the_same_failure(bob_api, credential, fake_api):
    from portal.gateway.client import TokenApiError

    fake_api.error = TokenApiError("invalid_scope", status=400)
    first = bob_api.post("/tokens", BODY, headers={"Idempotency-Key": "f"})
    fake_api.error = None
    again = bob_api.post("/tokens", BODY, headers={"Idempotency-Key": "f"})
    assert first.status_code == again.status_code == 400
    assert first.json()["token_id"] == again.json()["token_id"]
    assert len(fake_api.calls) == 1


def test_a_request_still_in_flight_is_a_409_with_retry_after(
    bob_api, credential, fake_api, monkeypatch
):
    seen = {}
    real = fake_api.client_credentials_grant

    def grant_while_a_twin_arrives(credentials, **kwargs):
        # The same request again while the first one waits for the gateway.
        seen["twin"] = bob_api.post("/tokens", BODY, headers={"Idempotency-Key": "slow"})
        return real(credentials, **kwargs)

    from portal.gateway import client

    monkeypatch.setattr(client, "client_credentials_grant", grant_while_a_twin_arrives)
    first = bob_api.post("/tokens", BODY, headers={"Idempotency-Key": "slow"})
    assert first.status_code == 201
    twin = seen["twin"]
    assert twin.status_code == 409
    assert twin.json()["type"] == "/api/v1/problems/idempotency-in-progress"
    assert twin["Retry-After"] == "1" and twin.json()["token_id"] == first.json()["id"]


def test_renewal_with_an_idempotency_key_renews_once(bob_api, credential, fake_api):
    token = bob_api.post(
        "/tokens", {"credential": "Acme app", "grant": "password", "password": "p"}
    ).json()
    first = bob_api.post(f"/tokens/{token['id']}/renew", headers={"Idempotency-Key": "r1"})
    again = bob_api.post(f"/tokens/{token['id']}/renew", headers={"Idempotency-Key": "r1"})
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert len(fake_api.calls_named("refresh_token")) == 1
