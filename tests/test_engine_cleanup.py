"""A private Ray instance that `--engine ray` started goes when the step dies (issue 23 item 6): kill -9 of the
driver left gcs_server, raylet and Ray's agents running. Its watchdog kills them; when the watchdog was killed
too, the next start reaps them (engine.reap_orphans)."""
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytest.importorskip("ray")
from signlang import engine  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DRIVER = textwrap.dedent("""
    import os, sys, time
    sys.path[:0] = [{repo!r}]
    import ray
    from signlang import engine
    engine.connect(None, 1)
    task = ray.remote(num_cpus=1)(lambda: os.getpid())
    worker = ray.get(task.remote())
    session = ray._private.worker._global_node.get_session_dir_path()
    print(session, engine._watchdog["process"].pid, worker, flush=True)
    time.sleep(600)
""")


def start_driver():
    """A step's driver with a private Ray instance that ran a task; returns (process, session dir, watchdog pid)."""
    driver = subprocess.Popen([sys.executable, "-c", DRIVER.format(repo=str(REPO))], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    line = driver.stdout.readline().split()
    if len(line) != 3:
        driver.kill()
        pytest.fail(f"the Ray driver did not start: {line}")
    session, watchdog, worker = line[0], int(line[1]), int(line[2])
    assert worker in engine.session_processes(session)  # a worker is found as a descendant of the raylet
    assert len(engine.session_processes(session)) >= 4  # gcs_server, raylet, agents, ...
    return driver, session, watchdog


def wait_gone(session: str, timeout_s: float = 30) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        left = [pid for pid in engine.session_processes(session) if engine.process_alive(pid)]
        if not left:
            return []
        time.sleep(0.2)
    return left


@pytest.mark.slow
def test_killing_the_driver_takes_its_private_ray_instance_with_it():
    driver, session, watchdog = start_driver()
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    left = wait_gone(session)
    assert not left, f"left running: {[Path(f'/proc/{pid}/cmdline').read_bytes()[:80] for pid in left]}"


@pytest.mark.slow
def test_an_instance_whose_watchdog_died_too_is_reaped_at_the_next_start():
    driver, session, watchdog = start_driver()
    os.kill(watchdog, signal.SIGKILL)
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    time.sleep(1)
    assert [pid for pid in engine.session_processes(session) if engine.process_alive(pid)]  # orphaned: still running
    assert engine.reap_orphans() >= 1
    assert not wait_gone(session, 10)
    assert not (engine._records_dir() / f"{driver.pid}.json").exists()
