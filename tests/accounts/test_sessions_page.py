"""'Your sessions': where you are logged in, and ending the other sessions."""

import pytest
from django.test import Client
from django.urls import reverse

from portal.accounts.models import Session
from portal.audit.models import Action, AuditEvent

pytestmark = pytest.mark.django_db

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


def _login(password, user_agent, address, username="alice") -> Client:
    client = Client(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=address)
    response = client.post(reverse("accounts:login"), {"username": username, "password": password})
    assert response.status_code == 302
    return client


def test_the_page_lists_my_sessions_with_browser_address_and_this_one(alice, bob, password):
    here = _login(password, FIREFOX, "192.0.2.10")
    _login(password, CHROME_MAC, "198.51.100.20")
    _login(password, FIREFOX, "203.0.113.30", username="bob")
    page = here.get(reverse("accounts:sessions")).content.decode()
    assert "Firefox on Linux" in page and "Chrome on macOS" in page
    assert "192.0.2.10" in page and "198.51.100.20" in page
    assert "203.0.113.30" not in page  # bob's
    assert page.count("This session") == 1
    for row in Session.objects.all():
        assert row.session_key not in page


def test_logging_out_the_other_sessions_asks_first_then_ends_them(alice, password):
    here = _login(password, FIREFOX, "192.0.2.10")
    there = _login(password, CHROME_MAC, "198.51.100.20")
    confirm = here.get(reverse("accounts:sessions_end_others"))
    assert confirm.status_code == 200
    assert "Log out 1 other session" in confirm.content.decode()
    assert there.get(reverse("dashboard")).status_code == 200

    response = here.post(reverse("accounts:sessions_end_others"))
    assert response.status_code == 302
    assert here.get(reverse("dashboard")).status_code == 200
    assert there.get(reverse("dashboard")).status_code == 302
    assert Session.objects.filter(user=alice).count() == 1
    event = AuditEvent.objects.filter(action=Action.SESSIONS_ENDED).latest("seq")
    assert event.actor == alice and event.details == {"ended": 1}


def test_ending_other_sessions_needs_a_post(alice_client):
    assert alice_client.get(reverse("accounts:sessions_end_others")).status_code == 200
    assert alice_client.put(reverse("accounts:sessions_end_others")).status_code == 405


def test_a_password_change_deletes_every_other_session(alice, password):
    here = _login(password, FIREFOX, "192.0.2.10")
    _login(password, CHROME_MAC, "198.51.100.20")
    here.post(
        reverse("accounts:password_change"),
        {
            "old_password": password,
            "new_password1": "an entirely new passphrase 77",
            "new_password2": "an entirely new passphrase 77",
        },
    )
    assert Session.objects.filter(user=alice).count() == 1
    assert here.get(reverse("accounts:sessions")).status_code == 200
    event = AuditEvent.objects.filter(action=Action.PASSWORD_CHANGED).latest("seq")
    assert event.details == {"other_sessions_ended": 1}


def test_the_sessions_page_needs_a_login(db):
    response = Client().get(reverse("accounts:sessions"))
    assert response.status_code == 302
