"""Deadlines without a thread each: one watchdog thread per process shuts calls down when their
time comes, and never touches a call that is over."""

import threading
import time

from portal.gateway import limits


class RecordingGuard:
    """Stands for a connection's SocketGuard: records being shut down for a deadline."""

    def __init__(self):
        self.shut_down = threading.Event()

    def shut_down_for(self, deadline):
        self.shut_down.set()

    def release(self, deadline=None):
        pass


def test_a_call_still_running_at_its_deadline_is_shut_down():
    guard = RecordingGuard()
    with limits.Deadline(0.05) as deadline:
        deadline.watch(guard)
        assert guard.shut_down.wait(2)
        assert deadline.expired


def test_a_call_that_ended_in_time_is_never_shut_down_later():
    guard = RecordingGuard()
    with limits.Deadline(0.05) as deadline:
        deadline.watch(guard)
    time.sleep(0.2)
    assert not guard.shut_down.is_set()
    assert not deadline.expired


def test_a_call_that_said_it_had_its_answer_is_not_cut_off():
    guard = RecordingGuard()
    with limits.Deadline(0.05) as deadline:
        deadline.watch(guard)
        assert deadline.finish()
        time.sleep(0.2)
    assert not guard.shut_down.is_set() and not deadline.expired


def test_a_shorter_deadline_begun_after_a_longer_one_still_comes_first():
    later, sooner = RecordingGuard(), RecordingGuard()
    with limits.Deadline(30) as long_call:
        long_call.watch(later)
        with limits.Deadline(0.05) as short_call:
            short_call.watch(sooner)
            assert sooner.shut_down.wait(2)
        assert not later.shut_down.is_set() and not long_call.expired


def test_many_calls_start_no_thread_of_their_own(monkeypatch):
    started = []
    real_start = threading.Thread.start

    def counting_start(thread):
        started.append(thread.name)
        real_start(thread)

    monkeypatch.setattr(threading.Thread, "start", counting_start)
    for _ in range(50):
        with limits.Deadline(10):
            pass
    assert len(started) <= 1  # the watchdog, if this process had none yet


def test_concurrent_calls_each_get_their_own_deadline():
    calls = 3
    guards = [RecordingGuard() for _ in range(calls)]
    expired = []

    def call(seconds, guard):
        with limits.Deadline(seconds) as deadline:
            deadline.watch(guard)
            guard.shut_down.wait(seconds + 2)
            expired.append((seconds, deadline.expired))

    threads = [
        threading.Thread(target=call, args=(0.05 * (n + 1), guard))
        for n, guard in enumerate(guards)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert sorted(expired) == [(0.05 * (n + 1), True) for n in range(calls)]


def test_a_forked_worker_gets_a_watchdog_of_its_own():
    import os

    with limits.Deadline(10):  # the parent's watchdog thread is running
        pass
    pid = os.fork()
    if pid == 0:  # the child: only the forking thread survives a fork
        guard = RecordingGuard()
        with limits.Deadline(0.05) as deadline:
            deadline.watch(guard)
            cut_off = guard.shut_down.wait(2)
        os._exit(0 if cut_off else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_the_watchdog_outlives_a_deadline_that_fails_to_expire(caplog):
    class BrokenGuard(RecordingGuard):
        def shut_down_for(self, deadline):
            super().shut_down_for(deadline)
            raise RuntimeError("broken socket guard")

    broken, later = BrokenGuard(), RecordingGuard()
    with limits.Deadline(0.02) as first:
        first.watch(broken)
        assert broken.shut_down.wait(2)
    with limits.Deadline(0.05) as second:
        second.watch(later)
        assert later.shut_down.wait(2)
    assert "expiring a gateway call's deadline failed" in caplog.text
