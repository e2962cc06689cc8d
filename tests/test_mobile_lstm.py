"""MobileNet features + LSTM: feature files, resumable feature step, offline weights, training, loading checks."""
import json
import os

import keras
import numpy as np
import pytest

import feature
import model_lstm
import model_mobile
import train_mobile_lstm
from signlang.flow import flows_to_files
from signlang.video import frames_to_files
from signlang.videoset import VideoSet

INPUT_PX = 32  # the smallest input MobileNet takes: keeps every forward pass in these tests cheap


def write_frame_tree(root, num_frames=4, labels=("a", "b"), splits=("train", "val"), seed=0):
    """root/image/<split>/<label>/v0/frame0000.jpg ... and root/oflow/... (40x48 px); returns (image, oflow)."""
    rng = np.random.default_rng(seed)
    for split in splits:
        for label in labels:
            frames = rng.integers(0, 256, (num_frames, 40, 48, 3), dtype=np.uint8)
            frames_to_files(frames, root / "image" / split / label / "v0")
            flows = rng.uniform(-1, 1, (num_frames, 40, 48, 2)).astype(np.float32)
            flows_to_files(flows, root / "oflow" / split / label / "v0")
    return root / "image", root / "oflow"


def test_features_have_one_vector_per_frame_and_are_normalised(tmp_path):
    image_dir, flow_dir = write_frame_tree(tmp_path)
    summary = feature.frames_dir_to_features_dir(flow_dir, tmp_path / "feat", weights="none", input_px=INPUT_PX)
    assert (summary.done, summary.skipped, summary.failed) == (4, 0, [])
    features = np.load(tmp_path / "feat" / "train" / "a" / "v0.npy")
    assert features.shape == (4, 1024) and features.dtype == np.float32
    # calibrated BatchNorm: without it a random MobileNet gives values of order 1e-19
    assert np.abs(features).mean() > 1e-2
    info = json.loads((tmp_path / "feat" / feature.EXTRACTOR_INFO).read_text())
    assert info["stream"] == "flow" and info["feature_len"] == 1024  # detected from the flow000.jpg names

    feature.frames_dir_to_features_dir(image_dir, tmp_path / "feat3", weights="none", input_px=INPUT_PX,
                                       num_frames=3)
    assert np.load(tmp_path / "feat3" / "val" / "b" / "v0.npy").shape == (3, 1024)


def test_rerun_skips_finished_videos_and_reuses_the_saved_extractor(tmp_path):
    image_dir, _ = write_frame_tree(tmp_path)
    out = tmp_path / "feat"
    feature.frames_dir_to_features_dir(image_dir, out, weights="none", input_px=INPUT_PX)
    before = np.load(out / "train" / "a" / "v0.npy")
    (out / "val" / "b" / "v0.npy").unlink()  # as if the first run had been killed before this video
    (out / "val" / "b" / ".tmp-123-v0.npy").write_bytes(b"half")  # and had left a temp file behind
    summary = feature.frames_dir_to_features_dir(image_dir, out, weights="none", input_px=INPUT_PX)
    assert (summary.done, summary.skipped) == (1, 3)
    assert not (out / "val" / "b" / ".tmp-123-v0.npy").exists()
    extractor, _ = feature.load_extractor(out)
    images = feature.load_images(image_dir / "train" / "a" / "v0", "rgb", INPUT_PX)
    np.testing.assert_allclose(feature.images_features(images, extractor, "mobilenet"), before, rtol=1e-4,
                               atol=1e-5)

    with pytest.raises(ValueError, match="input_px.*--overwrite"):
        feature.frames_dir_to_features_dir(image_dir, out, weights="none", input_px=48)


def test_unreadable_video_is_reported_and_counted(tmp_path):
    image_dir, _ = write_frame_tree(tmp_path)
    (image_dir / "train" / "b" / "v0" / "frame0002.jpg").write_bytes(b"not a jpeg")
    summary = feature.frames_dir_to_features_dir(image_dir, tmp_path / "feat", weights="none", input_px=INPUT_PX)
    assert (summary.done, len(summary.failed)) == (3, 1)
    assert "frame0002.jpg" in summary.failed[0][1]
    listed = (tmp_path / "feat" / "failed-features.txt").read_text()
    assert str(image_dir / "train" / "b" / "v0") in listed
    assert not (tmp_path / "feat" / "train" / "b" / "v0.npy").exists()


def test_offline_imagenet_says_which_file_failed_and_what_to_do(tmp_path, monkeypatch, capsys):
    def offline(fname, origin, **kwargs):
        raise Exception(f"URL fetch failure on {origin}: None -- [Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(model_mobile.WeightsUnavailableError) as error:
        model_mobile.feature_extractor("mobilenet", "imagenet", input_px=128)
    message = str(error.value)
    assert "mobilenet_1_0_128_tf_no_top.h5" in message and "Temporary failure" in message
    assert "--weights none" in message and str(os.path.join(".keras", "models")) in message

    image_dir, _ = write_frame_tree(tmp_path, splits=("train",))
    assert feature.main([str(image_dir), str(tmp_path / "feat"), "--input-px", "128"]) == 2
    assert "--weights none" in capsys.readouterr().err
    assert not list((tmp_path / "feat").rglob("*.npy"))


def test_extractor_checks_model_and_input_size():
    assert model_mobile.feature_extractor("mobilenet", "none", INPUT_PX).output_shape == (None, 1024)
    with pytest.raises(ValueError, match="at least 75 px"):
        model_mobile.feature_extractor("inception", "none", input_px=64)
    with pytest.raises(ValueError, match="Unknown feature model"):
        model_mobile.feature_extractor("resnet", "none")


def write_feature_set(root, num_classes=4, per_class=(10, 5), num_frames=8, seed=0) -> VideoSet:
    """A VideoSet whose rgb and flow feature files hold class-dependent sequences (no frames needed).

    Along one fixed direction of feature space, class 0 rises over the clip, 1 falls, 2 rises and falls,
    3 falls and rises; plus noise in every feature. Classes 0 and 1 have the same mean over time: only the
    order of the frames tells them apart.
    """
    video_set = VideoSet("tiny", num_classes, num_frames=num_frames, min_dim_px=32, crop_px=32, root=root)
    labels = [f"c{k}" for k in range(num_classes)]
    video_set.video_dir.mkdir(parents=True)
    rows = [f"{i},{label},Class {label},Test,{label}" for i, label in enumerate(labels)]
    video_set.class_file.write_text(",sClass,sLong,sCat,sDetail\n" + "\n".join(rows) + "\n")
    rng = np.random.default_rng(seed)
    ramp = np.linspace(-1, 1, num_frames)
    shapes = (ramp, -ramp, 1 - 2 * np.abs(ramp), 2 * np.abs(ramp) - 1)
    loading = rng.normal(0, 1, 1024).astype(np.float32)  # how strongly each feature follows the shape
    for stream in ("rgb", "flow"):
        base = feature.feature_dir(video_set, stream, "mobilenet", "none")
        for split, count in zip(("train", "val"), per_class):
            for k, label in enumerate(labels):
                for n in range(count):
                    values = rng.normal(0, 1, (num_frames, 1024)).astype(np.float32)
                    values += shapes[k % 4][:, None] * loading
                    (base / split / label).mkdir(parents=True, exist_ok=True)
                    np.save(base / split / label / f"v{n:02d}.npy", values)
    return video_set


def test_short_training_on_both_streams_beats_chance_clearly(tmp_path):
    video_set = write_feature_set(tmp_path)
    config = train_mobile_lstm.LstmConfig(stream="both", weights="none", epochs=6, batch_size=8,
                                          learning_rate=1e-2, units=16, dropout=0.1)
    trained = train_mobile_lstm.train_mobile_lstm(video_set, config, verbose=0)
    for key in ("best", "last", "csv", "png", "state"):
        assert trained[key].is_file(), key
    assert trained["best"].name.endswith("-tiny004-both-mobile-lstm-best.keras")
    result = train_mobile_lstm.evaluate_mobile_lstm(trained["best"], video_set, config, "val",
                                                    tmp_path / "log" / "run")
    assert result["top1"] >= 0.75, result["top1"]  # chance: 0.25
    assert result["top1"] == pytest.approx(trained["val_accuracy"])
    assert result["csv"].is_file() and result["png"].is_file()
    assert result["per_class"]["clips"].sum() == 20


def test_streams_with_different_videos_are_refused(tmp_path):
    video_set = write_feature_set(tmp_path, per_class=(2, 1))
    (feature.feature_dir(video_set, "flow", "mobilenet", "none") / "train" / "c1" / "v01.npy").unlink()
    config = train_mobile_lstm.LstmConfig(stream="both", weights="none")
    classes = train_mobile_lstm.VideoClasses(video_set.class_file)
    with pytest.raises(ValueError, match="different videos"):
        train_mobile_lstm.features_generator(video_set, config, "train", classes, shuffle=True)


def test_loading_with_wrong_shapes_names_the_file(tmp_path):
    path = tmp_path / "lstm.keras"
    model_lstm.lstm_build(8, 32, 5, units=4).save(path)
    assert model_lstm.lstm_load(path, 8, 32, 5).output_shape == (None, 5)
    with pytest.raises(ValueError, match=r"lstm\.keras takes input .*\(8, 32\).*\(16, 32\)"):
        model_lstm.lstm_load(path, 16, 32, 5)
    with pytest.raises(ValueError, match=r"lstm\.keras takes input .*\(8, 1024\)"):
        model_lstm.lstm_load(path, 8, 1024, 5)
    with pytest.raises(ValueError, match=r"lstm\.keras predicts 5 classes.*lists 10"):
        model_lstm.lstm_load(path, 8, 32, 10)
    with pytest.raises(FileNotFoundError, match="missing.keras"):
        model_lstm.lstm_load(tmp_path / "missing.keras", 8, 32, 5)
    (tmp_path / "junk.keras").write_bytes(b"junk")
    with pytest.raises(ValueError, match="junk.keras"):
        model_lstm.lstm_load(tmp_path / "junk.keras", 8, 32, 5)
