"""The audit pages read events as fixed SQL (``EventSelection``): the same events, in the same
order and with the same values, as the queryset the exports and the API read."""

from datetime import timedelta

import pytest
from django.db.models import Q
from django.utils import timezone

from portal.audit import selectors
from portal.audit import services as audit
from portal.audit.models import Action, AuditEvent, Outcome
from portal.audit.selection import PAGE_FIELDS, EventSelection

pytestmark = pytest.mark.django_db


@pytest.fixture
def trail(acme, alice, bob):
    """A few dozen events of Acme by alice and bob, of several actions and outcomes."""
    for i in range(30):
        audit.record(
            action=Action.TOKEN_REQUESTED if i % 3 else Action.TOKEN_FAILED,
            outcome=Outcome.SUCCESS if i % 4 else Outcome.FAILURE,
            actor=bob if i % 2 else alice,
            team=acme,
            target_type="tokens.issuance" if i % 5 else "teams.team",
            target_id=str(acme.pk),
            details={"i": i, "scopes": ["read"]},
        )
    audit.record(action=Action.LOGOUT, actor_label="ghost", team=acme)


def _pages(events, size=7) -> list[list[tuple]]:
    """Every page of ``events`` walking older, then the newest one walked back from the end."""
    pages, before = [], None
    while True:
        page = selectors.event_page(events, before=before, size=size)
        pages.append([tuple(getattr(e, f) for f in PAGE_FIELDS) for e in page.items])
        if not page.older:
            break
        before = page.older
    back = selectors.event_page(events, after=pages[-1][-1][0] - 1 if pages[-1] else 0, size=size)
    pages.append([e.seq for e in back.items])
    return pages


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"actor": "bob"},
        {"actor": "ghost"},
        {"action": "token.failed"},
        {"outcome": "failure", "target_type": "teams.team"},
        {"date_from": "today", "date_to": "today"},
        {"date_from": "tomorrow"},
        {"date_to": "yesterday"},
    ],
)
def test_a_selection_pages_like_its_queryset(acme, trail, filters):
    days = {"today": 0, "tomorrow": 1, "yesterday": -1}
    filters = {
        k: timezone.localdate() + timedelta(days=days[v]) if k.startswith("date") else v
        for k, v in filters.items()
    }
    selection = selectors.event_selection_for_team(
        team=acme, filters=selectors.AuditFilters(**filters)
    )
    assert isinstance(selection, EventSelection)
    assert _pages(selection) == _pages(selection.queryset())


def test_an_issuers_selection_holds_their_own_events_only(acme, trail, bob):
    selection = selectors.event_selection_for_team(
        team=acme, filters=selectors.AuditFilters(), only_actor_id=bob.pk
    )
    rows = selectors.event_page(selection, size=100).items
    assert rows and {row.actor_id for row in rows} == {bob.pk}
    assert _pages(selection) == _pages(selection.queryset())


def test_page_rows_hold_the_values_the_orm_gives(acme, trail):
    selection = selectors.event_selection_all(filters=selectors.AuditFilters())
    row = selectors.event_page(selection, size=1).items[0]
    event = AuditEvent.objects.get(seq=row.seq)
    for name in PAGE_FIELDS:
        assert getattr(row, name) == getattr(event, name), name
    assert row.team_id == acme.pk and row.at.tzinfo is not None


def test_a_selection_takes_only_plain_conditions(acme):
    selection = EventSelection()
    with pytest.raises(TypeError):
        selection.filter(Q(seq__lt=5) | Q(seq__gt=9))
    with pytest.raises(TypeError):
        selection.filter(~Q(seq__lt=5))
    with pytest.raises(TypeError):
        selection.order_by("-seq")[5:10]
    with pytest.raises(ValueError):
        selection.where(("actor_label", "iexact", "bob")).exists()


def test_a_selection_of_nothing_reads_nothing(acme, trail, django_assert_num_queries):
    nothing = EventSelection(nothing=True)
    with django_assert_num_queries(0):
        assert nothing[:10] == [] and nothing.exists() is False
    assert not nothing.queryset().exists()
