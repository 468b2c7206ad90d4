"""The dashboard: my live tokens with countdowns, tokens about to expire, recent failures."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.teams.access import CURRENT_TEAM_SESSION_KEY
from portal.tokens.models import Status

DASHBOARD = reverse("dashboard")


def dashboard(client, team=None) -> str:
    if team is not None:
        session = client.session
        session[CURRENT_TEAM_SESSION_KEY] = str(team.pk)
        session.save()
    response = client.get(DASHBOARD)
    assert response.status_code == 200
    return response.content.decode()


def section(html: str, heading_id: str) -> str:
    start = html.index(f'id="{heading_id}"')
    end = html.find("</section>", start)
    return html[start:end]


def test_new_user_sees_empty_states_and_getting_started(client_for, alice):
    html = dashboard(client_for(alice))
    assert "No active tokens." in section(html, "dash-active")
    assert "Nothing expires in the next 10 minutes." in html
    assert "No failed requests." in html
    assert "Getting started" in html
    assert reverse("tokens:generate") in section(html, "dash-active")


def test_my_active_tokens_are_listed_with_a_countdown(client_for, bob, acme, make_issuance):
    expires = timezone.now() + timedelta(minutes=45)
    mine = make_issuance(access_token="fake-token-MiNe", expires_at=expires)
    html = section(dashboard(client_for(bob), acme), "dash-active")
    assert "…MiNe" in html
    assert reverse("tokens:detail", args=[mine.pk]) in html
    assert f'data-expires-at="{timezone.localtime(expires).isoformat()}"' in html
    assert "left</time>" in html  # server-rendered remaining time, works without JS
    assert "44\xa0minutes left" in html or "45\xa0minutes left" in html


def test_countdown_script_is_loaded_from_static(client_for, bob):
    html = dashboard(client_for(bob))
    assert 'src="/static/js/countdown.js"' in html
    assert "<script>" not in html


def test_other_peoples_expired_and_finished_tokens_are_not_mine(
    client_for, bob, alice, acme, make_issuance
):
    now = timezone.now()
    make_issuance(issued_by=alice, access_token="fake-token-HERS")
    make_issuance(access_token="fake-token-EXPD", expires_at=now - timedelta(minutes=1))
    make_issuance(access_token="fake-token-REVK", status=Status.REVOKED)
    make_issuance(access_token="fake-token-FAIL", status=Status.FAILED)
    html = section(dashboard(client_for(bob), acme), "dash-active")
    for last4 in ("HERS", "EXPD", "REVK", "FAIL"):
        assert f"…{last4}" not in html
    assert "No active tokens." in html


def test_owner_sees_every_token_of_the_team_expiring_soon(client_for, alice, acme, make_issuance):
    soon = timezone.now() + timedelta(minutes=4)
    make_issuance(access_token="fake-token-BOBS", expires_at=soon)
    make_issuance(access_token="fake-token-LATE", expires_at=soon + timedelta(hours=1))
    html = section(dashboard(client_for(alice), acme), "dash-expiring")
    assert "Every token of Acme" in html
    assert "…BOBS" in html and "bob" in html
    assert "…LATE" not in html


def test_issuer_sees_only_own_tokens_expiring_soon(client_for, bob, alice, acme, make_issuance):
    soon = timezone.now() + timedelta(minutes=4)
    make_issuance(access_token="fake-token-BOBS", expires_at=soon)
    make_issuance(issued_by=alice, access_token="fake-token-HERS", expires_at=soon)
    html = section(dashboard(client_for(bob), acme), "dash-expiring")
    assert "Your own tokens." in html
    assert "…BOBS" in html
    assert "…HERS" not in html


def test_owner_outside_the_team_switcher_sees_only_own(client_for, alice, acme, make_issuance):
    """Team-wide lists follow the current team: in her personal team alice sees her own only."""
    make_issuance(access_token="fake-token-BOBS", expires_at=timezone.now() + timedelta(minutes=4))
    html = section(dashboard(client_for(alice)), "dash-expiring")
    assert "…BOBS" not in html


def test_recent_failures_show_the_last_five_with_reasons(client_for, alice, acme, make_issuance):
    now = timezone.now()
    for n in range(7):
        make_issuance(
            status=Status.FAILED,
            access_token="",
            issued_at=now - timedelta(minutes=n),
            failure_message=f"Reason number {n}.",
        )
    html = section(dashboard(client_for(alice), acme), "dash-failures")
    for n in range(5):
        assert f"Reason number {n}." in html
    assert "Reason number 5." not in html
    assert "Reason number 6." not in html


def test_issuer_sees_only_own_failures(client_for, bob, alice, acme, make_issuance):
    make_issuance(status=Status.FAILED, access_token="", failure_message="Bob's mistake.")
    make_issuance(
        issued_by=alice, status=Status.FAILED, access_token="", failure_message="Alice's mistake."
    )
    html = section(dashboard(client_for(bob), acme), "dash-failures")
    assert "Bob&#x27;s mistake." in html
    assert "Alice" not in html


def test_outsider_sees_nothing_of_acme(client_for, mallory, evil, acme, make_issuance):
    make_issuance(access_token="fake-token-ACME", expires_at=timezone.now() + timedelta(minutes=3))
    make_issuance(status=Status.FAILED, access_token="", failure_message="Acme secret reason.")
    html = dashboard(client_for(mallory), evil)
    assert "…ACME" not in html
    assert "Acme secret reason." not in html


def test_removed_member_no_longer_sees_their_tokens(client_for, bob, alice, acme, make_issuance):
    from portal.teams.models import Membership

    make_issuance(access_token="fake-token-GONE")
    Membership.objects.filter(team=acme, user=bob).delete()
    assert "…GONE" not in dashboard(client_for(bob))


@pytest.mark.parametrize("rows", [1, 12])
def test_dashboard_query_count_does_not_grow_with_tokens(
    rows, client_for, alice, acme, make_issuance, django_assert_max_num_queries
):
    now = timezone.now()
    for n in range(rows):
        make_issuance(issued_by=alice, expires_at=now + timedelta(minutes=5 + n))
        make_issuance(status=Status.FAILED, access_token="")
    client = client_for(alice)
    dashboard(client, acme)
    with django_assert_max_num_queries(12):
        client.get(DASHBOARD)
