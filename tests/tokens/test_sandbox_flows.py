"""Full flows against the built-in sandbox gateway, through the live server and real HTTP:
the portal's client calls /sandbox/token like any gateway, and the issued token is tried at the
sandbox's protected API."""

import json
import urllib.error
import urllib.request
import uuid

import pytest
from django.urls import reverse

from portal.sandbox import services as sandbox
from portal.tokens.models import Issuance, Status
from tests import factories
from tests.factories import ORG_KEY

pytestmark = pytest.mark.django_db(transaction=True)

KEY = "SandboxConsumerKey0000000000"
SECRET = "SandboxConsumerSecret000000000000"
USERNAME = "john@johns.org@johnsorg"
PASSWORD = "sandbox-user-password-1"


@pytest.fixture
def sandbox_credential(live_server, acme, alice):
    sandbox.sandbox_seed(
        consumer_key=KEY,
        consumer_secret=SECRET,
        username=USERNAME,
        password=PASSWORD,
        app_scopes="default read write",
        user_scopes="default read",
    )
    gateway = factories.gateway_create(
        name="Sandbox (live test)",
        token_url=f"{live_server.url}/sandbox/token",
        revoke_url=f"{live_server.url}/sandbox/revoke",
        is_sandbox=True,
    )
    return factories.credential_create(
        team=acme,
        actor=alice,
        gateway=gateway,
        name="Sandbox app",
        consumer_key=KEY,
        consumer_secret=SECRET,
        org_key=ORG_KEY,
        default_scopes=["default", "read"],
        allow_client_credentials=True,
    )


def _echo(live_server, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{live_server.url}/sandbox/api/echo", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def _generate(browser, credential, **overrides) -> str:
    data = {
        "credential": str(credential.pk),
        "grant_type": "password",
        "upstream_username": USERNAME,
        "password": PASSWORD,
        "scopes": ["default", "read"],
        "extra_scopes": "admin",
        "idempotency_key": str(uuid.uuid4()),
    }
    data.update(overrides)
    response = browser.post(reverse("tokens:generate"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    page = browser.get(response["Location"]).content.decode()
    start = page.index('id="access-token"')
    return page[page.index(">", start) + 1 : page.index("</textarea>", start)].strip()


def test_password_grant_token_works_at_the_echo_api(
    live_server, bob, sandbox_credential, client_for
):
    token = _generate(client_for(bob), sandbox_credential)
    status, body = _echo(live_server, token)
    assert status == 200
    assert USERNAME in json.dumps(body)
    issuance = Issuance.objects.get()
    assert issuance.status == Status.ACTIVE
    assert issuance.token_format == "jwt"
    # "admin" is not the user's: the sandbox dropped it silently, the portal recorded that.
    assert issuance.requested_scopes == ["default", "read", "admin"]
    assert sorted(issuance.granted_scopes) == ["default", "read"]


def test_wrong_password_is_a_clear_message_and_a_failed_issuance(
    live_server, bob, sandbox_credential, client_for
):
    response = client_for(bob).post(
        reverse("tokens:generate"),
        {
            "credential": str(sandbox_credential.pk),
            "grant_type": "password",
            "upstream_username": USERNAME,
            "password": "wrong",
            "idempotency_key": str(uuid.uuid4()),
        },
    )
    assert "rejected the username or password" in response.content.decode()
    assert Issuance.objects.get().failure_kind == "invalid_grant"


def test_client_credentials_application_token_works(
    live_server, bob, sandbox_credential, client_for
):
    token = _generate(
        client_for(bob), sandbox_credential, grant_type="client_credentials", password=""
    )
    assert _echo(live_server, token)[0] == 200
    assert not Issuance.objects.get().has_refresh_token


def test_renew_rotates_and_revoke_makes_the_echo_api_answer_401(
    live_server, bob, sandbox_credential, client_for
):
    browser = client_for(bob)
    first = _generate(browser, sandbox_credential)
    old = Issuance.objects.get()
    response = browser.post(
        reverse("tokens:renew", args=[old.pk]), {"idempotency_key": str(uuid.uuid4())}
    )
    assert response.status_code == 302
    page = browser.get(response["Location"]).content.decode()
    start = page.index('id="access-token"')
    second = page[page.index(">", start) + 1 : page.index("</textarea>", start)].strip()
    assert second != first
    new = Issuance.objects.get(renewed_from=old)
    old.refresh_from_db()
    assert old.status == Status.RENEWED
    assert _echo(live_server, second)[0] == 200

    browser.post(reverse("tokens:revoke", args=[new.pk]))
    new.refresh_from_db()
    assert new.status == Status.REVOKED
    assert new.revoke_result["accepted"] is True
    assert new.revoke_result["headers_sent"] is True
    assert _echo(live_server, second)[0] == 401


def test_bulk_revoke_against_the_sandbox(live_server, alice, bob, sandbox_credential, client_for):
    tokens = [_generate(client_for(user), sandbox_credential) for user in (alice, bob)]
    ids = [str(pk) for pk in Issuance.objects.values_list("pk", flat=True)]
    client_for(alice).post(reverse("tokens:revoke_bulk"), {"issuances": ids, "confirm": "1"})
    assert set(Issuance.objects.values_list("status", flat=True)) == {Status.REVOKED}
    assert [_echo(live_server, t)[0] for t in tokens] == [401, 401]
