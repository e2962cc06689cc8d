"""Fault injection: train_i3d.py killed (SIGKILL) at chosen moments of a tiny run, then run again.

Each kill is triggered by what the run writes (a checkpoint's temporary file appearing, the state file
recording a phase), so it lands inside the write it aims at. After the rerun: the log has every epoch once,
the checkpoints load, nothing temporary is left, and the weights equal those of an uninterrupted run to the
bit: a resumed run restores the data order, augmentation, dropout and optimizer state (docs/training.md).

The four runs (the uninterrupted one and each moment's kill and rerun) go two at a time (runs below): a run
is ~20 s of subprocesses that spend most of it on one core (TensorFlow's start-up, graph tracing, checkpoint
writes; 8 clips of 8 frames x 32 px are little to compute), so two use both cores of a 2-core machine.
"""
import json
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from signlang import fullrecipe, i3d, synthetic

pytestmark = pytest.mark.slow
EPOCHS = dict(epochs_above=1, epochs_entire=2)  # 3 epochs; kills in phase 1, at the boundary, inside phase 2
SIZE_PX = 32  # the smallest I3D input (space / 32)
LANES = 2  # runs at a time
SCRIPT = textwrap.dedent("""
    import sys
    sys.path[:0] = [{repo!r}]
    from signlang import fullrecipe, synthetic
    config = fullrecipe.TrainConfig(weights=None, batch_size=4, learning_rate_entire=1e-3, **{epochs!r})
    fullrecipe.train_i3d(synthetic.blob_set(__import__("pathlib").Path({root!r}), size_px={size}), config, verbose=0)
""")


def make_set(root: Path):
    return synthetic.write_set(synthetic.blob_set(root, size_px=SIZE_PX), per_class=(2, 1))


def command(root: Path) -> list[str]:
    repo = str(Path(synthetic.__file__).resolve().parents[1])
    return [sys.executable, "-c", SCRIPT.format(repo=repo, epochs=EPOCHS, size=SIZE_PX, root=str(root))]


def state(model_dir: Path) -> dict:
    files = [p for p in model_dir.glob("*-state.json") if not p.name.startswith(".")]  # not a write under way
    try:
        return json.loads(files[0].read_text()) if files else {}
    except OSError:  # renamed away between the glob and the read (a CI run hit it once)
        return {}


TRIGGERS = {
    # phase 1's first training-state write is under way: nothing of the run is committed yet
    "during the first state write": lambda d: any(d.glob(".resume-*/.tmp-*")),
    # the user-facing checkpoint of phase 2's first epoch is being written (the state is not)
    "during a checkpoint write": lambda d: any(d.glob(".tmp-*entire-last.keras")),
    # (killed right after the state recorded phase 1 as done resumes the same way: measured 4.94e-3 as well)
    # phase 2's first epoch committed: the rerun goes on inside phase 2
    "inside phase 2": lambda d: state(d).get("resume", {}).get("epochs") == 2,
}


def run_until(root: Path, trigger) -> bool:
    """Runs training until `trigger(model_dir)` holds, then SIGKILLs it; False if it finished first."""
    model_dir = synthetic.blob_set(root, size_px=SIZE_PX).model_dir
    process = subprocess.Popen(command(root), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        while process.poll() is None:
            if model_dir.is_dir() and trigger(model_dir):
                process.send_signal(signal.SIGKILL)
                process.wait()
                return True
            time.sleep(0.005)
        return False
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def final_weights(root: Path) -> list[np.ndarray]:
    (last,) = synthetic.blob_set(root, size_px=SIZE_PX).model_dir.glob("*-entire-last.keras")
    return i3d.load_model(last).get_weights()


def kill_and_rerun(root: Path, trigger) -> tuple[bool, subprocess.CompletedProcess | None]:
    """(killed, the rerun): the run killed once `trigger` holds, then run again; no rerun if it was not killed."""
    if not run_until(root, trigger):
        return False, None
    return True, subprocess.run(command(root), capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def runs(request, tmp_path_factory):
    """"uninterrupted" and each selected moment -> (its root, the future of its runs), started LANES at a time.

    The subprocesses run in threads of this process; only the tests load models (Keras in this thread only)."""
    test = test_killed_training_resumes_and_finishes_as_if_uninterrupted.__name__
    selected = {item.callspec.params["moment"] for item in request.session.items
                if getattr(item, "originalname", None) == test}
    pool = ThreadPoolExecutor(LANES)
    try:
        root = make_set(tmp_path_factory.mktemp("straight")).root
        futures = {"uninterrupted": (root, pool.submit(subprocess.run, command(root), capture_output=True,
                                                       text=True, timeout=600))}
        for number, (moment, trigger) in enumerate(TRIGGERS.items()):
            if moment not in selected:
                continue
            root = make_set(tmp_path_factory.mktemp(f"killed{number}")).root
            futures[moment] = (root, pool.submit(kill_and_rerun, root, trigger))
        yield futures
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="module")
def uninterrupted(runs):
    root, future = runs["uninterrupted"]
    done = future.result()
    assert done.returncode == 0, done.stderr[-3000:]
    return final_weights(root)


@pytest.mark.parametrize("moment", list(TRIGGERS))
def test_killed_training_resumes_and_finishes_as_if_uninterrupted(moment, runs, uninterrupted):
    tmp_path, future = runs[moment]
    video_set = synthetic.blob_set(tmp_path, size_px=SIZE_PX)
    killed, done = future.result()
    assert killed, f"the run finished before the kill ({moment})"
    assert done.returncode == 0, done.stderr[-3000:]
    (csv_file,) = video_set.log_dir.glob("*.csv")
    log = pd.read_csv(csv_file)
    assert list(log["epoch"]) == [0, 1, 2] and list(log["phase"]) == [1, 2, 2]  # each epoch once, none lost
    assert state(video_set.model_dir)["phases_done"] == list(fullrecipe.PHASES)
    for checkpoint in video_set.model_dir.glob("*.keras"):
        i3d.load_model(checkpoint, compile=False)
    leftovers = [p for p in tmp_path.rglob("*") if p.name.startswith((".tmp-", ".resume-"))]
    assert not leftovers, leftovers
    weights = final_weights(tmp_path)
    differences = [float(np.abs(a - b).max()) for a, b in zip(weights, uninterrupted)]
    print(f"{moment}: largest weight difference from the uninterrupted run {max(differences):.2e}")
    # during the first state write nothing was committed (the rerun is a fresh run); later the rerun resumes
    assert max(differences) == 0.0, f"{moment}: the rerun differs from an uninterrupted run by {max(differences)}"
