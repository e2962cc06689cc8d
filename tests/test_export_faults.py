"""A killed `predict.py --export` never leaves an exported model without its record, and the next export removes
what the killed one left (issue 23 item 2); exports print no TensorFlow C++ lines (issue 24 item 5)."""
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from signlang import modelexport, modelinfo

REPO = Path(__file__).resolve().parents[1]
SCRIPT = textwrap.dedent("""
    import os, signal, sys
    sys.path[:0] = [{repo!r}]
    from signlang import tfquiet; tfquiet.install()
    import keras
    from signlang import modelexport, modelinfo
    checkpoint, fmt, kill_at = sys.argv[1], sys.argv[2], sys.argv[3]
    replace = os.replace
    def replace_or_die(src, dst):  # SIGKILL at the rename onto `kill_at` (the model or its record)
        if str(dst).endswith(kill_at):
            os.kill(os.getpid(), signal.SIGKILL)
        replace(src, dst)
    os.replace = replace_or_die
    modelexport.export_checkpoint(checkpoint, fmt)
""")


def tiny_checkpoint(folder: Path) -> Path:
    import keras

    path = folder / "run-flow-i3d-entire-best.keras"
    keras.Sequential([keras.Input((4, 16, 16, 2)), keras.layers.MaxPooling3D((1, 2, 2)),
                      keras.layers.GlobalAveragePooling3D(), keras.layers.Dense(3, activation="softmax")]).save(path)
    modelinfo.write_model_info(path, {"stream": "flow", "flow_method": "tvl1-lite", "num_frames": 4,
                                      "min_dim_px": 16, "crop_px": 16, "classes": ["a", "b", "c"]})
    return path


def export_process(checkpoint: Path, fmt: str, kill_at: str, tmpdir: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", SCRIPT.format(repo=str(REPO)), str(checkpoint), fmt, kill_at],
                            env={**os.environ, "TMPDIR": str(tmpdir)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.parametrize("fmt", tuple(modelexport.FORMATS))
@pytest.mark.parametrize("kill_at", ["model", "record"])
def test_a_kill_at_either_rename_never_leaves_an_export_without_its_record(tmp_path, monkeypatch, fmt, kill_at):
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    checkpoint = tiny_checkpoint(tmp_path)
    target = modelexport.export_path(checkpoint, fmt)
    name = target.name if kill_at == "model" else modelinfo.info_path(target).name
    process = export_process(checkpoint, fmt, name, tmpdir)
    _, err = process.communicate(timeout=300)
    assert process.returncode == -signal.SIGKILL, err.decode()
    assert not target.exists() or modelinfo.info_path(target).exists()  # never the model alone
    assert list(tmp_path.glob(".tmp-*"))  # the killed run's temporary files are there ...
    monkeypatch.setattr(tempfile, "tempdir", str(tmpdir))  # this process's $TMPDIR: the killed one's
    modelexport.export_checkpoint(checkpoint, fmt)
    assert not list(tmp_path.glob(".tmp-*")) and not exporters_files(tmpdir)  # ... and gone after the rerun
    assert modelinfo.read_model_info(target)["export_format"] == fmt


def test_a_litert_export_killed_inside_the_converter_leaves_nothing_after_the_rerun(tmp_path, monkeypatch):
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    checkpoint = tiny_checkpoint(tmp_path)
    process = export_process(checkpoint, "litert", "never", tmpdir)
    deadline = time.monotonic() + 240
    while process.poll() is None and time.monotonic() < deadline:  # the trigger: LiteRT's SavedModel is written
        if list(tmpdir.glob(f".tmp-*-{modelexport.EXPORT_TMP}/*/saved_model.pb")):
            process.kill()
            break
        time.sleep(0.01)
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL, "the export ended before its SavedModel was seen"
    assert list(tmpdir.glob(f".tmp-*-{modelexport.EXPORT_TMP}"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmpdir))
    assert modelexport.remove_leftovers(modelexport.export_path(checkpoint, "litert")) >= 1
    assert not exporters_files(tmpdir)


def exporters_files(tmpdir: Path) -> list[str]:
    """What an export left in $TMPDIR: our folder, or anonymous tmpXXXX / autograph names (a 51-byte `.ses`
    session id that a library keeps there for good is not an export's)."""
    return [p.name for p in tmpdir.iterdir() if p.name.startswith((".tmp-", "tmp", "__autograph"))]


def test_an_export_prints_no_tensorflow_cpp_lines(tmp_path):
    checkpoint = tiny_checkpoint(tmp_path)
    for fmt in modelexport.FORMATS:
        process = export_process(checkpoint, fmt, "never", tmp_path)
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err.decode()
        assert err.decode().strip() == "", err.decode()
