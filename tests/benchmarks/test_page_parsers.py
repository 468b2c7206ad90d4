"""The page benchmarks read which rows a page shows from its HTML (both ways of building the
page must show the same rows): their patterns must match the pages as they are."""

import pytest
from django.urls import reverse

from benchmarks import audit as audit_benchmark
from benchmarks import issue as issue_benchmark
from portal.audit import services as audit
from portal.audit.models import Action
from tests.tokens.conftest import acme_credential, acme_gateway, make_issuance  # noqa: F401, F811

pytestmark = pytest.mark.django_db


def test_the_audit_benchmark_reads_every_event_number_of_a_page(alice_client, acme, alice):
    events = [audit.record(action=Action.PROFILE_UPDATED, actor=alice, team=acme) for _ in range(3)]
    html = alice_client.get(reverse("audit:log"), {"team": acme.pk}).content.decode()
    shown = audit_benchmark.SEQ_CELL.findall(html)
    assert [str(e.seq) for e in reversed(events)] == shown[:3]


def test_the_history_benchmark_reads_every_token_of_a_page(
    alice_client,
    acme,
    make_issuance,  # noqa: F811
):
    issuances = [make_issuance() for _ in range(3)]
    html = alice_client.get(reverse("tokens:history"), {"team": acme.pk}).content.decode()
    shown = list(dict.fromkeys(issue_benchmark.DETAIL_LINK.findall(html)))
    assert set(shown) == {str(i.pk) for i in issuances}
