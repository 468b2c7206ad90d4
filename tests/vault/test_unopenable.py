"""Values sealed under a key that was removed from the keyring are reported, not hidden."""

import pytest
from django.core import checks
from django.core.management import call_command
from django.test import Client

from portal.vault import selectors, services
from portal.views import forget_health_cache

from .conftest import CONSUMER_KEY, CONSUMER_SECRET, KEY1, KEY2, ORG_KEY

pytestmark = pytest.mark.django_db


@pytest.fixture
def sealed_under_a_removed_key(settings, acme, alice, gateway):
    settings.PORTAL_ENCRYPTION_KEYS = KEY1
    services.credential_create(
        team=acme,
        name="old",
        gateway=gateway,
        consumer_key=CONSUMER_KEY,
        consumer_secret=CONSUMER_SECRET,
        org_key=ORG_KEY,
        actor=alice,
    )
    settings.PORTAL_ENCRYPTION_KEYS = KEY2  # k1 removed without rotating first
    forget_health_cache()


def test_nothing_is_unopenable_when_every_key_is_configured(settings, acme, alice, gateway):
    settings.PORTAL_ENCRYPTION_KEYS = f"{KEY2},{KEY1}"
    forget_health_cache()
    assert sum(selectors.unopenable_value_counts().values()) == 0
    response = Client().get("/healthz")
    assert response.json()["status"] == "ok"


def test_values_under_a_removed_key_are_counted(sealed_under_a_removed_key):
    counts = selectors.unopenable_value_counts()
    assert counts["vault.Credential.consumer_secret_encrypted"] == 1
    assert sum(counts.values()) == 3  # key, secret and org key


def test_healthz_reports_a_degraded_state(sealed_under_a_removed_key):
    response = Client().get("/healthz")
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["keys"] is True
    assert body["checks"]["unopenable_values"] == 3
    # Still serving: a load balancer must not take every server out for this.
    assert response.status_code == 200


def test_system_check_names_the_unopenable_values(sealed_under_a_removed_key):
    messages = checks.run_checks(tags=[checks.Tags.database], databases=["default"])
    warnings = [m for m in messages if m.id == "vault.W001"]
    assert warnings and "3 stored value(s)" in warnings[0].msg


def test_rotation_report_lists_the_unopenable_values(sealed_under_a_removed_key, capsys):
    call_command("rotate_encryption_keys", "--report")
    out = capsys.readouterr().out
    assert "Values that cannot be opened: 3" in out
    assert "vault.Credential.consumer_secret_encrypted: 1 (key ids: k1)" in out


def test_system_check_is_silent_before_the_tables_exist(monkeypatch):
    # `migrate` runs database checks before it creates any table: a fresh install must migrate.
    from django.db import OperationalError

    from portal.vault import checks as vault_checks

    def no_tables():
        raise OperationalError("no such table: vault_credential")

    monkeypatch.setattr(selectors, "unopenable_value_counts", no_tables)
    assert vault_checks.stored_values_openable(databases=["default"]) == []
