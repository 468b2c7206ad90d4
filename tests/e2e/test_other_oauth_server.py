"""Generate, renew and revoke in the browser against a token server that is not WSO2: the
independent conformance server (oauthlib behind a local HTTP server), which answers a revocation
with 200, an empty body and ``Content-Type: text/html`` and rejects unknown scopes. After each
step the server's own record must agree with what the portal shows."""

import re

import pytest
import requests
from playwright.sync_api import expect

from portal.tokens.models import Issuance, Status
from tests import factories
from tests.conformance.oauth_server import (
    CLIENT_ID,
    CLIENT_SECRET,
    USER_PASSWORD,
    USERNAME,
    ConformanceServer,
    ServerConfig,
)
from tests.e2e.steps import (
    history_row,
    last4,
    log_in,
    main_nav,
    open_menu,
    require_chromium,
    switch_team,
)

require_chromium()
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def oauth_server():
    config = ServerConfig(revoke_content_type="text/html; charset=utf-8")
    with ConformanceServer(config).running() as server:
        yield server


@pytest.fixture
def other_server_credential(oauth_server, acme, alice):
    gateway = factories.gateway_create(
        name="Conformance server",
        token_url=oauth_server.token_url,
        revoke_url=oauth_server.revoke_url,
        username_template="{username}",
    )
    return factories.credential_create(
        team=acme,
        actor=alice,
        gateway=gateway,
        name="Other server app",
        consumer_key=CLIENT_ID,
        consumer_secret=CLIENT_SECRET,
        org_key="",
        default_scopes=["read"],
    )


def _resource(server, token: str) -> int:
    return requests.get(
        server.resource_url, headers={"Authorization": f"Bearer {token}"}, timeout=5
    ).status_code


def test_generate_renew_and_revoke_against_another_oauth_server(
    page, bob, password, oauth_server, other_server_credential
):
    log_in(page, "bob", password)
    switch_team(page, "Acme (issuer)")
    open_menu(page)
    main_nav(page).get_by_role("link", name="Generate token").click()
    page.get_by_label("Gateway username").fill(USERNAME)
    page.get_by_label("API Store password").fill(USER_PASSWORD)
    page.get_by_role("button", name="Generate token").click()
    expect(page.get_by_role("heading", name="Your token")).to_be_visible()
    first = page.get_by_role("textbox", name="Access token").input_value()
    assert oauth_server.is_active(first) and _resource(oauth_server, first) == 200

    open_menu(page)
    main_nav(page).get_by_role("link", name="History").click()
    history_row(page, first).get_by_role("link", name=re.compile(r"^Renew")).click()
    page.get_by_role("button", name="Renew token").click()
    expect(page.get_by_role("heading", name="Your token")).to_be_visible()
    second = page.get_by_role("textbox", name="Access token").input_value()
    assert second != first and _resource(oauth_server, second) == 200

    page.get_by_role("link", name="Revoke").click()
    page.get_by_role("button", name="Revoke token").click()
    # The server answered 200 with an empty text/html body: that is a revocation (RFC 7009).
    expect(page.get_by_text(f"Token …{last4(second)} revoked.")).to_be_visible()
    assert not oauth_server.is_active(second) and _resource(oauth_server, second) == 401
    assert Issuance.objects.get(access_token_last4=last4(second)).status == Status.REVOKED
