"""On PostgreSQL the database itself refuses UPDATE and DELETE on the audit table."""

import pytest
from django.db import DatabaseError, connection, transaction

from portal.audit.models import AuditEvent
from tests.audit.conftest import TABLE

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the append-only trigger is PostgreSQL-only"
)


@postgresql_only
def test_update_through_the_orm_is_rejected(append):
    append(2)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(seq=1).update(actor_label="x")
    assert AuditEvent.objects.get(seq=1).actor_label == ""


@postgresql_only
def test_delete_through_raw_sql_is_rejected(append):
    append(2)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {TABLE} WHERE seq = 2")
    assert AuditEvent.objects.count() == 2


def test_inserts_still_work_with_the_trigger_in_place(append):
    assert [e.seq for e in append(3)] == [1, 2, 3]
