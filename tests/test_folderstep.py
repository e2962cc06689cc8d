"""folderstep.run_step: a bounded submission queue, and worker processes that die with their parent."""
import concurrent.futures
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from signlang import folderstep
from signlang.video import write_video

REPO = Path(__file__).resolve().parents[1]


def _echo(source: Path, target: Path) -> str:
    if source.name == "bad":
        raise ValueError("bad input")
    return "done"


class CountingPool(concurrent.futures.ThreadPoolExecutor):
    """A thread pool standing in for the process pool; records the most jobs ever submitted and not finished."""

    most_in_flight = 0

    def __init__(self, max_workers, mp_context=None, initializer=None, initargs=()):
        super().__init__(max_workers)  # no initializer: it would set the parent-death signal on pytest itself
        self.in_flight = 0

    def submit(self, fn, *args):
        self.in_flight += 1
        CountingPool.most_in_flight = max(CountingPool.most_in_flight, self.in_flight)
        future = super().submit(fn, *args)
        future.add_done_callback(lambda _: setattr(self, "in_flight", self.in_flight - 1))
        return future


def test_run_step_keeps_at_most_two_jobs_per_worker_in_flight(monkeypatch):
    monkeypatch.setattr(folderstep.concurrent.futures, "ProcessPoolExecutor", CountingPool)
    CountingPool.most_in_flight = 0
    jobs = [(Path(f"in/{i}"), Path(f"out/{i}")) for i in range(200)] + [(Path("in/bad"), Path("out/bad"))]
    summary = folderstep.run_step(jobs, _echo, workers=3)
    assert summary.done == 200 and [source.name for source, _ in summary.failed] == ["bad"]
    assert 1 <= CountingPool.most_in_flight <= folderstep.IN_FLIGHT_PER_WORKER * 3


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, state letter) of every process, from /proc."""
    table = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        table[int(stat.parent.name)] = (int(fields[1]), fields[0])
    return table


def _descendants(pid: int) -> set[int]:
    table, found, todo = _processes(), set(), [pid]
    while todo:
        parent = todo.pop()
        children = {child for child, (ppid, _) in table.items() if ppid == parent}
        todo.extend(children - found)
        found |= children
    return found


def _alive(pids) -> set[int]:
    table = _processes()
    return {pid for pid in pids if pid in table and table[pid][1] != "Z"}  # a zombie has exited


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("script", ["frame.py", "prepare_demo.py"])
def test_workers_exit_when_the_parent_is_killed(script, tmp_path):
    if script == "frame.py":
        rng = np.random.default_rng(0)
        clip = write_video(tmp_path / "clip.avi", rng.integers(0, 255, (120, 240, 320, 3), dtype=np.uint8), 25)
        for i in range(40):  # one real video under many names: many slow-enough jobs, written once
            link = tmp_path / "videos" / "train" / "a" / f"clip{i:02d}.avi"
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(clip)
        args, first_output = [tmp_path / "videos", tmp_path / "image", "--workers", "2"], "image/train/a/clip*"
    else:  # its own process pool (it renders videos, not folders)
        args = ["--classes", "2", "--per-class", "6", "--val-per-class", "2", "--out", tmp_path / "demo",
                "--workers", "2"]
        first_output = "demo/002/*/*/*.avi"
    parent = subprocess.Popen([sys.executable, str(REPO / script), *map(str, args)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
    children: set[int] = set()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(list(tmp_path.glob(first_output))) < 1:
            assert parent.poll() is None, f"{script} ended before its workers could be observed"
            time.sleep(0.1)
        children = _descendants(parent.pid)
        assert len(children) >= 2, f"expected 2 workers (and a resource tracker), found {children}"
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 5
        while _alive(children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(children), f"processes {sorted(_alive(children))} outlived their killed parent"
    finally:
        if parent.poll() is None:
            parent.kill()
        for pid in _alive(children):  # only what this test's script started
            os.kill(pid, signal.SIGKILL)


def test_progress_in_a_log_file_prints_a_line_every_ten_percent_not_a_carriage_return_per_step():
    import io

    from signlang.folderstep import progress

    log = io.StringIO()  # not a TTY: as under CI, nohup or a cluster's log
    with progress(total=200, desc="frames", unit="video", file=log) as bar:
        for _ in range(200):
            bar.update()
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue() and len(lines) == 10
    assert lines[0].startswith("frames: 20/200 video (10 %)") and lines[-1].startswith("frames: 200/200 video (100 %)")
    log = io.StringIO()
    assert list(progress(range(3), desc="x", file=log)) == [0, 1, 2]
    assert log.getvalue().splitlines() == [line for line in log.getvalue().splitlines() if line.startswith("x: ")]
    assert log.getvalue().count("\n") == 3 and "x: 3/3 it (100 %)" in log.getvalue()
