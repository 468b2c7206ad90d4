"""Concurrent writers never fork or gap the chain (SQLite immediate transactions, PostgreSQL
advisory lock)."""

import threading

import pytest
from django.db import connection

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
