"""The portal-token command-line client against a live portal and the sandbox gateway: run as
its own process (``python -m portal_token``, only ``requests`` on its path besides the standard
library), with PORTAL_URL and PORTAL_API_KEY in its environment."""

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from portal.api import services as api_services
from portal.api.models import ApiKey
from portal.sandbox import services as sandbox
from portal.teams.models import Role
from portal.tokens.models import Issuance, Status
from portal.vault import services as vault

pytestmark = pytest.mark.django_db(transaction=True)

CLIENT_SRC = Path(__file__).resolve().parents[2] / "clients" / "portal-token" / "src"
KEY = "CliConsumerKey00000000000000"
SECRET = "CliConsumerSecret000000000000000"
ORG_KEY = "cliorg"
UPSTREAM_PASSWORD = "sandbox-cli-password-1"


@pytest.fixture
def sandbox_credential(live_server, acme, alice, bob):
    sandbox.sandbox_seed(
        consumer_key=KEY,
        consumer_secret=SECRET,
        username=f"{bob.api_store_email}@{ORG_KEY}",
        password=UPSTREAM_PASSWORD,
        app_scopes="default read write",
        user_scopes="default read",
    )
    gateway, _ = vault.gateway_create(
        name="Sandbox (CLI test)",
        token_url=f"{live_server.url}/sandbox/token",
        revoke_url=f"{live_server.url}/sandbox/revoke",
        username_template="{email}@{org_key}",
        is_sandbox=True,
    )
    return vault.credential_create(
        team=acme,
        name="Sandbox app",
        gateway=gateway,
        consumer_key=KEY,
        consumer_secret=SECRET,
        org_key=ORG_KEY,
        default_scopes=["default", "read"],
        allow_client_credentials=True,
        actor=alice,
    )


@pytest.fixture
def bob_key(bob, acme):
    key, secret = api_services.api_key_create(actor=bob, team=acme, name="cli", role=Role.ISSUER)
    return secret


def run(live_server, key, *args, env=None, stdin=None):
    """``portal-token ARGS`` in a fresh process; (exit code, stdout, stderr)."""
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(CLIENT_SRC),
        "PORTAL_URL": live_server.url,
    }
    if key is not None:
        environment["PORTAL_API_KEY"] = key
    environment.update(env or {})
    done = subprocess.run(
        [sys.executable, "-m", "portal_token", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        input=stdin,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


def echo(live_server, token: str) -> int:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        f"{live_server.url}/sandbox/api/echo", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_issue_prints_a_working_token_and_nothing_else(live_server, sandbox_credential, bob_key):
    code, out, err = run(live_server, bob_key, "issue", "--credential", "Sandbox app")
    assert code == 0, err
    token = out.strip()
    assert "\n" not in token and err == ""
    assert echo(live_server, token) == 200
    issuance = Issuance.objects.get()
    assert issuance.status == Status.ACTIVE and issuance.grant_type == "client_credentials"


def test_issue_as_env_for_a_shell(live_server, sandbox_credential, bob_key):
    code, out, err = run(
        live_server,
        bob_key,
        "issue",
        "--credential",
        "Sandbox app",
        "--scope",
        "read",
        "--format",
        "env",
    )
    assert code == 0, err
    assert out.startswith("export ACCESS_TOKEN=") and "TOKEN_EXPIRES_AT=" in out
    shell = subprocess.run(
        ["bash", "-c", out + '\nprintf "%s\\n%s" "$ACCESS_TOKEN" "$TOKEN_EXPIRES_AT"'],
        capture_output=True,
        text=True,
        check=True,
    )
    token, expires = shell.stdout.splitlines()
    assert echo(live_server, token) == 200
    assert expires.startswith(str(timezone.now().year))


def test_issue_with_the_password_grant_reads_the_password_from_the_environment(
    live_server, sandbox_credential, bob_key
):
    code, out, err = run(
        live_server,
        bob_key,
        "issue",
        "--credential",
        "Sandbox app",
        "--grant",
        "password",
        "--format",
        "json",
        env={"PORTAL_GATEWAY_PASSWORD": UPSTREAM_PASSWORD},
    )
    assert code == 0, err
    token = json.loads(out)
    assert token["username"] == "bob@bob.org@cliorg" and token["renewable"] is True
    assert echo(live_server, token["access_token"]) == 200


def test_the_password_grant_without_password_or_terminal_is_a_usage_error(
    live_server, sandbox_credential, bob_key
):
    code, out, err = run(
        live_server, bob_key, "issue", "--credential", "Sandbox app", "--grant", "password"
    )
    assert code == 2 and out == "" and "PORTAL_GATEWAY_PASSWORD" in err
    assert not Issuance.objects.exists()


def test_a_wrong_password_is_refused_with_one_sentence(live_server, sandbox_credential, bob_key):
    code, out, err = run(
        live_server,
        bob_key,
        "issue",
        "--credential",
        "Sandbox app",
        "--grant",
        "password",
        env={"PORTAL_GATEWAY_PASSWORD": "wrong"},
    )
    assert code == 5 and out == ""
    assert err.startswith("portal-token: The gateway rejected the username or password")
    assert len(err.strip().splitlines()) == 1


def test_renew_list_and_revoke(live_server, sandbox_credential, bob_key):
    env = {"PORTAL_GATEWAY_PASSWORD": UPSTREAM_PASSWORD}
    code, out, _ = run(
        live_server, bob_key, "issue", "--credential", "Sandbox app", "--grant", "password",
        "--format", "json", env=env,
    )  # fmt: skip
    first = json.loads(out)

    code, out, err = run(live_server, bob_key, "renew", first["id"], "--format", "json")
    assert code == 0, err
    renewed = json.loads(out)
    assert renewed["renewed_from"] == first["id"]
    assert echo(live_server, renewed["access_token"]) == 200

    code, out, err = run(live_server, bob_key, "list")
    assert code == 0, err
    rows = [line.split("\t") for line in out.strip().splitlines()]
    assert [(r[0], r[1]) for r in rows] == [(renewed["id"], "active"), (first["id"], "renewed")]

    code, out, err = run(live_server, bob_key, "revoke", renewed["id"])
    assert code == 0, err
    assert renewed["id"] in out
    assert echo(live_server, renewed["access_token"]) == 401
    code, _, err = run(live_server, bob_key, "revoke", renewed["id"])
    assert code == 5 and "Only an active token can be revoked." in err


def test_whoami(live_server, bob_key, acme):
    code, out, err = run(live_server, bob_key, "whoami")
    assert code == 0, err
    assert out.startswith("bob in Acme as issuer")


def test_a_bad_key_is_exit_3(live_server, db):
    code, out, err = run(live_server, "tpk_not-a-key", "whoami")
    assert code == 3 and out == "" and err == "portal-token: This API key is not valid.\n"


def test_an_expired_key_is_exit_3_and_says_so(live_server, bob_key):
    ApiKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    code, _, err = run(live_server, bob_key, "list")
    assert code == 3 and "expired" in err


def test_no_key_or_url_is_a_configuration_error(live_server, db):
    code, _, err = run(live_server, None, "whoami")
    assert code == 2 and "PORTAL_API_KEY" in err
    code, _, err = run(live_server, "tpk_x", "whoami", env={"PORTAL_URL": ""})
    assert code == 2 and "PORTAL_URL" in err


def test_the_key_is_never_a_command_line_argument(live_server, bob_key):
    code, _, err = run(live_server, None, "whoami", "--api-key", bob_key)
    assert code == 2 and bob_key not in err


def test_a_gateway_that_is_down_is_exit_6(live_server, acme, alice, bob_key):
    gateway, _ = vault.gateway_create(
        name="Down", token_url="http://127.0.0.1:9/token", revoke_url="http://127.0.0.1:9/revoke"
    )
    vault.credential_create(
        team=acme,
        name="Down app",
        gateway=gateway,
        consumer_key="DownConsumerKey000000000000",
        consumer_secret="DownConsumerSecret00000000000",
        allow_client_credentials=True,
        actor=alice,
    )
    code, out, err = run(live_server, bob_key, "issue", "--credential", "Down app")
    assert code == 6 and out == ""
    assert err.startswith("portal-token: The portal could not reach the gateway")
    assert Issuance.objects.get().failure_kind == "connection"


def test_a_portal_that_cannot_be_reached_is_exit_6(live_server, bob_key):
    code, _, err = run(live_server, bob_key, "whoami", env={"PORTAL_URL": "http://127.0.0.1:9"})
    assert code == 6 and "Cannot reach the portal" in err


def test_an_unknown_credential_is_exit_4(live_server, sandbox_credential, bob_key):
    code, _, err = run(live_server, bob_key, "issue", "--credential", "Nope")
    assert code == 4 and err == "portal-token: No such credential.\n"


def test_the_client_needs_no_django():
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, portal_token.cli; "
            "sys.exit(1 if any(m.split('.')[0] == 'django' for m in sys.modules) else 0)",
        ],
        env={"PYTHONPATH": str(CLIENT_SRC), "PATH": os.environ.get("PATH", "")},
        check=False,
    )
    assert done.returncode == 0


def test_the_password_grant_prompts_on_a_terminal(
    live_server, sandbox_credential, bob_key, monkeypatch, capsys
):
    sys.path.insert(0, str(CLIENT_SRC))
    try:
        from portal_token import cli
    finally:
        sys.path.remove(str(CLIENT_SRC))
    prompts = []
    monkeypatch.setenv("PORTAL_URL", live_server.url)
    monkeypatch.setenv("PORTAL_API_KEY", bob_key)
    monkeypatch.delenv("PORTAL_GATEWAY_PASSWORD", raising=False)
    monkeypatch.setattr(cli.sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(
        cli.getpass, "getpass", lambda prompt: prompts.append(prompt) or UPSTREAM_PASSWORD
    )
    code = cli.main(["issue", "--credential", "Sandbox app", "--grant", "password"])
    assert code == 0 and prompts == ["API Store password: "]
    assert echo(live_server, capsys.readouterr().out.strip()) == 200
