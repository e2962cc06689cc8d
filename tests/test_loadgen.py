"""loadgen.cpu_load: its competitors run during the block and are gone afterwards, whatever happens."""
import os
import time

import pytest

from bench import loadgen


def alive(pid: int) -> bool:
    """True while `pid` is a running (not zombie) process."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc to look at processes")
def test_competitors_run_during_block_and_are_gone_after_an_exception():
    with pytest.raises(KeyboardInterrupt):
        with loadgen.cpu_load(2) as pids:
            assert len(pids) == 2 and len(set(pids)) == 2
            assert all(alive(pid) for pid in pids)
            raise KeyboardInterrupt  # as Ctrl-C in the middle of a measurement
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(pid) for pid in pids)


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc to look at processes")
def test_competitor_stops_by_itself_after_max_s():
    with loadgen.cpu_load(1, max_s=0.5) as pids:
        deadline = time.monotonic() + 10
        while alive(pids[0]) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(pids[0]), "a competitor outlived its max_s bound"


def test_zero_load_starts_nothing_and_bad_arguments_are_refused():
    with loadgen.cpu_load(0) as pids:
        assert pids == []
    with pytest.raises(ValueError, match="num_processes"):
        with loadgen.cpu_load(-1):
            pass


def test_machine_line_reports_load_and_a_positive_matmul_speed():
    assert loadgen.matmul_gflops(size=128, repeats=1) > 0
    assert "load average" in loadgen.machine_line()
