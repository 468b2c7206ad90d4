import os

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from portal.accounts import services as accounts
from portal.teams.services import personal_team_ensure

DEMO_USERNAME = "demo"


class Command(BaseCommand):
    help = "Development only: create (or refresh) the demo account and print its login. Idempotent."

    def handle(self, *args, **opts):
        if not settings.DEBUG:
            raise CommandError("demo_setup is for development; it refuses to run with DEBUG off.")
        password = os.environ.get("PORTAL_DEMO_PASSWORD", "")
        if not password:
            raise CommandError(
                "PORTAL_DEMO_PASSWORD is not set (scripts/dev.py writes it to .env)."
            )
        User = get_user_model()
        with transaction.atomic():
            user = User.objects.filter(username=DEMO_USERNAME).first()
            if user is None:
                user = accounts.user_create(
                    username=DEMO_USERNAME,
                    password=password,
                    email="demo@example.com",
                    display_name="Demo Developer",
                    api_store_email="demo@example.com",
                    is_staff=True,
                    is_superuser=True,
                )
            elif not user.check_password(password):
                user.set_password(password)
                user.save(update_fields=["password"])
            personal_team_ensure(user=user)
        line = "-" * 60
        self.stdout.write(line)
        self.stdout.write("  Demo login for http://127.0.0.1:8000/")
        self.stdout.write(f"    username: {DEMO_USERNAME}")
        self.stdout.write(f"    password: {password}")
        self.stdout.write(line)
