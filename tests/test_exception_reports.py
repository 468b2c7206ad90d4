# ruff: noqa: F811  (the fixtures of tests.tokens.test_flows are imported by name)
"""Error reports never hold a secret.

Django's exception report (the page DEBUG shows, the e-mail or log an administrator gets in
production) lists every frame's local variables. For an error raised inside each view and service
that holds an API Store password, a consumer key or secret, or a token, the report rendered as
production renders it must contain none of them.
"""

import sys
import uuid

import pytest
from django.test import override_settings
from django.urls import reverse
from django.views.debug import ExceptionReporter
from django.views.decorators.debug import sensitive_variables

from portal.tokens import access as token_access
from portal.tokens import services
from portal.tokens.models import Issuance
from portal.vault import services as vault
from tests.tokens.test_flows import (  # noqa: F401
    API_STORE_PASSWORD,
    _generate,
    credential,
    fake,
    gateway,
)

pytestmark = pytest.mark.django_db

CONSUMER_KEY = "wU62DjlyDBnq87GlBwplfqvmAbAa"
CONSUMER_SECRET = "ksdSdoefDDP7wpaElfqvmjDue"
NEW_SECRET = "NewSecretValue0123456789xyz"


class Boom(Exception):
    pass


# Stands in for a service that keeps its own arguments out of reports (as the real ones do), so
# what a report shows is what the CALLER's frames hold.
@sensitive_variables()
def _boom(*args, **kwargs):
    raise Boom("injected")


def _report(call) -> str:
    """Run ``call``, which must raise Boom, and render its report as production does."""
    try:
        call()
    except Boom:
        exc_info = sys.exc_info()
    else:  # pragma: no cover - the test's own set-up failed
        raise AssertionError("the injected error was not raised")
    exc_type, exc_value, tb = exc_info
    # Start where a server's report starts: at Django's request handler (the test client's own
    # frames above it hold the submitted form and would not exist in production).
    while tb is not None and "django/core/handlers/" not in tb.tb_frame.f_code.co_filename:
        tb = tb.tb_next
    tb = tb or exc_info[2]
    with override_settings(DEBUG=False):
        reporter = ExceptionReporter(None, exc_type, exc_value, tb)
        return reporter.get_traceback_html() + reporter.get_traceback_text()


def _assert_clean(report: str, *secrets: str) -> None:
    assert "injected" in report  # the report really covers the error
    for secret in secrets:
        assert secret not in report


def test_generate_view_report_holds_no_password(bob, credential, client_for, fake, monkeypatch):
    monkeypatch.setattr(services, "token_issue", _boom)
    browser = client_for(bob)
    report = _report(lambda: _generate(browser, credential))
    _assert_clean(report, API_STORE_PASSWORD, CONSUMER_SECRET)


def test_token_issue_service_report_holds_no_password_or_secret(bob, credential, fake, monkeypatch):
    from portal.tokens.services import issue

    monkeypatch.setattr(issue, "_begin", _boom)
    report = _report(
        lambda: services.token_issue(
            user=bob,
            credential=credential,
            grant_type="password",
            upstream_username="john@johns.org@johnsorg",
            password=API_STORE_PASSWORD,
            scopes=["read"],
            idempotency_key=uuid.uuid4(),
        )
    )
    _assert_clean(report, API_STORE_PASSWORD, CONSUMER_SECRET)


def test_result_view_report_holds_no_token(bob, credential, client_for, fake, monkeypatch):
    browser = client_for(bob)
    response = _generate(browser, credential)
    monkeypatch.setattr(token_access, "issuance_may_manage", _boom)
    report = _report(lambda: browser.get(response["Location"]))
    _assert_clean(report, fake.issued[0].access_token)


def test_renew_service_report_holds_no_refresh_token(
    bob, credential, client_for, fake, monkeypatch
):
    from portal.tokens.services import issue

    _generate(client_for(bob), credential)
    issuance = Issuance.objects.get()
    monkeypatch.setattr(issue, "_begin", _boom)
    report = _report(lambda: services.token_renew(user=bob, issuance=issuance))
    _assert_clean(report, fake.issued[0].refresh_token, CONSUMER_SECRET)


def test_revoke_service_report_holds_no_token_or_secret(
    bob, credential, client_for, fake, monkeypatch
):
    from portal.tokens.services import revoke

    _generate(client_for(bob), credential)
    issuance = Issuance.objects.get()
    monkeypatch.setattr(revoke, "_record_revoke_request", _boom)
    report = _report(lambda: services.token_revoke(user=bob, issuance=issuance))
    _assert_clean(report, fake.issued[0].refresh_token, CONSUMER_SECRET)


def _credential_form(gateway, **extra) -> dict:
    return {
        "name": "Reported",
        "gateway": str(gateway.pk),
        "consumer_key": CONSUMER_KEY,
        "consumer_secret": NEW_SECRET,
        "org_key": "johnsorg",
        "default_scopes": "read",
        "allow_password": "on",
        **extra,
    }


def test_credential_create_view_report_holds_no_secret(
    acme, alice, gateway, client_for, monkeypatch
):
    monkeypatch.setattr(vault, "credential_create", _boom)
    browser = client_for(alice)
    url = reverse("vault:credential_create", args=[acme.pk])
    report = _report(lambda: browser.post(url, _credential_form(gateway)))
    _assert_clean(report, NEW_SECRET)


def test_credential_edit_view_report_holds_no_secret(
    credential, alice, gateway, client_for, monkeypatch
):
    monkeypatch.setattr(vault, "credential_update", _boom)
    browser = client_for(alice)
    url = reverse("vault:credential_edit", args=[credential.pk])
    report = _report(lambda: browser.post(url, _credential_form(gateway, name=credential.name)))
    _assert_clean(report, NEW_SECRET)


def test_credential_services_report_holds_no_secret(acme, alice, gateway, monkeypatch):
    from portal.audit import services as audit

    monkeypatch.setattr(audit, "record", _boom)
    report = _report(
        lambda: vault.credential_create(
            team=acme,
            name="Reported",
            gateway=gateway,
            consumer_key=CONSUMER_KEY,
            consumer_secret=NEW_SECRET,
            org_key="johnsorg",
            actor=alice,
        )
    )
    _assert_clean(report, NEW_SECRET, CONSUMER_KEY)
