"""A database dump holds no working session: rows keep a keyed hash of the session key, never
the key the cookie carries."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session as DjangoSession
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal.accounts.models import Session

pytestmark = pytest.mark.django_db


def _logged_in(password, username="alice") -> Client:
    client = Client()
    response = client.post(reverse("accounts:login"), {"username": username, "password": password})
    assert response.status_code == 302
    return client


def _stored_values():
    """Every value of every session table a dump would contain."""
    rows = list(Session.objects.values_list("session_key", "session_data"))
    rows += list(DjangoSession.objects.values_list("session_key", "session_data"))
    return [value for row in rows for value in row]


def test_no_stored_session_value_works_as_a_session_cookie(alice, bob, password):
    clients = [_logged_in(password), _logged_in(password), _logged_in(password, "bob")]
    assert all(c.get(reverse("dashboard")).status_code == 200 for c in clients)
    values = _stored_values()
    assert len(values) >= 6
    for value in values:
        replay = Client()
        replay.cookies[settings.SESSION_COOKIE_NAME] = value
        response = replay.get(reverse("dashboard"))
        assert response.status_code == 302, "a stored value logged someone in"
        assert response["Location"].startswith(reverse("accounts:login"))


def test_the_cookie_is_not_stored_anywhere_in_the_database(alice, password):
    client = _logged_in(password)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert cookie not in _stored_values()
    assert Session.objects.filter(user=alice).count() == 1


def test_logout_deletes_the_stored_session(alice, password):
    client = _logged_in(password)
    client.post(reverse("accounts:logout"))
    assert not Session.objects.filter(user=alice).exists()


def test_clearsessions_removes_expired_sessions_and_keeps_live_ones(alice, bob, password):
    _logged_in(password)
    _logged_in(password, "bob")
    Session.objects.filter(user=bob).update(expire_date=timezone.now() - timedelta(minutes=1))
    call_command("clearsessions")
    assert list(Session.objects.values_list("user__username", flat=True)) == ["alice"]


def test_an_expired_session_does_not_log_in(alice, password):
    client = _logged_in(password)
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    assert client.get(reverse("dashboard")).status_code == 302
