import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import override_settings

from portal.audit.models import Action, AuditEvent
from portal.vault import selectors, services
from portal.vault.models import Gateway
from tests import factories


def _gateway(**overrides):
    values = {
        "name": "gw",
        "token_url": "https://gw.example/token",
        "revoke_url": "https://gw.example/revoke",
        "username_template": "{username}",
        "client_auth": "basic",
    }
    values.update(overrides)
    return services.gateway_create(**values)


@override_settings(PORTAL_ALLOW_HTTP_GATEWAYS=False)
def test_http_gateway_is_rejected_unless_allowed(db):
    with pytest.raises(ValidationError) as exc:
        _gateway(token_url="http://gw.example/token")
    assert "https://" in str(exc.value.message_dict["token_url"])
    assert not Gateway.objects.exists()


@override_settings(PORTAL_ALLOW_HTTP_GATEWAYS=True)
def test_http_gateway_is_accepted_when_allowed(db):
    gateway, created = _gateway(
        token_url="http://127.0.0.1:8000/sandbox/token",
        revoke_url="http://127.0.0.1:8000/sandbox/revoke",
    )
    assert created and gateway.token_url.startswith("http://")


@pytest.mark.parametrize(
    "url", ["ftp://gw.example/token", "file:///etc/passwd", "gw.example/token", "https://u:p@gw/x"]
)
def test_gateway_urls_other_than_http_or_https_are_rejected(db, url):
    with pytest.raises(ValidationError):
        _gateway(revoke_url=url)


def test_a_gateway_has_no_introspection_url_unless_given(db):
    gateway, _ = _gateway()
    assert gateway.introspection_url == ""


def test_an_introspection_url_is_kept_and_audited(db):
    gateway, _ = _gateway(introspection_url="https://gw.example/oauth2/introspect")
    gateway.refresh_from_db()
    assert gateway.introspection_url == "https://gw.example/oauth2/introspect"
    event = AuditEvent.objects.get(action=Action.GATEWAY_CREATED)
    assert event.details["introspection_url"] == "https://gw.example/oauth2/introspect"


@pytest.mark.parametrize(
    "url", ["ftp://gw.example/introspect", "gw.example/introspect", "https://u:p@gw/introspect"]
)
def test_an_introspection_url_is_validated_like_the_other_urls(db, url):
    with pytest.raises(ValidationError) as exc:
        _gateway(introspection_url=url)
    assert "introspection_url" in exc.value.message_dict
    assert not Gateway.objects.exists()


@override_settings(PORTAL_ALLOW_HTTP_GATEWAYS=False)
def test_an_http_introspection_url_is_rejected_unless_allowed(db):
    with pytest.raises(ValidationError) as exc:
        _gateway(introspection_url="http://gw.example/introspect")
    assert "https://" in str(exc.value.message_dict["introspection_url"])


def test_add_gateway_command_takes_an_introspection_url(db):
    call_command(
        "add_gateway",
        "--name=APIM",
        "--token-url=https://apim.example:8243/token",
        "--revoke-url=https://apim.example:8243/revoke",
        "--introspection-url=https://apim.example:9443/oauth2/introspect",
    )
    gateway = Gateway.objects.get(name="APIM")
    assert gateway.introspection_url == "https://apim.example:9443/oauth2/introspect"


@pytest.mark.parametrize(
    "template", ["{password}", "{email.__class__}", "{username}@{org}", "{username", "org_key"]
)
def test_username_template_with_unknown_placeholders_is_rejected(db, template):
    with pytest.raises(ValidationError) as exc:
        _gateway(username_template=template)
    assert "username_template" in exc.value.message_dict


def test_missing_ca_bundle_file_is_rejected(db, tmp_path):
    with pytest.raises(ValidationError) as exc:
        _gateway(ca_bundle=str(tmp_path / "missing.pem"))
    assert "ca_bundle" in exc.value.message_dict
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    gateway, _ = _gateway(ca_bundle=str(bundle))
    assert gateway.ca_bundle == str(bundle)


def test_gateway_creation_is_audited_and_idempotent_by_name(db):
    first, created = _gateway()
    again, created_again = _gateway(token_url="https://other.example/token")
    assert created and not created_again
    assert again.pk == first.pk and again.token_url == "https://gw.example/token"
    assert AuditEvent.objects.filter(action=Action.GATEWAY_CREATED).count() == 1


def test_gateway_has_the_attributes_the_token_client_duck_types(gateway):
    assert gateway.token_url == "https://gateway.example/token"
    assert gateway.revoke_url == "https://gateway.example/revoke"
    assert gateway.client_auth == "basic"
    assert gateway.ca_bundle == ""


def test_add_gateway_command_creates_once_and_audits(db, capsys):
    args = [
        "add_gateway",
        "--name=Sandbox",
        "--token-url=http://127.0.0.1:8000/sandbox/token",
        "--revoke-url=http://127.0.0.1:8000/sandbox/revoke",
        "--username-template={username}",
        "--client-auth=basic",
        "--sandbox",
    ]
    call_command(*args)
    call_command(*args)
    out = capsys.readouterr().out
    assert "created" in out and "already exists" in out
    gateway = Gateway.objects.get(name="Sandbox")
    assert gateway.is_sandbox
    event = AuditEvent.objects.get(action=Action.GATEWAY_CREATED)
    assert event.actor_label == "manage.py add_gateway"


@override_settings(PORTAL_ALLOW_HTTP_GATEWAYS=False)
def test_add_gateway_command_refuses_http(db):
    with pytest.raises(CommandError, match="https"):
        call_command(
            "add_gateway",
            "--name=Plain",
            "--token-url=http://gw.example/token",
            "--revoke-url=https://gw.example/revoke",
            "--client-auth=basic",
        )
    assert not Gateway.objects.exists()


def test_username_preview_composes_email_and_org_key(gateway, alice):
    alice.api_store_email = "john@johns.org"
    assert (
        selectors.gateway_compose_username(gateway=gateway, user=alice, org_key="johnsorg")
        == "john@johns.org@johnsorg"
    )


def test_username_falls_back_to_login_email_and_supports_other_templates(db, alice):
    alice.api_store_email = ""
    at_email, _ = _gateway(name="e", username_template="{email}")
    tenant, _ = _gateway(name="t", username_template="{username}@{tenant}")
    assert selectors.gateway_compose_username(gateway=at_email, user=alice, org_key="") == (
        "alice@example.com"
    )
    assert selectors.gateway_compose_username(gateway=tenant, user=alice, org_key="acme.com") == (
        "alice@acme.com"
    )


def test_username_composition_does_not_expand_braces_in_values(gateway, alice):
    alice.api_store_email = "{username}@x.org"
    assert (
        selectors.gateway_compose_username(gateway=gateway, user=alice, org_key="o")
        == "{username}@x.org@o"
    )


def test_admin_adding_a_gateway_is_audited_and_validated(db, client):
    admin = factories.admin_create()
    factories.logged_in(admin, client)
    data = {
        "name": "Admin GW",
        "token_url": "https://admin.example/token",
        "revoke_url": "https://admin.example/revoke",
        "username_template": "{email}@{org_key}",
        "client_auth": "client_secret_post",
        "ca_bundle": "",
    }
    with override_settings(PORTAL_ALLOW_HTTP_GATEWAYS=False):
        bad = client.post("/admin/vault/gateway/add/", {**data, "token_url": "http://a/token"})
    assert bad.status_code == 200 and not Gateway.objects.exists()
    response = client.post("/admin/vault/gateway/add/", data)
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action=Action.GATEWAY_CREATED, actor=admin).count() == 1
