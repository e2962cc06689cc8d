"""predict.py: user errors on the command line print one line naming the file and exit 2 (issue 9 item 14);
`--kinetics` prints the shipped Kinetics-400 class names (issue 10 item 8)."""
import numpy as np
import pytest

from signlang import i3d
import predict
from signlang.synthetic import numbered_frames, write_video


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


# ---- Kinetics-400 class names shipped with the repo (issue 10 item 8) ----------------------------------------

def test_shipped_kinetics_names_are_deepminds_label_map_line_by_line(shared_data):
    shipped = i3d.KINETICS_LABEL_FILE.read_text().splitlines()
    deepmind = (shared_data / "kinetics-i3d" / "label_map.txt").read_text().splitlines()
    assert len(shipped) == i3d.NUM_KINETICS_CLASSES == len(set(shipped))
    assert shipped == [line.strip() for line in deepmind]
    assert predict.read_label_map() == shipped


class FixedLogits:
    """Stands in for the I3D: logits that rank class `first` highest, then `second`."""

    def __init__(self, first: int, second: int):
        self.logits = np.zeros((1, i3d.NUM_KINETICS_CLASSES), np.float32)
        self.logits[0, first], self.logits[0, second] = 9.0, 5.0

    def __call__(self, x, training=False):
        return self.logits


@pytest.fixture
def kinetics_clip(tmp_path, monkeypatch):
    """A tiny clip, and the I3D replaced by FixedLogits(303, 227) (no weights needed)."""
    monkeypatch.setattr(i3d, "Inception_Inflated3d", lambda **kwargs: FixedLogits(303, 227))
    return write_video(tmp_path / "clip.avi", numbered_frames(i3d.MIN_FRAMES, size=32))


def test_kinetics_prints_class_names_by_default(kinetics_clip, capsys):
    names = predict.read_label_map()
    assert predict.main(["--kinetics", str(kinetics_clip)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5
    assert lines[0].endswith(f" {names[303]}") and lines[1].endswith(f" {names[227]}")
    assert float(lines[0].split()[0]) > float(lines[1].split()[0]) > float(lines[2].split()[0])


def test_label_map_overrides_the_shipped_names(kinetics_clip, tmp_path, capsys):
    custom = tmp_path / "names.txt"
    custom.write_text("".join(f"class number {i}\n" for i in range(i3d.NUM_KINETICS_CLASSES)))
    assert predict.main(["--kinetics", str(kinetics_clip), "--label-map", str(custom)]) == 0
    assert capsys.readouterr().out.splitlines()[0].endswith(" class number 303")
    custom.write_text("only\ntwo\n")
    assert predict.main(["--kinetics", str(kinetics_clip), "--label-map", str(custom)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(custom) in err and "2 names" in err


def test_an_unreadable_model_says_permission_denied(tmp_path, capsys, monkeypatch):
    import os

    video, model = tmp_path / "clip.avi", tmp_path / "model.keras"
    video.write_bytes(b"x")
    model.write_bytes(b"PK\x03\x04 a model")
    model.chmod(0)
    if os.geteuid() == 0:  # root reads any file: pretend it may not, as an ordinary user could not
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda path, mode: False if str(path) == str(model) else real_access(path, mode))
    for args in (["--video", str(video)], ["--export", "onnx"]):
        assert predict.main([*args, "--model", str(model)]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and str(model) in err and "permission denied" in err, err


def test_the_predictor_averages_the_clip_and_the_clip_shifted_one_frame_either_way(tmp_path):
    """Test-time averaging (predictor.VIEWS): the fused probabilities are the softmax of the mean of the views'
    log-probabilities, each view the clip shifted in time with its edge frame repeated; --views 1 is the model's own
    output. A clip of the model's size has no room for other crops: 9 views are its 3 shifts."""
    import keras

    from signlang.predictor import SINGLE_VIEW, Predictor, shifted

    path = tmp_path / "m.keras"
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4, 8, 8, 2)), keras.layers.Flatten(),  # sees the frames' order
                              keras.layers.Dense(3, activation="softmax")])
    model.save(path)
    clip = np.random.default_rng(0).normal(size=(1, 4, 8, 8, 2)).astype("float32")
    assert np.array_equal(shifted(clip, 1)[0], clip[0, [1, 2, 3, 3]])
    assert np.array_equal(shifted(clip, -1)[0], clip[0, [0, 0, 1, 2]])
    views = [np.log(model.predict(shifted(clip, s), verbose=0)) for s in (-1, 0, 1)]
    expected = np.exp(np.mean(views, axis=0))
    expected /= expected.sum()
    averaged = Predictor([path])({"flow": clip})
    assert np.allclose(averaged, expected, atol=1e-5)
    assert np.allclose(Predictor([path], views=3)({"flow": clip}), expected, atol=1e-5)
    single = Predictor([path], views=SINGLE_VIEW)({"flow": clip})
    assert np.allclose(single, model.predict(clip, verbose=0), atol=1e-5)
    assert not np.allclose(single, averaged, atol=1e-3)  # the shifts change the answer of this model


@pytest.mark.parametrize("shape, expected", [
    ((8, 12), [(0, 0), (0, 2), (0, 4)]),  # landscape: left, centre, right
    ((13, 8), [(0, 0), (2, 0), (5, 0)]),  # portrait: top, centre, bottom
    ((8, 8), [(0, 0)]),  # no room: the one crop
    ((10, 9), [(0, 0), (1, 0), (2, 0)]),  # more room down than across: the other side centred (x 0 here)
])
def test_crop_offsets_run_along_the_side_with_more_room(shape, expected):
    from signlang.predictor import crop_offsets

    assert crop_offsets(*shape, 8, 8, crops=3) == expected
    assert crop_offsets(*shape, 8, 8, crops=1) == [((shape[0] - 8) // 2, (shape[1] - 8) // 2)]
    with pytest.raises(ValueError, match="smaller than the model"):
        crop_offsets(6, 12, 8, 8, crops=3)


def test_nine_views_are_three_crops_across_the_frame_at_three_time_shifts(tmp_path):
    """A clip wider than the model's input: the default averages the left, centre and right crops, each at the
    three time shifts (9 forward passes), and one view is the centre crop; a smaller clip is refused."""
    import keras

    from signlang.predictor import Predictor, shifted

    path = tmp_path / "m.keras"
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((4, 8, 8, 2)), keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")])
    model.save(path)
    clip = np.random.default_rng(1).normal(size=(2, 4, 8, 12, 2)).astype("float32")  # a batch of two clips
    views = [np.log(model.predict(shifted(clip[:, :, :, x:x + 8], s), verbose=0)) for x in (0, 2, 4) for s in (-1, 0, 1)]
    expected = np.exp(np.mean(views, axis=0))
    expected /= expected.sum(axis=-1, keepdims=True)
    assert np.allclose(Predictor([path])({"flow": clip}), expected, atol=1e-5)
    assert np.allclose(Predictor([path], views=1)({"flow": clip}), model.predict(clip[:, :, :, 2:10], verbose=0), atol=1e-5)
    with pytest.raises(ValueError, match="smaller than the model"):
        Predictor([path])({"flow": clip[:, :, :6]})
    with pytest.raises(ValueError, match="views=5"):
        Predictor([path], views=5)
