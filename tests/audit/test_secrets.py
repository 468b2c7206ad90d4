"""No secret ever reaches the audit trail: the cast's activity is searched for every test secret."""

import json

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from portal.audit import services as audit
from portal.audit.models import Action, AuditEvent

pytestmark = pytest.mark.django_db

WRONG_PASSWORD = "Wr0ng-but-still-a-secret-7781"
NEW_PASSWORD = "brand new passphrase 9931 zebra"


def _all_stored_text() -> str:
    rows = AuditEvent.objects.order_by("seq").values()
    return "\n".join(json.dumps(row, default=str, ensure_ascii=False) for row in rows)


def test_no_secret_appears_in_any_stored_event(cast, password, acme):
    client = Client()
    client.post(reverse("accounts:login"), {"username": "bob", "password": WRONG_PASSWORD})
    assert (
        client.post(
            reverse("accounts:login"), {"username": "bob", "password": password}
        ).status_code
        == 302
    )
    client.post(
        reverse("accounts:password_change"),
        {"old_password": password, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    client.get(reverse("audit:export", args=["csv"]), {"team": acme.pk})
    client.post(reverse("accounts:logout"))
    assert AuditEvent.objects.filter(action=Action.LOGIN_FAILED).exists()
    assert AuditEvent.objects.filter(action=Action.PASSWORD_CHANGED).exists()

    stored = _all_stored_text()
    secrets = [
        password,
        WRONG_PASSWORD,
        NEW_PASSWORD,
        settings.SECRET_KEY,
        settings.PORTAL_AUDIT_KEY,
        *[k.split(":", 1)[1] for k in settings.PORTAL_ENCRYPTION_KEYS.split(",")],
    ]
    for secret in secrets:
        assert secret not in stored


@pytest.mark.parametrize("key", ["password", "consumer_secret", "access_token", "Refresh_Token"])
def test_details_named_like_a_secret_are_refused(db, key):
    with pytest.raises(ValueError, match="secret"):
        audit.record(action=Action.PROFILE_UPDATED, details={"nested": {key: "s3cr3t"}})
    assert not AuditEvent.objects.exists()


def test_fingerprints_are_fine_in_details(db):
    event = audit.record(
        action=Action.TOKEN_ISSUED, details={"token_fingerprint": "ab12", "last4": "wxyz"}
    )
    assert event.details == {"last4": "wxyz", "token_fingerprint": "ab12"}
