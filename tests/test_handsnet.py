"""The hands network: its features and augmentation, learning synthetic signs, resuming, and train_i3d.py --stream hands."""
import csv
import json
import shutil
from dataclasses import replace

import keras
import numpy as np
import pytest

from signlang import handsnet, modelinfo
from signlang.hands import FEATURES_PER_HAND, LANDMARK_SHAPE, hand_features
from signlang.handsnet import HandsConfig, augment
from signlang.handsynth import SIGNS, hand_points, sign_clip, write_sign_set


def clip_with(points_right, wrists, left=None) -> np.ndarray:
    clip = np.zeros((len(wrists), *LANDMARK_SHAPE), np.float32)
    for i, wrist in enumerate(wrists):
        clip[i, 1, :, :3] = points_right + [*wrist, 0]
        clip[i, 1, :, 3] = 1
        if left is not None:
            clip[i, 0, :, :3] = left
            clip[i, 0, :, 3] = 1
    return clip


def test_features_of_a_missing_hand_are_zero_and_a_hand_shape_does_not_depend_on_its_size_or_place():
    wrists = np.stack([np.linspace(-0.2, 0.2, 8), np.zeros(8)], axis=1)
    small = clip_with(hand_points("point", 0.1), wrists)
    large = clip_with(hand_points("point", 0.2), wrists + [0.1, 0.2])
    features_small, features_large = hand_features(small), hand_features(large)
    assert features_small.shape == (8, 2 * FEATURES_PER_HAND)
    assert not features_small[:, :FEATURES_PER_HAND].any()  # the left hand is missing: all zeros
    right = slice(FEATURES_PER_HAND, None)
    shape = slice(FEATURES_PER_HAND + 7, None)  # after present, wrist, path, motion
    assert np.allclose(features_small[:, shape], features_large[:, shape], atol=1e-5)
    assert not np.allclose(features_small[:, right], features_large[:, right])  # the wrist's place differs
    fist = hand_features(clip_with(hand_points("fist", 0.1), wrists))
    assert np.abs(fist[:, shape] - features_small[:, shape]).max() > 0.5


def test_mirror_swaps_the_hands_and_negates_x():
    still = HandsConfig(rotate_deg=0, scale=0, shift=0, speed=0, mirror=1.0)
    clip = clip_with(hand_points("open", 0.15), np.zeros((6, 2)) + [0.2, 0.1])
    mirrored = augment(clip, np.random.default_rng(0), still)
    assert not mirrored[:, 1].any()  # the right hand moved to the left slot
    assert np.allclose(mirrored[:, 0, :, 0], -clip[:, 1, :, 0]) and np.allclose(mirrored[:, 0, :, 1:], clip[:, 1, :, 1:])
    unchanged = augment(clip, np.random.default_rng(0), replace(still, mirror=0.0))
    assert np.array_equal(unchanged, clip)


def test_augmentation_keeps_missing_hands_missing_and_moves_present_ones():
    rng = np.random.default_rng(1)
    clip = sign_clip(SIGNS.index("open_circle"), 16, rng)
    out = augment(clip, rng, HandsConfig(mirror=0.0))
    assert out.shape == clip.shape
    assert np.array_equal(out[..., 3] == 0, np.all(out == 0, axis=-1))  # absent points are all zero
    assert not np.allclose(out, clip)


def train_history(result) -> list[dict]:
    return list(csv.DictReader(open(result["csv"])))


@pytest.mark.slow
def test_train_i3d_stream_hands_learns_signs_that_differ_by_path_and_hand_shape(tmp_path, monkeypatch):
    """The default recipe through train_i3d.py on 9 synthetic signs x 7 takes (3 val takes each)."""
    import train_i3d

    video_set = write_sign_set(tmp_path, takes=(7, 3))
    for split in ("train", "val"):  # the label folders make the folder a set for --set (no videos: all files count)
        for label in SIGNS:
            (video_set.video_dir / split / label).mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    assert train_i3d.main(["--set", "data-set/handsynth/009", "--stream", "hands"]) == 0
    found, finished = handsnet.find_checkpoint(video_set, "best")
    assert finished and found.name.endswith("-handsynth009-hands-net-entire-best.keras")
    rows = train_history({"csv": video_set.log_dir / f"{found.name.split('-entire-')[0]}.csv"})
    assert [int(row["epoch"]) for row in rows] == list(range(HandsConfig().epochs))
    assert float(rows[-1]["val_accuracy"]) >= 0.85, rows[-1]  # chance: 0.11
    info = modelinfo.read_model_info(found)
    assert info["stream"] == "hands" and info["classes"] == sorted(SIGNS) and info["num_frames"] == 16
    model = keras.models.load_model(found)
    x, y, _ = handsnet.load_split(video_set.stream_dir("hands") / "val", handsnet.VideoClasses(video_set.class_file))
    assert np.mean(model.predict(hand_features(x), verbose=0).argmax(1) == y) >= 0.85
    assert (video_set.log_dir / f"{found.name.split('-entire-')[0]}.png").is_file()
    assert not list(video_set.model_dir.glob(".resume-*")) and not list(video_set.model_dir.glob("*.lock"))


class StopAfter(keras.callbacks.Callback):
    """Ends fit() like Ctrl-C after epoch `epoch` (0-based) was committed (it runs after AtomicCheckpoint)."""

    def __init__(self, epoch: int):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


@pytest.mark.slow
def test_a_stopped_run_resumes_to_the_weights_of_an_uninterrupted_one(tmp_path):
    config = HandsConfig(epochs=4, passes=1, batch_size=8)
    whole = write_sign_set(tmp_path / "whole", takes=(4, 2), num_signs=3)
    shutil.copytree(tmp_path / "whole", tmp_path / "stopped")
    stopped = replace(whole, root=tmp_path / "stopped", folder=tmp_path / "stopped" / whole.folder.relative_to(
        tmp_path / "whole"))
    expected = handsnet.train_hands(whole, config, verbose=0)
    with pytest.raises(KeyboardInterrupt):
        handsnet.train_hands(stopped, config, verbose=0, callbacks=[StopAfter(1)])
    (state_file,) = stopped.model_dir.glob("*-state.json")
    assert json.loads(state_file.read_text())["resume"]["epochs"] == 2
    assert handsnet.find_checkpoint(stopped)[1] is False  # unfinished
    resumed = handsnet.train_hands(stopped, config, verbose=0)
    assert resumed["entire-last"].name.split("-")[:2] == state_file.name.split("-")[:2]  # the same run went on
    assert [row["epoch"] for row in train_history(resumed)] == ["0", "1", "2", "3"]
    for a, b in zip(keras.models.load_model(expected["entire-last"]).get_weights(),
                    keras.models.load_model(resumed["entire-last"]).get_weights()):
        assert np.array_equal(a, b)
