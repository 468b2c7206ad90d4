"""Generate, show once, renew and revoke through the views, against the fake Token API client."""

import logging
import re
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from portal.audit import services as audit_services
from portal.audit.models import Action, AuditEvent
from portal.gateway import client
from portal.tokens import services
from portal.tokens.models import Issuance, Status
from portal.vault import services as vault
from tests import factories
from tests.factories import ORG_KEY
from tests.fakes import FakeTokenApi

pytestmark = pytest.mark.django_db

API_STORE_PASSWORD = "my-API-store-pa55word!"


@pytest.fixture
def gateway(db):
    return factories.gateway_create()


@pytest.fixture
def credential(acme, alice, gateway):
    return factories.credential_create(
        team=acme,
        actor=alice,
        gateway=gateway,
        org_key=ORG_KEY,
        default_scopes=["default", "read"],
        allow_password=True,
        allow_client_credentials=True,
    )


@pytest.fixture
def fake(monkeypatch):
    return FakeTokenApi().install(monkeypatch)


def _generate(client_, credential, **overrides):
    data = {
        "credential": str(credential.pk),
        "grant_type": "password",
        "upstream_username": "john@johns.org@johnsorg",
        "password": API_STORE_PASSWORD,
        "scopes": ["default", "read"],
        "extra_scopes": "",
        "idempotency_key": str(uuid.uuid4()),
    }
    data.update(overrides)
    return client_.post(reverse("tokens:generate"), data)


def _raw_database_dump() -> str:
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


def test_generate_page_prefills_the_composed_username(bob, credential, client_for):
    bob.api_store_email = "john@johns.org"
    bob.save()
    page = client_for(bob).get(reverse("tokens:generate")).content.decode()
    assert 'value="john@johns.org@johnsorg"' in page
    assert "may <strong>revoke the previous one</strong>" in page


def test_password_grant_shows_the_token_once_and_records_everything(
    bob, credential, client_for, fake, caplog
):
    caplog.set_level(logging.DEBUG)
    browser = client_for(bob)
    response = _generate(browser, credential)
    issuance = Issuance.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("tokens:result", args=[issuance.pk])

    token = fake.issued[0].access_token
    first = browser.get(response["Location"])
    assert token in first.content.decode()
    # Shell-quoted (single quotes, HTML-escaped in the page).
    assert f"curl -H &#x27;Authorization: Bearer {token}&#x27;" in first.content.decode()
    assert "no-store" in first["Cache-Control"]
    second = browser.get(response["Location"])
    assert token not in second.content.decode()
    assert "already displayed once" in second.content.decode()

    assert issuance.status == Status.ACTIVE
    assert issuance.issued_by == bob
    assert issuance.granted_scopes == ["default", "read"]
    assert issuance.expires_at == issuance.issued_at + timedelta(seconds=3600)
    assert issuance.access_token_last4 == token[-4:]
    call = fake.calls_named("password")[0]
    assert call["username"] == "john@johns.org@johnsorg"
    assert call["credentials"].consumer_secret == "ksdSdoefDDP7wpaElfqvmjDue"
    assert call["credentials"].gateway == credential.gateway

    actions = list(
        AuditEvent.objects.filter(target_id=str(issuance.pk)).values_list("action", flat=True)
    )
    assert sorted(actions) == sorted([Action.TOKEN_REQUESTED, Action.TOKEN_ISSUED])

    # Neither the token, the refresh token nor the password is anywhere in clear.
    dump = _raw_database_dump()
    for secret in (token, fake.issued[0].refresh_token, API_STORE_PASSWORD):
        assert secret not in dump
        assert secret not in caplog.text
    for page in ("tokens:history", "dashboard"):
        assert token not in browser.get(reverse(page)).content.decode()
    assert token not in browser.get(reverse("tokens:detail", args=[issuance.pk])).content.decode()


def test_only_the_issuer_sees_the_token(bob, alice, credential, client_for, fake):
    response = _generate(client_for(bob), credential)
    page = client_for(alice).get(response["Location"]).content.decode()
    assert fake.issued[0].access_token not in page
    # ...and alice looking did not use up bob's one display.
    assert fake.issued[0].access_token in client_for(bob).get(response["Location"]).content.decode()


def test_granted_scopes_differing_from_requested_are_stored_and_warned(
    bob, credential, client_for, fake
):
    fake.grant_only = ["default"]
    response = _generate(client_for(bob), credential, extra_scopes="admin")
    issuance = Issuance.objects.get()
    assert issuance.requested_scopes == ["default", "read", "admin"]
    assert issuance.granted_scopes == ["default"]
    page = client_for(bob).get(response["Location"]).content.decode()
    assert "did not grant every scope" in page
    assert "Not granted: read, admin." in re.sub(r"<[^>]+>", "", page)


def test_jwt_claims_are_shown_with_the_token(bob, credential, client_for, fake):
    fake.jwt = True
    response = _generate(client_for(bob), credential)
    page = client_for(bob).get(response["Location"]).content.decode()
    assert "JWT claims" in page
    assert "john@johns.org@johnsorg" in page
    assert Issuance.objects.get().token_format == "jwt"


def test_client_credentials_gives_an_application_token_without_refresh(
    bob, credential, client_for, fake
):
    _generate(client_for(bob), credential, grant_type="client_credentials", password="")
    issuance = Issuance.objects.get()
    assert issuance.status == Status.ACTIVE
    assert issuance.upstream_username == ""
    assert not issuance.has_refresh_token
    assert not issuance.can_be_renewed
    assert "password" not in fake.calls_named("client_credentials")[0]


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("invalid_client", 401),
        ("invalid_grant", 400),
        ("invalid_scope", 400),
        ("unauthorized_client", 400),
        ("unsupported_grant_type", 400),
        ("invalid_request", 400),
        ("rate_limited", 503),
        ("unavailable", 502),
        ("timeout", None),
        ("connection", None),
        ("tls", None),
        ("bad_response", 200),
    ],
)
def test_every_gateway_error_is_a_message_a_failed_issuance_and_an_audit_event(
    bob, credential, client_for, fake, kind, status
):
    fake.error = client.TokenApiError(kind, status=status, grant="password")
    response = _generate(client_for(bob), credential, extra_scopes="write")
    page = response.content.decode()
    assert response.status_code == 200
    shown = page.replace("&#x27;", "'").replace("&quot;", '"')
    if kind == "invalid_scope":  # names the scopes that were asked for
        assert "refused the requested scopes (default, read, write)" in shown
    else:
        assert fake.error.message in shown
    issuance = Issuance.objects.get()
    assert issuance.status == Status.FAILED
    assert issuance.failure_kind == kind
    event = AuditEvent.objects.get(action=Action.TOKEN_FAILED, target_id=str(issuance.pk))
    assert event.details["reason"] == kind
    # The form keeps what was typed, except the password.
    assert 'value="john@johns.org@johnsorg"' in page
    assert 'value="write"' in page
    assert API_STORE_PASSWORD not in page


def test_missing_password_and_bad_scope_are_form_errors_without_upstream_call(
    bob, credential, client_for, fake
):
    response = _generate(client_for(bob), credential, password="", extra_scopes='bad"scope')
    page = response.content.decode()
    assert "Enter your API Store password." in page
    assert "is not a valid scope" in page
    assert fake.calls == []
    assert not Issuance.objects.exists()


def test_double_submit_mints_one_token(bob, credential, client_for, fake):
    key = str(uuid.uuid4())
    browser = client_for(bob)
    first = _generate(browser, credential, idempotency_key=key)
    second = _generate(browser, credential, idempotency_key=key)
    assert len(fake.calls_named("password")) == 1
    assert Issuance.objects.count() == 1
    assert first["Location"] == second["Location"]


def test_recording_failure_revokes_the_token_upstream_and_shows_none(
    bob, credential, client_for, fake, monkeypatch
):
    real_record = audit_services.record

    def failing_record(**kwargs):
        if kwargs["action"] == Action.TOKEN_ISSUED:
            raise RuntimeError("disk full")
        return real_record(**kwargs)

    monkeypatch.setattr(audit_services, "record", failing_record)
    response = _generate(client_for(bob), credential)
    page = response.content.decode()
    assert response.status_code == 200
    assert "could not record it, so it was revoked again" in page
    issued = fake.issued[0]
    assert issued.access_token not in page
    revoke = fake.calls_named("revoke")[0]
    assert revoke["token"] == issued.refresh_token
    issuance = Issuance.objects.get()
    assert issuance.status == Status.FAILED
    assert issuance.failure_kind == "recording_failed"
    assert issuance.access_token_encrypted == ""
    assert AuditEvent.objects.filter(
        action=Action.TOKEN_FAILED, target_id=str(issuance.pk)
    ).exists()


def test_tokens_of_an_answer_the_client_refused_are_revoked_upstream(
    bob, credential, client_for, fake, caplog
):
    # The gateway minted tokens in an answer the portal would not hold (a token with characters
    # outside RFC 6750, say): nobody holds them, so they are taken back at once.
    fake.error = client.TokenApiError(
        "bad_response",
        status=200,
        grant="password",
        unheld_tokens=(
            client.UnheldToken("refresh_token", "unheld-refresh-token-0001"),
            client.UnheldToken("access_token", "unheld-access$(id)"),
        ),
    )
    response = _generate(client_for(bob), credential)
    assert response.status_code == 200
    assert "unheld" not in response.content.decode()
    issuance = Issuance.objects.get()
    assert issuance.status == Status.FAILED
    assert issuance.failure_kind == "bad_response"
    assert issuance.access_token_encrypted == issuance.refresh_token_encrypted == ""
    revokes = fake.calls_named("revoke")
    assert [(r["token"], r["token_type_hint"]) for r in revokes] == [
        ("unheld-refresh-token-0001", "refresh_token"),
        ("unheld-access$(id)", "access_token"),
    ]
    assert revokes[0]["credentials"].gateway == credential.gateway
    assert "unheld-refresh-token-0001" not in caplog.text
    assert "unheld-access" not in caplog.text
    assert "unheld" not in _raw_database_dump()
    # The take-back is audited with the failure: which tokens, and whether the gateway accepted.
    failed = AuditEvent.objects.get(action=Action.TOKEN_FAILED, target_id=str(issuance.pk))
    assert failed.details["tokens_taken_back"] == {"refresh": True, "access": True}


def test_a_refused_answer_is_still_recorded_when_taking_its_tokens_back_fails(
    bob, credential, client_for, fake
):
    fake.error = client.TokenApiError(
        "bad_response",
        status=200,
        grant="password",
        unheld_tokens=(client.UnheldToken("access_token", "unheld-access-token-0002"),),
    )
    fake.revoke_error = client.TokenApiError("unavailable", status=502, grant="revoke")
    _generate(client_for(bob), credential)
    issuance = Issuance.objects.get()
    assert issuance.status == Status.FAILED
    assert issuance.failure_kind == "bad_response"
    assert len(fake.calls_named("revoke")) == 1


def test_renew_links_the_chain_and_rotates_the_refresh_token(bob, credential, client_for, fake):
    browser = client_for(bob)
    _generate(browser, credential)
    old = Issuance.objects.get()
    confirm = browser.get(reverse("tokens:renew", args=[old.pk]))
    assert "may also <strong>revoke the current access token</strong>" in confirm.content.decode()
    response = browser.post(
        reverse("tokens:renew", args=[old.pk]), {"idempotency_key": str(uuid.uuid4())}
    )
    new = Issuance.objects.exclude(pk=old.pk).get()
    assert response["Location"] == reverse("tokens:result", args=[new.pk])
    old.refresh_from_db()
    assert old.status == Status.RENEWED
    assert old.refresh_token_encrypted == "" and old.access_token_encrypted == ""
    assert new.renewed_from == old
    assert new.status == Status.ACTIVE
    assert fake.calls_named("refresh_token")[0]["refresh_token"] == fake.issued[0].refresh_token
    assert fake.issued[1].access_token in browser.get(response["Location"]).content.decode()
    assert AuditEvent.objects.filter(action=Action.TOKEN_RENEWED, target_id=str(new.pk)).exists()


def test_renew_with_a_dead_refresh_token_says_generate_a_new_one(bob, credential, client_for, fake):
    browser = client_for(bob)
    _generate(browser, credential)
    old = Issuance.objects.get()
    fake.error = client.TokenApiError("invalid_grant", status=400, grant="refresh_token")
    response = browser.post(reverse("tokens:renew", args=[old.pk]), follow=True)
    assert "generate a new token" in response.content.decode().lower()
    old.refresh_from_db()
    assert old.status == Status.ACTIVE
    assert Issuance.objects.filter(status=Status.FAILED, grant_type="refresh_token").count() == 1


def test_revoke_prefers_the_refresh_token_and_wipes_stored_tokens(
    bob, credential, client_for, fake
):
    browser = client_for(bob)
    _generate(browser, credential)
    issuance = Issuance.objects.get()
    confirm = browser.get(reverse("tokens:revoke", args=[issuance.pk]))
    assert "cannot be undone" in confirm.content.decode()
    assert fake.calls_named("revoke") == []
    response = browser.post(reverse("tokens:revoke", args=[issuance.pk]), follow=True)
    assert "until their cache expires" in response.content.decode()
    call = fake.calls_named("revoke")[0]
    assert call["token"] == fake.issued[0].refresh_token
    assert call["token_type_hint"] == "refresh_token"
    issuance.refresh_from_db()
    assert issuance.status == Status.REVOKED
    assert issuance.revoked_by == bob
    assert issuance.access_token_encrypted == issuance.refresh_token_encrypted == ""
    assert AuditEvent.objects.filter(action=Action.TOKEN_REVOKED, outcome="success").exists()


def test_failed_revoke_keeps_the_token_active_and_is_audited(bob, credential, client_for, fake):
    browser = client_for(bob)
    _generate(browser, credential)
    issuance = Issuance.objects.get()
    fake.revoke_error = client.TokenApiError(
        "rate_limited", status=503, grant="revoke", retry_after=30
    )
    response = browser.post(reverse("tokens:revoke", args=[issuance.pk]), follow=True)
    assert fake.revoke_error.message in response.content.decode().replace("&#x27;", "'")
    issuance.refresh_from_db()
    assert issuance.status == Status.ACTIVE
    assert AuditEvent.objects.filter(action=Action.TOKEN_REVOKED, outcome="failure").exists()


def test_bulk_revoke_confirms_then_revokes_each(alice, bob, credential, client_for, fake):
    for user in (alice, bob, bob):
        _generate(client_for(user), credential)
    ids = [str(i.pk) for i in Issuance.objects.all()]
    owner = client_for(alice)
    confirm = owner.post(reverse("tokens:revoke_bulk"), {"issuances": ids})
    assert "Revoke 3 tokens" in confirm.content.decode()
    assert fake.calls_named("revoke") == []
    owner.post(reverse("tokens:revoke_bulk"), {"issuances": ids, "confirm": "1"})
    assert len(fake.calls_named("revoke")) == 3
    assert set(Issuance.objects.values_list("status", flat=True)) == {Status.REVOKED}


def test_bulk_revoke_of_another_members_token_is_refused_for_an_issuer(
    alice, bob, credential, client_for, fake
):
    _generate(client_for(alice), credential)
    ids = [str(Issuance.objects.get().pk)]
    response = client_for(bob).post(
        reverse("tokens:revoke_bulk"), {"issuances": ids, "confirm": "1"}
    )
    assert response.status_code == 403
    assert fake.calls_named("revoke") == []


@pytest.mark.parametrize(
    ("who", "result", "manage"),
    [("alice", 200, 200), ("bob", 200, 200), ("carol", 200, 403), ("mallory", 404, 404)],
)
def test_token_pages_access_matrix(cast, bob, credential, client_for, fake, who, result, manage):
    _generate(client_for(bob), credential)
    issuance = Issuance.objects.get()
    browser = client_for(cast[who])
    assert browser.get(reverse("tokens:result", args=[issuance.pk])).status_code == result
    assert browser.get(reverse("tokens:renew", args=[issuance.pk])).status_code == manage
    assert browser.get(reverse("tokens:revoke", args=[issuance.pk])).status_code == manage


def test_issuer_cannot_renew_someone_elses_token(alice, bob, credential, client_for, fake):
    _generate(client_for(alice), credential)
    issuance = Issuance.objects.get()
    assert client_for(bob).post(reverse("tokens:renew", args=[issuance.pk])).status_code == 403
    assert fake.calls_named("refresh_token") == []


def test_viewer_and_outsider_cannot_generate_with_the_teams_credential(
    carol, mallory, credential, client_for, fake
):
    assert _generate(client_for(carol), credential).status_code == 403
    assert _generate(client_for(mallory), credential).status_code == 404
    url = reverse("tokens:generate") + f"?credential={credential.pk}"
    assert client_for(carol).get(url).status_code == 403
    assert client_for(mallory).get(url).status_code == 404
    assert fake.calls == []
    assert not Issuance.objects.exists()
    page = client_for(carol).get(reverse("tokens:generate")).content.decode()
    assert "Acme app" not in page


@override_settings(PORTAL_RATE_LIMIT_PER_USER=2)
def test_rate_limit_per_user_gives_a_message_and_an_audit_event(bob, credential, client_for, fake):
    browser = client_for(bob)
    _generate(browser, credential)
    _generate(browser, credential)
    response = _generate(browser, credential)
    assert "Please wait a minute" in response.content.decode()
    assert len(fake.calls_named("password")) == 2
    assert AuditEvent.objects.filter(action=Action.TOKEN_RATE_LIMITED, outcome="denied").exists()


def test_archived_credential_issues_nothing(alice, bob, credential, client_for, fake):
    vault.credential_archive(credential=credential, actor=alice)
    response = _generate(client_for(bob), credential)
    assert response.status_code == 404
    assert fake.calls == []


def test_reconcile_fails_old_pending_rows_and_audits(bob, credential):
    stale = Issuance.objects.create(
        team=credential.team,
        credential=credential,
        issued_by=bob,
        grant_type="password",
        issued_at=timezone.now() - timedelta(minutes=30),
    )
    fresh = Issuance.objects.create(
        team=credential.team, credential=credential, issued_by=bob, grant_type="password"
    )
    call_command("reconcile", "--older-than", "10")
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.status == Status.FAILED and stale.failure_kind == "interrupted"
    assert fresh.status == Status.PENDING
    assert AuditEvent.objects.filter(
        action=Action.TOKEN_RECONCILED, target_id=str(stale.pk)
    ).exists()


def test_purge_wipes_tokens_of_terminal_and_long_expired_issuances(
    bob, credential, client_for, fake
):
    browser = client_for(bob)
    _generate(browser, credential)
    _generate(browser, credential)
    keep, old = Issuance.objects.order_by("issued_at")
    Issuance.objects.filter(pk=old.pk).update(
        issued_at=timezone.now() - timedelta(days=3), expires_at=timezone.now() - timedelta(days=2)
    )
    call_command("purge_tokens")
    old.refresh_from_db()
    keep.refresh_from_db()
    assert old.access_token_encrypted == old.refresh_token_encrypted == ""
    assert not old.can_be_renewed
    assert keep.access_token_encrypted != ""
    assert (
        AuditEvent.objects.filter(action=Action.TOKENS_PURGED).latest("seq").details["purged"] == 1
    )


def test_owner_renewing_a_members_token_cannot_see_the_new_token(
    alice, bob, credential, client_for, fake
):
    _generate(client_for(bob), credential)
    old = Issuance.objects.get()
    response = client_for(alice).post(
        reverse("tokens:renew", args=[old.pk]), {"idempotency_key": str(uuid.uuid4())}, follow=True
    )
    new = Issuance.objects.get(renewed_from=old)
    assert new.issued_by == bob
    page = response.content.decode()
    assert "only they can display it" in page
    renewed_token = fake.issued[1].access_token
    assert renewed_token not in page
    assert (
        renewed_token
        not in client_for(alice).get(reverse("tokens:result", args=[new.pk])).content.decode()
    )
    event = AuditEvent.objects.get(action=Action.TOKEN_RENEWED, target_id=str(new.pk))
    assert event.actor == alice
    # bob finds it on its page and sees it once.
    detail = client_for(bob).get(reverse("tokens:detail", args=[new.pk])).content.decode()
    assert "Show this token (once)" in detail
    assert (
        renewed_token
        in client_for(bob).get(reverse("tokens:result", args=[new.pk])).content.decode()
    )


def test_a_gateway_that_says_never_expires_is_recorded_without_expiry(
    bob, credential, client_for, fake
):
    fake.expires_in = 9223372036854775
    response = _generate(client_for(bob), credential)
    issuance = Issuance.objects.get()
    assert response.status_code == 302
    assert issuance.status == Status.ACTIVE
    assert issuance.expires_at is None
    assert fake.calls_named("revoke") == []


def test_a_gateway_that_gives_no_lifetime_is_recorded_without_expiry(
    bob, credential, client_for, fake
):
    fake.expires_in = None  # RFC 6749 §5.1: expires_in is recommended, not required
    response = _generate(client_for(bob), credential)
    issuance = Issuance.objects.get()
    assert response.status_code == 302
    assert issuance.status == Status.ACTIVE
    assert issuance.expires_at is None
    assert issuance.display_status == "active"
    assert fake.calls_named("revoke") == []
    event = AuditEvent.objects.get(action=Action.TOKEN_ISSUED)
    assert event.details["expires_in"] is None


def test_revoking_a_token_renewed_meanwhile_says_so(bob, credential, client_for, fake):
    _generate(client_for(bob), credential)
    issuance = Issuance.objects.get()
    stale = Issuance.objects.get(pk=issuance.pk)
    Issuance.objects.filter(pk=issuance.pk).update(status=Status.RENEWED)
    with pytest.raises(services.TokenActionError, match="renewed by another request"):
        services.token_revoke(user=bob, issuance=stale)


def test_bulk_revoke_counts_one_token_once_whatever_its_spelling(
    alice, credential, client_for, fake
):
    _generate(client_for(alice), credential)
    pk = str(Issuance.objects.get().pk)
    client_for(alice).post(
        reverse("tokens:revoke_bulk"), {"issuances": [pk, pk.upper()], "confirm": "1"}
    )
    assert len(fake.calls_named("revoke")) == 1


def test_a_revocation_the_portal_could_not_record_is_finished_by_reconcile(
    bob, credential, client_for, fake, monkeypatch
):
    _generate(client_for(bob), credential)
    issuance = Issuance.objects.get()
    real_record = audit_services.record

    def database_gone_after_the_gateway_answered(**kwargs):
        if (
            kwargs["action"] == Action.TOKEN_REVOKED
            and kwargs.get("outcome", "success") == "success"
        ):
            raise RuntimeError("database went away")
        return real_record(**kwargs)

    monkeypatch.setattr(audit_services, "record", database_gone_after_the_gateway_answered)
    # The person is told the truth: revoked at the gateway, recorded later (not "nothing changed").
    with pytest.raises(services.TokenActionError, match="gateway revoked this token, but"):
        services.token_revoke(user=bob, issuance=issuance)
    issuance.refresh_from_db()
    assert issuance.status == Status.ACTIVE  # the gateway revoked it; the portal could not say so
    assert issuance.revoke_requested_at is not None
    assert AuditEvent.objects.filter(action=Action.TOKEN_REVOKE_REQUESTED).count() == 1

    monkeypatch.setattr(audit_services, "record", real_record)
    services.token_reconcile(older_than=timedelta(0))
    issuance.refresh_from_db()
    assert issuance.status == Status.REVOKED
    assert len(fake.calls_named("revoke")) == 2


def test_a_failed_revocation_is_not_retried_behind_the_users_back(
    bob, credential, client_for, fake
):
    _generate(client_for(bob), credential)
    issuance = Issuance.objects.get()
    fake.revoke_error = client.TokenApiError("unavailable", status=502, grant="revoke")
    with pytest.raises(services.TokenActionError):
        services.token_revoke(user=bob, issuance=issuance)
    issuance.refresh_from_db()
    assert issuance.revoke_requested_at is None
    services.token_reconcile(older_than=timedelta(0))
    assert len(fake.calls_named("revoke")) == 1
