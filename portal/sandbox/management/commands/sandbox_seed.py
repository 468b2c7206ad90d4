import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from portal.sandbox import keys, services


class Command(BaseCommand):
    help = (
        "Create (or bring up to date) the sandbox gateway's demo application and user, and print "
        "their values. Idempotent. Values are deterministic for one installation: the consumer "
        "key and secret derive from SECRET_KEY, the password is PORTAL_DEMO_PASSWORD (or derived)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default=services.DEMO_USERNAME)
        parser.add_argument("--consumer-key", default="")
        parser.add_argument(
            "--consumer-secret-env",
            default="",
            metavar="VAR",
            help="Read the consumer secret from this environment variable (not the command line).",
        )
        parser.add_argument("--user-scopes", default=services.DEMO_USER_SCOPES)
        parser.add_argument("--app-scopes", default=services.DEMO_APP_SCOPES)

    def handle(self, *args, **opts):
        if not settings.PORTAL_SANDBOX:
            raise CommandError("PORTAL_SANDBOX is off: the sandbox gateway is not mounted.")
        secret = keys.demo_consumer_secret()
        if opts["consumer_secret_env"]:
            secret = os.environ.get(opts["consumer_secret_env"], "")
            if not secret:
                raise CommandError(
                    f"The environment variable {opts['consumer_secret_env']} is empty."
                )
        password = os.environ.get("PORTAL_DEMO_PASSWORD", "") or keys.demo_password()
        result = services.sandbox_seed(
            consumer_key=opts["consumer_key"] or keys.demo_consumer_key(),
            consumer_secret=secret,
            username=opts["username"],
            password=password,
            app_scopes=opts["app_scopes"],
            user_scopes=opts["user_scopes"],
        )
        for change in result.changes or ["sandbox demo data already up to date"]:
            self.stdout.write(f"  sandbox: {change}")
        base = settings.PORTAL_SANDBOX_BASE_URL.rstrip("/")
        line = "-" * 60
        self.stdout.write(line)
        self.stdout.write(f"  Sandbox gateway: {base}/token  (revoke: {base}/revoke)")
        self.stdout.write(f"    consumer key:    {result.application.consumer_key}")
        self.stdout.write(f"    consumer secret: {secret}")
        self.stdout.write(f"    username:        {result.user.username}")
        self.stdout.write(f"    password:        {password}")
        self.stdout.write(f"    scopes:          {result.user.scopes}")
        self.stdout.write(line)
