"""Every endpoint of /api/v1/ doing its job, through the same services as the pages (a fake
Token API behind them): who am I, credentials, issue, history, detail, renew, revoke, audit."""

import pytest
from django.db import connection

from portal.audit.models import AuditEvent
from portal.teams.models import Role
from portal.tokens.models import Issuance, Status

pytestmark = pytest.mark.django_db


def _issue(api, **body):
    body.setdefault("credential", "Acme app")
    response = api.post("/tokens", body)
    assert response.status_code == 201, response.content
    return response.json()


def test_me_says_who_the_key_acts_as(bob_api, acme):
    response = bob_api.get("/me")
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "bob" and body["api_store_email"] == "bob@bob.org"
    assert body["key"]["team"] == {"id": str(acme.pk), "name": "Acme"}
    assert body["key"]["role"] == "issuer" and body["key"]["credentials"] is None
    assert body["key"]["id"] == str(bob_api.api_key.pk)
    assert "no-store" in response["Cache-Control"]


def test_credentials_are_masked_and_never_carry_a_secret(bob_api, credential):
    response = bob_api.get("/credentials")
    assert response.status_code == 200
    [item] = response.json()
    assert item["name"] == "Acme app" and item["consumer_key"] == "apiT…6789"
    assert item["grants"] == ["password", "client_credentials"]
    text = response.content.decode()
    assert "apiTestConsumerKey0123456789" not in text
    assert "apiTestConsumerSecret" not in text and "acmeorg" not in text


def test_a_restricted_key_lists_only_its_credentials(
    api_for, bob, acme, credential, other_credential
):
    api = api_for(bob, acme, credentials=[other_credential])
    assert [c["name"] for c in api.get("/credentials").json()] == ["Acme other app"]
    assert api.get("/me").json()["key"]["credentials"] == ["Acme other app"]


def test_issue_with_client_credentials_returns_the_token_once(bob_api, bob, credential, fake_api):
    response = bob_api.post("/tokens", {"credential": "Acme app"})
    assert response.status_code == 201
    body = response.json()
    issued = fake_api.issued[0]
    assert body["access_token"] == issued.access_token
    assert body["status"] == "active" and body["grant"] == "client_credentials"
    assert body["granted_scopes"] == ["read", "write"]  # the credential's default scopes
    assert 3500 < body["expires_in"] <= 3600
    assert response["Location"] == f"/api/v1/tokens/{body['id']}"
    issuance = Issuance.objects.get(pk=body["id"])
    assert issuance.issued_by == bob and issuance.displayed_at is not None
    # Shown once: its record never carries it again.
    again = bob_api.get(f"/tokens/{body['id']}")
    assert issued.access_token not in again.content.decode()


def test_issue_by_credential_id_with_scopes(bob_api, credential, fake_api):
    body = _issue(bob_api, credential=str(credential.pk), scopes=["read"])
    assert body["requested_scopes"] == ["read"]
    assert fake_api.calls_named("client_credentials")[0]["scopes"] == ["read"]


def test_issue_reports_scopes_the_gateway_did_not_grant(bob_api, credential, fake_api):
    fake_api.grant_only = ["read"]
    body = _issue(bob_api, scopes=["read", "admin"])
    assert body["granted_scopes"] == ["read"] and body["scopes_not_granted"] == ["admin"]


def test_password_grant_builds_the_username_and_never_stores_the_password(
    bob_api, credential, fake_api
):
    password = "Upstream-Secret-Passw0rd!"
    body = _issue(bob_api, grant="password", password=password)
    call = fake_api.calls_named("password")[0]
    assert call["username"] == "bob@bob.org@acmeorg" and call["password"] == password
    assert body["username"] == "bob@bob.org@acmeorg" and body["renewable"] is True
    with connection.cursor() as cursor:
        for table in ("tokens_issuance", "audit_auditevent", "api_apikey"):
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - fixed names
            assert password not in str(cursor.fetchall())


def test_password_grant_with_an_explicit_username(bob_api, credential, fake_api):
    _issue(bob_api, grant="password", password="pw", username="bob-upstream")
    assert fake_api.calls_named("password")[0]["username"] == "bob-upstream"


def test_every_state_change_is_audited_with_the_key_beside_the_actor(
    bob_api, bob, credential, fake_api
):
    token_id = _issue(bob_api)["id"]
    bob_api.post(f"/tokens/{token_id}/revoke")
    events = AuditEvent.objects.filter(target_id=token_id).order_by("seq")
    assert [e.action for e in events] == [
        "token.requested",
        "token.issued",
        "token.revoke_requested",
        "token.revoked",
    ]
    for event in events:
        assert event.actor == bob
        assert event.details["api_key_id"] == str(bob_api.api_key.pk)
        assert event.request_id  # the request's context reached the trail


def test_only_events_of_a_request_made_with_a_key_carry_a_key_id(acme, alice):
    from portal.audit import services as audit
    from portal.audit.models import Action
    from portal.core import context

    plain = audit.record(action=Action.TEAM_CREATED, actor=alice, team=acme, details={"a": 1})
    with context.extended(api_key_id="k-123"):
        keyed = audit.record(action=Action.TEAM_CREATED, actor=alice, team=acme, details={})
    assert "api_key_id" not in plain.details
    assert keyed.details == {"api_key_id": "k-123"}
    assert context.current().api_key_id == ""


def test_history_lists_the_teams_tokens_newest_first_in_cursor_pages(bob_api, credential, fake_api):
    ids = [_issue(bob_api)["id"] for _ in range(5)]
    first = bob_api.get("/tokens", {"limit": 2})
    assert first.status_code == 200
    page1 = first.json()
    assert [t["id"] for t in page1["items"]] == ids[::-1][:2]
    assert page1["next_cursor"] and 'rel="next"' in first["Link"]
    page2 = bob_api.get("/tokens", {"limit": 2, "cursor": page1["next_cursor"]}).json()
    assert [t["id"] for t in page2["items"]] == ids[::-1][2:4]
    page3 = bob_api.get("/tokens", {"limit": 2, "cursor": page2["next_cursor"]}).json()
    assert [t["id"] for t in page3["items"]] == ids[:1] and page3["next_cursor"] is None


def test_history_takes_the_pages_filters(bob_api, carol, acme, api_for, credential, fake_api):
    kept = _issue(bob_api, scopes=["read"])["id"]
    revoked = _issue(bob_api, scopes=["write"])["id"]
    bob_api.post(f"/tokens/{revoked}/revoke")
    viewer = api_for(carol, acme, Role.VIEWER)
    assert [t["id"] for t in viewer.get("/tokens", {"status": "revoked"}).json()["items"]] == [
        revoked
    ]
    assert [t["id"] for t in viewer.get("/tokens", {"scope": "read"}).json()["items"]] == [kept]
    by_credential = viewer.get("/tokens", {"credential": str(credential.pk)}).json()["items"]
    assert len(by_credential) == 2


@pytest.mark.parametrize(
    "params, field",
    [
        ({"status": "bogus"}, "status"),
        ({"member": 999999}, "member"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"date_from": "2026-02-01", "date_to": "2026-01-01"}, "date_to"),
        ({"limit": 500}, "limit"),
        ({"scope": 'a"b'}, "scope"),
    ],
)
def test_history_rejects_bad_filters_field_by_field(bob_api, credential, params, field):
    response = bob_api.get("/tokens", params)
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]]


def test_detail_shows_one_token_without_token_material(bob_api, credential, fake_api):
    token_id = _issue(bob_api)["id"]
    body = bob_api.get(f"/tokens/{token_id}").json()
    assert body["id"] == token_id and body["credential"]["name"] == "Acme app"
    assert "access_token" not in body


def test_renew_gives_a_new_token_and_links_the_old_one(bob_api, credential, fake_api):
    old = _issue(bob_api, grant="password", password="pw")
    response = bob_api.post(f"/tokens/{old['id']}/renew")
    assert response.status_code == 201
    new = response.json()
    assert new["access_token"] == fake_api.issued[-1].access_token
    assert new["renewed_from"] == old["id"] and new["grant"] == "refresh_token"
    assert bob_api.get(f"/tokens/{old['id']}").json()["status"] == "renewed"


def test_revoke_revokes_at_the_gateway(bob_api, credential, fake_api):
    token_id = _issue(bob_api, grant="password", password="pw")["id"]
    response = bob_api.post(f"/tokens/{token_id}/revoke")
    assert response.status_code == 200
    assert response.json()["status"] == "revoked" and response.json()["revoked_by"] == "bob"
    assert fake_api.calls_named("revoke")[0]["token_type_hint"] == "refresh_token"
    assert Issuance.objects.get(pk=token_id).status == Status.REVOKED


def test_audit_for_an_issuer_key_is_its_creators_own_events(
    bob_api, api_for, alice, acme, credential, fake_api
):
    _issue(bob_api)
    _issue(api_for(alice, acme))
    actors = {e["actor"] for e in bob_api.get("/audit", {"limit": 200}).json()["items"]}
    assert actors == {"bob"}


def test_audit_for_a_viewer_key_is_the_teams_trail_in_cursor_pages(
    bob_api, api_for, carol, acme, credential, fake_api
):
    _issue(bob_api)
    viewer = api_for(carol, acme, Role.VIEWER)
    first = viewer.get("/audit", {"limit": 3})
    body = first.json()
    assert len(body["items"]) == 3 and body["next_cursor"]
    seqs = [e["seq"] for e in body["items"]]
    assert seqs == sorted(seqs, reverse=True)
    second = viewer.get("/audit", {"limit": 3, "cursor": body["next_cursor"]}).json()
    assert max(e["seq"] for e in second["items"]) < min(seqs)
    actors = {e["actor"] for e in viewer.get("/audit", {"limit": 200}).json()["items"]}
    assert {"alice", "bob"} <= actors
    issued = viewer.get("/audit", {"action": "token.issued"}).json()["items"]
    assert [e["action"] for e in issued] == ["token.issued"]
    assert issued[0]["details"]["api_key_id"] == str(bob_api.api_key.pk)


def test_audit_rejects_bad_filters(bob_api):
    response = bob_api.get("/audit", {"action": "no.such"})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "action"
