"""Credentials in the browser: an owner adds one through the form and it works; a viewer can
neither see nor use it on the Generate page."""

import uuid

import pytest
from playwright.sync_api import expect

from portal.tokens.models import Issuance
from portal.vault.models import Credential
from tests.e2e.steps import (
    CONSUMER_KEY,
    CONSUMER_SECRET,
    ORG_KEY,
    echo,
    generate_token,
    log_in,
    main_nav,
    require_chromium,
    switch_team,
)

require_chromium()
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_owner_adds_a_credential_through_the_form_and_generates_a_token_with_it(
    page, live_server, alice, password, sandbox_gateway
):
    log_in(page, "alice", password)
    switch_team(page, "Acme (owner)")
    main_nav(page).get_by_role("link", name="Credentials").click()
    expect(page.get_by_role("heading", name="Credentials · Acme")).to_be_visible()
    page.get_by_role("link", name="Add credential").click()

    expect(page.get_by_role("heading", name="Add a credential")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("Sandbox app")
    page.get_by_label("Gateway", exact=True).select_option(label=sandbox_gateway.name)
    page.get_by_label("Consumer key").fill(CONSUMER_KEY)
    page.get_by_label("Consumer secret").fill(CONSUMER_SECRET)
    page.get_by_label("Organization key").fill(ORG_KEY)
    page.get_by_label("Default scopes").fill("default read")
    page.get_by_label("Client credentials grant").check()
    page.get_by_role("button", name="Save credential").click()

    expect(page.get_by_text("Credential “Sandbox app” saved, encrypted.")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="Sandbox app")
    expect(row).to_contain_text(Credential.objects.get().masked_key)
    expect(row).to_contain_text("client credentials")
    assert CONSUMER_SECRET not in page.content()
    assert CONSUMER_KEY not in page.content()

    # The stored key and secret are the right ones: the gateway issues a working token.
    token = generate_token(page)
    assert echo(live_server, token) == 200


def test_viewer_does_not_see_acme_credentials_on_generate_and_cannot_submit_for_them(
    page, carol, password, acme_credential
):
    log_in(page, "carol", password)
    switch_team(page, "Acme (viewer)")
    main_nav(page).get_by_role("link", name="Generate token").click()

    expect(page.get_by_role("heading", name="Generate a token")).to_be_visible()
    expect(
        page.get_by_text("There is no credential you can generate tokens with yet.")
    ).to_be_visible()
    expect(page.get_by_text("Viewers can read history but generate nothing.")).to_be_visible()
    expect(page.get_by_text(acme_credential.name)).to_have_count(0)
    expect(page.get_by_role("button", name="Generate token")).to_have_count(0)

    # Asking for the credential by its id is refused (she is a viewer in Acme) and shows nothing.
    refused = page.goto(f"/tokens/generate/?credential={acme_credential.pk}")
    assert refused.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.get_by_text(acme_credential.name)).to_have_count(0)

    # A forged submission (what the form would send, with her valid CSRF token) is refused the
    # same way: no token, no issuance.
    page.goto("/tokens/generate/")
    csrf = page.locator("input[name=csrfmiddlewaretoken]").first.input_value()
    response = page.request.post(
        "/tokens/generate/",
        form={
            "csrfmiddlewaretoken": csrf,
            "credential": str(acme_credential.pk),
            "grant_type": "client_credentials",
            "idempotency_key": str(uuid.uuid4()),
        },
        headers={"Referer": page.url},
        max_redirects=0,
    )
    body = response.text()
    assert response.status == 403
    assert acme_credential.name not in body
    assert 'id="access-token"' not in body
    assert not Issuance.objects.exists()


def test_moving_a_credential_to_another_gateway_asks_for_its_key_and_secret_again(
    page, live_server, alice, password, acme_credential
):
    from portal.vault import services as vault

    observer, _ = vault.gateway_create(
        name="Observer",
        token_url="https://observer.example/token",
        revoke_url="https://observer.example/revoke",
        username_template="{username}",
    )
    log_in(page, "alice", password)
    page.goto(f"/credentials/{acme_credential.pk}/edit/")
    page.get_by_label("Gateway", exact=True).select_option(label="Observer")
    page.get_by_role("button", name="Save").first.click()

    # Refused, and the page says what to type again; the credential stays where it was.
    expect(page.get_by_text("enter its consumer key and secret again").first).to_be_visible()
    acme_credential.refresh_from_db()
    assert acme_credential.gateway_id != observer.pk

    page.get_by_label("Gateway", exact=True).select_option(label="Observer")
    page.get_by_label("Consumer key").fill("ObserverKey0123456789")
    page.get_by_label("Consumer secret").fill("ObserverSecret0123456789")
    page.get_by_role("button", name="Save").first.click()
    expect(page.get_by_text("updated")).to_be_visible()
    acme_credential.refresh_from_db()
    assert acme_credential.gateway_id == observer.pk
    assert "ObserverSecret0123456789" not in page.content()
