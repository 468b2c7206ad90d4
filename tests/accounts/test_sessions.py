import time

import pytest
from django.test import override_settings
from django.urls import reverse

from portal.core.middleware import SessionLifetimeMiddleware as M

pytestmark = pytest.mark.django_db


def _age_session(client, *, started_ago: int, seen_ago: int) -> None:
    session = client.session
    now = int(time.time())
    session[M.STARTED] = now - started_ago
    session[M.SEEN] = now - seen_ago
    session.save()


def test_active_session_stays_logged_in(alice_client):
    alice_client.get(reverse("dashboard"))
    _age_session(alice_client, started_ago=600, seen_ago=60)
    assert alice_client.get(reverse("dashboard")).status_code == 200


@override_settings(PORTAL_SESSION_IDLE_TIMEOUT=1800)
def test_idle_session_is_logged_out(alice_client):
    alice_client.get(reverse("dashboard"))
    _age_session(alice_client, started_ago=1900, seen_ago=1801)
    response = alice_client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@override_settings(PORTAL_SESSION_ABSOLUTE_LIFETIME=3600, PORTAL_SESSION_IDLE_TIMEOUT=1800)
def test_session_ends_after_absolute_lifetime_even_when_active(alice_client):
    alice_client.get(reverse("dashboard"))
    _age_session(alice_client, started_ago=3601, seen_ago=5)
    assert alice_client.get(reverse("dashboard")).status_code == 302


def test_responses_carry_a_request_id(alice_client, settings):
    settings.PORTAL_TRUSTED_PROXIES = ["127.0.0.1"]  # the test client's address
    response = alice_client.get(reverse("dashboard"), HTTP_X_REQUEST_ID="abc12345-req")
    assert response["X-Request-ID"] == "abc12345-req"
    other = alice_client.get(reverse("dashboard"), HTTP_X_REQUEST_ID="<script>")
    assert other["X-Request-ID"] != "<script>"
    assert len(other["X-Request-ID"]) == 32
