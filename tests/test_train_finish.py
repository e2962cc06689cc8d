"""train_i3d.py stopped at its end or in its middle: a run killed after its last commit is finished (not trained
again), and Ctrl-C stops with one line and resumes (issues 23 and 24). That a resumed run equals the uninterrupted
run bit for bit, at three kill points, is test_train_faults.py's.

Kills land on what the run writes (the state file recording an epoch or a phase), as in test_train_faults.py.
"""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from signlang import fullrecipe, i3d, synthetic
import train_i3d

pytestmark = pytest.mark.slow
REPO = Path(train_i3d.__file__).resolve().parent
EPOCHS = dict(epochs_above=1, epochs_entire=2)  # 3 epochs: phase 1, then two of phase 2
SIZE_PX = 32  # the smallest I3D input (as test_train_faults.py)
SCRIPT = textwrap.dedent("""
    import sys
    sys.path[:0] = [{repo!r}]
    from signlang import fullrecipe, synthetic
    config = fullrecipe.TrainConfig(weights=None, batch_size=4, learning_rate_entire=1e-3, **{epochs!r})
    fullrecipe.train_i3d(synthetic.blob_set(__import__("pathlib").Path({root!r}), size_px={size}), config, verbose=0)
""")
# The command line itself (main and its __main__ block), on the synthetic set: --set is resolved to it.
CLI = textwrap.dedent("""
    import runpy, sys
    from pathlib import Path
    sys.path[:0] = [{repo!r}]
    from signlang import synthetic, videoset
    videoset.set_from_args = lambda args, root=None: synthetic.blob_set(Path({root!r}), size_px={size})
    sys.argv = ["train_i3d.py", "--recipe", "full", "--weights", "none", "--epochs-above", "1", "--epochs-entire", "2",
                "--batch-size", "4", "--precision", "float32"]
    runpy.run_path({script!r}, run_name="__main__")
""")


def make_set(root: Path):
    return synthetic.write_set(synthetic.blob_set(root, size_px=SIZE_PX), per_class=(2, 1))


def command(root: Path) -> list[str]:
    return [sys.executable, "-c", SCRIPT.format(repo=str(REPO), epochs=EPOCHS, root=str(root), size=SIZE_PX)]


def state_files(model_dir: Path) -> list[Path]:
    return [p for p in model_dir.glob("*-state.json") if not p.name.startswith(".")]  # not a write under way


def state(model_dir: Path) -> dict:
    files = state_files(model_dir)
    try:
        return json.loads(files[0].read_text()) if files else {}
    except ValueError:  # being replaced
        return {}


def run_until(args: list[str], model_dir: Path, trigger, sig=signal.SIGKILL) -> subprocess.CompletedProcess | None:
    """Runs `args` until `trigger(model_dir)` holds, then sends `sig`; None if it finished first."""
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        while process.poll() is None:
            if model_dir.is_dir() and trigger(model_dir):
                process.send_signal(sig)
                out, err = process.communicate(timeout=120)
                return subprocess.CompletedProcess(args, process.returncode, out, err)
            time.sleep(0.005)
        return None
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def last_weights(video_set) -> list[np.ndarray]:
    (last,) = video_set.model_dir.glob("*-entire-last.keras")
    return i3d.load_model(last).get_weights()


def largest_difference(a, b) -> float:
    return max(float(np.abs(x - y).max()) for x, y in zip(a, b))


def leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.startswith((".tmp-", ".resume-")) or p.suffix == ".lock"]


def test_run_killed_after_its_last_commit_is_finished_not_trained_again_and_then_killed_drawing_its_png(tmp_path):
    """A run killed after its last commit: the rerun finishes it (not trained again). Then the same finished run as
    the disk shows it after a kill while writing its PNG (every epoch committed, no PNG, the training state folder
    and the lock of a dead process left): the rerun draws the PNG and removes the rest. (One training for both.)"""
    video_set = make_set(tmp_path)
    killed = run_until(command(tmp_path), video_set.model_dir,
                       lambda d: state(d).get("phases_done") == list(fullrecipe.PHASES))
    if killed is not None:
        assert leftovers(tmp_path)  # the training state and lock of the dead run
        (state_file,) = state_files(video_set.model_dir)
        trained = last_weights(video_set)
        done = subprocess.run(command(tmp_path), capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        assert "it is the result" in done.stdout and "Training" not in done.stdout, done.stdout
        assert state_files(video_set.model_dir) == [state_file]  # no new run
        assert not leftovers(tmp_path), leftovers(tmp_path)
        assert largest_difference(last_weights(video_set), trained) == 0.0  # the killed run's model, not a new one
    (png,) = video_set.log_dir.glob("*.png")
    png.unlink()
    prefix = video_set.model_dir / png.stem
    (fullrecipe.resume_dir(prefix)).mkdir()
    (fullrecipe.resume_dir(prefix) / "entire-epoch0003.keras").write_bytes(b"state")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    fullrecipe.lock_path(prefix).write_text(dead.stdout.strip())
    (log_tmp := video_set.log_dir / f".tmp-{dead.stdout.strip()}-{png.name}").write_bytes(b"half a png")
    rerun = subprocess.run(command(tmp_path), capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "it is the result" in rerun.stdout, rerun.stdout
    assert png.is_file() and png.read_bytes()[:4] == b"\x89PNG" and not log_tmp.exists()
    assert not leftovers(tmp_path), leftovers(tmp_path)
    assert len(state_files(video_set.model_dir)) == 1
    if killed is None:
        pytest.skip("the run finished before the kill landed after its last commit (the PNG part passed)")


def test_ctrl_c_stops_with_one_line_and_the_same_command_resumes(tmp_path):
    """Issue 24 item 3: SIGINT (Ctrl-C) after an epoch: exit 130, one line, no traceback; then the run resumes."""
    video_set = make_set(tmp_path)
    cli = [sys.executable, "-c", CLI.format(repo=str(REPO), root=str(tmp_path), script=str(REPO / "train_i3d.py"),
                                        size=SIZE_PX)]
    stopped = run_until(cli, video_set.model_dir, lambda d: state(d).get("resume", {}).get("epochs") == 1,
                        sig=signal.SIGINT)
    assert stopped is not None, "finished before Ctrl-C"
    epochs = state(video_set.model_dir)["resume"]["epochs"]
    assert stopped.returncode == 130, stopped.stderr[-3000:]
    last = stopped.stderr.strip().splitlines()[-1]
    assert last == f"stopped after epoch {epochs}; run the same command to resume", stopped.stderr[-3000:]
    for noise in ("Traceback", "KeyboardInterrupt", "FAILED_PRECONDITION"):
        assert noise not in stopped.stderr + stopped.stdout, stopped.stderr[-3000:]
    resumed = subprocess.run(cli, capture_output=True, text=True, timeout=600, env=dict(os.environ))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Resuming run" in resumed.stdout and state(video_set.model_dir)["phases_done"] == list(fullrecipe.PHASES)
