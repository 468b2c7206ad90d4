"""Two owners demoting (or removing) each other at the same moment leave exactly one owner.

The gap between "count the other owners" and "save" is widened on purpose (the role change is
held for a moment inside its transaction), so without a lock on the team both requests pass the
check. Runs on SQLite and, in CI, on PostgreSQL, where ``SELECT … FOR UPDATE`` on a COUNT locks
nothing.
"""

import threading
import time

import pytest
from django.db import connection

from portal.teams import services as teams
from portal.teams.models import Membership, Role
from portal.teams.services import TeamRuleError


@pytest.fixture
def two_owners(alice, bob, acme):
    teams.member_change_role(
        membership=Membership.objects.get(team=acme, user=bob), role=Role.OWNER, actor=alice
    )
    return acme


def _slow_audit(monkeypatch):
    real = teams.audit.record

    def record(**kwargs):
        time.sleep(0.3)  # inside the transaction, after the last-owner check
        return real(**kwargs)

    monkeypatch.setattr(teams.audit, "record", record)


def _at_once(*actions) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(len(actions))

    def run(action):
        try:
            start.wait()
            action()
        except BaseException as exc:  # collected for the assertions
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(a,)) for a in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.django_db(transaction=True)
def test_owners_demoting_each_other_at_once_leave_one_owner(alice, bob, two_owners, monkeypatch):
    _slow_audit(monkeypatch)
    team = two_owners

    def demote(user, actor):
        def action():
            membership = Membership.objects.select_related("team", "user").get(team=team, user=user)
            teams.member_change_role(membership=membership, role=Role.VIEWER, actor=actor)

        return action

    errors = _at_once(demote(bob, alice), demote(alice, bob))

    assert Membership.objects.filter(team=team, role=Role.OWNER).count() == 1
    assert len(errors) == 1 and isinstance(errors[0], TeamRuleError)


@pytest.mark.django_db(transaction=True)
def test_owners_removing_each_other_at_once_leave_one_owner(alice, bob, two_owners, monkeypatch):
    _slow_audit(monkeypatch)
    team = two_owners

    def remove(user, actor):
        def action():
            membership = Membership.objects.select_related("team", "user").get(team=team, user=user)
            teams.member_remove(membership=membership, actor=actor)

        return action

    errors = _at_once(remove(bob, alice), remove(alice, bob))

    assert Membership.objects.filter(team=team, role=Role.OWNER).count() == 1
    assert len(errors) == 1 and isinstance(errors[0], TeamRuleError)
