"""The audit log page: who sees what, filters, keyset pages, links to targets."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.audit import services as audit
from portal.audit.models import Action, AuditEvent, Outcome
from portal.audit.targets import register_target, target_url
from portal.teams.models import Membership

pytestmark = pytest.mark.django_db

LOG = reverse("audit:log")


def _seqs(response) -> list[int]:
    return [row.event.seq for row in response.context["rows"]]


@pytest.fixture
def bob_event(acme, bob):
    return audit.record(action=Action.TOKEN_REQUESTED, actor=bob, team=acme, details={"n": 1})


def test_anonymous_is_sent_to_login(client):
    response = client.get(LOG)
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_outsider_gets_404_for_another_teams_log(cast, acme, client_for):
    assert client_for(cast["mallory"]).get(LOG, {"team": acme.pk}).status_code == 404


def test_outsider_gets_404_for_the_export_too_and_nothing_is_recorded(cast, acme, client_for):
    before = AuditEvent.objects.count()
    response = client_for(cast["mallory"]).get(
        reverse("audit:export", args=["csv"]), {"team": acme.pk}
    )
    assert response.status_code == 404
    assert AuditEvent.objects.count() == before


def test_a_malformed_team_id_is_404_not_500(alice_client):
    assert alice_client.get(LOG, {"team": "not-a-uuid"}).status_code == 404


def test_outsider_never_sees_the_teams_events_in_their_own_log(cast, acme, client_for):
    response = client_for(cast["mallory"]).get(LOG)
    assert response.status_code == 200
    assert all(row.event.team_id != acme.pk for row in response.context["rows"])
    assert "Acme" not in response.content.decode()


def test_owner_sees_every_event_of_the_team(alice_client, acme, bob_event):
    response = alice_client.get(LOG, {"team": acme.pk})
    team_seqs = list(AuditEvent.objects.filter(team=acme).values_list("seq", flat=True))
    assert sorted(_seqs(response)) == sorted(team_seqs)
    assert bob_event.seq in _seqs(response)


def test_viewer_sees_every_event_of_the_team(cast, acme, bob_event, client_for):
    response = client_for(cast["carol"]).get(LOG, {"team": acme.pk})
    assert response.status_code == 200
    assert len(_seqs(response)) == AuditEvent.objects.filter(team=acme).count()
    assert {row.event.actor_label for row in response.context["rows"]} == {"alice", "bob"}


def test_issuer_sees_only_their_own_events(cast, acme, bob_event, client_for):
    response = client_for(cast["bob"]).get(LOG, {"team": acme.pk})
    assert response.status_code == 200
    assert _seqs(response) == [bob_event.seq]
    assert "Your own events: issuers see only what they did." in response.content.decode()


def test_issuer_cannot_widen_the_view_with_an_actor_filter(cast, acme, bob_event, client_for):
    response = client_for(cast["bob"]).get(LOG, {"team": acme.pk, "actor": "alice"})
    assert _seqs(response) == []


def test_log_defaults_to_the_current_team(alice_client, acme):
    alice_client.post(reverse("teams:switch"), {"team": acme.pk, "next": LOG})
    response = alice_client.get(LOG)
    assert response.context["team"] == acme
    assert AuditEvent.objects.filter(team=acme).latest("seq").seq in _seqs(response)


def test_log_is_get_only(alice_client):
    assert alice_client.post(LOG).status_code == 405
    assert alice_client.post(reverse("audit:export", args=["csv"])).status_code == 405


def test_newest_first(alice_client, acme):
    seqs = _seqs(alice_client.get(LOG, {"team": acme.pk}))
    assert seqs == sorted(seqs, reverse=True)


def test_filter_by_actor(alice_client, acme, bob_event):
    response = alice_client.get(LOG, {"team": acme.pk, "actor": "bob"})
    assert _seqs(response) == [bob_event.seq]


def test_filter_by_actor_name_of_a_user_that_no_longer_exists(alice_client, acme):
    ghost = audit.record(action=Action.LOGOUT, actor_label="ghost", team=acme)
    assert _seqs(alice_client.get(LOG, {"team": acme.pk, "actor": "ghost"})) == [ghost.seq]


def test_filter_by_action(alice_client, acme):
    response = alice_client.get(LOG, {"team": acme.pk, "action": Action.MEMBER_ADDED})
    assert len(_seqs(response)) == 2
    assert {row.event.action for row in response.context["rows"]} == {Action.MEMBER_ADDED}


def test_filter_by_outcome(alice_client, acme):
    failed = audit.record(action=Action.TOKEN_FAILED, outcome=Outcome.FAILURE, team=acme)
    response = alice_client.get(LOG, {"team": acme.pk, "outcome": "failure"})
    assert _seqs(response) == [failed.seq]


def test_filter_by_target_type_and_id(alice_client, acme, bob):
    membership = Membership.objects.get(team=acme, user=bob)
    response = alice_client.get(
        LOG, {"team": acme.pk, "target_type": "teams.membership", "target_id": membership.pk}
    )
    events = [row.event for row in response.context["rows"]]
    assert len(events) == 1
    assert events[0].details["member"] == "bob"
    assert len(_seqs(alice_client.get(LOG, {"team": acme.pk, "target_type": "teams.team"}))) == 1


def test_filter_by_date_range(alice_client, acme):
    today = timezone.localdate()
    all_seqs = _seqs(alice_client.get(LOG, {"team": acme.pk}))
    assert (
        _seqs(alice_client.get(LOG, {"team": acme.pk, "date_from": today, "date_to": today}))
        == all_seqs
    )
    yesterday = today - timedelta(days=1)
    assert _seqs(alice_client.get(LOG, {"team": acme.pk, "date_to": yesterday})) == []
    assert (
        _seqs(alice_client.get(LOG, {"team": acme.pk, "date_from": today + timedelta(days=1)}))
        == []
    )


def test_date_filter_uses_each_events_time(alice_client, acme, raw_sql):
    # Move the first acme events into the past (raw SQL; the chain breaks, the filter must not).
    first = AuditEvent.objects.filter(team=acme).order_by("seq").first()
    old = timezone.now() - timedelta(days=10)
    earlier_seqs = list(AuditEvent.objects.filter(seq__lte=first.seq).values_list("seq", flat=True))
    for seq in earlier_seqs:
        raw_sql("UPDATE {table} SET at = %s WHERE seq = %s", [old, seq])
    day = timezone.localtime(old).date()
    response = alice_client.get(LOG, {"team": acme.pk, "date_from": day, "date_to": day})
    assert _seqs(response) == [first.seq]


def test_invalid_filters_are_a_400_with_a_message_not_a_500(alice_client, acme):
    for params in (
        {"action": "bogus"},
        {"date_from": "2024-13-45"},
        {"before": "abc"},
        {"date_from": "2025-02-02", "date_to": "2025-02-01"},
        {"actor": "evil\x00name"},
    ):
        response = alice_client.get(LOG, {"team": acme.pk, **params})
        assert response.status_code == 400, params
        assert (
            "Please correct" in response.content.decode()
            or "before the start" in response.content.decode()
        )


@pytest.fixture
def many(acme, alice):
    return [
        audit.record(action=Action.PROFILE_UPDATED, actor=alice, team=acme, details={"i": i})
        for i in range(120)
    ]


def test_keyset_pages_walk_the_whole_log_without_gaps_or_repeats(alice_client, acme, many):
    seen, params, pages = [], {"team": acme.pk}, 0
    while True:
        response = alice_client.get(LOG, params)
        seen += _seqs(response)
        pages += 1
        page = response.context["page"]
        if pages > 1:
            assert page.newer is not None
        if page.older is None:
            break
        params = {"team": acme.pk, "before": page.older}
    assert pages == 3
    assert seen == list(
        AuditEvent.objects.filter(team=acme).order_by("-seq").values_list("seq", flat=True)
    )


def test_newer_link_leads_back_to_the_previous_page(alice_client, acme, many):
    first = alice_client.get(LOG, {"team": acme.pk})
    second = alice_client.get(LOG, {"team": acme.pk, "before": first.context["page"].older})
    assert 'rel="next"' in first.content.decode() and 'rel="prev"' in second.content.decode()
    back = alice_client.get(LOG, {"team": acme.pk, "after": second.context["page"].newer})
    assert _seqs(back) == _seqs(first)
    assert back.context["page"].newer is None


def test_pages_keep_the_filters_in_their_links(alice_client, acme, many):
    response = alice_client.get(LOG, {"team": acme.pk, "action": Action.PROFILE_UPDATED})
    body = response.content.decode()
    assert "action=profile.updated" in body and "before=" in body


def test_a_page_never_counts_the_table(alice_client, acme, many):
    with CaptureQueriesContext(connection) as queries:
        response = alice_client.get(LOG, {"team": acme.pk, "before": many[60].seq})
    assert response.status_code == 200
    assert not any("COUNT(" in q["sql"].upper() for q in queries.captured_queries)


def test_empty_log_shows_an_empty_state(alice_client, acme):
    response = alice_client.get(LOG, {"team": acme.pk, "actor": "nobody-at-all"})
    assert "No events match these filters." in response.content.decode()


def test_rows_link_to_their_target(alice_client, acme):
    body = alice_client.get(LOG, {"team": acme.pk}).content.decode()
    assert f'href="{reverse("teams:detail", args=[acme.pk])}"' in body


def test_target_registry_can_be_extended_and_survives_broken_builders(acme):
    event = audit.record(
        action=Action.CREDENTIAL_CREATED, team=acme, target_type="example.thing", target_id="7"
    )
    assert target_url(event) is None
    register_target("example.thing", lambda e: f"/things/{e.target_id}/")
    try:
        assert target_url(event) == "/things/7/"
        register_target("example.thing", lambda e: reverse("no-such-url"))
        assert target_url(event) is None
    finally:
        from portal.audit import targets

        targets._registry.pop("example.thing", None)


def test_a_malformed_target_id_gives_no_link_rather_than_an_error(acme):
    event = audit.record(
        action=Action.TOKEN_ISSUED, team=acme, target_type="tokens.issuance", target_id="nope"
    )
    assert target_url(event) is None


def test_a_malformed_target_id_gives_no_link_not_a_made_up_one(acme):
    for target_type in ("tokens.issuance", "teams.team"):
        event = audit.record(
            action=Action.TOKEN_ISSUED, team=acme, target_type=target_type, target_id="../x"
        )
        assert target_url(event) is None
