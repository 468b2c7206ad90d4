"""``check --deploy --database default``: is the portal's own role unable to alter the audit trail?"""

from django.core import checks
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from portal.audit.models import AuditEvent
from portal.core import dbroles


@checks.register(checks.Tags.database, deploy=True)
def audit_append_only_for_the_portal(app_configs=None, databases=None, **kwargs):
    if not databases or DEFAULT_DB_ALIAS not in databases:
        return []
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        return []
    try:
        with connection.cursor() as cursor:
            if AuditEvent._meta.db_table not in connection.introspection.table_names(cursor):
                return []  # not migrated yet
            cursor.execute("SELECT current_user")
            dbroles.check_runtime_role(cursor, role=cursor.fetchone()[0])
    except dbroles.RoleSetupError as exc:
        return [
            checks.Warning(
                f"The portal's database role can switch the audit trail off. {exc}",
                hint="Connect the portal (DATABASE_URL) as a role that owns nothing and migrate "
                "with DATABASE_OWNER_URL; see the README, 'Running in production', step 2.",
                id="audit.W001",
            )
        ]
    except DatabaseError:
        return []  # reported by whatever needs the database next
    return []
