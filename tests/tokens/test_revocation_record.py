# ruff: noqa: F811  (the fixtures of test_flows are imported by name)
"""Revocation records that stay true: reconcile keeps trying, bulk revocation is bounded, and a
page never says "nothing changed" when the gateway did revoke."""

import time
from datetime import timedelta

import pytest
from django.urls import reverse

from portal.audit import services as audit_services
from portal.audit.models import Action
from portal.gateway import client
from portal.tokens import services
from portal.tokens.models import Issuance, Status
from portal.tokens.services import revoke as revoke_module

from .test_flows import _generate, credential, fake, gateway  # noqa: F401

pytestmark = pytest.mark.django_db


def _fail_the_revoked_record(monkeypatch):
    """Only the successful ``token.revoked`` write fails (after the gateway has revoked);
    returns the real ``record`` so a test can put it back."""
    real_record = audit_services.record

    def revoked_write_fails(**kwargs):
        if (
            kwargs["action"] == Action.TOKEN_REVOKED
            and kwargs.get("outcome", "success") == "success"
        ):
            raise RuntimeError("database went away")
        return real_record(**kwargs)

    monkeypatch.setattr(audit_services, "record", revoked_write_fails)
    return real_record


def test_reconcile_keeps_an_unfinished_revocation_until_the_gateway_answers(
    bob, credential, client_for, fake, monkeypatch
):
    _generate(client_for(bob), credential)
    issuance = Issuance.objects.get()
    real_record = _fail_the_revoked_record(monkeypatch)
    with pytest.raises(services.TokenActionError):
        services.token_revoke(user=bob, issuance=issuance)
    monkeypatch.setattr(audit_services, "record", real_record)

    # The gateway is down at the first reconcile: the request must survive for the next run.
    fake.revoke_error = client.TokenApiError("unavailable", status=503, grant="revoke")
    services.token_reconcile(older_than=timedelta(0))
    issuance.refresh_from_db()
    assert issuance.status == Status.ACTIVE and issuance.revoke_requested_at is not None

    fake.revoke_error = None
    services.token_reconcile(older_than=timedelta(0))
    issuance.refresh_from_db()
    assert issuance.status == Status.REVOKED


def test_the_page_says_revoked_upstream_when_only_the_record_failed(
    bob, credential, client_for, fake, monkeypatch
):
    browser = client_for(bob)
    _generate(browser, credential)
    issuance = Issuance.objects.get()
    _fail_the_revoked_record(monkeypatch)
    response = browser.post(
        reverse("tokens:revoke", args=[issuance.pk]), {"confirm": "1"}, follow=True
    )
    assert response.status_code == 200
    assert "The gateway revoked this token, but the portal could not record it yet" in (
        response.content.decode()
    )


def test_bulk_revocation_runs_calls_concurrently_and_reports_what_was_not_tried(
    bob, credential, client_for, fake, monkeypatch
):
    browser = client_for(bob)
    for _ in range(6):
        _generate(browser, credential)
    issuances = list(Issuance.objects.filter(status=Status.ACTIVE))
    monkeypatch.setattr(revoke_module, "BULK_CONCURRENCY", 2)
    monkeypatch.setattr(revoke_module, "BULK_DEADLINE_SECONDS", 0.45)
    real_revoke = fake.revoke

    def slow_revoke(credentials, token, token_type_hint=None):
        time.sleep(0.3)
        return real_revoke(credentials, token, token_type_hint)

    monkeypatch.setattr(client, "revoke", slow_revoke)
    started = time.monotonic()
    summary = services.token_revoke_many(user=bob, issuances=issuances)
    elapsed = time.monotonic() - started

    # Two at a time, 0.3 s each, no new call after 0.45 s: four revoked, two not tried.
    assert len(summary.revoked) == 4
    assert len(summary.not_tried) == 2
    assert elapsed < 1.5
    for issuance in summary.not_tried:
        issuance.refresh_from_db()
        assert issuance.status == Status.ACTIVE and issuance.revoke_requested_at is None


def test_a_user_token_whose_holder_was_deleted_cannot_be_renewed_but_can_be_revoked(
    alice, bob, credential, client_for, fake
):
    _generate(client_for(bob), credential)
    issuance = Issuance.objects.get()
    bob.delete()
    issuance.refresh_from_db()
    assert issuance.issued_by is None
    with pytest.raises(services.TokenActionError, match="no longer exists"):
        services.token_renew(user=alice, issuance=issuance)
    assert fake.calls_named("refresh_token") == []
    services.token_revoke(user=alice, issuance=issuance)
    issuance.refresh_from_db()
    assert issuance.status == Status.REVOKED
