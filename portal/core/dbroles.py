"""Two PostgreSQL roles, so the portal cannot switch its own audit trail off.

A table's owner can TRUNCATE it, disable its triggers and drop it, whatever the append-only
trigger says. So the tables belong to an *owner* role (``DATABASE_OWNER_URL``) that only the
deploy step uses - ``migrate`` runs as it - and the app servers connect as a *runtime* role
(``DATABASE_URL``) that owns nothing: it may read and write the portal's tables, but on the audit
table only INSERT and SELECT. ``runtime_grants`` is that rule as SQL; ``migrate`` applies it after
every run (new tables included), ``manage.py grant_runtime_role`` prints or applies it on demand.

Without ``DATABASE_OWNER_URL`` (SQLite, development) one role does everything: ``migrate`` is
Django's own, and the helpers here treat the ``DATABASE_URL`` role as the owner.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

# The parts of a connection's settings that say who connects and how (NAME stays: same
# database); OPTIONS holds what the URL's query string says (sslmode=…).
CREDENTIALS = {"USER": "", "PASSWORD": "", "HOST": "", "PORT": "", "OPTIONS": {}}

# What the runtime role may do: everything a request needs on the portal's tables ...
RUNTIME_TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
# ... but the audit trail is append-only for it (no UPDATE, DELETE, TRUNCATE, TRIGGER) ...
RUNTIME_AUDIT_PRIVILEGES = "SELECT, INSERT"
# ... and the migration history is the owner's.
MIGRATIONS_TABLE = "django_migrations"


class RoleSetupError(Exception):
    """The runtime role could switch the audit off (a superuser, the owner, or one of its members)."""


def owner_configured(alias: str = DEFAULT_DB_ALIAS) -> bool:
    return alias == DEFAULT_DB_ALIAS and settings.PORTAL_DATABASE_OWNER is not None


def owner_credentials(alias: str = DEFAULT_DB_ALIAS) -> dict:
    """Who connects as the owner: DATABASE_OWNER_URL's role, or with one role that role itself."""
    source = settings.PORTAL_DATABASE_OWNER if owner_configured(alias) else None
    source = source or connections[alias].settings_dict
    return {key: source.get(key, empty) for key, empty in CREDENTIALS.items()}


def switch_credentials(alias: str, credentials: dict) -> dict:
    """Reconnect ``alias`` with other credentials (same database); returns the previous ones."""
    connection = connections[alias]
    previous = {key: connection.settings_dict.get(key, empty) for key, empty in CREDENTIALS.items()}
    connection.close()
    connection.settings_dict.update(credentials)
    return previous


@contextmanager
def as_owner(alias: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Run the block with ``alias`` itself connected as the owner (so data migrations, which use
    the default connection, run as the owner too); back to the runtime role afterwards."""
    if not owner_configured(alias):
        yield
        return
    previous = switch_credentials(alias, owner_credentials(alias))
    try:
        yield
    finally:
        switch_credentials(alias, previous)


@contextmanager
def owner_cursor(alias: str = DEFAULT_DB_ALIAS) -> Iterator:
    """A cursor on a separate connection as the owner, one transaction committed on success.

    The caller's own connection and transaction are left alone."""
    base = connections[alias]
    owner = base.__class__({**base.settings_dict, **owner_credentials(alias)}, alias)
    try:
        owner.set_autocommit(False)
        with owner.cursor() as cursor:
            yield cursor
        owner.commit()
    except BaseException:
        if owner.connection is not None:
            owner.rollback()
        raise
    finally:
        owner.close()


def runtime_grants(cursor, *, role: str, alias: str = DEFAULT_DB_ALIAS) -> list[str]:
    """The statements that give ``role`` exactly its rights on every table of the portal.

    Revoke-then-grant in one transaction, so running them again (after a migration, or over a
    hand-made grant) converges on the same rights."""
    from portal.audit.models import AuditEvent

    connection = connections[alias]
    quote = connection.ops.quote_name
    introspection = connection.introspection
    existing = set(introspection.table_names(cursor))
    tables = sorted(
        (set(introspection.django_table_names(only_existing=False)) | {MIGRATIONS_TABLE}) & existing
    )
    audit = AuditEvent._meta.db_table
    if audit not in existing:
        raise RoleSetupError("The database has no audit table yet: run migrate first.")
    others = [quote(t) for t in tables if t not in (audit, MIGRATIONS_TABLE)]
    cursor.execute(
        "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind = 'S' AND n.nspname = current_schema() ORDER BY 1"
    )
    sequences = [row[0] for row in cursor.fetchall()]
    role = quote(role)
    statements = [
        f"GRANT USAGE ON SCHEMA {quote(current_schema(cursor))} TO {role}",
        f"REVOKE ALL ON {', '.join(quote(t) for t in tables)} FROM {role}",
        f"GRANT {RUNTIME_TABLE_PRIVILEGES} ON {', '.join(others)} TO {role}",
        f"GRANT {RUNTIME_AUDIT_PRIVILEGES} ON {quote(audit)} TO {role}",
        f"GRANT SELECT ON {quote(MIGRATIONS_TABLE)} TO {role}",
    ]
    if sequences:
        # Identity columns need no grant; sequences of older serial columns do.
        statements.insert(2, f"REVOKE ALL ON SEQUENCE {', '.join(sequences)} FROM {role}")
        statements.append(f"GRANT USAGE, SELECT ON SEQUENCE {', '.join(sequences)} TO {role}")
    return statements


def current_schema(cursor) -> str:
    cursor.execute("SELECT current_schema()")
    return cursor.fetchone()[0]


def check_runtime_role(cursor, *, role: str) -> None:
    """Raise RoleSetupError unless ``role`` is unable to alter the audit trail."""
    from portal.audit.models import AuditEvent

    cursor.execute(
        "SELECT r.rolsuper, pg_has_role(r.rolname, t.tableowner, 'MEMBER'), "
        "has_table_privilege(r.rolname, t.schemaname || '.' || t.tablename, "
        "'UPDATE, DELETE, TRUNCATE, TRIGGER') "
        "FROM pg_roles r, pg_tables t "
        "WHERE r.rolname = %s AND t.tablename = %s AND t.schemaname = current_schema()",
        [role, AuditEvent._meta.db_table],
    )
    row = cursor.fetchone()
    if row is None:
        raise RoleSetupError(f"There is no role {role!r} (or no audit table yet).")
    superuser, owner, may_alter = row
    if superuser:
        raise RoleSetupError(f"The runtime role {role!r} is a superuser: it can do anything.")
    if owner:
        raise RoleSetupError(
            f"The runtime role {role!r} owns the audit table or is a member of its owner: it can "
            "truncate the table or disable its trigger. Use a role that owns nothing."
        )
    if may_alter:
        raise RoleSetupError(f"The runtime role {role!r} may still change the audit table.")


def grant_runtime_role(*, role: str, alias: str = DEFAULT_DB_ALIAS, apply: bool = True) -> list:
    """Compute (and with ``apply``, execute as the owner) the runtime role's grants; returns the
    statements. Raises RoleSetupError when the role could alter the audit trail afterwards."""
    with owner_cursor(alias) as cursor:
        cursor.execute("SELECT current_user")
        if cursor.fetchone()[0] == role:
            raise RoleSetupError(
                f"{role!r} is the role that owns the tables; the runtime role must be another."
            )
        statements = runtime_grants(cursor, role=role, alias=alias)
        if apply:
            for statement in statements:
                cursor.execute(statement)
            check_runtime_role(cursor, role=role)
    return statements
