"""One resumable, crash-safe "folder step": turn many inputs into many output folders.

Users: used by `python frame.py`, `python opticalflow.py` and feature.py.

A step is a list of jobs (source, target). Each job writes its target folder through `atomic_dir`:
into a hidden temporary sibling first, renamed into place only when complete. So after a crash or
Ctrl-C any folder at a target path is finished, and a re-run skips it (`is_complete`) and redoes
only the rest. A job that raises is recorded as a failure (path + message) and the step goes on;
the failures are written to `<out_dir>/failed-<step>.txt` and counted in one summary line.

`check_settings` records the settings a step ran with (<out_dir>/<step>-settings.json), so that a
re-run with other settings (another flow method, another size) is refused instead of silently
skipping folders made the old way.

With workers > 1, at most `IN_FLIGHT_PER_WORKER` jobs per worker are submitted at a time (Ctrl-C stops at once,
and a million jobs are not pickled up front), and each worker process exits when the process that started it
dies (kill -9 included): Linux's prctl(PR_SET_PDEATHSIG) and, everywhere, a thread that polls os.getppid().

`progress` is the one progress bar of the project's long steps (these and prepare_demo.py / prepare_chalearn.py):
tqdm's bar on a terminal; in a log file (CI, nohup, a cluster's log; stderr not a TTY) one plain line every
LOG_EVERY_PERCENT and one at the end, instead of a carriage-return update per step (one pipeline log line held
~200 of those).

Temporary names are safeio.py's (`.tmp-<pid>-<name>`): folder listings ignore hidden names (`visible`),
and `safeio.clean_leftovers` deletes what a killed run left behind. Two runs writing the same output folder at
the same time are not supported (the second one would delete the first one's temporary folders).
"""
import concurrent.futures
import ctypes
import itertools
import json
import multiprocessing
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from signlang.engine import check_engine, run_ray
from signlang.safeio import write_text_atomic

LOG_EVERY_PERCENT = 10  # progress() in a log file: a line each time another 10 % is done


class LogProgress:
    """tqdm's interface (update, close, with, iteration) for a log file: a line "desc: 30/100 item (30 %), 12 s"
    each time another LOG_EVERY_PERCENT is done, and one at the end (when the total is unknown: every 100)."""

    def __init__(self, iterable=None, total=None, desc: str = "", unit: str = "it", file=None, disable=False, **_):
        self.iterable, self.desc, self.unit, self.file, self.disable = iterable, desc, unit, file, disable
        self.total = len(iterable) if total is None and hasattr(iterable, "__len__") else total
        self.n, self._printed, self._start, self._closed = 0, 0, time.monotonic(), False

    def _line(self) -> str:
        share = f" ({100 * self.n / self.total:.0f} %)" if self.total else ""
        return (f"{self.desc + ': ' if self.desc else ''}{self.n}{'/' + str(self.total) if self.total else ''} "
                f"{self.unit}{share}, {time.monotonic() - self._start:.0f} s")

    def update(self, n: int = 1) -> None:
        self.n += n
        step = self.total * LOG_EVERY_PERCENT / 100 if self.total else 100
        if not self.disable and self.n - self._printed >= step and self.n != self.total:
            self._printed = self.n
            print(self._line(), file=self.file or sys.stderr, flush=True)

    def close(self) -> None:
        if not self._closed and not self.disable and self.n:
            print(self._line(), file=self.file or sys.stderr, flush=True)
        self._closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __iter__(self):
        try:
            for item in self.iterable:
                yield item
                self.update()
        finally:
            self.close()


def progress(iterable=None, total=None, desc: str = "", unit: str = "it", disable: bool = False, file=None):
    """The project's progress bar: tqdm on a terminal, LogProgress (a line every LOG_EVERY_PERCENT) when the
    output (`file`, default stderr) is not one."""
    file = sys.stderr if file is None else file
    if getattr(file, "isatty", lambda: False)():
        return tqdm(iterable, total=total, desc=desc, unit=unit, disable=disable, file=file, dynamic_ncols=True)
    return LogProgress(iterable, total=total, desc=desc, unit=unit, disable=disable, file=file)


# Exit status of every folder-step script (frame.py, opticalflow.py, feature.py); EXIT_HELP words it for --help.
EXIT_OK = 0  # every input done or skipped
EXIT_FAILED = 1  # the step ran, but some inputs failed (listed in <out_dir>/failed-<step>.txt)
EXIT_USER_ERROR = 2  # bad argument or folder: one line says what to fix (nothing was done)
EXIT_HELP = (
    "exit status: 0 every input done or skipped; 1 some inputs failed (listed in OUT/failed-<step>.txt, "
    "the others are done); 2 user error (bad argument or folder, one line says the fix)"
)


@dataclass
class StepSummary:
    """What a step did: how many jobs were done and skipped, and which failed and why.

    Args:
        done: jobs that wrote their target.
        skipped: jobs whose target was already complete.
        failed: (source path, reason) for each job that raised.
        verb: the word for "done" in the summary line ("extracted", "computed").
        failed_file: where `write_failures` listed the failures (None until written).
    """

    done: int = 0
    skipped: int = 0
    failed: list[tuple[Path, str]] = field(default_factory=list)
    verb: str = "done"
    failed_file: Path | None = None

    def write_failures(self, out_dir: Path, step_name: str) -> Path | None:
        """Lists the failures in <out_dir>/failed-<step_name>.txt (one "path<TAB>reason" a line).

        Removes a stale list from an earlier run when nothing failed this time. Returns the file, or None.
        """
        path = Path(out_dir) / f"failed-{step_name}.txt"
        if not self.failed:
            path.unlink(missing_ok=True)
            self.failed_file = None
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [f"{source}\t{' '.join(reason.split())}" for source, reason in self.failed]
        write_text_atomic(path, "\n".join(lines) + "\n")
        self.failed_file = path.resolve()
        return self.failed_file

    @property
    def exit_code(self) -> int:
        """EXIT_OK when nothing failed, else EXIT_FAILED."""
        return EXIT_FAILED if self.failed else EXIT_OK

    def line(self, step_name: str) -> str:
        """One summary line, e.g. "frames: 150 extracted, 10 skipped, 2 failed (listed in /abs/failed-frames.txt)"."""
        text = f"{step_name}: {self.done} {self.verb}, {self.skipped} skipped, {len(self.failed)} failed"
        if self.failed and self.failed_file is not None:
            text += f" (listed in {self.failed_file})"
        elif self.failed:
            source, reason = self.failed[0]
            text += f" (first: {source}: {reason})"
        disk_full = [reason for _, reason in self.failed if "Disk full" in reason]
        if disk_full:
            text += f"; THE DISK IS FULL: {disk_full[0]}"
        return text


USER_ERRORS = (FileNotFoundError, ValueError, OSError)  # ConnectionError (no Ray cluster) is an OSError


def exit_status(step: Callable[[], "StepSummary"], user_errors: tuple = USER_ERRORS) -> int:
    """A step script's exit status: the summary's (0 or 1), or EXIT_USER_ERROR with one line on stderr when the
    step raised one of `user_errors` (a bad folder or argument, which the message names with its fix)."""
    try:
        return step().exit_code
    except user_errors as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR


def visible(paths) -> list[Path]:
    """The paths whose name does not start with "." (drops .tmp-* leftovers, .DS_Store, ...), sorted."""
    return sorted(p for p in paths if not p.name.startswith("."))


def is_complete(folder: Path, pattern: str, expected_count: int) -> bool:
    """True when `folder` exists and holds exactly `expected_count` visible files matching `pattern`."""
    folder = Path(folder)
    return folder.is_dir() and len(visible(folder.glob(pattern))) == expected_count


def check_separate(input_dir: Path, output_dir: Path) -> None:
    """Refuses an output folder that is, contains or lies inside the input folder (a step must never write
    among, or delete, its own inputs).

    Raises:
        ValueError: naming both folders.
    """
    source, target = Path(input_dir).resolve(), Path(output_dir).resolve()
    if source == target or source in target.parents or target in source.parents:
        raise ValueError(f"Output folder {target} is, contains or lies inside the input folder {source}; "
                         "choose an output folder outside it (e.g. under data-temp/)")


def prepare_output(out_dir: Path) -> Path:
    """Creates out_dir (and its parents) and checks that this process may write into it; returns it.

    Raises:
        PermissionError: out_dir cannot be created or written (read-only folder or file system), in one line.
    """
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except PermissionError as error:
        raise PermissionError(f"Cannot create output folder {out_dir.resolve()} ({error.strerror}); "
                              "choose a writable folder or fix its permissions") from None
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise PermissionError(f"Output folder {out_dir.resolve()} is not writable (read-only); "
                              "choose a writable folder or fix its permissions")
    return out_dir


def remove_stale(out_dir: Path, targets, is_output: Callable[[Path], bool], step_name: str) -> list[Path]:
    """Removes the outputs out_dir/<split>/<label>/<name> that no job targets (their source is gone or moved split),
    so that the derived folders mirror the data set; prints what it removed, in one line.

    Only entries for which is_output(path) is True are removed (what the step writes: a folder of .jpg, a .npy);
    anything else is left in place and named. Label and split folders left empty are removed too.

    Returns:
        the removed paths.
    """
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return []
    wanted = {Path(target).relative_to(out_dir) for target in targets}
    removed, foreign = [], []
    for path in sorted(out_dir.glob("*/*/*")):
        relative = path.relative_to(out_dir)
        if relative in wanted or any(part.startswith(".") for part in relative.parts):
            continue
        if not is_output(path):
            foreign.append(path)
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
        removed.append(path)
    for folder in sorted({path.parent for path in removed} | {path.parent.parent for path in removed}, reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    if removed:
        print(f"{step_name}: removed {len(removed)} outputs whose source is gone or moved to another split, "
              f"e.g. {removed[0]}")
    if foreign:
        print(f"{step_name}: left {len(foreign)} entries in {out_dir.resolve()} that it did not write, e.g. {foreign[0]}")
    return removed


def is_jpg_folder(path: Path) -> bool:
    """True for a folder holding only .jpg files (what frame.py and opticalflow.py write for one video)."""
    return path.is_dir() and not path.is_symlink() and all(
        child.is_file() and child.suffix == ".jpg" for child in path.iterdir()
    )


def check_settings(out_dir: Path, step_name: str, settings: dict, overwrite: bool = False) -> None:
    """Refuses to mix outputs made with different settings; records `settings` in <out_dir>/<step_name>-settings.json.

    Raises:
        ValueError: out_dir already holds outputs made with other settings and overwrite is False.
    """
    path = Path(out_dir) / f"{step_name}-settings.json"
    settings = json.loads(json.dumps(settings))  # the form they take on disk (tuples become lists)
    if path.is_file() and not overwrite:
        try:
            old = json.loads(path.read_text())
        except ValueError:
            old = None  # unreadable record: replace it
        if old is not None and old != settings:
            raise ValueError(
                f"{Path(out_dir).resolve()} holds {step_name} made with {old}, not {settings}; pass overwrite=True "
                "(--overwrite) to redo them all, or choose another output folder"
            )
    write_text_atomic(path, json.dumps(settings, sort_keys=True) + "\n")


def threads_per_worker(workers: int) -> int:
    """Library threads each of `workers` processes may use without oversubscribing the CPU cores."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


# Jobs submitted to the pool at a time, per worker: enough to keep every worker busy, few enough to cancel at once.
IN_FLIGHT_PER_WORKER = 2
# How often a worker's watchdog thread checks that its parent is still alive (the portable fallback).
PARENT_POLL_S = 0.5
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def exit_with_parent(parent_pid: int) -> None:
    """Makes this (worker) process exit when `parent_pid`, the process that started it, dies.

    Linux: prctl(PR_SET_PDEATHSIG, SIGKILL) makes the kernel kill it at once (prctl(2)). Everywhere: a daemon
    thread polls os.getppid() every PARENT_POLL_S and exits when the parent changed (re-parented to init).
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # no prctl: the watchdog below still works
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_S)
        os._exit(1)  # no clean-up: the parent that would collect results is gone

    threading.Thread(target=watch, name="exit_with_parent", daemon=True).start()


def _worker_init(parent_pid: int, initializer: Callable | None, initargs: tuple) -> None:
    exit_with_parent(parent_pid)
    if initializer is not None:
        initializer(*initargs)


def _call(fn: Callable[[Path, Path], str], source: Path, target: Path) -> str:
    result = fn(source, target)
    if result not in ("done", "skipped"):
        raise ValueError(f"step function returned {result!r}; expected 'done' or 'skipped'")
    return result


def _reason(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def run_step(
    jobs: Sequence[tuple[Path, Path]],
    fn: Callable[[Path, Path], str],
    workers: int = 1,
    desc: str = "",
    verb: str = "done",
    initializer: Callable | None = None,
    initargs: tuple = (),
    engine: str = "local",
    address: str | None = None,
) -> StepSummary:
    """Runs fn(source, target) for every job; a job that raises is recorded and the step goes on.

    Args:
        jobs: (source, target) pairs.
        fn: returns "done" or "skipped", or raises. With workers > 1 it must be picklable
            (a module-level function or a functools.partial of one).
        workers: 1 runs in this process; more runs a ProcessPoolExecutor ("spawn" processes, safe
            even when the caller has TensorFlow or OpenCV threads running), fed at most
            IN_FLIGHT_PER_WORKER * workers jobs at a time; its workers exit when this process dies.
        desc: label of the progress bar.
        verb: the word for "done" in the summary line.
        initializer, initargs: run once in each worker process (e.g. to limit library threads).
        engine: "local" (the above) or "ray": one Ray task per job on a Ray cluster (engine.py; same fn, same
            bookkeeping), at `address` (None: a private instance with `workers` CPUs; "auto"; "HOST:PORT").

    Returns:
        StepSummary; its failures sorted by source path.
    """
    if workers < 1:
        raise ValueError(f"workers={workers}; use 1 (serial) or more (processes)")
    check_engine(engine, address)
    summary = StepSummary(verb=verb)
    jobs = [(Path(source), Path(target)) for source, target in jobs]

    def record(source: Path, outcome: str | BaseException) -> None:
        if isinstance(outcome, BaseException):
            summary.failed.append((source, _reason(outcome)))
        elif outcome == "done":
            summary.done += 1
        else:
            summary.skipped += 1

    with progress(total=len(jobs), desc=desc, unit="item") as bar:
        if engine == "ray":
            def record_and_count(source: Path, outcome) -> None:
                record(source, outcome)
                bar.update()

            run_ray(jobs, fn, record_and_count, _call, address, workers, initializer, initargs)
        elif workers == 1 or len(jobs) <= 1:
            for source, target in jobs:
                try:
                    outcome = _call(fn, source, target)
                except Exception as error:  # a bad input is reported, not fatal
                    outcome = error
                record(source, outcome)
                bar.update()
        else:
            context = multiprocessing.get_context("spawn")
            pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=min(workers, len(jobs)), mp_context=context,
                initializer=_worker_init, initargs=(os.getpid(), initializer, initargs),
            )
            pending = iter(jobs)

            def submit(count: int) -> dict:
                futures = {}
                for source, target in itertools.islice(pending, count):
                    try:
                        futures[pool.submit(_call, fn, source, target)] = source
                    except concurrent.futures.process.BrokenProcessPool as error:  # a worker was killed
                        record(source, error)
                        bar.update()
                return futures

            try:
                running = submit(IN_FLIGHT_PER_WORKER * workers)
                while running:
                    finished, _ = concurrent.futures.wait(running, return_when=concurrent.futures.FIRST_COMPLETED)
                    for future in finished:
                        try:
                            outcome = future.result()
                        except Exception as error:  # includes BrokenProcessPool when a worker was killed
                            outcome = error
                        record(running.pop(future), outcome)
                        bar.update()
                    running.update(submit(len(finished)))
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
    summary.failed.sort(key=lambda item: str(item[0]))
    return summary
