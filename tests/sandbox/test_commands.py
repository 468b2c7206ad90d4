"""``sandbox_seed`` and the quickstart's ``demo_setup``."""

from dataclasses import dataclass
from io import StringIO

import pytest
from django.core.management import call_command

from portal.audit.models import AuditEvent
from portal.gateway import client
from portal.sandbox import keys
from portal.sandbox.models import SandboxApplication, SandboxUser
from portal.vault import services as vault
from portal.vault.models import Credential, Gateway
from portal.vault.selectors import gateway_compose_username

DEMO_PASSWORD = "demo-password-from-env-42"


@pytest.fixture
def demo_env(monkeypatch, settings):
    monkeypatch.setenv("PORTAL_DEMO_PASSWORD", DEMO_PASSWORD)
    settings.DEBUG = True  # demo_setup is development-only; the test runner turns DEBUG off


def run(command: str, **options) -> str:
    out = StringIO()
    call_command(command, stdout=out, **options)
    return out.getvalue()


@pytest.mark.django_db
def test_sandbox_seed_prints_what_it_created_and_is_idempotent(demo_env):
    first = run("sandbox_seed")
    second = run("sandbox_seed")

    key, secret = keys.demo_consumer_key(), keys.demo_consumer_secret()
    assert "created application 'Sandbox demo app'" in first
    assert "created user 'demo@example.com@demoorg'" in first
    assert key in first and secret in first and DEMO_PASSWORD in first
    assert "already up to date" in second
    assert SandboxApplication.objects.count() == 1
    user = SandboxUser.objects.get()
    assert user.username == "demo@example.com@demoorg"
    assert user.scopes == "default read write"


@pytest.mark.django_db
def test_sandbox_seed_refuses_when_the_sandbox_is_off(settings, demo_env):
    from django.core.management.base import CommandError

    settings.PORTAL_SANDBOX = False

    with pytest.raises(CommandError):
        run("sandbox_seed")
    assert SandboxApplication.objects.count() == 0


@pytest.mark.django_db
def test_demo_setup_registers_the_sandbox_gateway_and_a_demo_credential(demo_env, settings):
    settings.PORTAL_SANDBOX_BASE_URL = "http://127.0.0.1:8000/sandbox"

    output = run("demo_setup")

    gateway = Gateway.objects.get(name="Sandbox")
    assert gateway.token_url == "http://127.0.0.1:8000/sandbox/token"
    assert gateway.revoke_url == "http://127.0.0.1:8000/sandbox/revoke"
    assert gateway.username_template == "{email}@{org_key}"
    assert gateway.client_auth == "basic"
    credential = Credential.objects.get(name="Sandbox demo app")
    assert credential.team.personal_owner.username == "demo"
    assert credential.default_scopes == ["default", "read"]
    secrets = vault.credential_secrets(credential=credential)
    assert secrets.consumer_key == keys.demo_consumer_key()
    assert secrets.consumer_secret == keys.demo_consumer_secret()
    assert secrets.org_key == "demoorg"
    # Encrypted at rest, never in clear.
    assert keys.demo_consumer_secret() not in credential.consumer_secret_encrypted
    user = credential.team.personal_owner
    assert gateway_compose_username(gateway=gateway, user=user, org_key="demoorg") == (
        "demo@example.com@demoorg"
    )
    assert SandboxUser.objects.filter(username="demo@example.com@demoorg").exists()
    assert "created credential 'Sandbox demo app'" in output


@pytest.mark.django_db
def test_demo_setup_is_idempotent(demo_env):
    run("demo_setup")
    events = AuditEvent.objects.count()

    output = run("demo_setup")

    assert Gateway.objects.filter(name="Sandbox").count() == 1
    assert Credential.objects.filter(name="Sandbox demo app").count() == 1
    assert SandboxApplication.objects.count() == 1
    assert AuditEvent.objects.count() == events
    assert "created" not in output


@pytest.mark.django_db
def test_demo_setup_corrects_a_credential_whose_keys_no_longer_match(demo_env, settings):
    run("demo_setup")
    settings.SECRET_KEY = "a-new-installation-secret-key-0123456789abcdef"

    output = run("demo_setup")

    credential = Credential.objects.get(name="Sandbox demo app")
    assert vault.credential_secrets(credential=credential).consumer_secret == (
        keys.demo_consumer_secret()
    )
    assert "updated credential" in output


@dataclass
class AsConfigured:
    token_url: str
    revoke_url: str
    client_auth: str
    ca_bundle: str


def test_the_demo_credential_gets_a_token_from_the_live_sandbox(live_server, demo_env, settings):
    settings.PORTAL_SANDBOX_BASE_URL = f"{live_server.url}/sandbox"
    run("demo_setup")
    credential = Credential.objects.select_related("gateway", "team__personal_owner").get(
        name="Sandbox demo app"
    )
    secrets = vault.credential_secrets(credential=credential)
    gateway = credential.gateway
    username = gateway_compose_username(
        gateway=gateway, user=credential.team.personal_owner, org_key=secrets.org_key
    )

    token = client.password_grant(
        vault.credential_client_credentials(credential=credential),
        username=username,
        password=DEMO_PASSWORD,
        scopes=credential.default_scopes,
    )

    assert token.scopes == ["default", "read"]
    assert token.jwt_claims["sub"] == "demo@example.com@demoorg"


@pytest.mark.django_db
def test_demo_setup_on_another_port_moves_the_sandbox_gateway_with_the_portal(demo_env, settings):
    # Run once on 8103, then on 8104: the demo must work on the new port, not point at the old.
    from portal.audit.models import Action, AuditEvent

    settings.PORTAL_SANDBOX_BASE_URL = "http://127.0.0.1:8103/sandbox"
    run("demo_setup")
    settings.PORTAL_SANDBOX_BASE_URL = "http://127.0.0.1:8104/sandbox"
    output = run("demo_setup")

    gateway = Gateway.objects.get(name="Sandbox")
    assert gateway.token_url == "http://127.0.0.1:8104/sandbox/token"
    assert gateway.revoke_url == "http://127.0.0.1:8104/sandbox/revoke"
    assert "Demo login for http://127.0.0.1:8104/" in output
    event = AuditEvent.objects.get(action=Action.GATEWAY_CHANGED)
    assert event.details["changed"]["token_url"]["to"] == "http://127.0.0.1:8104/sandbox/token"
