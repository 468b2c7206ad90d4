"""A credential's secrets are bound to the gateway they were entered for.

The attack: an owner switches the team's credential to another registered gateway whose traffic
she can observe, keeping the stored key and secret; the next renewal sends them there.
"""

import pytest
from django.core.exceptions import ValidationError

from portal.audit.models import Action, AuditEvent
from portal.vault import services
from portal.vault.models import Credential

from .conftest import CONSUMER_KEY, CONSUMER_SECRET
from .test_views import _pages

pytestmark = pytest.mark.django_db


def _edit(credential, **changes):
    values = {
        "credential": credential,
        "actor": credential.created_by,
        "name": credential.name,
        "gateway": credential.gateway,
        "default_scopes": list(credential.default_scopes),
        "allow_password": credential.allow_password,
        "allow_client_credentials": credential.allow_client_credentials,
    }
    values.update(changes)
    return services.credential_update(**values)


def test_moving_a_credential_to_another_gateway_without_new_secrets_is_refused(
    credential, plain_gateway
):
    with pytest.raises(ValidationError, match="consumer key and secret"):
        _edit(credential, gateway=plain_gateway)
    assert Credential.objects.get(pk=credential.pk).gateway_id == credential.gateway_id


def test_moving_with_the_key_but_not_the_secret_is_refused(credential, plain_gateway):
    with pytest.raises(ValidationError):
        _edit(credential, gateway=plain_gateway, consumer_key="OtherKey0123456789")


def test_moving_with_both_secrets_entered_again_is_allowed_and_audited(credential, plain_gateway):
    _edit(
        credential,
        gateway=plain_gateway,
        consumer_key="OtherKey0123456789",
        consumer_secret="OtherSecret0123456789",
        org_key="",
        clear_org_key=True,
    )
    credential.refresh_from_db()
    assert credential.gateway_id == plain_gateway.pk
    event = AuditEvent.objects.filter(action=Action.CREDENTIAL_UPDATED).latest("seq")
    assert event.details["gateway"] == plain_gateway.name
    assert event.details["old_gateway"] == "API Cloud"


def test_the_edit_page_says_why_the_move_was_refused(credential, plain_gateway, alice_client):
    data = {
        "name": credential.name,
        "gateway": str(plain_gateway.pk),
        "default_scopes": "read update",
        "allow_password": "on",
    }
    response = alice_client.post(_pages(credential)["edit"], data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "enter its consumer key and secret again" in str(errors["consumer_secret"])
    credential.refresh_from_db()
    assert credential.gateway.name == "API Cloud"
    assert CONSUMER_KEY not in response.content.decode()
    assert CONSUMER_SECRET not in response.content.decode()
