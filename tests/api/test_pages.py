"""The API key page: create (shown once), list, revoke; and the API's documentation."""

import re

import pytest
from django.urls import reverse

from portal.api import keys, services
from portal.api.models import ApiKey
from portal.teams.models import Role

pytestmark = pytest.mark.django_db

KEY_RE = re.compile(r"tpk_[0-9A-Za-z]{38}")


def _form(client, **overrides):
    page = client.get(reverse("api_keys:list")).content.decode()
    nonce = re.search(r'name="form_nonce" value="([^"]+)"', page).group(1)
    data = {"name": "CI", "role": "issuer", "expires_in_days": "90", "form_nonce": nonce}
    data.update(overrides)
    return data


def test_creating_a_key_shows_it_once(client_for, bob, acme, credential):
    browser = client_for(bob)
    data = _form(browser, team=str(acme.pk), credentials=[str(credential.pk)])
    response = browser.post(reverse("api_keys:list"), data)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    [secret] = KEY_RE.findall(response.content.decode())
    principal = services.api_key_authenticate(secret=secret)
    assert principal.user == bob and principal.credential_ids == {credential.pk}
    later = browser.get(reverse("api_keys:list")).content.decode()
    assert secret not in later and f"tpk_…{secret[-4:]}" in later


def test_a_reloaded_create_form_does_not_make_a_second_key(client_for, bob, acme):
    browser = client_for(bob)
    data = _form(browser, team=str(acme.pk))
    browser.post(reverse("api_keys:list"), data)
    again = browser.post(reverse("api_keys:list"), data)
    assert again.status_code == 302 and ApiKey.objects.count() == 1
    assert not KEY_RE.search(browser.get(again["Location"]).content.decode())


def test_a_role_above_ones_own_is_refused(client_for, carol, acme):
    browser = client_for(carol)
    response = browser.post(reverse("api_keys:list"), _form(browser, team=str(acme.pk)))
    assert response.status_code == 400 and not ApiKey.objects.exists()
    assert "higher than your own role" in response.content.decode()


def test_an_expiry_beyond_a_year_is_refused(client_for, bob, acme):
    browser = client_for(bob)
    data = _form(browser, team=str(acme.pk), expires_in_days="400")
    assert browser.post(reverse("api_keys:list"), data).status_code == 400


def test_a_team_one_is_not_in_cannot_be_chosen(client_for, mallory, acme):
    browser = client_for(mallory)
    response = browser.post(reverse("api_keys:list"), _form(browser, team=str(acme.pk)))
    assert response.status_code == 400 and not ApiKey.objects.exists()


def test_owners_see_every_key_of_their_team_members_their_own(client_for, acme, bob, carol):
    services.api_key_create(actor=bob, team=acme, name="bob's deploy key", role=Role.ISSUER)
    services.api_key_create(actor=carol, team=acme, name="carol's report key", role=Role.VIEWER)
    alice_page = client_for(acme.memberships.get(role="owner").user).get(reverse("api_keys:list"))
    assert "bob&#x27;s deploy key" in alice_page.content.decode()
    assert "carol&#x27;s report key" in alice_page.content.decode()
    carol_page = client_for(carol).get(reverse("api_keys:list")).content.decode()
    assert "carol&#x27;s report key" in carol_page and "bob&#x27;s deploy key" not in carol_page


def test_the_list_shows_a_key_whose_creator_left_as_inactive(client_for, acme, bob, alice):
    from portal.teams import services as teams

    services.api_key_create(actor=bob, team=acme, name="left behind", role=Role.ISSUER)
    teams.member_remove(membership=acme.memberships.get(user=bob), actor=alice)
    page = client_for(alice).get(reverse("api_keys:list")).content.decode()
    assert "inactive" in page


@pytest.mark.parametrize(
    "who, status", [("bob", 302), ("alice", 302), ("carol", 403), ("mallory", 404)]
)
def test_revoking_a_key(client_for, cast, acme, bob, who, status):
    key, secret = services.api_key_create(actor=bob, team=acme, name="ci", role=Role.ISSUER)
    browser = client_for(cast[who])
    url = reverse("api_keys:revoke", kwargs={"key_id": key.pk})
    if status == 302:
        assert browser.get(url).status_code == 200
    response = browser.post(url)
    assert response.status_code == status
    key.refresh_from_db()
    assert key.is_revoked == (status == 302)
    if status == 302:
        with pytest.raises(services.ApiKeyRejected):
            services.api_key_authenticate(secret=secret)


def test_the_page_needs_a_login(client):
    response = client.get(reverse("api_keys:list"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- documentation -------------------------------------------------------------------------


def test_the_openapi_document_describes_every_endpoint_and_bearer_auth(client, db):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert set(spec["paths"]) == {
        "/api/v1/me",
        "/api/v1/credentials",
        "/api/v1/tokens",
        "/api/v1/tokens/{issuance_id}",
        "/api/v1/tokens/{issuance_id}/renew",
        "/api/v1/tokens/{issuance_id}/revoke",
        "/api/v1/audit",
    }
    schemes = spec["components"]["securitySchemes"]
    assert list(schemes.values()) == [{"type": "http", "scheme": "bearer"}]
    issue = spec["paths"]["/api/v1/tokens"]["post"]
    assert {"201", "401", "403", "404", "422", "429", "503"} <= set(issue["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in issue["parameters"])


def test_the_docs_page_loads_only_the_portals_own_files(client, db):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    for src in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert src.startswith("/"), src  # no CDN, nothing from elsewhere
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script"
    assert "style=" not in html and "<style" not in html
    assert "script-src 'self'" in response["Content-Security-Policy"]
    from django.contrib.staticfiles import finders

    for path in ("ninja/swagger-ui-bundle.js", "ninja/swagger-ui.css", "js/api-docs.js"):
        assert f"/static/{path}" in html
        assert finders.find(path), path  # shipped with the portal (collectstatic serves it)


def test_keys_look_like_keys_to_a_secret_scanner():
    assert KEY_RE.fullmatch(keys.generate())
