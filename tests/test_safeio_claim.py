"""safeio.claim: of many processes that claim the same stale lock at the same moment, exactly one gets it
(issue 23 item 5: two processes both took a stale lock in 92 of 300 rounds)."""
import multiprocessing
import os
import subprocess
import sys

import pytest

from signlang import safeio

CLAIMERS = 12
ROUNDS = 6  # 12 claimers race in every round: the take-over of before lost this in its first rounds


def dead_pid() -> int:
    """The pid of a process that has ended (a stale lock's holder)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _claimer(lock: str, barrier, results, release) -> None:
    barrier.wait()
    try:
        safeio.claim(lock, "the run")
        results.put(("won", os.getpid()))
    except ValueError as error:
        results.put(("refused", str(error)))
    release.wait(30)  # alive until every claimer has tried: a winner that ended could be taken over by right


@pytest.mark.parametrize("start", ["stale", "absent"])
def test_many_concurrent_claimers_of_a_stale_lock_give_exactly_one_winner(tmp_path, start):
    context = multiprocessing.get_context("fork")
    for round_number in range(ROUNDS):
        lock = tmp_path / f"run{round_number}.lock"
        if start == "stale":
            lock.write_text(str(dead_pid()))
        barrier, results, release = context.Barrier(CLAIMERS), context.Queue(), context.Event()
        workers = [context.Process(target=_claimer, args=(str(lock), barrier, results, release))
                   for _ in range(CLAIMERS)]
        for worker in workers:
            worker.start()
        outcomes = [results.get(timeout=60) for _ in workers]
        winners = [pid for kind, pid in outcomes if kind == "won"]
        assert len(winners) == 1, f"round {round_number}: {len(winners)} processes took the lock: {outcomes}"
        assert lock.read_text() == str(winners[0])
        assert all("in use by process" in detail for kind, detail in outcomes if kind == "refused"), outcomes
        release.set()
        for worker in workers:
            worker.join(30)
        assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(safeio.TMP_PREFIX)]


def test_a_lock_of_a_live_process_is_refused_and_a_dead_ones_taken_over(tmp_path):
    lock = tmp_path / "run.lock"
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as alive:
        try:
            lock.write_text(str(alive.pid))
            with pytest.raises(ValueError, match=f"in use by process {alive.pid}"):
                safeio.claim(lock, "the run")
        finally:
            alive.kill()
    alive.wait()
    assert safeio.claim(lock, "the run").read_text() == str(os.getpid())
    lock.write_text("")  # foreign content (no pid): taken over
    assert safeio.claim(lock, "the run").read_text() == str(os.getpid())
