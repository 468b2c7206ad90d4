"""Scopes: warn only about requested scopes that were not granted; extras are "also granted".

A conforming server answers a request without scope with its default scope: nothing asked for
was dropped, so there is nothing to warn about.
"""

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

WARNING = "did not grant"


def test_default_scope_for_a_request_without_scopes_is_not_a_warning(make_issuance):
    issuance = make_issuance(requested_scopes=[], granted_scopes=["default"])
    assert not issuance.scopes_differ
    assert issuance.scopes_also_granted == ["default"]


def test_history_shows_extras_as_also_granted_without_a_warning(
    make_issuance, acme, bob, client_for
):
    make_issuance(requested_scopes=[], granted_scopes=["default"])
    html = client_for(bob).get(reverse("tokens:history"), {"team": str(acme.pk)}).content.decode()
    assert "also granted: default" in html
    assert WARNING not in html


def test_history_warns_and_names_a_dropped_scope(make_issuance, acme, bob, client_for):
    make_issuance(requested_scopes=["read", "admin"], granted_scopes=["read", "default"])
    html = client_for(bob).get(reverse("tokens:history"), {"team": str(acme.pk)}).content.decode()
    # The dropped scope is named in words and shown struck through.
    assert "the gateway did not grant admin." in re.sub(r"<[^>]+>", "", html)
    assert 'class="scope scope-missing">admin</code>' in html
