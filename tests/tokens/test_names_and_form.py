"""Token names and notes, and a generate form that follows the grant and says what to retype."""

import re
import uuid

import pytest
from django.urls import reverse

from portal.audit.models import Action, AuditEvent
from portal.tokens import services
from portal.tokens.models import Issuance, Status
from portal.tokens.views.issue import claims_for_display
from portal.vault import services as vault
from tests.fakes import FakeTokenApi

pytestmark = pytest.mark.django_db

PASSWORD = "my-API-store-pa55word!"


@pytest.fixture
def credential(acme, alice):
    gateway, _ = vault.gateway_create(
        name="Test gateway",
        token_url="https://gateway.test/token",
        revoke_url="https://gateway.test/revoke",
        username_template="{email}@{org_key}",
    )
    return vault.credential_create(
        team=acme,
        name="Acme app",
        gateway=gateway,
        consumer_key="wU62DjlyDBnq87GlBwplfqvmAbAa",
        consumer_secret="ksdSdoefDDP7wpaElfqvmjDue",
        org_key="johnsorg",
        default_scopes=["default", "read"],
        allow_password=True,
        allow_client_credentials=True,
        actor=alice,
    )


@pytest.fixture
def fake(monkeypatch):
    return FakeTokenApi().install(monkeypatch)


def generate(client, credential, **overrides):
    data = {
        "credential": str(credential.pk),
        "grant_type": "password",
        "upstream_username": "john@johns.org@johnsorg",
        "password": PASSWORD,
        "scopes": ["default", "read"],
        "extra_scopes": "",
        "name": "",
        "note": "",
        "idempotency_key": str(uuid.uuid4()),
    }
    data.update(overrides)
    return client.post(reverse("tokens:generate"), data)


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


# --- Names and notes ---------------------------------------------------------------------------


def test_a_token_keeps_the_name_and_note_it_was_given(bob, credential, client_for, fake):
    generate(client_for(bob), credential, name="  CI   deploy ", note="GitHub Actions job")
    issuance = Issuance.objects.get()
    assert (issuance.name, issuance.note) == ("CI deploy", "GitHub Actions job")
    event = AuditEvent.objects.get(action=Action.TOKEN_ISSUED)
    assert event.details["name"] == "CI deploy"


def test_an_unnamed_token_is_called_after_its_credential_and_time(
    bob, credential, client_for, fake
):
    generate(client_for(bob), credential)
    assert re.fullmatch(r"Acme app · [A-Z][a-z]{2} \d{1,2} \d\d:\d\d", Issuance.objects.get().name)


def test_a_renewal_keeps_the_name_and_note(bob, credential, fake):
    first = services.token_issue(
        user=bob,
        credential=credential,
        grant_type="password",
        upstream_username="john@johns.org@johnsorg",
        password=PASSWORD,
        scopes=["read"],
        name="Postman",
        note="my collection",
    )
    renewed = services.token_renew(user=bob, issuance=first)
    assert renewed.status == Status.ACTIVE
    assert (renewed.name, renewed.note) == ("Postman", "my collection")


def test_names_and_notes_show_in_history_detail_and_result(bob, credential, client_for, fake):
    client = client_for(bob)
    response = generate(client, credential, name="CI deploy", note="GitHub Actions job")
    result = client.get(response["Location"]).content.decode()
    assert "Access token · CI deploy" in result and "GitHub Actions job" in result
    issuance = Issuance.objects.get()
    detail = client.get(reverse("tokens:detail", args=[issuance.pk])).content.decode()
    assert "<h1>CI deploy</h1>" in detail and "GitHub Actions job" in detail
    history = client.get(reverse("tokens:history"), {"team": issuance.team_id}).content.decode()
    assert ">CI deploy</a>" in history and 'title="GitHub Actions job"' in history
    dashboard = client.get(reverse("dashboard")).content.decode()
    assert ">CI deploy</a>" in dashboard


@pytest.mark.parametrize("search", ["deploy", "GITHUB", "…{last4}", "{last4}"])
def test_history_is_searchable_by_name_note_and_last_characters(
    bob, credential, client_for, fake, search
):
    client = client_for(bob)
    generate(client, credential, name="CI deploy", note="GitHub Actions job")
    generate(client, credential, name="Postman", note="")
    # The fake gateway's tokens all end alike; give each its own last characters.
    Issuance.objects.filter(name="Postman").update(access_token_last4="PoSt")
    Issuance.objects.filter(name="CI deploy").update(access_token_last4="x9Qz")
    wanted = Issuance.objects.get(name="CI deploy")
    response = client.get(
        reverse("tokens:history"),
        {"team": wanted.team_id, "search": search.format(last4=wanted.access_token_last4)},
    )
    assert [row.id for row in response.context["page"].issuances] == [wanted.pk]


# --- The generate form ---------------------------------------------------------------------------


def test_client_credentials_ignore_a_username_and_password_left_on_the_page(
    bob, credential, client_for, fake
):
    generate(client_for(bob), credential, grant_type="client_credentials")
    issuance = Issuance.objects.get()
    assert issuance.upstream_username == ""
    assert fake.calls_named("password") == []
    assert len(fake.calls_named("client_credentials")) == 1


def test_the_page_says_the_login_fields_are_for_the_password_grant_only(
    bob, credential, client_for
):
    page = client_for(bob).get(reverse("tokens:generate")).content.decode()
    assert 'data-grant-fields="password"' in page
    assert "With client credentials the portal ignores these two fields" in text(page)


def test_a_form_error_says_the_password_must_be_typed_again_and_takes_the_focus(
    bob, credential, client_for, fake
):
    response = generate(client_for(bob), credential, upstream_username="", extra_scopes='"bad')
    page = response.content.decode()
    assert "data-error-summary autofocus" in page
    assert 'href="#id_upstream_username"' in page
    assert "Type this field again: API Store password." in text(page)
    assert PASSWORD not in page
    assert fake.calls == []


def test_a_gateway_refusal_also_says_to_type_the_password_again(bob, credential, client_for, fake):
    from portal.gateway import client

    fake.error = client.TokenApiError("invalid_grant", status=400, grant="password")
    page = generate(client_for(bob), credential).content.decode()
    assert "Type this field again: API Store password." in text(page)


def test_the_credential_form_says_key_and_secret_must_be_typed_again(
    alice_client, acme, credential
):
    response = alice_client.post(
        reverse("vault:credential_create", args=[acme.pk]),
        {
            "name": "",
            "gateway": str(credential.gateway_id),
            "consumer_key": "AAAAAAAAAAAAAAAAAAAAAAAA",
            "consumer_secret": "BBBBBBBBBBBBBBBBBBBBBBBB",
            "org_key": "johnsorg",
            "allow_password": "on",
        },
    )
    page = response.content.decode()
    assert "Type these fields again: Consumer key, Consumer secret." in text(page)
    assert "AAAAAAAAAAAAAAAAAAAAAAAA" not in page and "BBBBBBBBBBBBBBBBBBBBBBBB" not in page


# --- The result page -------------------------------------------------------------------------------


def test_jwt_times_are_shown_as_dates():
    rows = {r["key"]: r for r in claims_for_display({"exp": 1764338700, "sub": "bob", "iat": "x"})}
    assert rows["exp"]["moment"].isoformat() == "2025-11-28T14:05:00+00:00"
    assert rows["exp"]["name"] == "expires"
    assert rows["sub"]["moment"] is None
    assert rows["iat"]["moment"] is None  # not a number: shown as it came


def test_the_result_page_names_the_last_characters_and_puts_a_dropped_scope_first(
    bob, credential, client_for, fake
):
    fake.grant_only = ["default"]
    client = client_for(bob)
    page = client.get(
        generate(client, credential, extra_scopes="admin")["Location"]
    ).content.decode()
    assert "<dt>Last characters</dt>" in page and "Ends in" not in page
    assert page.index("did not grant every scope") < page.index('id="access-token"')


# --- Bulk revoke -------------------------------------------------------------------------------------


def test_bulk_revoke_with_nothing_selected_says_so_beside_the_button(
    alice_client, acme, bob, credential, fake, client_for
):
    generate(client_for(bob), credential)
    response = alice_client.post(reverse("tokens:revoke_bulk"), {"team": str(acme.pk)})
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('tokens:history')}?team={acme.pk}#bulk-actions"
    page = alice_client.get(response["Location"].split("#")[0]).content.decode()
    start = page.index('id="bulk-actions"')
    bar = page[start : page.index('<div class="table-wrap">', start)]
    assert "Select the tokens to revoke first." in bar
    assert "data-select-all" in bar
