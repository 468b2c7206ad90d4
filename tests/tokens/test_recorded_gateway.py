# ruff: noqa: F811  (the fixtures of test_flows are imported by name)
"""Every issuance records the gateway and URLs it was issued by; renew and revoke go only there.

The attacks: an owner moves the team's credential to a gateway she can observe, or a staff
account edits the gateway's token URL, and the next renewal hands a member's refresh token and
the consumer secret to the new address.
"""

import threading
import uuid

import pytest
from django.db import connection
from django.test import override_settings

from portal.tokens import services
from portal.tokens.models import Issuance, Status
from portal.tokens.services import TokenActionError
from portal.vault import services as vault

from .test_flows import _generate, credential, fake, gateway  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def active(bob, credential, client_for, fake):
    _generate(client_for(bob), credential)
    return Issuance.objects.get()


def test_an_issuance_records_its_gateway_and_urls(active, gateway):
    assert active.gateway == gateway
    assert active.token_url == "https://gateway.test/token"
    assert active.revoke_url == "https://gateway.test/revoke"


def test_renewal_is_refused_when_the_gateway_token_url_changed(active, gateway, bob, fake):
    vault.gateway_update(gateway=gateway, token_url="https://observer.test/token")
    with pytest.raises(TokenActionError, match="token URL changed"):
        services.token_renew(user=bob, issuance=active)
    assert fake.calls_named("refresh_token") == []


def test_revocation_goes_to_the_recorded_revoke_url(active, gateway, bob, fake):
    vault.gateway_update(gateway=gateway, revoke_url="https://observer.test/revoke")
    services.token_revoke(user=bob, issuance=active)
    sent = fake.calls_named("revoke")[0]["credentials"]
    assert sent.gateway.revoke_url == "https://gateway.test/revoke"


def test_renew_and_revoke_refuse_a_credential_moved_to_another_gateway(
    active, credential, alice, bob, fake
):
    observer, _ = vault.gateway_create(
        name="Observer",
        token_url="https://observer.test/token",
        revoke_url="https://observer.test/revoke",
    )
    vault.credential_update(
        credential=credential,
        actor=alice,
        name=credential.name,
        gateway=observer,
        default_scopes=list(credential.default_scopes),
        allow_password=True,
        allow_client_credentials=True,
        consumer_key="ObserverKey0123456789",
        consumer_secret="ObserverSecret0123456789",
        org_key="johnsorg",
    )
    active.refresh_from_db()
    with pytest.raises(TokenActionError, match="another gateway"):
        services.token_renew(user=alice, issuance=active)
    with pytest.raises(TokenActionError, match="another gateway"):
        services.token_revoke(user=alice, issuance=active)
    assert [name for name, _ in fake.calls] == ["password"]


def test_issuance_refuses_a_plain_http_gateway_when_http_is_not_allowed(
    bob, credential, gateway, client_for, fake
):
    # Created while the flag was on; the flag is off now: no secret may travel in clear.
    vault.gateway_update(gateway=gateway, token_url="http://gateway.test/token")
    with override_settings(PORTAL_ALLOW_HTTP_GATEWAYS=False):
        response = _generate(client_for(bob), credential)
        assert response.status_code == 200
        assert "plain HTTP" in response.content.decode()
    assert fake.calls == []


@pytest.mark.django_db(transaction=True)
def test_the_rate_limit_holds_under_simultaneous_requests(bob, credential, fake, settings):
    settings.PORTAL_RATE_LIMIT_PER_USER = 5
    settings.PORTAL_RATE_LIMIT_PER_TEAM = 0
    attempts = 12
    start = threading.Barrier(attempts)

    def issue():
        try:
            start.wait()
            services.token_issue(
                user=bob,
                credential=credential,
                grant_type="client_credentials",
                scopes=["read"],
                idempotency_key=uuid.uuid4(),
            )
        except TokenActionError:
            pass
        finally:
            connection.close()

    threads = [threading.Thread(target=issue) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Issuance.objects.filter(status=Status.ACTIVE).count() == 5
