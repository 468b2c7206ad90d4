"""No session without its audit event, and logout always ends the session."""

import logging

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client, override_settings
from django.urls import reverse

from portal.accounts.models import Session, User
from portal.audit import services as audit
from portal.audit.chain import AuditWriteError
from portal.audit.models import Action, AuditEvent
from portal.core.logging import RequestIdLogFilter

pytestmark = pytest.mark.django_db


@pytest.fixture
def audit_fails_for(monkeypatch):
    """``audit_fails_for(action)``: record() raises AuditWriteError for that action only."""

    def _install(failing_action):
        real = audit.record

        def record(**kwargs):
            if kwargs.get("action") == failing_action:
                raise AuditWriteError(f"The audit event {failing_action} could not be written.")
            return real(**kwargs)

        monkeypatch.setattr(audit, "record", record)

    return _install


def _authenticated_rows():
    return [s for s in Session.objects.all() if SESSION_KEY in s.get_decoded()]


def test_a_login_whose_record_fails_leaves_no_session(alice, password, audit_fails_for):
    audit_fails_for(Action.LOGIN_SUCCEEDED)
    client = Client(raise_request_exception=False)
    response = client.post(reverse("accounts:login"), {"username": "alice", "password": password})
    assert response.status_code == 503
    assert _authenticated_rows() == []
    assert client.get(reverse("dashboard")).status_code == 302


def test_a_failed_login_record_also_ends_the_session_the_browser_had(
    alice, bob, password, audit_fails_for, client_for
):
    client = client_for(bob)
    client.raise_request_exception = False
    audit_fails_for(Action.LOGIN_SUCCEEDED)
    response = client.post(reverse("accounts:login"), {"username": "alice", "password": password})
    assert response.status_code == 503
    assert _authenticated_rows() == []
    assert client.get(reverse("dashboard")).status_code == 302


@override_settings(PORTAL_ALLOW_SIGNUP=True)
def test_a_signup_whose_login_record_fails_leaves_no_session(db, audit_fails_for):
    audit_fails_for(Action.LOGIN_SUCCEEDED)
    client = Client(raise_request_exception=False)
    response = client.post(
        reverse("accounts:signup"),
        {
            "username": "newbie",
            "password1": "a fine long pass 9",
            "password2": "a fine long pass 9",
        },
    )
    assert response.status_code == 503
    assert User.objects.filter(username="newbie").exists()  # the account was recorded
    assert _authenticated_rows() == []
    assert client.get(reverse("dashboard")).status_code == 302


def test_the_login_event_is_written_before_the_session_exists(
    alice, bob, password, monkeypatch, client_for
):
    seen = []
    real = audit.record

    def record(**kwargs):
        if kwargs.get("action") == Action.LOGIN_SUCCEEDED:
            seen.append(Session.objects.filter(user=alice).count())
        return real(**kwargs)

    monkeypatch.setattr(audit, "record", record)
    client = client_for(bob)  # a browser with a session already: login replaces it
    client.post(reverse("accounts:login"), {"username": "alice", "password": password})
    assert seen == [0]
    assert Session.objects.filter(user=alice).count() == 1


def test_logout_ends_the_session_even_when_its_record_fails(
    alice, audit_fails_for, client_for, caplog
):
    client = client_for(alice)
    client.raise_request_exception = False
    audit_fails_for(Action.LOGOUT)
    caplog.handler.addFilter(RequestIdLogFilter())
    with caplog.at_level(logging.ERROR):
        response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert _authenticated_rows() == []
    assert client.get(reverse("dashboard")).status_code == 302
    errors = [
        r for r in caplog.records if r.levelno == logging.ERROR and "logout" in r.getMessage()
    ]
    assert errors, caplog.text
    assert errors[0].request_id == response["X-Request-ID"]
    assert not AuditEvent.objects.filter(action=Action.LOGOUT).exists()
