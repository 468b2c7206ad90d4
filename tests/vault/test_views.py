import logging

import pytest
from django.urls import reverse

from portal.audit.models import Action, AuditEvent
from portal.vault import services
from portal.vault.models import Credential
from tests import factories
from tests.factories import CONSUMER_KEY, CONSUMER_SECRET, ORG_KEY


def _pages(credential):
    team = credential.team_id
    return {
        "list": reverse("vault:credential_list_team", args=[team]),
        "create": reverse("vault:credential_create", args=[team]),
        "edit": reverse("vault:credential_edit", args=[credential.pk]),
        "archive": reverse("vault:credential_archive", args=[credential.pk]),
    }


EXPECTED = {
    "alice": {"list": 200, "create": 200, "edit": 200, "archive": 200},
    "bob": {"list": 200, "create": 403, "edit": 403, "archive": 403},
    "carol": {"list": 200, "create": 403, "edit": 403, "archive": 403},
    "mallory": {"list": 404, "create": 404, "edit": 404, "archive": 404},
}


@pytest.mark.parametrize("who", sorted(EXPECTED))
@pytest.mark.parametrize("page", ["list", "create", "edit", "archive"])
def test_access_matrix_for_every_credential_page(cast, credential, client_for, who, page):
    response = client_for(cast[who]).get(_pages(credential)[page])
    assert response.status_code == EXPECTED[who][page]


@pytest.mark.parametrize("who", ["bob", "carol", "mallory"])
@pytest.mark.parametrize("page", ["create", "edit", "archive"])
def test_non_owners_cannot_write_with_a_post(cast, credential, client_for, form_data, who, page):
    before = AuditEvent.objects.count()
    response = client_for(cast[who]).post(_pages(credential)[page], form_data)
    assert response.status_code == (404 if who == "mallory" else 403)
    credential.refresh_from_db()
    assert credential.archived_at is None and credential.name == "Acme production"
    assert Credential.objects.count() == 1
    assert AuditEvent.objects.count() == before


def test_anonymous_visitors_are_sent_to_login(credential, client):
    for url in _pages(credential).values():
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login" in response["Location"]


def test_unknown_credential_is_404_for_its_team_owner(acme, alice_client):
    url = reverse("vault:credential_edit", args=["00000000-0000-0000-0000-000000000000"])
    assert alice_client.get(url).status_code == 404


def test_list_shows_the_masked_key_gateway_scopes_and_never_used(credential, client_for, bob):
    response = client_for(bob).get(_pages(credential)["list"])
    html = response.content.decode()
    assert "wU62…AbAa" in html
    assert CONSUMER_KEY not in html
    assert "API Cloud" in html and "read" in html and "never" in html
    assert "Add credential" not in html  # issuers read only


def test_current_team_list_defaults_to_the_personal_team(alice, acme, alice_client):
    response = alice_client.get(reverse("vault:credential_list"))
    assert response.status_code == 200
    assert "No credentials yet" in response.content.decode()


def test_list_paginates(acme, alice, gateway, alice_client):
    for i in range(27):
        factories.credential_create(
            team=acme,
            actor=alice,
            gateway=gateway,
            name=f"App number {i:02}",
            consumer_key=f"key{i}",
            consumer_secret="s",
        )
    url = reverse("vault:credential_list_team", args=[acme.pk])
    first = alice_client.get(url).content.decode()
    second = alice_client.get(url + "?page=2").content.decode()
    assert "Page 1 of 2" in first and "App number 00" in first and "App number 26" not in first
    assert "App number 26" in second and "App number 00" not in second
    assert alice_client.get(url + "?page=nonsense").status_code == 200


def test_owner_creates_a_credential_stored_encrypted_and_audited(acme, alice_client, form_data):
    response = alice_client.post(_create_url(acme), form_data)
    assert response.status_code == 302
    credential = Credential.objects.get(name="Acme staging")
    assert credential.consumer_key_hint == "wU62…AbAa"
    assert credential.default_scopes == ["read", "update"]
    assert credential.allowed_grants == ["password"]
    assert credential.created_by.username == "alice"
    secrets = services.credential_secrets(credential=credential)
    assert (secrets.consumer_key, secrets.consumer_secret, secrets.org_key) == (
        CONSUMER_KEY,
        CONSUMER_SECRET,
        ORG_KEY,
    )
    event = AuditEvent.objects.get(action=Action.CREDENTIAL_CREATED)
    assert event.details["name"] == "Acme staging"
    assert len(event.details["consumer_key_fp"]) == 16


def _create_url(team):
    return reverse("vault:credential_create", args=[team.pk])


BAD_INPUTS = {
    "key with a space": ("consumer_key", "wU62 Djly"),
    "key not ascii": ("consumer_key", "wU62Djlé"),
    "key too long": ("consumer_key", "k" * 257),
    "key missing": ("consumer_key", ""),
    "secret with a space": ("consumer_secret", "ksdS doef"),
    "secret with a control character": ("consumer_secret", "ksdS\x07doef"),
    "secret too long": ("consumer_secret", "s" * 257),
    "secret missing": ("consumer_secret", ""),
    "org key with bad characters": ("org_key", "johns org!"),
    "org key too long": ("org_key", "o" * 65),
    "org key missing for an email@org_key gateway": ("org_key", ""),
    "scope with a quote": ("default_scopes", 'read "update"'),
    "scope with a backslash": ("default_scopes", "read up\\date"),
    "name missing": ("name", ""),
    "name taken (other case)": ("name", "ACME PRODUCTION"),
    "no grant": ("allow_password", None),
    "unknown gateway": ("gateway", "999999"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_create_rejects_bad_input_inline_and_saves_nothing(
    credential, alice_client, form_data, case
):
    field, value = BAD_INPUTS[case]
    data = dict(form_data, consumer_secret=CONSUMER_SECRET + "X")
    if value is None:
        data.pop(field)
    else:
        data[field] = value
    before = AuditEvent.objects.count()
    response = alice_client.post(_create_url(credential.team), data)
    assert response.status_code == 400
    form = response.context["form"]
    assert field in form.errors
    assert Credential.objects.count() == 1
    assert AuditEvent.objects.count() == before
    html = response.content.decode()
    assert 'class="errorlist' in html
    assert CONSUMER_SECRET + "X" not in html  # the secret is never echoed back


def test_org_key_is_optional_when_the_gateway_does_not_use_it(
    acme, alice_client, form_data, plain_gateway
):
    data = dict(form_data, gateway=str(plain_gateway.pk), org_key="")
    assert alice_client.post(_create_url(acme), data).status_code == 302
    assert Credential.objects.get(name="Acme staging").org_key_encrypted == ""


def test_archived_name_can_be_reused(credential, alice, alice_client, form_data):
    services.credential_archive(credential=credential, actor=alice)
    data = dict(form_data, name="Acme production")
    assert alice_client.post(_create_url(credential.team), data).status_code == 302


def test_create_page_without_gateways_says_an_administrator_adds_one(acme, alice_client):
    html = alice_client.get(_create_url(acme)).content.decode()
    assert "No gateway is configured yet" in html


def test_edit_with_blank_secret_fields_keeps_them(credential, alice_client):
    url = _pages(credential)["edit"]
    data = {
        "name": "Acme prod",
        "gateway": str(credential.gateway_id),
        "consumer_key": "",
        "consumer_secret": "",
        "org_key": "",
        "default_scopes": "read",
        "allow_password": "on",
        "allow_client_credentials": "on",
    }
    assert alice_client.post(url, data).status_code == 302
    credential.refresh_from_db()
    secrets = services.credential_secrets(credential=credential)
    assert (secrets.consumer_key, secrets.consumer_secret, secrets.org_key) == (
        CONSUMER_KEY,
        CONSUMER_SECRET,
        ORG_KEY,
    )
    assert credential.name == "Acme prod"
    assert credential.allowed_grants == ["password", "client_credentials"]
    event = AuditEvent.objects.get(action=Action.CREDENTIAL_UPDATED)
    assert event.details["changed"] == ["name", "default_scopes", "grants"]


def test_edit_replaces_the_secret_and_audits_only_its_fingerprint(credential, alice_client):
    new_secret = "NewSecretValue0123456789"
    data = {
        "name": credential.name,
        "gateway": str(credential.gateway_id),
        "consumer_secret": new_secret,
        "default_scopes": "read update",
        "allow_password": "on",
    }
    assert alice_client.post(_pages(credential)["edit"], data).status_code == 302
    credential.refresh_from_db()
    assert services.credential_secrets(credential=credential).consumer_secret == new_secret
    event = AuditEvent.objects.get(action=Action.CREDENTIAL_UPDATED)
    assert event.details["changed"] == ["consumer_secret"]
    assert new_secret not in str(event.details)


def test_edit_can_remove_the_org_key_when_the_gateway_does_not_need_it(
    credential, alice_client, plain_gateway
):
    # Moving to another gateway needs the key and secret typed again (test_gateway_binding.py).
    data = {
        "name": credential.name,
        "gateway": str(plain_gateway.pk),
        "consumer_key": CONSUMER_KEY,
        "consumer_secret": CONSUMER_SECRET,
        "clear_org_key": "on",
        "allow_password": "on",
    }
    assert alice_client.post(_pages(credential)["edit"], data).status_code == 302
    credential.refresh_from_db()
    assert credential.org_key_encrypted == "" and credential.gateway_id == plain_gateway.pk


def test_edit_refuses_removing_an_org_key_the_gateway_needs(credential, alice_client):
    data = {
        "name": credential.name,
        "gateway": str(credential.gateway_id),
        "clear_org_key": "on",
        "allow_password": "on",
    }
    response = alice_client.post(_pages(credential)["edit"], data)
    assert response.status_code == 400 and "org_key" in response.context["form"].errors


def test_edit_page_previews_the_composed_upstream_username(credential, alice, client_for):
    alice.api_store_email = "john@johns.org"
    alice.save()
    html = client_for(alice).get(_pages(credential)["edit"]).content.decode()
    assert "john@johns.org@johnsorg" in html


def test_create_page_previews_the_username_with_a_placeholder_org_key(
    acme, alice, gateway, alice_client
):
    html = alice_client.get(_create_url(acme)).content.decode()
    assert "alice@alice.org@‹org key›" in html


def test_archive_needs_confirmation_then_archives_and_audits(credential, alice_client):
    url = _pages(credential)["archive"]
    confirm = alice_client.get(url)
    assert "Archive credential" in confirm.content.decode()
    credential.refresh_from_db()
    assert credential.archived_at is None
    assert alice_client.post(url).status_code == 302
    credential.refresh_from_db()
    assert credential.is_archived
    assert AuditEvent.objects.filter(action=Action.CREDENTIAL_ARCHIVED).count() == 1
    archived = alice_client.get(_pages(credential)["list"] + "?show=archived").content.decode()
    assert "Acme production" in archived
    active = alice_client.get(_pages(credential)["list"]).content.decode()
    assert "Acme production" not in active


def test_archived_credential_cannot_be_edited(credential, alice, alice_client):
    services.credential_archive(credential=credential, actor=alice)
    response = alice_client.get(_pages(credential)["edit"])
    assert response.status_code == 302


def _admin_client(client):
    return factories.logged_in(factories.admin_create(), client)


def test_consumer_secret_appears_in_no_html_log_or_audit_event(
    credential, alice, alice_client, client, caplog, form_data
):
    caplog.set_level(logging.DEBUG)
    pages = _pages(credential)
    htmls = []
    # Every credential page, including failed submissions carrying the secret.
    for name in ("list", "create", "edit", "archive"):
        htmls.append(alice_client.get(pages[name]).content.decode())
    htmls.append(alice_client.post(pages["create"], dict(form_data, name="")).content.decode())
    htmls.append(
        alice_client.post(
            pages["edit"], {"name": "", "consumer_secret": CONSUMER_SECRET}
        ).content.decode()
    )
    admin = _admin_client(client)
    htmls.append(admin.get("/admin/vault/credential/").content.decode())
    change = admin.get(f"/admin/vault/credential/{credential.pk}/change/")
    assert change.status_code == 200
    htmls.append(change.content.decode())
    htmls.append(alice_client.post(pages["archive"], follow=True).content.decode())
    htmls.append(alice_client.get(pages["list"] + "?show=archived").content.decode())
    for html in htmls:
        assert CONSUMER_SECRET not in html
        assert CONSUMER_KEY not in html
    assert "wU62…AbAa" in htmls[-1]
    for record in caplog.records:
        text = record.getMessage() + repr(record.args) + repr(record.__dict__)
        assert CONSUMER_SECRET not in text
    for details in AuditEvent.objects.values_list("details", flat=True):
        assert CONSUMER_SECRET not in str(details) and CONSUMER_KEY not in str(details)


def test_admin_shows_and_validates_a_gateways_introspection_url(credential, client):
    admin = _admin_client(client)
    gateway = credential.gateway
    url = f"/admin/vault/gateway/{gateway.pk}/change/"
    assert 'name="introspection_url"' in admin.get(url).content.decode()
    data = {
        "name": gateway.name,
        "token_url": gateway.token_url,
        "revoke_url": gateway.revoke_url,
        "username_template": gateway.username_template,
        "client_auth": gateway.client_auth,
        "ca_bundle": "",
    }
    refused = admin.post(url, {**data, "introspection_url": "ftp://gw.example/introspect"})
    assert refused.status_code == 200
    gateway.refresh_from_db()
    assert gateway.introspection_url == ""
    admin.post(url, {**data, "introspection_url": "https://gw.example/oauth2/introspect"})
    gateway.refresh_from_db()
    assert gateway.introspection_url == "https://gw.example/oauth2/introspect"
    listing = admin.get("/admin/vault/gateway/").content.decode()
    assert "https://gw.example/oauth2/introspect" in listing


def test_admin_cannot_add_or_change_credentials(credential, client):
    admin = _admin_client(client)
    assert admin.get("/admin/vault/credential/add/").status_code == 403
    response = admin.post(f"/admin/vault/credential/{credential.pk}/change/", {"name": "renamed"})
    assert response.status_code == 403
    credential.refresh_from_db()
    assert credential.name == "Acme production"
