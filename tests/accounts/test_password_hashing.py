"""Password hashing: Argon2id with explicit parameters (OWASP's 19 MiB, t=2, p=1), older hashes
upgraded at the next login, a bounded number of hashes at once per process, and the same work
for names of no account as for real ones."""

import threading
import time

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher, get_hasher
from django.test import Client
from django.urls import reverse

from portal.accounts import hashers

pytestmark = pytest.mark.django_db

REAL_HASHERS = [
    "portal.accounts.hashers.PortalArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]


@pytest.fixture
def real_hashing(settings):
    settings.PASSWORD_HASHERS = REAL_HASHERS


def test_the_portal_hashes_with_argon2id_at_explicit_parameters():
    from portal import settings as portal_settings

    assert portal_settings.PASSWORD_HASHERS[0] == REAL_HASHERS[0]
    hasher = hashers.PortalArgon2PasswordHasher()
    encoded = hasher.encode("pw", hasher.salt())
    assert encoded.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")


def test_a_hash_made_with_djangos_default_parameters_is_upgraded_at_the_next_login(
    alice, password, real_hashing
):
    old = Argon2PasswordHasher()
    alice.password = old.encode(password, old.salt())
    alice.save(update_fields=["password"])
    assert "m=102400,t=2,p=8" in alice.password
    assert get_hasher().must_update(alice.password)

    response = Client().post(reverse("accounts:login"), {"username": "alice", "password": password})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert "m=19456,t=2,p=1" in alice.password
    assert alice.check_password(password)


def test_no_more_hashes_run_at_once_than_the_setting_allows(settings, monkeypatch):
    settings.PORTAL_PASSWORD_HASH_CONCURRENCY = 2
    active, peak, lock = [0], [0], threading.Lock()

    def slow_encode(self, password, salt):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1
        return "argon2$fake"

    monkeypatch.setattr(Argon2PasswordHasher, "encode", slow_encode)
    hasher = hashers.PortalArgon2PasswordHasher()
    threads = [threading.Thread(target=hasher.encode, args=("pw", "salt")) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 2


def test_verifying_is_bounded_too(settings, monkeypatch):
    settings.PORTAL_PASSWORD_HASH_CONCURRENCY = 1
    active, peak, lock = [0], [0], threading.Lock()

    def slow_verify(self, password, encoded):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1
        return False

    monkeypatch.setattr(Argon2PasswordHasher, "verify", slow_verify)
    hasher = hashers.PortalArgon2PasswordHasher()
    threads = [threading.Thread(target=hasher.verify, args=("pw", "x")) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 1


@pytest.mark.parametrize("identifier", ["alice", "ALICE@example.com", "nobody", "ghost@x.org"])
def test_a_failed_login_costs_one_argon2_hash_whether_or_not_the_account_exists(
    alice, password, real_hashing, monkeypatch, identifier
):
    alice.set_password(password)
    alice.save(update_fields=["password"])
    calls = []
    for name in ("encode", "verify"):
        original = getattr(Argon2PasswordHasher, name)

        def counted(self, *args, _original=original, _name=name):
            calls.append(_name)
            return _original(self, *args)

        monkeypatch.setattr(Argon2PasswordHasher, name, counted)
    response = Client().post(
        reverse("accounts:login"), {"username": identifier, "password": "wrong"}
    )
    assert response.status_code == 200
    assert len(calls) == 1, calls
