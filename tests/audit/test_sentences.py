"""Audit events as sentences: names instead of ids, links to what still exists, technical
fields one click away, and pages for one's own account and (staff) for the whole portal."""

import pytest
from django.urls import reverse

from portal.audit import describe
from portal.audit import services as audit
from portal.audit.models import Action, AuditEvent, Outcome
from portal.tokens.models import Issuance, Status
from tests.tokens.conftest import acme_credential, acme_gateway, make_issuance  # noqa: F401

pytestmark = pytest.mark.django_db

LOG = reverse("audit:log")
ACCOUNT = reverse("audit:account")
ALL = reverse("audit:all")


def _sentences(response) -> list[str]:
    return [describe.plain(row.sentence) for row in response.context["rows"]]


@pytest.fixture
def issued(acme, bob, request):
    """bob's token …AbCd "CI deploy" and its "issued" event, as the token service writes it."""
    issuance = request.getfixturevalue("make_issuance")(access_token="fake-token-AbCd")
    issuance.name = "CI deploy"
    issuance.save(update_fields=["name"])
    event = audit.record(
        action=Action.TOKEN_ISSUED,
        actor=bob,
        team=acme,
        target=issuance,
        details={
            "name": "CI deploy",
            "credential": issuance.credential.name,
            "grant": "password",
            "username": issuance.upstream_username,
            "requested_scopes": ["read", "write"],
            "granted_scopes": ["read"],
            "token_fp": "ab12",
            "expires_in": 3600,
        },
    )
    return issuance, event


def test_a_generated_token_reads_as_a_sentence_naming_actor_token_and_scopes(
    alice_client, acme, issued
):
    issuance, event = issued
    response = alice_client.get(LOG, {"team": acme.pk})
    row = next(r for r in response.context["rows"] if r.event.seq == event.seq)
    text = describe.plain(row.sentence)
    assert text.startswith("bob generated token …AbCd “CI deploy” with ")
    assert issuance.credential.name in text
    assert "— read (not granted: write) — expires " in text
    # The token links to its page; no internal names or ids in the sentence.
    assert reverse("tokens:detail", args=[issuance.pk]) in row.sentence
    assert "tokens.issuance" not in text and str(issuance.pk) not in text


def test_technical_fields_stay_one_click_away(alice_client, acme, issued):
    issuance, event = issued
    body = alice_client.get(LOG, {"team": acme.pk}).content.decode()
    assert '<details class="audit-tech">' in body
    technical = dict(describe.technical_fields(event))
    assert technical["Action"] == "token.issued"
    assert technical["Target"] == f"tokens.issuance {issuance.pk}"
    assert technical["token_fp"] == "ab12"


def test_gaps_in_the_numbers_are_explained_on_the_page(alice_client, acme):
    body = alice_client.get(LOG, {"team": acme.pk}).content.decode()
    assert "a gap is not a missing entry" in body


def test_filters_are_in_words(alice_client, acme):
    body = alice_client.get(LOG, {"team": acme.pk}).content.decode()
    assert '<optgroup label="Tokens">' in body
    assert ">Token issued</option>" in body
    assert '<option value="tokens.issuance">Tokens</option>' in body
    assert 'list="audit-people"' in body and '<option value="bob">' in body
    assert "Target id" not in body


def test_issuers_are_not_offered_a_who_filter(acme, bob, client_for):
    body = client_for(bob).get(LOG, {"team": acme.pk}).content.decode()
    assert 'list="audit-people"' not in body
    assert '<input type="hidden" name="actor"' in body


def test_a_log_narrowed_to_one_token_says_so(alice_client, acme, issued):
    issuance, _ = issued
    response = alice_client.get(
        LOG, {"team": acme.pk, "target_type": "tokens.issuance", "target_id": issuance.pk}
    )
    assert "Showing only the events about token …AbCd." in response.content.decode()


@pytest.mark.parametrize(
    "action, details, outcome, expected",
    [
        (
            Action.MEMBER_ADDED,
            {"member": "bob", "role": "issuer"},
            "success",
            "alice added bob as issuer",
        ),
        (
            Action.MEMBER_ROLE_CHANGED,
            {"member": "carol", "from": "viewer", "to": "issuer"},
            "success",
            "alice changed the role of carol from viewer to issuer",
        ),
        (
            Action.CREDENTIAL_ARCHIVED,
            {"name": "Old app"},
            "success",
            "alice archived the credential Old app",
        ),
        (
            Action.TEAM_RENAMED,
            {"from": "Acme", "to": "Acme Corp"},
            "success",
            "alice renamed the team from Acme to Acme Corp",
        ),
        (
            Action.TOKEN_FAILED,
            {"credential": "App", "reason": "invalid_grant"},
            "failure",
            "alice’s token request with App failed because the gateway rejected the username or password",
        ),
        (
            Action.AUDIT_EXPORTED,
            {"format": "csv", "filters": {}},
            "success",
            "alice exported the audit log as CSV",
        ),
    ],
)
def test_each_kind_of_event_has_its_sentence(acme, alice, action, details, outcome, expected):
    event = audit.record(action=action, outcome=outcome, actor=alice, team=acme, details=details)
    assert describe.plain(describe.sentence(event)) == expected


def test_an_unknown_action_still_reads(acme, alice):
    event = AuditEvent(seq=1, action="made.up", actor_label="alice", details={})
    assert describe.plain(describe.sentence(event)) == "alice: made.up"


def test_a_page_of_token_events_costs_one_lookup_of_tokens(
    alice_client, acme, issued, django_assert_max_num_queries
):
    events = list(AuditEvent.objects.filter(team=acme))
    with django_assert_max_num_queries(1):
        rows = describe.describe(events)
    assert len(rows) == len(events)


# --- Account activity ------------------------------------------------------------------------


def test_account_activity_lists_sign_ins_and_failed_attempts_under_ones_name(
    client, alice, password
):
    client.post(reverse("accounts:login"), {"username": "alice", "password": "wrong"})
    client.post(reverse("accounts:login"), {"username": "alice", "password": password})
    response = client.get(ACCOUNT)
    assert response.status_code == 200
    sentences = _sentences(response)
    assert "alice signed in" in sentences
    assert "A sign-in as alice failed: wrong username or password" in sentences


def test_account_activity_shows_no_one_elses_events(alice, bob, client_for, acme):
    audit.record(action=Action.LOGIN_SUCCEEDED, actor=bob, target=bob)
    audit.record(action=Action.LOGIN_FAILED, outcome=Outcome.FAILURE, actor_label="bob")
    response = client_for(alice).get(ACCOUNT)
    assert all("bob" not in s for s in _sentences(response))
    # Team events are the team log's, not the account's.
    assert all(row.event.team_id is None for row in response.context["rows"])


def test_account_activity_needs_a_login(client):
    assert client.get(ACCOUNT).status_code == 302


# --- The portal-wide view ----------------------------------------------------------------------


def test_the_portal_wide_audit_is_404_for_everyone_but_staff(acme, client_for, alice, mallory):
    assert client_for(alice).get(ALL).status_code == 404
    assert client_for(mallory).get(ALL).status_code == 404


def test_staff_see_every_teams_events_with_the_team_named(acme, evil, alice, client_for):
    alice.is_staff = True
    alice.save(update_fields=["is_staff"])
    response = client_for(alice).get(ALL)
    assert response.status_code == 200
    seqs = [row.event.seq for row in response.context["rows"]]
    assert seqs == sorted(AuditEvent.objects.values_list("seq", flat=True), reverse=True)[:50]
    assert {row.team_name for row in response.context["rows"]} >= {"Acme", "Evil"}


def test_staff_menu_links_to_the_portal_wide_audit(alice, client_for):
    assert ALL not in client_for(alice).get(reverse("dashboard")).content.decode()
    alice.is_staff = True
    alice.save(update_fields=["is_staff"])
    assert ALL in client_for(alice).get(reverse("dashboard")).content.decode()


def test_the_sentence_of_a_token_names_its_current_last_characters(acme, issued):
    issuance, event = issued
    Issuance.objects.filter(pk=issuance.pk).update(status=Status.REVOKED)
    rows = describe.describe([event])
    assert "token …AbCd" in describe.plain(rows[0].sentence)


@pytest.mark.parametrize(
    ("action", "details", "expected"),
    [
        ("tokens.history_exported", {"format": "csv"}, "alice exported the token history as CSV"),
        ("2fa.enabled", {}, "alice turned on two-factor authentication"),
        ("sessions.ended", {}, "alice logged out their other sessions"),
        ("api_key.created", {"name": "CI deploy"}, "alice created the API key CI deploy"),
    ],
)
def test_newer_actions_read_as_sentences(action, details, expected):
    event = AuditEvent(seq=1, action=action, actor_label="alice", details=details)
    assert describe.plain(describe.sentence(event)) == expected


def test_technical_fields_are_escaped_text(alice_client, acme, bob):
    """Stored values are whatever a browser or a detail carried: they show as text, never as
    markup, in the technical details and the badge beside them."""
    from portal.core.context import RequestContext, bound

    hostile = '"><script>alert(1)</script>'
    with bound(RequestContext(ip="203.0.113.9", user_agent=hostile, request_id="r-1")):
        audit.record(
            action=Action.TOKEN_ISSUED,
            actor=bob,
            team=acme,
            outcome=Outcome.FAILURE,
            details={"name": hostile, "odd <key>": "a & b"},
        )
    html = alice_client.get(LOG, {"team": acme.pk}).content.decode()
    assert "<script>alert(1)" not in html
    assert "<dd>&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</dd>" in html
    assert "<dt>odd &lt;key&gt;</dt><dd>a &amp; b</dd>" in html
    assert '<span class="badge badge-warn">Failed</span>' in html
