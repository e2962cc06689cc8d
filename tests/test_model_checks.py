"""A model meets a set or a video only after its record is checked against it (issue 23 item 1): classes (names,
order, count), input size and flow method; a mismatch is refused in one line naming both, a model without its
record runs only with --no-record-check and a warning. Model discovery takes the newest finished run (issue 24
item 1). predict.py says which checkpoint it evaluated and names its outputs after it (issue 24 item 5)."""
import json
from pathlib import Path

import numpy as np
import pytest

import livedemo
import predict
from signlang import modelinfo, synthetic
from signlang.predictor import NO_RECORD_FLAG, Predictor, find_models, top_k
from signlang.videoset import VideoClasses

TRAINED = ["circle_ccw", "circle_cw", "swipe_left"]


def tiny_model(path: Path, num_classes: int, shape=(8, 32, 32, 2)) -> Path:
    """A Keras model with an I3D's input and output shapes (a few KB, loads in a moment)."""
    import keras

    path.parent.mkdir(parents=True, exist_ok=True)
    keras.Sequential([keras.Input(shape), keras.layers.GlobalAveragePooling3D(),
                      keras.layers.Dense(num_classes, activation="softmax")]).save(path)
    return path


def record(path: Path, classes=TRAINED, flow_method="tvl1-lite", num_frames=16, min_dim_px=128, crop_px=128,
           **extra) -> Path:
    modelinfo.write_model_info(path, {"stream": "flow", "flow_method": flow_method, "num_frames": num_frames,
                                      "min_dim_px": min_dim_px, "crop_px": crop_px, "classes": list(classes),
                                      "set": {"video_dir": "data-set/gestures/003"}, **extra})
    return path


@pytest.fixture(scope="module")
def folder_set(tmp_path_factory):
    """data-set/mine/003: three labels (a, b, c), a train and a val take each, tiny videos."""
    root = tmp_path_factory.mktemp("set") / "mine" / "003"
    frames = synthetic.numbered_frames(12, size=32)
    for split in ("train", "val"):
        for label in ("a", "b", "c"):
            synthetic.write_video(root / split / label / "t0.avi", frames)
    return root


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """16 x 128 px flow models: 'trained' on a, b, c (fits folder_set), on other names, and one without record."""
    folder = tmp_path_factory.mktemp("models")
    fits = record(tiny_model(folder / "fits.keras", 3, (16, 128, 128, 2)), classes=["a", "b", "c"])
    other = record(tiny_model(folder / "other.keras", 3, (16, 128, 128, 2)))
    bare = tiny_model(folder / "bare.keras", 3, (16, 128, 128, 2))
    return {"fits": fits, "other": other, "bare": bare}


def one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


# ---- predict.py --video, livedemo, export: the mismatch matrix ------------------------------------------

def test_predict_video_refuses_a_model_of_other_classes_naming_both(folder_set, models, capsys):
    video = folder_set / "val" / "a" / "t0.avi"
    assert predict.main(["--set", str(folder_set), "--video", str(video), "--model", str(models["other"])]) == 2
    err = one_line(capsys)
    assert "other.keras was trained on 3 classes (circle_ccw, circle_cw, swipe_left)" in err
    assert str(folder_set / "class.csv") in err and "--set data-set/gestures/003" in err


def test_predict_video_runs_a_model_that_fits(folder_set, models, capsys):
    video = folder_set / "val" / "a" / "t0.avi"
    assert predict.main(["--set", str(folder_set), "--video", str(video), "--model", str(models["fits"])]) == 0
    out = capsys.readouterr().out
    assert "; --precision sets it)" in out and "%" in out


def test_a_model_without_record_runs_only_with_the_flag_and_a_warning(folder_set, models, capsys):
    video = folder_set / "val" / "a" / "t0.avi"
    args = ["--set", str(folder_set), "--video", str(video), "--model", str(models["bare"])]
    assert predict.main(args) == 2
    err = one_line(capsys)
    assert "bare.keras has no record bare.keras.json" in err and NO_RECORD_FLAG in err
    assert predict.main(args + [NO_RECORD_FLAG]) == 0
    err = capsys.readouterr().err
    assert "warning: bare.keras has no record" in err and "running it unchecked" in err and "tvl1-fast" in err


@pytest.mark.parametrize("change, says", [("added", "class.csv adds ['d']"), ("missing", "class.csv lacks ['c']"),
                                          ("renamed", "class.csv adds ['x']; class.csv lacks ['c']")])
def test_a_class_csv_row_added_missing_or_renamed_is_caught(tmp_path, models, capsys, change, says):
    video_set = synthetic.blob_set(tmp_path, num_classes=3, num_frames=16, size_px=128)
    labels = {"added": ["a", "b", "c", "d"], "missing": ["a", "b"], "renamed": ["a", "b", "x"]}[change]
    video_set.video_dir.mkdir(parents=True)
    video_set.class_file.write_text(",sClass,sLong,sCat,sDetail\n"
                                    + "".join(f"{i},{label},{label},,\n" for i, label in enumerate(labels)))
    predictor = Predictor([models["fits"]])
    with pytest.raises(ValueError, match="fits.keras was trained on 3 classes") as error:
        predictor.check_set(video_set, VideoClasses(video_set.class_file))
    assert says in str(error.value) and str(video_set.class_file) in str(error.value)


def test_another_order_of_the_same_classes_is_caught(tmp_path, folder_set):
    model = record(tiny_model(tmp_path / "m.keras", 3, (16, 128, 128, 2)), classes=["c", "b", "a"])
    classes = VideoClasses(folder_set / "class.csv")
    from signlang.videoset import resolve_set
    with pytest.raises(ValueError, match="the same names in another order"):
        Predictor([model]).check_set(resolve_set(str(folder_set)), classes)


def test_livedemo_refuses_a_model_of_other_classes(folder_set, models, capsys):
    video = folder_set / "val" / "a" / "t0.avi"
    rc = livedemo.main(["--set", str(folder_set), "--model", str(models["other"]), "--headless", "--no-pace",
                        "--once", "--source", str(video)])
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert "other.keras was trained on 3 classes" in err and "Traceback" not in err


def test_export_refuses_a_model_without_record_or_of_another_set(folder_set, models, capsys):
    assert predict.main(["--export", "onnx", "--model", str(models["bare"])]) == 2
    assert NO_RECORD_FLAG in one_line(capsys)
    assert predict.main(["--export", "onnx", "--model", str(models["other"]), "--set", str(folder_set)]) == 2
    assert "other.keras was trained on 3 classes" in one_line(capsys)
    assert not list(models["bare"].parent.glob("*.onnx"))


def test_evaluation_refuses_precomputed_flow_of_another_method_and_other_sizes(tmp_path):
    video_set = synthetic.write_set(synthetic.blob_set(tmp_path, num_classes=3, num_frames=8, size_px=32),
                                    per_class=(1, 1))
    classes = ["dir0", "dir1", "dir2"]
    (video_set.flow_dir / modelinfo.FLOW_SETTINGS_NAME).write_text(json.dumps({"method": "dis"}))
    model = record(tiny_model(tmp_path / "m.keras", 3), classes=classes, flow_method="tvl1-lite", num_frames=8,
                   min_dim_px=32, crop_px=32)
    with pytest.raises(ValueError, match="trained on tvl1-lite flow but the set's flow folder holds dis flow"):
        predict.evaluate(video_set, Predictor([model]), "val")
    record(model, classes=classes, flow_method="dis", num_frames=8, min_dim_px=40, crop_px=32)
    with pytest.raises(ValueError, match=r"min_dim_px 40 \(set: 32\)"):
        predict.evaluate(video_set, Predictor([model]), "val")
    record(model, classes=classes, flow_method="dis", num_frames=8, min_dim_px=32, crop_px=32, which="best",
           epochs=3, selected_on="val_accuracy")
    result = predict.evaluate(video_set, Predictor([model]), "val", tmp_path / "log" / "m-entire-best")
    assert result["num_clips"] == 3 and result["png"].name == "m-entire-best-val-confusion.png"


# ---- what predict.py says and writes ------------------------------------------------------------------

def test_split_evaluation_names_its_checkpoint_and_keeps_the_pipelines_files(tmp_path, capsys, monkeypatch):
    video_set = synthetic.write_set(synthetic.blob_set(tmp_path, num_classes=3, num_frames=8, size_px=32),
                                    per_class=(1, 1))
    classes = ["dir0", "dir1", "dir2"]
    model = record(tiny_model(video_set.model_dir / "20260101-000000-blobs003-flow-i3d-entire-best.keras", 3),
                   classes=classes, flow_method=None, num_frames=8, min_dim_px=32, crop_px=32, which="best",
                   epochs=7, selected_on="val_accuracy")
    pipeline_png = video_set.log_dir / "20260101-000000-blobs003-flow-val-confusion.png"
    pipeline_png.parent.mkdir(parents=True)
    pipeline_png.write_bytes(b"the pipeline's")
    monkeypatch.setattr(predict, "set_from_args", lambda args: video_set)
    assert predict.main(["--set", "x", "--split", "val", "--model", str(model)]) == 0
    out = capsys.readouterr().out
    assert "the best epoch, 7, chosen on val_accuracy: optimistic" in out
    assert pipeline_png.read_bytes() == b"the pipeline's"
    assert (video_set.log_dir / "20260101-000000-blobs003-flow-i3d-entire-best-val-confusion.png").is_file()
    assert (video_set.log_dir / "20260101-000000-blobs003-flow-i3d-entire-best-val-classes.csv").is_file()


def test_probabilities_are_given_to_four_digits(folder_set):
    classes = VideoClasses(folder_set / "class.csv")
    top = top_k(np.array([0.123456789, 0.5432101234, 0.333333333]), classes, 3)
    assert [p for _, _, p in top] == [0.5432, 0.3333, 0.1235]


# ---- model discovery: the newest finished run (issue 24 item 1) ---------------------------------------

def run_files(model_dir: Path, stamp: str, phases_done, epochs=(1, 22, 5)) -> Path:
    prefix = model_dir / f"{stamp}-demo010-flow-i3d"
    best = prefix.with_name(prefix.name + "-entire-best.keras")
    best.parent.mkdir(parents=True, exist_ok=True)
    best.write_bytes(b"checkpoint")
    state = {"phases_done": list(phases_done), "epochs_above": epochs[0], "epochs_entire": epochs[1],
             "resume": {"phase": "entire", "epochs": epochs[2]}}
    prefix.with_name(prefix.name + "-state.json").write_text(json.dumps(state))
    return best


def test_discovery_skips_a_newer_unfinished_run_and_says_so(tmp_path, capsys):
    video_set = synthetic.blob_set(tmp_path)
    video_set = type(video_set)("demo", 10, root=tmp_path)
    finished = run_files(video_set.model_dir, "20260101-000000", ["above", "entire"])
    run_files(video_set.model_dir, "20260102-000000", ["above"])
    assert find_models(video_set) == [finished]
    err = capsys.readouterr().err
    assert "skipped the newer unfinished flow run 20260102-000000-demo010-flow" in err
    assert "5 of 23 epochs" in err and finished.name in err


def test_discovery_uses_an_unfinished_run_only_when_none_finished_and_warns(tmp_path, capsys):
    video_set = __import__("signlang.videoset", fromlist=["VideoSet"]).VideoSet("demo", 10, root=tmp_path)
    unfinished = run_files(video_set.model_dir, "20260102-000000", [])
    assert find_models(video_set) == [unfinished]
    err = capsys.readouterr().err
    assert "warning: using" in err and "UNFINISHED run (unfinished: 5 of 23 epochs" in err and "--model" in err


def test_discovery_takes_a_checkpoint_without_state_as_finished(tmp_path, capsys):
    from signlang.videoset import VideoSet
    video_set = VideoSet("demo", 10, root=tmp_path)
    copied = video_set.model_dir / "20260103-000000-demo010-flow-i3d-entire-best.keras"
    copied.parent.mkdir(parents=True)
    copied.write_bytes(b"checkpoint")
    run_files(video_set.model_dir, "20260101-000000", ["above", "entire"])
    assert find_models(video_set) == [copied] and capsys.readouterr().err == ""
