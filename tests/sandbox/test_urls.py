"""The sandbox exists only when PORTAL_SANDBOX is on (the urlconf is built at import)."""

import importlib

import pytest
from django.urls import NoReverseMatch, clear_url_caches, reverse

import portal.urls


@pytest.fixture
def sandbox_off(settings):
    original = settings.PORTAL_SANDBOX
    settings.PORTAL_SANDBOX = False
    importlib.reload(portal.urls)
    clear_url_caches()
    yield
    settings.PORTAL_SANDBOX = original
    importlib.reload(portal.urls)
    clear_url_caches()


@pytest.mark.parametrize("path", ["/sandbox/token", "/sandbox/revoke", "/sandbox/api/echo"])
def test_sandbox_urls_answer_404_when_the_sandbox_is_off(client, db, sandbox_off, path):
    assert (
        client.post(
            path, "grant_type=client_credentials", content_type="application/x-www-form-urlencoded"
        ).status_code
        == 404
    )
    assert client.get(path).status_code == 404
    with pytest.raises(NoReverseMatch):
        reverse("sandbox:token")


def test_sandbox_urls_are_mounted_when_the_sandbox_is_on(client, db):
    assert reverse("sandbox:token") == "/sandbox/token"
    assert reverse("sandbox:revoke") == "/sandbox/revoke"
    assert reverse("sandbox:echo") == "/sandbox/api/echo"
    assert client.get("/sandbox/api/echo").status_code == 401
