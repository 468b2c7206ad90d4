"""Start-up refuses to run in production without its secrets, and names the missing one."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION_ENV = {
    "DEBUG": "False",
    "SECRET_KEY": "production-like-Secret-Key-7f3a9c2e5b8d1f4a6c0e9b7d3a5f1c8e2b4d6a9f",
    "ALLOWED_HOSTS": "portal.example.com",
    "PORTAL_ENCRYPTION_KEYS": "k1:S8Cqgm7mIvO1Zq6kR3OQmCi6y1ih1hCPtq9g06KvjBE=",
    "PORTAL_AUDIT_KEY": "audit-" + "y" * 40,
    "PORTAL_ENV_FILE": "",
}


def _manage_check(env_overrides: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV}
    env.update(PRODUCTION_ENV)
    env.update(env_overrides)
    env = {k: v for k, v in env.items() if v is not None}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_start_when_every_secret_is_set():
    result = _manage_check({})
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "missing", ["SECRET_KEY", "ALLOWED_HOSTS", "PORTAL_ENCRYPTION_KEYS", "PORTAL_AUDIT_KEY"]
)
def test_production_refuses_to_start_without_each_secret(missing):
    result = _manage_check({missing: None})
    assert result.returncode != 0
    assert f"The environment variable {missing} is not set" in result.stderr


def test_development_without_keys_fails_the_system_check_naming_them():
    result = _manage_check(
        {"DEBUG": "True", "PORTAL_ENCRYPTION_KEYS": None, "PORTAL_AUDIT_KEY": None}
    )
    assert result.returncode != 0
    assert "PORTAL_ENCRYPTION_KEYS is not set" in result.stderr
    assert "PORTAL_AUDIT_KEY is not set" in result.stderr


def test_production_cookie_and_transport_flags():
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV}
    env.update(PRODUCTION_ENV)
    code = (
        "from django.conf import settings as s;"
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY,"
        " s.SESSION_COOKIE_SAMESITE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS > 0,"
        " s.X_FRAME_OPTIONS, s.SECURE_REFERRER_POLICY)"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "True",
        "True",
        "True",
        "Lax",
        "True",
        "True",
        "DENY",
        "same-origin",
    ]


def test_argon2_hashes_passwords():
    from portal import settings as portal_settings

    assert (
        portal_settings.PASSWORD_HASHERS[0] == "portal.accounts.hashers.PortalArgon2PasswordHasher"
    )


def test_deploy_checks_are_clean_with_production_values():
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV}
    env.update(PRODUCTION_ENV)
    env["PORTAL_SANDBOX"] = "False"
    env["PORTAL_ALLOW_HTTP_GATEWAYS"] = "False"
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_deploy_checks_warn_when_the_sandbox_is_on_in_production():
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV}
    env.update(PRODUCTION_ENV)
    env["PORTAL_SANDBOX"] = "True"
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "PORTAL_SANDBOX is on while DEBUG is off" in result.stderr
