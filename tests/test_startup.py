"""A quiet, quick start: TensorFlow's benign start-up lines are held back, real ones pass, --help is TF-free."""
import json
import os
import subprocess
import sys

import pytest

from signlang import tfquiet
from conftest import REPO

# Lines TensorFlow 2.21 printed at a start on a CPU-only machine, as they came (kept as data).
SEEN_AT_START = (
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    b"I0000 00:00:1796164146.699961    7752 cudart_stub.cc:31] Could not find cuda drivers on your "
    b"machine, GPU will not be used.",
    b"I0000 00:00:1796164146.791638    7752 cpu_feature_guard.cc:227] This TensorFlow binary is optimized "
    b"to use available CPU instructions in performance-critical operations.",
    b"To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the "
    b"appropriate compiler flags.",
    b"E0000 00:00:1796164184.518718    7841 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA "
    b"error: Failed call to cuInit: UNKNOWN ERROR (303)",
)
REAL = (
    b"W0000 00:00:1796164184.518718    7841 op_kernel.cc:1857] OP_REQUIRES failed: out of memory",
    b"E0000 00:00:1796164184.518718    7841 cuda_platform.cc:52] failed call to cuInit: CUDA_ERROR_NO_DEVICE",
    b"Traceback (most recent call last):",
)


def test_known_start_lines_are_benign_and_real_ones_are_not():
    assert all(tfquiet.is_benign(line) for line in SEEN_AT_START)
    assert not any(tfquiet.is_benign(line) for line in REAL)


def test_hold_back_drops_benign_lines_and_forwards_the_rest_in_order(capfd):
    fd_before = os.fstat(2)
    with tfquiet.hold_back():
        for benign, real in zip(SEEN_AT_START, REAL):
            os.write(2, benign + b"\n" + real + b"\n")
        os.write(2, b"no newline at the end")
    err = capfd.readouterr().err.encode()
    lines = err.split(b"\n")  # other threads of the test process may write too: look for ours, in order
    assert not [line for line in lines if tfquiet.is_benign(line)]
    ours = [line for line in lines if line in REAL or line == b"no newline at the end"]
    assert ours == [*REAL, b"no newline at the end"] and err.endswith(b"no newline at the end")
    after = os.fstat(2)  # the same file as before (its times change with every write: not compared)
    assert (after.st_dev, after.st_ino, after.st_mode) == (fd_before.st_dev, fd_before.st_ino, fd_before.st_mode)


def test_hold_back_forwards_everything_when_the_block_raises(capfd):
    with pytest.raises(ImportError):
        with tfquiet.hold_back():
            os.write(2, SEEN_AT_START[1] + b"\nreal line\n")
            raise ImportError("broken")
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "real line\nafter\n"


@pytest.mark.slow
def test_tensorflow_start_prints_no_benign_line_and_real_warnings_pass():
    code = ("from signlang import tfquiet; tfquiet.install()\n"
            "import os, keras, tensorflow as tf\n"
            "tf.constant([1.0]) * 2\n"
            "os.write(2, b'real warning after the start\\n')\n")
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, timeout=120,
                         env={**os.environ, "TFQUIET": "1"})
    assert run.returncode == 0, run.stderr.decode()
    lines = run.stderr.splitlines()
    assert not [line for line in lines if tfquiet.is_benign(line)]
    assert not [line for line in lines if b"cuInit" in line or b"absl::InitializeLog" in line]
    assert b"real warning after the start" in lines


# Every top-level script and benchmark: `python SCRIPT.py --help` must not import TensorFlow/Keras (< 1 s).
SCRIPTS = sorted(str(path.relative_to(REPO)) for path in [*REPO.glob("*.py"), *REPO.glob("bench/*.py")]
                 if 'if __name__ == "__main__":' in path.read_text())

# Runs each script's --help in one interpreter with TensorFlow and Keras made unimportable: an attempt
# is recorded (with the line that made it) and fails that script's import, so the next script starts clean.
_HELP_RUNNER = r"""
import contextlib, importlib.abc, io, json, runpy, sys, traceback
attempts = []
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "keras"):
            frames = [f for f in traceback.extract_stack() if "importlib" not in f.filename][:-1]
            attempts.append(f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?")
            raise ModuleNotFoundError(f"{name} blocked by test_startup")
sys.meta_path.insert(0, Block())
results = {}
for script in sys.argv[1:]:
    attempts.clear()
    sys.argv = [script, "--help"]
    out = io.StringIO()
    code = None
    try:
        with contextlib.redirect_stdout(out):
            runpy.run_path(script, run_name="__main__")
    except SystemExit as e:
        code = e.code
    except BaseException as e:
        code = repr(e)
    results[script] = {"exit": code, "help": out.getvalue(), "tf_imports": list(attempts)}
print(json.dumps(results), file=sys.__stdout__)
"""


@pytest.fixture(scope="module")
def help_runs():
    run = subprocess.run([sys.executable, "-c", _HELP_RUNNER, *SCRIPTS], cwd=REPO, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.splitlines()[-1])


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_parses_before_importing_tensorflow(help_runs, script):
    result = help_runs[script]
    assert not result["tf_imports"], f"{script} --help imports TensorFlow/Keras at {result['tf_imports']}"
    assert result["exit"] in (0, None) and "usage:" in result["help"], result


# Lines of the first fit() on a PyDataset and of an ONNX / LiteRT export (TF 2.21, 2026-12-06), as they came.
SEEN_LATER = (
    b"I0000 00:00:1796523101.085996   22896 generator_dataset_op.cc:213] Memory patch applied: "
    b"M_TRIM_THRESHOLD=128 kb was set.",
    b"I0000 00:00:1796523207.773382   23835 devices.cc:67] Number of eligible GPUs (core count >= 8, compute "
    b"capability >= 0.0): 0",
    b"I0000 00:00:1796523207.773632   23835 single_machine.cc:376] Starting new session",
    b"W0000 00:00:1796523208.551158   23835 tf_tfl_flatbuffer_helpers.cc:364] Ignored output_format.",
    b"I0000 00:00:1796523208.551657   23835 reader.cc:83] Reading SavedModel from: /tmp/x/tmpgmswc4j0",
    b"I0000 00:00:1796523208.575720   23835 loader.cc:471] SavedModel load for tags { serve }; Status: success: OK. "
    b"Took 24081 microseconds.",
    b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
)


def test_the_lines_of_a_first_fit_and_of_an_export_are_benign():
    """Held back where a caller wraps the call in tfquiet.hold_back() (modelexport does; test_export_faults runs it)."""
    assert all(tfquiet.is_benign(line) for line in SEEN_LATER)
