"""Concurrent writers never fork or gap the chain (SQLite immediate transactions, PostgreSQL
advisory lock)."""

import threading
import time

import pytest
from django.db import connection, transaction

from portal.audit import services as audit
from portal.audit.models import Action, AuditEvent
from portal.audit.verify import verify_chain

THREADS = 8
EACH = 50


@pytest.mark.django_db(transaction=True)
def test_eight_threads_of_fifty_events_give_seq_1_to_400_and_a_valid_chain():
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(EACH):
                audit.record(
                    action=Action.PROFILE_UPDATED,
                    actor_label=f"writer-{n}",
                    details={"writer": n, "i": i},
                )
        except BaseException as exc:  # reported below; a thread must not die silently
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, THREADS * EACH + 1))
    for n in range(THREADS):
        assert AuditEvent.objects.filter(actor_label=f"writer-{n}").count() == EACH
    summary = verify_chain()
    assert summary.count == THREADS * EACH


# Waiting advisory locks in this test's database (other test runs may share the cluster).
_WAITING_ADVISORY_LOCKS = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def _wait_for_a_writer_blocked_on_the_chain_lock(seconds: float = 15.0) -> bool:
    with connection.cursor() as cursor:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            cursor.execute(_WAITING_ADVISORY_LOCKS)
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.02)
    return False


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the advisory lock is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_a_writer_that_waited_for_the_lock_chains_onto_the_event_committed_meanwhile():
    # The lock and the head read travel as one query of two statements: the head must still be
    # read after the lock is granted, so the waiting writer sees the holder's committed event.
    holding, release, errors = threading.Event(), threading.Event(), []

    def holder() -> None:
        try:
            with transaction.atomic():
                audit.record(action=Action.PROFILE_UPDATED, actor_label="holder")
                holding.set()
                release.wait(30)
        except BaseException as exc:
            errors.append(exc)
        finally:
            holding.set()
            connection.close()

    def waiter() -> None:
        try:
            holding.wait(10)
            audit.record(action=Action.PROFILE_UPDATED, actor_label="waiter")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=holder), threading.Thread(target=waiter)]
    for thread in threads:
        thread.start()
    holding.wait(10)
    waited = _wait_for_a_writer_blocked_on_the_chain_lock()
    release.set()
    for thread in threads:
        thread.join()

    assert waited, "the second writer never waited for the chain's lock"
    assert errors == []
    first, second = AuditEvent.objects.order_by("seq")
    assert (first.actor_label, second.actor_label) == ("holder", "waiter")
    assert second.prev_hash == first.hash and second.seq == first.seq + 1
    assert verify_chain().count == 2
