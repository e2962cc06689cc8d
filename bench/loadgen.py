"""Competing CPU load for benchmarks: N busy processes for the duration of a measurement, always stopped.

Used by bench/preprocess.py --load N, and by the other benchmarks.

    with cpu_load(2):          # two processes spinning on one core each
        seconds = time_something()
    print(load_average())      # (1, 5, 15 min) from os.getloadavg, to print beside timings

Each competitor is a child process (multiprocessing "spawn", no TensorFlow) that spins in a pure-Python loop
until it is told to stop, until its parent dies (it polls os.getppid()), or until `max_s` has passed,
whichever comes first: a bench killed with kill -9 cannot leave busy processes behind for long. Leaving the
`with` block (normally, on an exception or on Ctrl-C) terminates, then kills, only the pids it started.
"""
import math
import multiprocessing
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

# A competitor never outlives this many seconds, even when its parent cannot stop it (a bound, not a duration).
DEFAULT_MAX_S = 900.0


def _spin(stop, max_s: float, parent_pid: int) -> None:
    """Body of one competitor: busy arithmetic until `stop` is set, the parent is gone, or `max_s` passed."""
    deadline = time.monotonic() + max_s
    x = 0
    while not stop.is_set() and time.monotonic() < deadline and os.getppid() == parent_pid:
        for i in range(20000):  # ~1 ms of pure-Python work between checks
            x = (x + i * i) % 1000003


@contextmanager
def cpu_load(num_processes: int, max_s: float = DEFAULT_MAX_S) -> Iterator[list[int]]:
    """Runs `num_processes` CPU-bound competitors while the block runs; yields their pids (empty for 0).

    Args:
        num_processes: how many busy processes (each keeps about one core busy); 0 does nothing.
        max_s: each competitor stops by itself after this many seconds, whatever happens to the caller.

    Raises:
        ValueError: num_processes < 0 or max_s <= 0.
    """
    if num_processes < 0 or not max_s > 0:
        raise ValueError(f"cpu_load(num_processes={num_processes}, max_s={max_s}): need num_processes >= 0, max_s > 0")
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    processes = []
    try:
        for _ in range(num_processes):
            process = context.Process(target=_spin, args=(stop, max_s, os.getpid()), daemon=True, name="cpu_load")
            process.start()
            processes.append(process)
        yield [process.pid for process in processes]
    finally:
        stop.set()
        deadline = time.monotonic() + 2.0
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
        for process in processes:
            if process.is_alive():
                process.kill()  # only the processes this call started, by their Process handle
                process.join(2.0)


def load_average() -> tuple[float, float, float]:
    """The 1, 5 and 15 minute load averages (os.getloadavg); (nan, nan, nan) where the OS has none."""
    try:
        return os.getloadavg()
    except (AttributeError, OSError):
        return (math.nan, math.nan, math.nan)


def matmul_gflops(size: int = 1024, repeats: int = 3) -> float:
    """This machine's float32 matmul speed now (numpy, best of `repeats`), in GFLOP/s: 2*size^3 per product.

    Printed beside timings so that numbers from busy or slower machines can be compared (issue 11).
    """
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    a @ b  # warm-up (thread pool start)
    best_s = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best_s = min(best_s, time.perf_counter() - start)
    return 2 * size**3 / best_s / 1e9


def machine_line() -> str:
    """One line for a benchmark report: load average and numpy float32 matmul GFLOP/s, e.g. "load 1.9 2.0 2.1; ..."."""
    one, five, fifteen = load_average()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}; numpy float32 matmul {matmul_gflops():.0f} GFLOP/s"
