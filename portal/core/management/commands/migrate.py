"""``migrate`` as the owner of the tables, then the runtime role's grants (portal/core/dbroles.py).

With ``DATABASE_OWNER_URL`` set, the whole command - system checks, schema changes, data
migrations, post-migrate signals - runs on the usual connection reconnected as the owner, so
every table is created by and belongs to the owner. Afterwards the runtime role (the user of
``DATABASE_URL``) gets exactly its rights on every table, new ones included. Without it this is
Django's migrate unchanged.
"""

from django.conf import settings
from django.core.management import CommandError
from django.core.management.commands.migrate import Command as DjangoMigrate

from portal.core import dbroles


class Command(DjangoMigrate):
    help = DjangoMigrate.help + (
        " With DATABASE_OWNER_URL, runs as that role and then grants the DATABASE_URL role its "
        "rights (INSERT and SELECT only on the audit trail)."
    )

    def execute(self, *args, **options):
        database = options["database"]
        with dbroles.as_owner(database):
            output = super().execute(*args, **options)
        changes_nothing = options.get("plan") or options.get("check_unapplied")
        if dbroles.owner_configured(database) and not changes_nothing:
            role = settings.PORTAL_DATABASE_RUNTIME_ROLE
            try:
                statements = dbroles.grant_runtime_role(role=role, alias=database)
            except dbroles.RoleSetupError as exc:
                raise CommandError(str(exc)) from exc
            if options["verbosity"] >= 1:
                self.stdout.write(
                    f"Runtime role {role}: {len(statements)} grant statement(s) applied "
                    "(INSERT and SELECT only on the audit trail)."
                )
        return output
