"""``audit.record(along=…)``: the row write an event records goes first, on PostgreSQL in the same
round trip as the chain's lock and head read, and the two still stand or fall together."""

import uuid

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.audit import services as audit
from portal.audit.chain import AuditWriteError
from portal.audit.models import Action, AuditEvent
from portal.audit.verify import verify_chain
from portal.core import fixed_sql
from portal.tokens.models import Issuance, Status
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def credential(acme, alice):
    return factories.credential_create(team=acme, actor=alice, gateway=factories.gateway_create())


def pending(credential, user, **overrides) -> Issuance:
    values = {
        "team_id": credential.team_id,
        "credential": credential,
        "gateway": credential.gateway,
        "token_url": credential.gateway.token_url,
        "issued_by": user,
        "grant_type": "client_credentials",
        "name": "pending",
        "status": Status.PENDING,
        "issued_at": timezone.now(),
        "idempotency_key": uuid.uuid4(),
    }
    return Issuance(**{**values, **overrides})


def record_with(write, user, **kwargs):
    with transaction.atomic():
        return audit.record(
            action=Action.TOKEN_REQUESTED, actor=user, target=write.instance, along=write, **kwargs
        )


def test_the_write_and_its_event_commit_together_in_one_round_trip_on_postgresql(credential, alice):
    issuance = pending(credential, alice)
    with CaptureQueriesContext(connection) as queries:
        event = record_with(fixed_sql.insert_write(issuance), alice)
    assert not issuance._state.adding
    assert Issuance.objects.get(pk=issuance.pk).status == Status.PENDING
    assert AuditEvent.objects.get(seq=event.seq).target_id == str(issuance.pk)
    sent = [q["sql"] for q in queries.captured_queries if q["sql"] not in ("BEGIN", "COMMIT")]
    if connection.vendor == "postgresql":
        assert len(sent) == 2, sent  # the write with the lock and head read, then the event
        assert sent[0].startswith('INSERT INTO "tokens_issuance"')
        assert "pg_advisory_xact_lock" in sent[0]
    issuance.status = Status.FAILED
    record_with(fixed_sql.update_write(issuance, ["status", "updated_at"]), alice)
    assert Issuance.objects.get(pk=issuance.pk).status == Status.FAILED
    assert verify_chain().count == AuditEvent.objects.count()


def test_the_writes_own_integrity_error_reaches_the_caller_and_nothing_is_recorded(
    credential, alice
):
    first = pending(credential, alice)
    record_with(fixed_sql.insert_write(first), alice)
    events = AuditEvent.objects.count()
    again = pending(credential, alice, idempotency_key=first.idempotency_key)
    with pytest.raises(IntegrityError):  # as from an INSERT sent alone: the caller's to handle
        record_with(fixed_sql.insert_write(again), alice)
    assert not Issuance.objects.filter(pk=again.pk).exists()
    assert AuditEvent.objects.count() == events


def test_an_update_that_finds_no_row_fails_closed_and_records_nothing(credential, alice):
    gone = pending(credential, alice)  # never inserted
    events = AuditEvent.objects.count()
    with pytest.raises(AuditWriteError) as raised:
        record_with(fixed_sql.update_write(gone, ["status", "updated_at"]), alice)
    assert isinstance(raised.value.__cause__, DatabaseError)
    assert AuditEvent.objects.count() == events


def test_an_integrity_error_of_the_event_itself_is_still_an_audit_failure(
    credential, alice, monkeypatch
):
    """Only the write's constraint errors pass through; the event's own fail closed as always."""
    real_insert = fixed_sql.insert

    def clashing(instance, *, cursor=None):
        if isinstance(instance, AuditEvent):
            raise IntegrityError("duplicate key value violates unique constraint")
        return real_insert(instance, cursor=cursor)

    monkeypatch.setattr(fixed_sql, "insert", clashing)
    issuance = pending(credential, alice)
    with pytest.raises(AuditWriteError):
        record_with(fixed_sql.insert_write(issuance), alice)
    assert not Issuance.objects.filter(pk=issuance.pk).exists()


def test_insert_write_needs_a_key_set_before_saving(alice):
    from portal.accounts.models import User

    with pytest.raises(ValueError, match="primary key"):
        fixed_sql.insert_write(User(username="nokey"))
