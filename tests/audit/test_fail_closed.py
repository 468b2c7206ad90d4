"""If the audit write fails, the action it records does not happen and the user is told so."""

import pytest
from django.db import transaction
from django.urls import reverse

from portal.audit import chain
from portal.audit import services as audit
from portal.audit.chain import AuditWriteError
from portal.audit.models import Action, AuditEvent
from portal.teams import services as teams
from portal.teams.models import Membership, Team

pytestmark = pytest.mark.django_db


@pytest.fixture
def broken_audit(monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("HMAC unavailable")

    monkeypatch.setattr(chain, "compute_hash", explode)


def test_team_is_not_created_when_its_audit_event_cannot_be_written(alice, broken_audit):
    before = AuditEvent.objects.count()
    with pytest.raises(AuditWriteError):
        teams.team_create(name="Ghost Team", owner=alice)
    assert not Team.objects.filter(name="Ghost Team").exists()
    assert AuditEvent.objects.count() == before


def test_create_team_page_shows_an_error_not_a_500_and_creates_nothing(alice_client, broken_audit):
    response = alice_client.post(reverse("teams:create"), {"name": "Ghost Team"})
    assert response.status_code == 503
    body = response.content.decode()
    assert "Nothing was changed" in body
    assert "not performed" in body
    assert not Team.objects.filter(name="Ghost Team").exists()


def test_member_is_not_added_when_the_audit_write_fails(alice_client, acme, mallory, broken_audit):
    response = alice_client.post(
        reverse("teams:member_add", args=[acme.pk]),
        {"identifier": "mallory", "role": "viewer", "account": mallory.pk, "confirm": 1},
    )
    assert response.status_code == 503
    assert not Membership.objects.filter(team=acme, user=mallory).exists()


def test_a_caller_that_swallows_the_error_still_rolls_back(alice, broken_audit):
    with transaction.atomic():
        team = Team.objects.create(name="Sneaky")
        try:
            audit.record(action=Action.TEAM_CREATED, actor=alice, team=team, target=team)
        except AuditWriteError:
            pass
    assert not Team.objects.filter(name="Sneaky").exists()


def test_a_database_error_inside_record_is_reported_as_an_audit_failure(alice, monkeypatch):
    # team_create reads IntegrityError as "duplicate name"; an audit failure must not look so.
    # record() writes the event with fixed_sql.insert (no longer AuditEvent.save): the error is
    # injected there, where the row is written.
    from django.db import IntegrityError

    from portal.core import fixed_sql

    def clash(*args, **kwargs):
        raise IntegrityError("UNIQUE constraint failed: audit_auditevent.seq")

    monkeypatch.setattr(fixed_sql, "insert", clash)
    with pytest.raises(AuditWriteError):
        teams.team_create(name="Clash", owner=alice)
    assert not Team.objects.filter(name="Clash").exists()


def test_a_constraint_the_database_enforces_on_the_event_fails_closed(alice, monkeypatch):
    # The same without a stand-in: a stale chain head makes the database itself refuse the row
    # (seq and prev_hash are unique), and nothing of the action remains.
    from django.db import connection

    audit.record(action=Action.PROFILE_UPDATED, actor=alice)
    with connection.cursor() as cursor:
        stale = audit._chain_head(cursor)
    audit.record(action=Action.PROFILE_UPDATED, actor=alice)
    before = AuditEvent.objects.count()
    monkeypatch.setattr(audit, "_chain_head", lambda cursor: stale)
    with pytest.raises(AuditWriteError):
        teams.team_create(name="Clash", owner=alice)
    assert not Team.objects.filter(name="Clash").exists()
    assert AuditEvent.objects.count() == before


def test_a_missing_audit_key_refuses_to_write(alice, settings):
    settings.PORTAL_AUDIT_KEY = ""
    with pytest.raises(AuditWriteError, match="PORTAL_AUDIT_KEY"):
        teams.team_create(name="Keyless", owner=alice)
    assert not Team.objects.filter(name="Keyless").exists()


def test_export_is_refused_when_it_cannot_be_audited(alice_client, acme, broken_audit):
    response = alice_client.get(reverse("audit:export", args=["csv"]), {"team": acme.pk})
    assert response.status_code == 503
    assert not response.streaming
    assert b"seq,at" not in response.content
