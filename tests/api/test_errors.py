"""Every error of the API is an RFC 9457 problem document with its stable type: authentication,
authorization, lookup, input, the portal's rate limit, each way the gateway can fail, the
fail-closed paths and the unexpected."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.html import escape

from portal.api import keys
from portal.api.models import ApiKey
from portal.api.v1 import problems
from portal.audit.chain import AuditWriteError
from portal.audit.models import AuditEvent
from portal.gateway import errors as gateway_errors
from portal.gateway.client import TokenApiError
from portal.teams import services as teams
from portal.teams.models import Role
from portal.tokens.models import Issuance, Status
from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db


def problem(response, slug: str, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == f"/api/v1/problems/{slug}"
    assert body["status"] == status and body["title"]
    assert "no-store" in response["Cache-Control"]
    return body


# --- unauthenticated --------------------------------------------------------------------------


def test_no_key_is_a_401_with_a_bearer_challenge(db):
    body = problem(ApiClient(None).get("/me"), "unauthenticated", 401)
    assert body["reason"] == "missing"


def test_the_challenge_names_the_bearer_scheme_without_an_error_when_no_key_was_sent(db):
    response = ApiClient(None).get("/me")
    assert response["WWW-Authenticate"] == 'Bearer realm="token-portal"'


@pytest.mark.parametrize(
    "header, reason",
    [("Basic YWxpY2U6cHc=", "malformed"), ("Bearer", "malformed"), ("Bearer tpk_nope", "unknown")],
)
def test_a_wrong_authorization_header_is_a_401(db, header, reason):
    response = Client().get("/api/v1/me", headers={"Authorization": header})
    body = problem(response, "unauthenticated", 401)
    assert body["reason"] == reason
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_an_unknown_well_formed_key_is_a_401(db):
    body = problem(ApiClient(keys.generate()).get("/me"), "unauthenticated", 401)
    assert body["reason"] == "unknown"


def test_an_expired_key_is_a_401_that_says_so(bob_api):
    ApiKey.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    body = problem(bob_api.get("/me"), "unauthenticated", 401)
    assert body["reason"] == "expired" and "expired" in body["detail"]


def test_a_revoked_key_is_a_401(bob_api, alice):
    from portal.api import services

    services.api_key_revoke(actor=alice, api_key=bob_api.api_key)
    assert problem(bob_api.get("/me"), "unauthenticated", 401)["reason"] == "revoked"


def test_a_key_whose_creator_left_the_team_is_a_401(bob_api, acme, alice, bob):
    teams.member_remove(membership=acme.memberships.get(user=bob), actor=alice)
    assert problem(bob_api.get("/me"), "unauthenticated", 401)["reason"] == "inactive"


def test_a_key_whose_creator_lost_the_role_is_a_401(bob_api, acme, alice, bob):
    teams.member_change_role(
        membership=acme.memberships.get(user=bob), role=Role.VIEWER, actor=alice
    )
    assert problem(bob_api.get("/tokens"), "unauthenticated", 401)["reason"] == "inactive"


def test_a_session_cookie_is_not_accepted(alice_client, credential, fake_api):
    response = alice_client.post(
        "/api/v1/tokens", {"credential": "Acme app"}, content_type="application/json"
    )
    problem(response, "unauthenticated", 401)
    assert not fake_api.calls and not Issuance.objects.exists()


def test_the_key_is_never_logged_or_echoed(bob_api, caplog, settings):
    settings.DEBUG = True
    wrong = "tpk_" + bob_api.key[4:-1] + "x"
    response = Client().get("/api/v1/me", headers={"Authorization": f"Bearer {wrong}"})
    assert wrong not in response.content.decode()
    assert wrong not in caplog.text and bob_api.key not in caplog.text


# --- forbidden, not found, method, malformed, validation --------------------------------------


def test_a_viewer_key_cannot_issue(api_for, carol, acme, credential, fake_api):
    viewer = api_for(carol, acme, Role.VIEWER)
    body = problem(viewer.post("/tokens", {"credential": "Acme app"}), "forbidden", 403)
    assert "issuer" in body["detail"] and not fake_api.calls


@pytest.mark.parametrize(
    "path", ["/tokens/00000000-0000-0000-0000-000000000000", "/tokens/not-a-uuid"]
)
def test_unknown_and_malformed_ids_are_404(bob_api, path):
    problem(bob_api.get(path), "not-found", 404)
    problem(bob_api.post(path + "/revoke"), "not-found", 404)


def test_an_unknown_credential_is_404(bob_api, credential):
    problem(bob_api.post("/tokens", {"credential": "No such app"}), "not-found", 404)


def test_an_archived_credential_is_404_as_on_the_generate_page(bob_api, credential, alice):
    from portal.vault import services as vault

    vault.credential_archive(credential=credential, actor=alice)
    problem(bob_api.post("/tokens", {"credential": str(credential.pk)}), "not-found", 404)


def test_an_unknown_endpoint_is_a_404_problem(bob_api):
    problem(bob_api.get("/nothing/here"), "not-found", 404)


def test_a_wrong_method_is_a_405_problem_with_allow(bob_api):
    response = bob_api.client.delete(
        "/api/v1/me", headers={"Authorization": f"Bearer {bob_api.key}"}
    )
    problem(response, "method-not-allowed", 405)
    assert response["Allow"] == "GET"


def test_a_body_that_is_not_json_is_a_400(bob_api):
    response = bob_api.client.post(
        "/api/v1/tokens",
        "{not json",
        content_type="application/json",
        headers={"Authorization": f"Bearer {bob_api.key}"},
    )
    problem(response, "malformed-request", 400)


def test_a_bad_idempotency_key_is_a_400(bob_api, credential, fake_api):
    response = bob_api.post(
        "/tokens", {"credential": "Acme app"}, headers={"Idempotency-Key": "x" * 300}
    )
    problem(response, "malformed-request", 400)
    assert not fake_api.calls


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "credential"),
        ({"credential": "Acme app", "grant": "implicit"}, "grant"),
        ({"credential": "Acme app", "scopes": ["two words"]}, "scopes"),
        ({"credential": "Acme app", "scopes": "read"}, "scopes"),
        ({"credential": "Acme app", "grant": "password"}, "password"),
    ],
)
def test_invalid_fields_are_422_with_each_field_named(bob_api, credential, fake_api, body, field):
    response = bob_api.post("/tokens", body)
    details = problem(response, "validation", 422)
    assert field in [e["field"] for e in details["errors"]]
    assert all(e["message"] for e in details["errors"])
    assert not fake_api.calls


def test_a_grant_the_credential_does_not_allow_is_a_field_error(
    bob_api, acme, alice, api_gateway, fake_api
):
    from portal.vault import services as vault

    vault.credential_create(
        team=acme,
        name="Users only",
        gateway=api_gateway,
        consumer_key="usersOnlyConsumerKey0123456",
        consumer_secret="usersOnlyConsumerSecret0123456",
        actor=alice,
    )
    body = problem(bob_api.post("/tokens", {"credential": "Users only"}), "validation", 422)
    assert body["errors"][0]["field"] == "grant"


def test_a_username_that_cannot_be_built_is_a_field_error(bob_api, credential, fake_api):
    from portal.vault.models import Credential

    Credential.objects.filter(pk=credential.pk).update(org_key_encrypted="v1:gone:AAAA")
    body = problem(
        bob_api.post("/tokens", {"credential": "Acme app", "grant": "password", "password": "p"}),
        "validation",
        422,
    )
    assert body["errors"][0]["field"] == "username"


# --- the portal's rate limit ------------------------------------------------------------------


def test_the_portals_rate_limit_is_a_429_with_retry_after_and_audited(
    bob_api, credential, fake_api, settings
):
    settings.PORTAL_RATE_LIMIT_PER_USER = 1
    assert bob_api.post("/tokens", {"credential": "Acme app"}).status_code == 201
    response = bob_api.post("/tokens", {"credential": "Acme app"})
    problem(response, "rate-limited", 429)
    assert response["Retry-After"] == "60"
    event = AuditEvent.objects.get(action="token.rate_limited")
    assert event.details["api_key_id"] == str(bob_api.api_key.pk)
    assert len(fake_api.issued) == 1


# --- the gateway's failures -------------------------------------------------------------------


@pytest.mark.parametrize(
    "error, body, slug, status",
    [
        (
            TokenApiError("invalid_grant", status=400, grant="password"),
            {"grant": "password", "password": "wrong"},
            "gateway-rejected-password",
            400,
        ),
        (TokenApiError("invalid_client", status=401), {}, "gateway-rejected-credential", 502),
        (TokenApiError("invalid_scope", status=400), {}, "gateway-rejected-scope", 400),
        (TokenApiError("unauthorized_client", status=400), {}, "gateway-grant-not-allowed", 400),
        (TokenApiError("invalid_request", status=400), {}, "gateway-bad-request", 502),
        (TokenApiError("connection"), {}, "gateway-unavailable", 503),
        (TokenApiError("unavailable", status=502), {}, "gateway-unavailable", 503),
        (TokenApiError("timeout"), {}, "gateway-timeout", 504),
        (TokenApiError("tls"), {}, "gateway-tls", 502),
        (TokenApiError("bad_response", status=200), {}, "gateway-bad-response", 502),
    ],
)
def test_each_gateway_failure_has_its_problem_and_is_recorded(
    bob_api, credential, fake_api, error, body, slug, status
):
    fake_api.error = error
    details = problem(bob_api.post("/tokens", {"credential": "Acme app", **body}), slug, status)
    issuance = Issuance.objects.get(pk=details["token_id"])
    assert issuance.status == Status.FAILED and issuance.failure_kind == error.kind
    assert details["detail"] == issuance.failure_message
    assert AuditEvent.objects.get(action="token.failed", target_id=str(issuance.pk)).details[
        "api_key_id"
    ] == str(bob_api.api_key.pk)


def test_a_busy_gateway_is_a_503_with_the_gateways_retry_after(bob_api, credential, fake_api):
    fake_api.error = TokenApiError("rate_limited", status=429, retry_after=7)
    response = bob_api.post("/tokens", {"credential": "Acme app"})
    problem(response, "gateway-busy", 503)
    assert response["Retry-After"] == "7"


def test_an_unavailable_gateway_says_when_to_retry(bob_api, credential, fake_api):
    fake_api.error = TokenApiError("connection")
    response = bob_api.post("/tokens", {"credential": "Acme app"})
    assert int(response["Retry-After"]) > 0


def test_a_refresh_token_the_gateway_no_longer_takes_is_gateway_rejected_grant(
    bob_api, credential, fake_api
):
    token = bob_api.post(
        "/tokens", {"credential": "Acme app", "grant": "password", "password": "p"}
    ).json()
    fake_api.error = TokenApiError("invalid_grant", status=400, grant="refresh_token")
    body = problem(bob_api.post(f"/tokens/{token['id']}/renew"), "gateway-rejected-grant", 409)
    assert "generate a new token" in body["detail"]


def test_a_failed_revocation_is_a_gateway_problem(bob_api, credential, fake_api):
    token = bob_api.post("/tokens", {"credential": "Acme app"}).json()
    fake_api.revoke_error = TokenApiError("timeout", grant="revoke")
    problem(bob_api.post(f"/tokens/{token['id']}/revoke"), "gateway-timeout", 504)
    assert Issuance.objects.get(pk=token["id"]).status == Status.ACTIVE


def test_every_gateway_error_kind_has_a_problem_of_its_own():
    for kind in gateway_errors.KINDS:
        assert problems.problem_for_failure(kind).slug != "internal-error", kind
    assert problems.problem_for_failure("busy").slug == "gateway-busy"


# --- refused actions, fail closed -------------------------------------------------------------


def test_renewing_a_token_without_refresh_token_is_refused(bob_api, credential, fake_api):
    token = bob_api.post("/tokens", {"credential": "Acme app"}).json()  # client credentials
    problem(bob_api.post(f"/tokens/{token['id']}/renew"), "action-refused", 409)


def test_revoking_twice_is_refused_the_second_time(bob_api, credential, fake_api):
    token = bob_api.post("/tokens", {"credential": "Acme app"}).json()
    assert bob_api.post(f"/tokens/{token['id']}/revoke").status_code == 200
    problem(bob_api.post(f"/tokens/{token['id']}/revoke"), "action-refused", 409)
    assert len(fake_api.calls_named("revoke")) == 1


def test_a_token_that_cannot_be_recorded_is_revoked_and_a_503(
    bob_api, credential, fake_api, monkeypatch
):
    from portal.tokens.services import issue as issue_service

    def broken(**kwargs):
        raise RuntimeError("database trouble")

    monkeypatch.setattr(issue_service.vault, "credential_mark_used", broken)
    response = bob_api.post("/tokens", {"credential": "Acme app"})
    problem(response, "recording-failed", 503)
    assert int(response["Retry-After"]) > 0
    assert fake_api.issued[0].access_token not in response.content.decode()
    assert len(fake_api.calls_named("revoke")) == 1  # fail closed: taken back upstream


def test_an_audit_trail_that_cannot_be_written_is_a_503_and_nothing_happens(
    bob_api, credential, fake_api, monkeypatch
):
    from portal.audit import services as audit

    def broken(**kwargs):
        raise AuditWriteError("down")

    monkeypatch.setattr(audit, "record", broken)
    problem(bob_api.post("/tokens", {"credential": "Acme app"}), "audit-unavailable", 503)
    assert not fake_api.calls and not Issuance.objects.exists()


def test_an_unreadable_credential_is_a_stored_secret_problem(bob_api, credential, fake_api):
    from portal.vault.models import Credential

    Credential.objects.filter(pk=credential.pk).update(consumer_secret_encrypted="v1:gone:AAAA")
    body = problem(
        bob_api.post("/tokens", {"credential": "Acme app"}), "stored-secret-unreadable", 500
    )
    assert Issuance.objects.get(pk=body["token_id"]).failure_kind == "credential_unreadable"
    assert not fake_api.calls


def test_an_unexpected_error_is_a_500_problem_without_a_traceback(bob_api, monkeypatch, settings):
    from portal.api import access

    settings.DEBUG = True  # not even in DEBUG

    def broken(principal):
        raise RuntimeError("internal detail 42")

    monkeypatch.setattr(access, "credentials_for_key", broken)
    response = bob_api.get("/credentials")
    body = problem(response, "internal-error", 500)
    assert "internal detail 42" not in response.content.decode() and "Traceback" not in str(body)


# --- the problem types themselves -------------------------------------------------------------


def test_every_problem_type_resolves_to_a_page_of_the_portal(db):
    client = Client()
    for slug, kind in problems.PROBLEMS.items():
        response = client.get(kind.type)
        assert response.status_code == 200, slug
        assert escape(kind.title) in response.content.decode()
    assert client.get("/api/v1/problems/no-such-thing").status_code == 404


def test_every_failure_maps_to_a_known_problem_type():
    assert set(problems.FAILURE_PROBLEMS.values()) <= set(problems.PROBLEMS)
