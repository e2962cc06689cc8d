"""Where a folder step's jobs run: this machine's process pool ("local") or a Ray cluster ("ray").

Users: `python frame.py|opticalflow.py|feature.py ... --engine ray [--address ADDR]`.

folderstep.run_step owns the step: the job list, skip-if-done (inside each job function), the progress bar,
the summary line and failed-<step>.txt. This module only runs the same job function elsewhere: one Ray task
per video, fed at most IN_FLIGHT_PER_WORKER tasks per cluster CPU at a time, each result handed back to
run_step's `record` as it arrives. There is no second implementation of a step.

Crash safety is the job function's (safeio.atomic_dir: a temporary sibling renamed into place), so on a
cluster the data set and the output folder must lie on a file system every node sees at the same path
(NFS, a cloud file store), and so must this repository (the workers import frame.py, opticalflow.py ...).

- A worker that dies mid-video (its node lost, kill -9) leaves only a hidden `.tmp-<pid>-<video>`; Ray
  reruns the task up to TASK_RETRIES times, after that the video is listed as failed. A rerun of the step
  removes the leftover (safeio.clean_leftovers) and redoes the video.
- A driver (the frame.py / opticalflow.py process) that dies takes its Ray job's tasks with it (Ray kills
  the workers of a job whose driver is gone); a rerun skips every finished folder and does the rest.

- A private Ray instance (no --address) goes with the step that started it, however the step ends: kill -9 of
  the driver left Ray's gcs_server, raylet, dashboard agent and runtime-env agent running (~190 MB, 5 of 5
  tries). `connect` starts a watchdog process beside it (`_watch`, in its own session, deaf to Ctrl-C) that waits on a pipe only the driver holds; when the driver is gone the pipe closes
  and the watchdog kills every process of that Ray session (cmdline names the session folder, and their
  descendants: agents, workers). A record per private instance in $TMPDIR/signlang-ray/ lets the next start
  reap one whose watchdog was killed too (`reap_orphans`).

`address`: None starts a private Ray instance on this machine with `workers` CPUs (shut down at the end);
"auto" joins the cluster that `ray start` runs on this node; "HOST:PORT" joins that head node. When this
process is already connected (ray.init called by the caller, e.g. a test fixture), that connection is used
and left open.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from signlang.safeio import process_alive

ENGINES = ("local", "ray")
ENGINE_HELP = ("local: this machine's processes (--workers); ray: one Ray task per video on a Ray cluster "
               "(--address; see docs/scale-out.md)")
# Ray's own default for tasks lost with their worker is 3 retries; 2 keeps a video that kills its worker (out of
# memory on a huge video) from costing four worker deaths before it is listed as failed.
TASK_RETRIES = 2
# Tasks submitted per cluster CPU at a time (as folderstep's local pool): every CPU busy, a million jobs are not
# serialised up front, and Ctrl-C (or a dead driver) cancels little.
IN_FLIGHT_PER_WORKER = 2

_initialized: set = set()  # in each Ray worker process: the initializers already run there
_watchdog: dict = {}  # this driver's private instance: {"process": Popen, "fd": the pipe's write end, "record": Path}
RECORDS = "signlang-ray"  # $TMPDIR/signlang-ray/<driver pid>.json: the session of each private instance running


def worker_count(text: str) -> int:
    """argparse type of --workers: an integer >= 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text}: use 1 or more")
    return int(text)


def add_step_arguments(parser, overwrite_help: str) -> None:
    """--workers, --overwrite, --engine and --address of a step with worker processes (frame.py, opticalflow.py)."""
    parser.add_argument("--workers", type=worker_count, default=1, help="parallel processes (default 1)")
    parser.add_argument("--overwrite", action="store_true", help=overwrite_help)
    add_engine_arguments(parser)


def add_engine_arguments(parser) -> None:
    """Adds --engine and --address to a step's argparse parser (frame.py, opticalflow.py, feature.py)."""
    parser.add_argument("--engine", choices=ENGINES, default="local", help=ENGINE_HELP)
    parser.add_argument("--address", default=None, metavar="ADDR",
                        help="with --engine ray: 'auto' joins the cluster `ray start` runs on this node, HOST:PORT "
                             "joins that head node; none starts a private one on this machine (--workers CPUs)")


def check_engine(engine: str, address: str | None) -> None:
    """Raises ValueError for an unknown engine or an address without --engine ray."""
    if engine not in ENGINES:
        raise ValueError(f"engine={engine!r}; choose one of {ENGINES}")
    if address is not None and engine != "ray":
        raise ValueError(f"address={address!r} needs engine 'ray' (--engine ray)")


def _run_one(fn: Callable, source: str, target: str, initializer: Callable | None, initargs: tuple, call: Callable):
    """The Ray task: runs `initializer` once per worker process, then call(fn, source, target)."""
    if initializer is not None and (initializer, initargs) not in _initialized:
        initializer(*initargs)
        _initialized.add((initializer, initargs))
    return call(fn, Path(source), Path(target))


def connect(address: str | None, num_cpus: int) -> bool:
    """Connects this process to Ray; returns True when this call started the connection (so the caller shuts it
    down), False when it was connected already.

    Raises:
        ConnectionError: no Ray cluster at `address` (one line: how to start one).
    """
    import ray  # only the Ray engine needs it (and its import takes ~1 s)

    if ray.is_initialized():
        return False
    repo = str(Path(__file__).resolve().parents[1])  # the repository root, above this package
    # the workers import this repository's modules: same path on every node (see the module docstring)
    runtime_env = {"env_vars": {"PYTHONPATH": os.pathsep.join([repo] + os.environ.get("PYTHONPATH", "").split(os.pathsep))
                                .rstrip(os.pathsep)}}
    try:
        if address is None:
            reap_orphans()
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False, runtime_env=runtime_env)
            _start_watchdog(ray._private.worker._global_node.get_session_dir_path())
        else:
            ray.init(address=address, log_to_driver=False, runtime_env=runtime_env)
    except ConnectionError as error:
        raise ConnectionError(f"No Ray cluster at --address {address} ({str(error).splitlines()[0]}); start one with "
                              "`ray start --head` (docs/scale-out.md) or leave out --address") from None
    return True


def run_ray(
    jobs: Sequence[tuple[Path, Path]],
    fn: Callable[[Path, Path], str],
    record: Callable[[Path, object], None],
    call: Callable,
    address: str | None = None,
    workers: int = 1,
    initializer: Callable | None = None,
    initargs: tuple = (),
) -> None:
    """Runs call(fn, source, target) as one Ray task per job; record(source, outcome) gets each result ("done",
    "skipped" or the exception) as it arrives.

    Args:
        jobs: (source, target) pairs; sent to the workers as absolute paths (their working folder differs).
        fn: the step's job function (picklable: module-level or a functools.partial of one).
        record: run_step's bookkeeping (counts, failures, progress bar).
        call: run_step's checked call of fn (folderstep._call), run inside the task.
        address: see the module docstring; None starts a private instance with `workers` CPUs.
        initializer, initargs: run once in each Ray worker process (e.g. OpenCV threads).
    """
    import ray  # only the Ray engine needs it

    started = connect(address, workers)
    try:
        task = ray.remote(num_cpus=1, max_retries=TASK_RETRIES, retry_exceptions=False)(_run_one)
        in_flight = IN_FLIGHT_PER_WORKER * max(1, int(ray.cluster_resources().get("CPU", workers)))
        fn_ref = ray.put(fn)  # sent once, not once per task
        pending = iter(jobs)
        running: dict = {}

        def submit(count: int) -> None:
            for _, (source, target) in zip(range(count), pending):
                ref = task.remote(fn_ref, str(Path(source).resolve()), str(Path(target).resolve()),
                                  initializer, initargs, call)
                running[ref] = source

        try:
            submit(in_flight)
            while running:
                finished, _ = ray.wait(list(running), num_returns=1)
                for ref in finished:
                    source = running.pop(ref)
                    try:
                        outcome = ray.get(ref)
                    except ray.exceptions.RayTaskError as error:  # the job function raised: listed as locally
                        outcome = error.cause if isinstance(error.cause, Exception) else error
                    except ray.exceptions.RayError as error:  # worker or node lost beyond the retries
                        outcome = RuntimeError(f"Ray worker lost ({type(error).__name__}) after {TASK_RETRIES} "
                                               f"retries: {str(error).splitlines()[0]}")
                    record(source, outcome)
                submit(len(finished))
        finally:
            for ref in running:  # Ctrl-C: do not leave the cluster busy with a step nobody waits for
                ray.cancel(ref, force=True)
    finally:
        if started:
            ray.shutdown()
            _stop_watchdog()


# ---- a private instance goes with its driver ---------------------------------------------------------------

def session_processes(session_dir: str) -> list[int]:
    """The pids of a Ray session on this machine: every process whose command line names the session folder
    (gcs_server, raylet, monitor, log monitor, dashboard) or that holds a file in it open (the dashboard and
    runtime-env agents, whose command lines Ray rewrites to `ray::...`, write its logs: once the raylet is gone
    they are children of init, found only so), and all their descendants (workers). Linux /proc; elsewhere []."""
    session = Path(session_dir).name
    parents, roots = {}, []
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])  # field 4: ppid
        if session.encode() in cmdline or _holds_open(entry, session):
            roots.append(int(entry.name))
    found, todo = set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(child for child, parent in parents.items() if parent == pid)
    return sorted(found)


def _holds_open(proc: Path, session: str) -> bool:
    """True when process `proc` (/proc/<pid>) has a file under a folder named `session` open."""
    try:
        return any(session in os.readlink(fd) for fd in (proc / "fd").iterdir())
    except OSError:
        return False


def kill_session(session_dir: str, grace_s: float = 3.0) -> int:
    """SIGTERM to every process of a Ray session, SIGKILL to those left after grace_s; returns how many there were."""
    pids = session_processes(session_dir)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + grace_s
        while sig == signal.SIGTERM and time.monotonic() < deadline and any(process_alive(pid) for pid in pids):
            time.sleep(0.1)
    return len(pids)


def _records_dir() -> Path:
    return Path(tempfile.gettempdir()) / RECORDS


def _start_watchdog(session_dir: str) -> None:
    """Starts the watchdog of this driver's private Ray instance and records the instance (see the docstring)."""
    read_fd, write_fd = os.pipe()  # both non-inheritable: only the watchdog gets the read end (as its stdin)
    repo = str(Path(__file__).resolve().parents[1])
    process = subprocess.Popen([sys.executable, "-c", "import sys; from signlang.engine import _watch; _watch(sys.argv[1])",
                                session_dir], stdin=read_fd, cwd=repo, start_new_session=True,
                               stdout=subprocess.DEVNULL)
    os.close(read_fd)
    record = _records_dir() / f"{os.getpid()}.json"
    try:
        record.parent.mkdir(exist_ok=True)
        record.write_text(json.dumps({"driver": os.getpid(), "session_dir": session_dir}))
    except OSError:  # no record: the watchdog alone cleans up
        record = None
    _watchdog.update(process=process, fd=write_fd, record=record)


def _stop_watchdog() -> None:
    """After ray.shutdown: closes the pipe (the watchdog finds nothing left and ends) and drops the record."""
    if not _watchdog:
        return
    os.close(_watchdog["fd"])
    try:
        _watchdog["process"].wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    if _watchdog["record"] is not None:
        _watchdog["record"].unlink(missing_ok=True)
    _watchdog.clear()


def reap_orphans() -> int:
    """Kills the private Ray instances whose driver is gone and whose watchdog did not clean up (killed too);
    returns how many sessions were reaped."""
    reaped = 0
    for record in sorted(_records_dir().glob("*.json")) if _records_dir().is_dir() else ():
        try:
            entry = json.loads(record.read_text())
            driver, session_dir = int(entry["driver"]), str(entry["session_dir"])
        except (OSError, ValueError, KeyError, TypeError):
            record.unlink(missing_ok=True)  # unreadable: nothing to go by
            continue
        if process_alive(driver):
            continue
        if kill_session(session_dir):
            reaped += 1
        record.unlink(missing_ok=True)
    return reaped


def _watch(session_dir: str) -> None:
    """The watchdog: waits until its stdin (the driver's pipe) closes, then kills the session's processes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in the step's terminal is for the step
    while sys.stdin.buffer.read(65536):
        pass
    kill_session(session_dir)
