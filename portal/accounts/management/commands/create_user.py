import os
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from portal.accounts import services


class Command(BaseCommand):
    help = (
        "Create a portal account (with its personal team). The password is read from standard "
        "input (--password-stdin) or an environment variable (--password-env), never an argument."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument("--api-store-email", default="")
        parser.add_argument("--display-name", default="")
        parser.add_argument("--staff", action="store_true", help="May use the Django admin.")
        parser.add_argument("--superuser", action="store_true")
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--password-stdin", action="store_true")
        group.add_argument("--password-env", metavar="VAR")

    def handle(self, *args, **opts):
        password = None
        if opts["password_stdin"]:
            password = sys.stdin.readline().rstrip("\n")
        elif opts["password_env"]:
            password = os.environ.get(opts["password_env"])
            if not password:
                raise CommandError(f"The environment variable {opts['password_env']} is empty.")
        try:
            user = services.user_create(
                username=opts["username"],
                password=password,
                email=opts["email"],
                api_store_email=opts["api_store_email"],
                display_name=opts["display_name"],
                is_staff=opts["staff"] or opts["superuser"],
                is_superuser=opts["superuser"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(self.style.SUCCESS(f"Created {user.username} with a personal team."))
        if password is None:
            self.stdout.write("No password was given: the account cannot log in until one is set.")
