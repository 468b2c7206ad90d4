"""PostgreSQL with two roles: the portal's own role can append to and read the audit trail, and
nothing else - it cannot empty the table, change or delete rows, switch the trigger off or drop
the table. Only the schema owner (DATABASE_OWNER_URL, used by migrate) could, and what it does to
the newest events is caught by the shipped checkpoints (see test_checkpoints.py)."""

import os
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from portal.audit.models import AuditEvent
from portal.audit.verify import verify_chain
from portal.core import dbroles
from tests.audit.conftest import TABLE, TRIGGER

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="database roles are PostgreSQL-only"
    ),
]
two_roles = pytest.mark.skipif(
    not dbroles.owner_configured(),
    reason="one database role does everything here (set DATABASE_OWNER_URL; CI does)",
)


@pytest.mark.skipif(not os.environ.get("CI"), reason="CI only")
def test_ci_runs_the_postgresql_suite_as_the_runtime_role():
    assert dbroles.owner_configured(), "CI's PostgreSQL run sets DATABASE_OWNER_URL"


def _attack(sql: str) -> str:
    """Run ``sql`` as the portal's role; return the database's refusal (fails if none)."""
    with pytest.raises(DatabaseError) as info, transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql)
    return str(info.value)


@two_roles
def test_the_portal_is_connected_as_a_plain_role(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT session_user = current_user, rolsuper, rolcreaterole, rolbypassrls "
            "FROM pg_roles WHERE rolname = session_user"
        )
        assert cursor.fetchone() == (True, False, False, False)
        cursor.execute(
            "SELECT pg_has_role(session_user, tableowner, 'MEMBER') FROM pg_tables "
            "WHERE tablename = %s",
            [TABLE],
        )
        assert cursor.fetchone() == (False,)


@two_roles
def test_the_portal_cannot_truncate_the_audit_trail(append):
    append(3)
    assert "permission denied" in _attack(f"TRUNCATE {TABLE}")
    assert AuditEvent.objects.count() == 3


@two_roles
def test_the_portal_cannot_delete_audit_events(append):
    append(3)
    assert "permission denied" in _attack(f"DELETE FROM {TABLE} WHERE seq = 3")
    assert AuditEvent.objects.count() == 3


@two_roles
def test_the_portal_cannot_update_audit_events(append):
    append(3)
    assert "permission denied" in _attack(f"UPDATE {TABLE} SET actor_label = 'x' WHERE seq = 2")
    assert AuditEvent.objects.get(seq=2).actor_label == ""


@two_roles
def test_the_portal_cannot_switch_the_append_only_trigger_off(append):
    append(1)
    assert "must be owner" in _attack(f"ALTER TABLE {TABLE} DISABLE TRIGGER {TRIGGER}")
    assert "must be owner" in _attack(f"ALTER TABLE {TABLE} DISABLE TRIGGER ALL")


@two_roles
def test_the_portal_cannot_drop_the_audit_table(append):
    append(1)
    assert "must be owner" in _attack(f"DROP TABLE {TABLE}")
    assert AuditEvent.objects.count() == 1


@two_roles
def test_the_portal_cannot_grant_itself_more(db):
    # A role without the grant option gets only a warning ("no privileges were granted").
    with connection.cursor() as cursor:
        cursor.execute(f"GRANT UPDATE, DELETE, TRUNCATE ON {TABLE} TO CURRENT_USER")
        cursor.execute(
            "SELECT has_table_privilege(%s, 'UPDATE'), has_table_privilege(%s, 'DELETE'), "
            "has_table_privilege(%s, 'TRUNCATE')",
            [TABLE, TABLE, TABLE],
        )
        assert cursor.fetchone() == (False, False, False)


@two_roles
def test_the_portal_appends_and_reads_audit_events(append):
    events = append(5)
    assert list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True)) == [1, 2, 3, 4, 5]
    assert verify_chain().head_hash == events[-1].hash


def _privileges(table: str) -> dict[str, bool]:
    names = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "TRIGGER")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT " + ", ".join("has_table_privilege(%s, %s)" for _ in names),
            [value for name in names for value in (table, name)],
        )
        return dict(zip(names, cursor.fetchone(), strict=True))


@two_roles
def test_migrate_left_the_portal_insert_and_select_only_on_the_audit_trail(db):
    # The test database was migrated by the owner; migrate then granted the runtime role.
    assert _privileges(TABLE) == {
        "SELECT": True,
        "INSERT": True,
        "UPDATE": False,
        "DELETE": False,
        "TRUNCATE": False,
        "TRIGGER": False,
    }
    assert _privileges("tokens_issuance") == {
        "SELECT": True,
        "INSERT": True,
        "UPDATE": True,
        "DELETE": True,
        "TRUNCATE": False,
        "TRIGGER": False,
    }
    assert _privileges("django_migrations")["INSERT"] is False


@two_roles
def test_grant_runtime_role_prints_the_sql_without_applying_it(db):
    out = StringIO()
    call_command("grant_runtime_role", "--print", stdout=out)
    role = settings.PORTAL_DATABASE_RUNTIME_ROLE
    assert f'GRANT SELECT, INSERT ON "{TABLE}" TO "{role}";' in out.getvalue().splitlines()
    assert "Applied" not in out.getvalue()


@two_roles
@pytest.mark.django_db(transaction=True)
def test_grant_runtime_role_is_rerunnable_and_takes_back_a_hand_made_grant():
    role = settings.PORTAL_DATABASE_RUNTIME_ROLE
    try:
        with dbroles.owner_cursor() as cursor:
            cursor.execute(f'GRANT UPDATE, DELETE, TRUNCATE ON {TABLE} TO "{role}"')
        assert _privileges(TABLE)["TRUNCATE"] is True
        call_command("grant_runtime_role", stdout=StringIO())
        call_command("grant_runtime_role", stdout=StringIO())
    finally:
        call_command("grant_runtime_role", stdout=StringIO())
    assert not any(_privileges(TABLE)[p] for p in ("UPDATE", "DELETE", "TRUNCATE"))
    assert _privileges(TABLE)["INSERT"] is True


@two_roles
def test_grant_runtime_role_refuses_a_role_that_could_switch_the_audit_off(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolname FROM pg_roles WHERE rolsuper ORDER BY 1 LIMIT 1")
        superuser = cursor.fetchone()[0]
    owner = settings.PORTAL_DATABASE_OWNER["USER"]
    with pytest.raises(CommandError, match="superuser"):
        call_command("grant_runtime_role", "--role", superuser, stdout=StringIO())
    with pytest.raises(CommandError, match="owns the tables"):
        call_command("grant_runtime_role", "--role", owner, stdout=StringIO())


def _deploy_warnings() -> list[str]:
    from django.core.checks import run_checks

    issues = run_checks(databases=["default"], include_deployment_checks=True)
    return [issue.id for issue in issues]


@two_roles
def test_deploy_check_is_quiet_when_the_portal_runs_as_the_runtime_role(db):
    assert "audit.W001" not in _deploy_warnings()


@pytest.mark.django_db(transaction=True)
def test_deploy_check_warns_when_the_portal_connects_as_the_tables_owner():
    # With one role (or the portal given DATABASE_OWNER_URL's role) the trail is not safe.
    with dbroles.as_owner():
        assert "audit.W001" in _deploy_warnings()
