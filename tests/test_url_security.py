"""Every URL of the portal, discovered from the URLconf so new views are covered automatically:
CSRF is enforced on every POST, and every URL that takes an object id answers 404 to an outsider.
The JSON API (``/api/v1/``) is covered too: it accepts no session cookie at all (so a logged-in
browser's POST is a 401, not a CSRF question), and an outsider's API key gets the same 404s.

A new URL parameter makes ``test_every_object_parameter_is_known`` fail until it is added to
``object_ids`` below - that is the point: nobody adds an id-taking view without this check.
"""

import uuid

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from portal.api import services as api_services
from portal.tokens.models import Issuance
from tests import factories

pytestmark = pytest.mark.django_db

# Mounted apps outside our rules: Django's admin (its own CSRF and permissions) and the sandbox
# gateway (an OAuth API for machines, CSRF-exempt by design, off in production).
EXCLUDED_NAMESPACES = {"admin", "sandbox"}


def _walk(patterns, prefix="", namespace=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or namespace
            if ns in EXCLUDED_NAMESPACES:
                continue
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern) and entry.name:
            name = f"{namespace}:{entry.name}" if namespace else entry.name
            yield name, entry.pattern.converters, prefix + str(entry.pattern)


def all_routes():
    return sorted(set((name, tuple(conv)) for name, conv, _ in _walk(get_resolver().url_patterns)))


def is_api(url: str) -> bool:
    return url.startswith("/api/")


def api_client(user, team) -> Client:
    """A client that authenticates with a new API key of ``user`` in ``team`` (never a session)."""
    _, secret = api_services.api_key_create(actor=user, team=team, name="url test", role="issuer")
    return Client(headers={"Authorization": f"Bearer {secret}"})


@pytest.fixture
def acme_objects(acme, alice, bob):
    credential = factories.credential_create(team=acme, actor=alice)
    issuance = Issuance.objects.create(
        team=acme, credential=credential, issued_by=bob, grant_type="password", status="active"
    )
    key, _ = api_services.api_key_create(actor=bob, team=acme, name="bob's key", role="issuer")
    return {
        "team_id": acme.pk,
        "membership_id": acme.memberships.get(user=bob).pk,
        "pk": credential.pk,
        "issuance_id": issuance.pk,
        "key_id": key.pk,
        "fmt": "csv",
        "slug": "not-found",
    }


OBJECT_PARAMS = {"team_id", "membership_id", "pk", "issuance_id", "key_id"}


def _kwargs(params, objects):
    return {param: objects[param] for param in params}


def test_every_object_parameter_is_known(acme_objects):
    for name, params in all_routes():
        unknown = set(params) - set(acme_objects)
        assert not unknown, f"{name} takes {unknown}: add them to acme_objects in this test"


def test_there_are_routes_to_check():
    names = {name for name, _ in all_routes()}
    assert {"teams:detail", "vault:credential_edit", "tokens:revoke", "audit:log"} <= names
    assert {"api-v1:tokens_issue", "api-v1:token_revoke", "api_keys:revoke"} <= names


def test_csrf_is_enforced_on_every_post_url(cast, acme_objects, alice):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice, backend="portal.accounts.backends.UsernameOrEmailBackend")
    issuances_before = Issuance.objects.count()
    for name, params in all_routes():
        url = reverse(name, kwargs=_kwargs(params, acme_objects))
        response = browser.post(url, {"name": "x", "role": "viewer", "confirm": "1"})
        if is_api(url):
            # The session cookie is ignored: not authenticated, nothing done (or no such POST).
            assert response.status_code in (401, 404, 405), (
                f"POST {url} with a session cookie gave {response.status_code}"
            )
            if response.status_code == 401:
                assert response["WWW-Authenticate"].startswith("Bearer")
            continue
        assert response.status_code == 403, (
            f"POST {url} without a CSRF token gave {response.status_code}"
        )
        assert b"This form expired" in response.content
    assert Issuance.objects.count() == issuances_before


def test_every_api_operation_that_writes_refuses_a_logged_in_browser(cast, acme_objects, alice):
    browser = Client()
    browser.force_login(alice, backend="portal.accounts.backends.UsernameOrEmailBackend")
    checked = 0
    for name, params in all_routes():
        if name in ("api-v1:tokens_issue", "api-v1:token_renew", "api-v1:token_revoke"):
            url = reverse(name, kwargs=_kwargs(params, acme_objects))
            response = browser.post(url, "{}", content_type="application/json")
            assert response.status_code == 401, (name, response.status_code)
            assert response["Content-Type"] == "application/problem+json"
            checked += 1
    assert checked == 3


def test_every_object_url_answers_404_to_an_outsider(cast, acme_objects, mallory, evil):
    browser = Client()
    browser.force_login(mallory, backend="portal.accounts.backends.UsernameOrEmailBackend")
    mallory_api = api_client(mallory, evil)
    checked = 0
    for name, params in all_routes():
        if not set(params) & OBJECT_PARAMS:
            continue
        url = reverse(name, kwargs=_kwargs(params, acme_objects))
        client = mallory_api if is_api(url) else browser
        response = client.get(url)
        if response.status_code == 405:
            if is_api(url):
                response = client.post(url, "{}", content_type="application/json")
            else:
                response = client.post(
                    url, {"role": "viewer", "identifier": "mallory", "confirm": "1"}
                )
        assert response.status_code == 404, (
            f"{name} ({url}) gave {response.status_code} to an outsider"
        )
        checked += 1
    assert checked >= 14


def test_unknown_ids_are_404_not_500(cast, acme_objects, alice):
    browser = factories.logged_in(alice)
    random_ids = {
        k: (uuid.uuid4() if isinstance(v, uuid.UUID) else 999_999) for k, v in acme_objects.items()
    }
    random_ids["fmt"] = "csv"
    random_ids["slug"] = "no-such-problem"
    alice_api = api_client(alice, cast["alice"].teams.get(name="Acme"))
    for name, params in all_routes():
        if not set(params) & OBJECT_PARAMS:
            continue
        url = reverse(name, kwargs=_kwargs(params, random_ids))
        response = (alice_api if is_api(url) else browser).get(url)
        assert response.status_code in (404, 405), name


def test_object_pages_send_no_store(cast, acme_objects, alice, bob):
    alice_browser = factories.logged_in(alice)
    for name in ("vault:credential_edit", "tokens:result", "tokens:generate"):
        params = {"vault:credential_edit": ["pk"], "tokens:result": ["issuance_id"]}.get(name, [])
        response = alice_browser.get(reverse(name, kwargs=_kwargs(params, acme_objects)))
        assert "no-store" in response.get("Cache-Control", ""), name


def test_extreme_dates_in_filters_are_not_500s(cast, acme_objects, alice):
    browser = factories.logged_in(alice)
    for name in ("tokens:history", "audit:log"):
        for query in ("date_to=9999-12-31", "date_from=9999-12-31", "date_from=0001-01-01"):
            response = browser.get(reverse(name) + "?" + query)
            assert response.status_code in (200, 400), (name, query, response.status_code)
