"""predict.py: user errors on the command line print one line naming the file and exit 2 (issue 9 item 14)."""
import pytest

import predict


@pytest.mark.parametrize("what", ["missing", "folder"])
def test_bad_video_argument_is_one_line_and_exit_2(tmp_path, capsys, what):
    video = tmp_path / "nothing.avi"
    if what == "folder":
        video.mkdir()
    assert predict.main(["--video", str(video), "--model", str(tmp_path / "m.keras")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(video) in err
    assert ("not found" if what == "missing" else "is a folder") in err


@pytest.mark.parametrize("content", [None, b"", b"PK\x03\x04 truncated zip", b"garbage"])
def test_missing_or_broken_model_file_is_one_line_and_exit_2(tmp_path, capsys, content):
    video = tmp_path / "clip.avi"
    video.write_bytes(b"x")
    model = tmp_path / "model.keras"
    if content is not None:
        model.write_bytes(content)
    assert predict.main(["--video", str(video), "--model", str(model)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(model) in err
    assert ("not found" if content is None else "not a readable Keras model") in err


def test_kinetics_on_a_non_video_is_one_line_and_exit_2(tmp_path, capsys):
    video = tmp_path / "notes.txt"
    video.write_text("not a video")
    assert predict.main(["--kinetics", str(video)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(video) in err
