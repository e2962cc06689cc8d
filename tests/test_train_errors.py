"""train_i3d.py's user errors: one line naming the file and the fix, exit 2 (1 for a full disk), no traceback.

The tests run as root, which chmod does not stop: a file that cannot be read or written is made so by raising
what the system raises (PermissionError with the file's name) where the script reads or writes it.
"""
import errno

import pytest

import train_i3d
from signlang import fullrecipe, synthetic

ARGS = ["--recipe", "full", "--weights", "none", "--epochs-above", "1", "--epochs-entire", "1", "--batch-size", "4",
        "--precision", "float32"]


@pytest.fixture
def blob_set(tmp_path, monkeypatch):
    video_set = synthetic.write_set(synthetic.blob_set(tmp_path), per_class=(2, 1))
    monkeypatch.setattr(train_i3d, "set_from_args", lambda args: video_set)
    return video_set


def one_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    return err[0]


def test_unreadable_class_csv_names_it(blob_set, monkeypatch, capsys):
    def denied(path):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(fullrecipe, "VideoClasses", denied)
    assert train_i3d.main(ARGS) == 2
    line = one_line(capsys)
    assert f"permission denied: {blob_set.class_file}" in line and "readable" in line


def test_read_only_model_folder_names_it(blob_set, monkeypatch, capsys):
    def denied(lock, what):
        raise PermissionError(errno.EACCES, "Permission denied", str(lock.parent))

    monkeypatch.setattr(fullrecipe, "claim", denied)
    assert train_i3d.main(ARGS) == 2
    line = one_line(capsys)
    assert f"permission denied: {blob_set.model_dir}" in line and "writable" in line


def test_full_disk_is_one_line_exit_1(blob_set, monkeypatch, capsys):
    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(fullrecipe, "write_json_atomic", full)
    assert train_i3d.main(ARGS) == 1
    line = one_line(capsys)
    assert line.startswith("error: Disk full while writing") and "-state.json" in line


def test_truncated_state_file_names_the_file(blob_set, capsys):
    blob_set.model_dir.mkdir(parents=True)
    state = blob_set.model_dir / f"20260101-000000-{blob_set.tag}-flow-i3d-state.json"
    state.write_text('{"stream": "flow", "weights": nu')
    assert train_i3d.main(ARGS) == 2
    line = one_line(capsys)
    assert str(state) in line and "not a readable training state" in line


def test_unreadable_flow_file_during_training_names_it(blob_set, monkeypatch, capsys):
    """A flow jpg that cannot be read while Keras fetches a batch: TensorFlow wraps the error; its line is shown."""
    from signlang import clips

    flow_jpg = next(blob_set.flow_dir.rglob("*.jpg"))
    real = clips.files_to_flows
    calls = []

    def files_to_flows(folder):
        calls.append(folder)
        if len(calls) > 8:  # past AdaBN's reading, inside fit()
            raise PermissionError(f"Cannot read {flow_jpg}: permission denied; make it readable (chmod a+r)")
        return real(folder)

    monkeypatch.setattr(clips, "files_to_flows", files_to_flows)
    monkeypatch.setattr(fullrecipe.TrainConfig, "adapt_bn", False)
    assert train_i3d.main(ARGS) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "Traceback" not in "\n".join(err)
    assert err[-1] == f"error: Cannot read {flow_jpg}: permission denied; make it readable (chmod a+r)", err[-5:]
