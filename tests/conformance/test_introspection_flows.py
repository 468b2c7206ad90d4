# ruff: noqa: F811  (the fixtures of test_portal_flows are imported by name)
"""A history that reflects the gateway: RFC 7662 introspection, where a gateway offers it.

A token revoked at the gateway by someone else (an administrator in the API Manager, another
tool) still says "Active" in the portal until someone asks the gateway. The detail page's "Check
at the gateway" asks; `reconcile` asks for every active token; each check is audited.
"""

from datetime import timedelta

import pytest
from django.urls import reverse

from portal.audit.models import Action, AuditEvent
from portal.tokens import services
from portal.tokens.models import Status
from portal.vault import services as vault
from tests.conformance.oauth_server import CLIENT_ID
from tests.conformance.test_portal_flows import (  # noqa: F401  (fixtures)
    browser,
    credential,
    credential_for,
    generate,
    stored_refresh_token,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def introspecting(oauth_server, credential):
    vault.gateway_update(gateway=credential.gateway, introspection_url=oauth_server.introspect_url)
    credential.refresh_from_db()
    return credential


def _revoke_elsewhere(server, issuance):
    server._revoke(stored_refresh_token(issuance), client_id=CLIENT_ID)


def test_checking_an_active_token_keeps_it_active_and_is_audited(
    oauth_server, introspecting, browser
):
    issuance, token, _ = generate(browser, introspecting)
    response = browser.post(reverse("tokens:check", args=[issuance.pk]), follow=True)
    assert "still active at the gateway" in response.content.decode()
    issuance.refresh_from_db()
    assert issuance.status == Status.ACTIVE
    event = AuditEvent.objects.get(action=Action.TOKEN_CHECKED, target_id=str(issuance.pk))
    assert event.details["active"] is True


def test_a_token_revoked_elsewhere_is_marked_revoked_by_the_check(
    oauth_server, introspecting, browser
):
    issuance, token, _ = generate(browser, introspecting)
    _revoke_elsewhere(oauth_server, issuance)
    response = browser.post(reverse("tokens:check", args=[issuance.pk]), follow=True)
    assert "no longer active at the gateway" in response.content.decode()
    issuance.refresh_from_db()
    assert issuance.status == Status.REVOKED
    assert issuance.revoke_result["source"] == "gateway"
    assert issuance.access_token_encrypted == issuance.refresh_token_encrypted == ""
    event = AuditEvent.objects.get(action=Action.TOKEN_CHECKED, target_id=str(issuance.pk))
    assert event.details["active"] is False and event.details["recorded_as"] == "revoked"


def test_reconcile_asks_the_gateway_about_every_active_token(oauth_server, introspecting, browser):
    kept, _, _ = generate(browser, introspecting)
    gone, _, _ = generate(browser, introspecting)
    _revoke_elsewhere(oauth_server, gone)
    services.token_reconcile(older_than=timedelta(hours=1))
    kept.refresh_from_db()
    gone.refresh_from_db()
    assert kept.status == Status.ACTIVE and gone.status == Status.REVOKED
    assert AuditEvent.objects.filter(action=Action.TOKEN_CHECKED).count() == 2


def test_without_an_introspection_url_nothing_is_offered_or_asked(
    oauth_server, credential, browser
):
    issuance, _, _ = generate(browser, credential)
    page = browser.get(reverse("tokens:detail", args=[issuance.pk])).content.decode()
    assert "Check at the gateway" not in page
    services.token_reconcile(older_than=timedelta(hours=1))
    assert not AuditEvent.objects.filter(action=Action.TOKEN_CHECKED).exists()
    assert len(oauth_server.requests_to("/introspect")) == 0
