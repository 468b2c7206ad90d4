"""Whole portal flows against the conformance server (oauth_server.py), through Django's test
client: a logged-in team member generates, renews and revokes tokens with a credential whose
gateway is the oauthlib server, and after every step the portal's record (the Issuance, its
audit events) is compared with the server's own truth (``is_active``, the protected resource).
"""

import html
import uuid
from datetime import timedelta

import pytest
import requests
from django.urls import reverse

from portal.audit.models import AuditEvent
from portal.tokens.models import Issuance, Status
from portal.vault import crypto
from portal.vault import services as vault
from tests.conformance.oauth_server import (
    CLIENT_ID,
    CLIENT_SECRET,
    PLAIN_CLIENT_ID,
    PLAIN_CLIENT_SECRET,
    USER_PASSWORD,
    USERNAME,
)

pytestmark = pytest.mark.django_db

NOT_ALL_SCOPES_WARNING = "did not grant every scope"


@pytest.fixture
def credential_for(oauth_server, acme, alice):
    """``credential_for(client_auth="basic", consumer_key=..., consumer_secret=...)`` - an Acme
    credential (created by its owner alice) for a gateway that is the conformance server."""

    def make(client_auth="basic", consumer_key=CLIENT_ID, consumer_secret=CLIENT_SECRET, **extra):
        gateway, _ = vault.gateway_create(
            name=f"Conformance server ({client_auth})",
            token_url=oauth_server.token_url,
            revoke_url=oauth_server.revoke_url,
            username_template="{username}",
            client_auth=client_auth,
        )
        options = {"default_scopes": ["read"], "allow_client_credentials": True, **extra}
        return vault.credential_create(
            team=acme,
            name=f"Conformance app {uuid.uuid4().hex[:8]}",
            gateway=gateway,
            consumer_key=consumer_key,
            consumer_secret=consumer_secret,
            actor=alice,
            **options,
        )

    return make


@pytest.fixture
def credential(credential_for):
    return credential_for()


@pytest.fixture
def browser(bob, client_for):
    """bob, an issuer in Acme, logged in."""
    return client_for(bob)


# --- driving the pages ---------------------------------------------------------------------------


def _shown_token(page: str) -> str | None:
    if 'id="access-token"' not in page:
        return None
    start = page.index('id="access-token"')
    return html.unescape(
        page[page.index(">", start) + 1 : page.index("</textarea>", start)].strip()
    )


def generate(browser, credential, **overrides) -> tuple[Issuance, str | None, str]:
    """Submit the generate form: ``(issuance, the token shown once or None, the page)``."""
    data = {
        "credential": str(credential.pk),
        "grant_type": "password",
        "upstream_username": USERNAME,
        "password": USER_PASSWORD,
        "scopes": ["read"],
        "extra_scopes": "",
        "idempotency_key": str(uuid.uuid4()),
    }
    data.update(overrides)
    before = set(Issuance.objects.values_list("pk", flat=True))
    response = browser.post(reverse("tokens:generate"), data)
    page = response.content.decode()
    if response.status_code == 302:
        page = browser.get(response["Location"]).content.decode()
    issuance = Issuance.objects.exclude(pk__in=before).get()
    return issuance, _shown_token(page), page


def renew(browser, issuance) -> tuple[Issuance, str | None]:
    """Renew from the confirmation page: ``(the new issuance, the token shown once or None)``."""
    before = set(Issuance.objects.values_list("pk", flat=True))
    url = reverse("tokens:renew", args=[issuance.pk])
    response = browser.post(url, {"idempotency_key": str(uuid.uuid4())})
    assert response.status_code == 302
    page = browser.get(response["Location"]).content.decode()
    return Issuance.objects.exclude(pk__in=before).get(), _shown_token(page)


def revoke(browser, issuance) -> str:
    """Revoke from the confirmation page; returns the page the portal then shows."""
    response = browser.post(reverse("tokens:revoke", args=[issuance.pk]))
    assert response.status_code == 302
    issuance.refresh_from_db()
    return browser.get(response["Location"]).content.decode()


def audit_trail(issuance) -> list[tuple[str, str]]:
    events = AuditEvent.objects.filter(target_id=str(issuance.pk)).order_by("seq")
    return list(events.values_list("action", "outcome"))


def stored_refresh_token(issuance) -> str:
    return crypto.unseal(issuance, "refresh_token_encrypted")


def resource_status(server, access_token: str) -> int:
    headers = {"Authorization": f"Bearer {access_token}"}
    return requests.get(server.resource_url, headers=headers, timeout=10).status_code


def assert_active_on_both_sides(server, issuance, token: str) -> None:
    assert issuance.status == Status.ACTIVE, (
        f"portal says {issuance.status} ({issuance.failure_kind}: {issuance.failure_message})"
    )
    assert server.is_active(token), "portal says active, the server says inactive"
    assert resource_status(server, token) == 200


def assert_revoked_on_both_sides(server, issuance, token: str) -> None:
    server_says = "inactive" if not server.is_active(token) else "active"
    assert issuance.status == Status.REVOKED, (
        f"portal says {issuance.status}, the server says the token is {server_says}"
    )
    assert not server.is_active(token), "portal says revoked, the server says active"
    assert resource_status(server, token) == 401


# --- generate ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "client_auth, key, secret",
    [
        ("basic", CLIENT_ID, CLIENT_SECRET),
        ("client_secret_post", CLIENT_ID, CLIENT_SECRET),
        ("basic_raw", PLAIN_CLIENT_ID, PLAIN_CLIENT_SECRET),
    ],
)
def test_password_token_is_recorded_as_the_server_issued_it(
    oauth_server, credential_for, browser, client_auth, key, secret
):
    credential = credential_for(client_auth, key, secret)
    issuance, token, _ = generate(browser, credential, scopes=["read"], extra_scopes="write")
    assert_active_on_both_sides(oauth_server, issuance, token)
    record = oauth_server.token_record(token)
    assert record.user == USERNAME == issuance.upstream_username
    assert record.client_id == key
    assert issuance.requested_scopes == ["read", "write"]
    assert issuance.granted_scopes == list(record.scopes) == ["read", "write"]
    assert issuance.token_format == "opaque"
    assert issuance.token_type == "Bearer"
    assert issuance.expires_at - issuance.issued_at == timedelta(seconds=3600)
    assert issuance.access_token_last4 == token[-4:]
    assert oauth_server.is_active(stored_refresh_token(issuance))
    assert audit_trail(issuance) == [("token.requested", "success"), ("token.issued", "success")]


def test_client_credentials_token_is_an_application_token(oauth_server, credential, browser):
    issuance, token, _ = generate(browser, credential, grant_type="client_credentials", password="")
    assert_active_on_both_sides(oauth_server, issuance, token)
    assert oauth_server.token_record(token).user is None
    assert issuance.upstream_username == ""
    assert not issuance.has_refresh_token
    assert oauth_server.active_tokens("refresh_token") == []


@pytest.mark.parametrize("oauth_server", [{"token_format": "jwt"}], indirect=True, ids=["jwt"])
def test_jwt_access_token_is_recorded_as_jwt(oauth_server, credential, browser):
    issuance, token, page = generate(browser, credential)
    assert_active_on_both_sides(oauth_server, issuance, token)
    assert issuance.token_format == "jwt"
    assert "JWT claims" in page


def test_a_request_without_scopes_gets_the_default_scope_and_no_warning(
    oauth_server, credential, browser
):
    # The server's default scope answers a request that named none: nothing was dropped.
    issuance, token, page = generate(browser, credential, scopes=[], extra_scopes="")
    assert_active_on_both_sides(oauth_server, issuance, token)
    assert issuance.requested_scopes == []
    assert issuance.granted_scopes == ["default"]
    assert NOT_ALL_SCOPES_WARNING not in page


def test_an_answer_without_expires_in_is_an_active_token_of_unknown_lifetime(
    oauth_server, credential, browser
):
    oauth_server.configure(send_expires_in=False)
    issuance, token, _ = generate(browser, credential)
    assert_active_on_both_sides(oauth_server, issuance, token)
    assert issuance.expires_at is None


# --- generate: refusals --------------------------------------------------------------------------


def test_wrong_password_is_a_failed_issuance_and_no_token(oauth_server, credential, browser):
    issuance, token, page = generate(browser, credential, password="not the password")
    assert token is None
    assert issuance.status == Status.FAILED
    assert issuance.failure_kind == "invalid_grant"
    assert "rejected the username or password" in page
    assert oauth_server.active_tokens() == []
    assert audit_trail(issuance) == [("token.requested", "success"), ("token.failed", "failure")]


def test_wrong_consumer_secret_is_invalid_client(oauth_server, credential_for, browser):
    credential = credential_for(consumer_secret="not-the-secret")
    issuance, token, page = generate(browser, credential)
    assert token is None
    assert issuance.failure_kind == "invalid_client"
    assert "consumer key or secret" in page
    assert oauth_server.active_tokens() == []


def test_an_unknown_scope_refused_by_the_server_is_invalid_scope(oauth_server, credential, browser):
    issuance, token, page = generate(browser, credential, extra_scopes="admin")
    assert token is None
    assert issuance.status == Status.FAILED
    assert issuance.failure_kind == "invalid_scope"
    assert "refused the requested scopes (read, admin)" in page  # names them, says what to do
    assert "Request fewer or other scopes" in page
    assert oauth_server.active_tokens() == []


# --- renew ---------------------------------------------------------------------------------------


def test_renewal_with_rotation_keeps_the_new_refresh_token(oauth_server, credential, browser):
    old, first, _ = generate(browser, credential)
    old_refresh = stored_refresh_token(old)
    new, second = renew(browser, old)
    assert_active_on_both_sides(oauth_server, new, second)
    old.refresh_from_db()
    assert old.status == Status.RENEWED
    assert new.renewed_from_id == old.pk
    assert second != first
    assert not oauth_server.is_active(old_refresh)  # rotated away
    assert oauth_server.is_active(stored_refresh_token(new))
    assert audit_trail(new) == [("token.requested", "success"), ("token.renewed", "success")]


@pytest.mark.parametrize("refresh_tokens", ["reuse", "omit"])
def test_renewal_without_rotation_keeps_the_token_renewable_and_revocable(
    oauth_server, credential, browser, refresh_tokens
):
    # RFC 6749 §6: a server may answer a refresh without a new refresh token (or with the same
    # one); the refresh token the portal holds stays valid and must not be forgotten.
    oauth_server.configure(refresh_tokens=refresh_tokens)
    first, _, _ = generate(browser, credential)
    refresh_token = stored_refresh_token(first)
    second, _ = renew(browser, first)
    assert second.status == Status.ACTIVE
    assert second.can_be_renewed, "the portal forgot a refresh token the server still honours"
    third, token = renew(browser, second)
    assert_active_on_both_sides(oauth_server, third, token)
    revoke(browser, third)
    assert_revoked_on_both_sides(oauth_server, third, token)
    assert not oauth_server.is_active(refresh_token)


def test_renewal_with_a_refresh_token_the_server_no_longer_honours(
    oauth_server, credential, browser
):
    old, _, _ = generate(browser, credential)
    # Revoked behind the portal's back (by another holder of the application's keys, say).
    form = {"token": stored_refresh_token(old), "client_id": CLIENT_ID}
    requests.post(
        oauth_server.revoke_url, data={**form, "client_secret": CLIENT_SECRET}, timeout=10
    )
    new, token = renew(browser, old)
    assert token is None
    assert new.status == Status.FAILED
    assert new.failure_kind == "invalid_grant"
    assert "generate a new token" in new.failure_message


# --- revoke --------------------------------------------------------------------------------------


def test_revoking_a_user_token_revokes_it_at_the_server(oauth_server, credential, browser):
    issuance, token, _ = generate(browser, credential)
    refresh_token = stored_refresh_token(issuance)
    revoke(browser, issuance)
    assert_revoked_on_both_sides(oauth_server, issuance, token)
    assert not oauth_server.is_active(refresh_token)
    assert issuance.revoke_result["accepted"] is True
    assert issuance.revoke_result["used"] == "refresh_token"
    # This server sends no WSO2 Revoked* headers; the portal must not claim it did.
    assert issuance.revoke_result["headers_sent"] is False
    assert oauth_server.requests_to("/revoke")[-1].form["token_type_hint"] == "refresh_token"
    assert audit_trail(issuance)[-2:] == [
        ("token.revoke_requested", "success"),
        ("token.revoked", "success"),
    ]


def test_revoking_an_application_token_revokes_the_access_token(oauth_server, credential, browser):
    issuance, token, _ = generate(browser, credential, grant_type="client_credentials", password="")
    revoke(browser, issuance)
    assert_revoked_on_both_sides(oauth_server, issuance, token)
    assert issuance.revoke_result["used"] == "access_token"


@pytest.mark.parametrize(
    "oauth_server",
    [{"revoke_content_type": "text/html; charset=utf-8"}],
    indirect=True,
    ids=["text-html"],
)
def test_revocation_answered_by_an_empty_text_html_200_is_recorded_as_revoked(
    oauth_server, credential, browser
):
    issuance, token, _ = generate(browser, credential)
    page = revoke(browser, issuance)
    assert_revoked_on_both_sides(oauth_server, issuance, token)
    assert "revoked" in page
    assert audit_trail(issuance)[-1] == ("token.revoked", "success")


@pytest.mark.parametrize("client_auth", ["basic", "client_secret_post"])
def test_whole_life_of_a_token_with_each_client_auth_style(
    oauth_server, credential_for, browser, client_auth
):
    credential = credential_for(client_auth)
    first, first_token, _ = generate(browser, credential)
    second, second_token = renew(browser, first)
    assert_active_on_both_sides(oauth_server, second, second_token)
    revoke(browser, second)
    assert_revoked_on_both_sides(oauth_server, second, second_token)
    # Revoking the refresh token took the whole grant along, the first token included.
    assert not oauth_server.is_active(first_token)
    assert oauth_server.active_tokens() == []
