"""Exporting the audit log from the browser and reading the downloaded file."""

import csv
import io

import pytest
from playwright.sync_api import expect

from portal.tokens.models import Issuance
from tests.e2e.steps import generate_token, log_in, main_nav, require_chromium, switch_team

require_chromium()
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_owner_downloads_the_audit_csv_and_it_lists_the_token_events(
    page, alice, password, acme_credential
):
    log_in(page, "alice", password)
    switch_team(page, "Acme (owner)")
    token = generate_token(page)
    issuance = Issuance.objects.get()

    main_nav(page).get_by_role("link", name="Audit").click()
    expect(page.get_by_role("heading", name="Audit log · Acme")).to_be_visible()
    with page.expect_download() as info:
        page.get_by_role("link", name="Export CSV").click()
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    assert download.failure() is None
    text = open(download.path(), encoding="utf-8").read()

    rows = list(csv.DictReader(io.StringIO(text)))
    token_events = {r["action"] for r in rows if r["target_id"] == str(issuance.pk)}
    assert {"token.requested", "token.issued"} <= token_events
    assert {r["actor"] for r in rows if r["action"] == "token.issued"} == {"alice"}
    assert "credential.created" in {r["action"] for r in rows}
    assert token not in text  # the token itself never reaches the audit trail
