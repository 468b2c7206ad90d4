from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from portal.core import dbroles


class Command(BaseCommand):
    help = (
        "Give the portal's runtime PostgreSQL role exactly its rights on every table: read and "
        "write the portal's tables, but only INSERT and SELECT on the audit trail. Runs as the "
        "owner (DATABASE_OWNER_URL, or DATABASE_URL when that is the owner); re-runnable, and "
        "migrate runs it after every migration. --print shows the SQL instead."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--role",
            default="",
            help="the runtime role (default: the user of DATABASE_URL when DATABASE_OWNER_URL "
            "is set)",
        )
        parser.add_argument(
            "--print", action="store_true", dest="print_only", help="print the SQL, change nothing"
        )
        parser.add_argument("--database", default="default")

    def handle(self, *args, role: str, print_only: bool, database: str, **options):
        from django.db import connections

        if connections[database].vendor != "postgresql":
            raise CommandError("Database roles need PostgreSQL.")
        role = role or settings.PORTAL_DATABASE_RUNTIME_ROLE
        if not role:
            raise CommandError("Name the runtime role: --role NAME (or set DATABASE_OWNER_URL).")
        try:
            statements = dbroles.grant_runtime_role(role=role, alias=database, apply=not print_only)
        except dbroles.RoleSetupError as exc:
            raise CommandError(str(exc)) from exc
        for statement in statements:
            self.stdout.write(statement + ";")
        if not print_only:
            self.stdout.write(
                f"Applied. {role} can append to and read the audit trail, nothing else."
            )
