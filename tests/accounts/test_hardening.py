"""Smaller findings: concurrent first logins, what sign-up shows and hides, private files."""

import importlib.util
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse

from portal.accounts import services
from portal.accounts.models import User
from portal.teams import services as team_services
from portal.teams.models import Team

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db(transaction=True)
def test_two_first_logins_at_once_create_one_personal_team(monkeypatch):
    # An account made without its team (createsuperuser, an older portal): the first login
    # creates it. Two logins at the same moment must not both try.
    user = User.objects.create_user(username="dana", password=None)
    meet = threading.Barrier(2, timeout=2)
    real_create = Team.objects.create

    def create_after_both_looked(**kwargs):
        try:
            meet.wait()  # both threads got past "has no personal team yet"?
        except threading.BrokenBarrierError:
            pass  # only one did: the other is waiting for it, as it should
        return real_create(**kwargs)

    monkeypatch.setattr(Team.objects, "create", create_after_both_looked)
    errors = []

    def first_login():
        try:
            services.login_record_success(user=User.objects.get(pk=user.pk))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=first_login) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert Team.objects.filter(personal_owner=user).count() == 1
    assert team_services.personal_team_ensure(user=user).personal_owner_id == user.pk


@pytest.mark.django_db
@override_settings(PORTAL_ALLOW_SIGNUP=True)
def test_signup_shows_the_password_rules_before_the_first_try():
    page = Client().get(reverse("accounts:signup")).content.decode()
    assert "at least 8 characters" in page
    assert "entirely numeric" in page
    assert "too similar" in page and "commonly used" in page


@pytest.mark.django_db
@override_settings(PORTAL_ALLOW_SIGNUP=True)
def test_signup_does_not_reveal_whether_an_email_is_registered(alice):
    page = Client().get(reverse("accounts:signup")).content.decode()
    assert 'name="email"' not in page

    def sign_up(username, email):
        response = Client().post(
            reverse("accounts:signup"),
            {
                "username": username,
                "email": email,
                "password1": "a fine long passphrase 9",
                "password2": "a fine long passphrase 9",
            },
        )
        return response.status_code, response.get("Location")

    assert sign_up("newcomer1", "alice@example.com") == sign_up("newcomer2", "fresh@example.com")
    assert set(
        User.objects.filter(username__startswith="newcomer").values_list("email", flat=True)
    ) == {""}


def _load_dev_script():
    spec = importlib.util.spec_from_file_location("dev_script", ROOT / "scripts" / "dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dev_env_file_is_created_owner_only_not_tightened_afterwards(tmp_path, monkeypatch):
    dev = _load_dev_script()
    monkeypatch.setattr(dev, "ENV_FILE", tmp_path / ".env")
    # If the file were created with default permissions and chmod-ed after writing, the secrets
    # would be readable in between; with chmod doing nothing that shows as a wider mode.
    monkeypatch.setattr(dev.os, "chmod", lambda *args, **kwargs: None)
    old_umask = os.umask(0)
    try:
        dev.ensure_env_file()
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE((tmp_path / ".env").stat().st_mode) == 0o600
    assert "SECRET_KEY=" in (tmp_path / ".env").read_text()


def test_the_sqlite_database_file_is_created_owner_only(tmp_path):
    database = tmp_path / "db" / "portal.sqlite3"
    code = (
        "import django; django.setup();"
        "from django.db import connection;"
        "cursor = connection.cursor(); cursor.execute('CREATE TABLE t (x)');"
        "cursor.execute('INSERT INTO t VALUES (1)')"
    )
    env = {
        **{k: v for k, v in os.environ.items() if k != "DATABASE_OWNER_URL"},  # a SQLite run
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": f"sqlite:///{database}",
    }
    subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
        preexec_fn=lambda: os.umask(0),  # noqa: PLW1509  (the worst case: world-writable default)
    )
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    assert stat.S_IMODE(database.parent.stat().st_mode) == 0o700
    for sidecar in database.parent.glob("portal.sqlite3-*"):
        assert stat.S_IMODE(sidecar.stat().st_mode) == 0o600, sidecar


def test_check_warns_about_private_files_others_can_read(tmp_path, settings, monkeypatch):
    from portal.core import checks

    env_file = tmp_path / ".env"
    env_file.write_text("SECRET_KEY=x\n")
    env_file.chmod(0o644)
    monkeypatch.setattr(checks, "_private_files", lambda: [env_file])
    warnings = checks.private_files_are_private(None)
    assert [w.id for w in warnings] == ["portal.W003"]
    assert str(env_file) in warnings[0].msg
    env_file.chmod(0o600)
    assert checks.private_files_are_private(None) == []
