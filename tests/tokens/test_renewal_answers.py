# ruff: noqa: F811  (the fixtures of test_flows are imported by name)
"""Renewal answers that conforming servers may give: no new refresh token, no scope, no expiry.

RFC 6749 §6: the server MAY issue a new refresh token; if it does not, the old one stays valid.
§5.1: ``scope`` may be omitted when unchanged, and ``expires_in`` is only RECOMMENDED.
"""

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse

from portal.tokens.models import Issuance, Status
from portal.vault import crypto

from .test_flows import _generate, credential, fake, gateway  # noqa: F401

pytestmark = pytest.mark.django_db


def _renew(browser, old):
    return browser.post(
        reverse("tokens:renew", args=[old.pk]), {"idempotency_key": str(uuid.uuid4())}
    )


def test_a_renewal_without_a_new_refresh_token_keeps_the_old_one(bob, credential, client_for, fake):
    browser = client_for(bob)
    _generate(browser, credential)
    old = Issuance.objects.get()
    fake.refresh_rotates = False
    _renew(browser, old)
    new = Issuance.objects.exclude(pk=old.pk).get()
    assert new.status == Status.ACTIVE
    # The server still honours the first refresh token: the portal must keep it to renew and
    # to revoke (revoking the refresh token is what takes its access tokens along).
    assert new.can_be_renewed
    assert crypto.unseal(new, "refresh_token_encrypted") == fake.issued[0].refresh_token


def test_a_renewal_answer_without_scope_keeps_the_granted_scopes(bob, credential, client_for, fake):
    browser = client_for(bob)
    _generate(browser, credential)
    old = Issuance.objects.get()
    assert old.granted_scopes == ["default", "read"]
    fake.renewal_scopes = []
    _renew(browser, old)
    new = Issuance.objects.exclude(pk=old.pk).get()
    assert new.granted_scopes == ["default", "read"]


def test_an_answer_without_expires_in_uses_the_gateway_default_lifetime(
    bob, credential, client_for, fake
):
    credential.gateway.default_token_lifetime = 1800
    credential.gateway.save()
    fake.expires_in = None
    _generate(client_for(bob), credential)
    issuance = Issuance.objects.get()
    assert issuance.status == Status.ACTIVE
    assert issuance.expires_at == issuance.issued_at + timedelta(seconds=1800)
    assert not issuance.expiry_from_gateway


def test_an_answer_without_expires_in_and_no_default_has_no_known_expiry(
    bob, credential, client_for, fake
):
    fake.expires_in = None
    browser = client_for(bob)
    response = _generate(browser, credential)
    issuance = Issuance.objects.get()
    assert issuance.status == Status.ACTIVE and issuance.expires_at is None
    assert not issuance.expiry_from_gateway
    page = browser.get(response["Location"]).content.decode()
    assert "expiry not given by the gateway" in page
    detail = browser.get(reverse("tokens:detail", args=[issuance.pk])).content.decode()
    assert "expiry not given by the gateway" in detail
