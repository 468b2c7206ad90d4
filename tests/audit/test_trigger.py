"""On PostgreSQL the database itself refuses UPDATE and DELETE on the audit table - even to the
table's owner, whose rights the portal's own role lacks anyway (test_database_roles.py)."""

import pytest
from django.db import DatabaseError, connection, transaction

from portal.audit.models import AuditEvent
from portal.core import dbroles
from tests.audit.conftest import TABLE

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the append-only trigger is PostgreSQL-only"
)


@postgresql_only
def test_update_through_the_orm_is_rejected(append):
    # The trigger refuses it, or first the missing UPDATE grant of the portal's runtime role.
    append(2)
    with pytest.raises(DatabaseError, match="append-only|permission denied"):
        with transaction.atomic():
            AuditEvent.objects.filter(seq=1).update(actor_label="x")
    assert AuditEvent.objects.get(seq=1).actor_label == ""


@postgresql_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "sql", [f"DELETE FROM {TABLE} WHERE seq = 2", f"UPDATE {TABLE} SET seq = 9 WHERE seq = 2"]
)
def test_the_table_owner_too_is_refused_while_the_trigger_is_on(append, sql):
    append(2)
    with pytest.raises(DatabaseError, match="append-only"), dbroles.owner_cursor() as cursor:
        cursor.execute(sql)
    assert list(AuditEvent.objects.values_list("seq", flat=True).order_by("seq")) == [1, 2]


def test_inserts_still_work_with_the_trigger_in_place(append):
    assert [e.seq for e in append(3)] == [1, 2, 3]
