"""The hands stream live: landmarks found while recording (as the step finds them), drawn on the preview, and
livedemo.py --stream hands on the real signer."""
import json

import numpy as np
import pytest

import livedemo
from signlang import liveinput
from signlang.hands import NUM_FEATURES, hand_features, video_landmarks
from signlang.handsnet import HandsConfig, train_hands
from signlang.handsynth import SIGNS, hand_points, write_sign_set
from signlang.overlay import draw_hands
from signlang.video import video_to_frames


def test_hands_are_drawn_where_they_are_and_mirrored_with_the_preview():
    display = np.zeros((240, 320, 3), np.uint8)  # the preview of a 480x640 frame at half size
    points = hand_points("open", 0.1) + [0.25, 0.0, 0.0]  # the wrist right of the frame's centre
    draw_hands(display, (480, 640), [("Right", 0.9, points)], mirror=False)
    columns = np.nonzero(display.any(axis=(0, 2)))[0]
    assert columns.min() > 160 + 0.2 * 120  # right of the centre (x 0.25 of the 480 px shorter side, halved)
    mirrored = np.zeros_like(display)
    draw_hands(mirrored, (480, 640), [("Right", 0.9, points)], mirror=True)
    flipped = np.nonzero(mirrored.any(axis=(0, 2)))[0]  # the same drawing, flipped (anti-aliased: +-1 px)
    assert abs(flipped.min() - (319 - columns.max())) <= 1 and abs(flipped.max() - (319 - columns.min())) <= 1
    assert np.array_equal(np.nonzero(mirrored.any(axis=(1, 2)))[0], np.nonzero(display.any(axis=(1, 2)))[0])


@pytest.mark.slow
def test_recorder_finds_the_hands_the_step_finds(shared_data):
    """Landmarks found while recording the real clip equal hands.py's for the video (the same frames, numbering)."""
    video = shared_data / "real" / "signing_clip.mp4"
    frames = video_to_frames(video, min_dim_px=None)
    recorder = liveinput.ClipRecorder(len(frames), 16, 128, None, ("hands",), fps=29.92)
    try:
        for frame in frames:
            recorder.add(frame)
        inputs = recorder.inputs()
    finally:
        recorder.close()
    assert set(inputs) == {"hands"} and inputs["hands"].shape == (1, 16, NUM_FEATURES)
    expected = hand_features(video_landmarks(video, 16))
    assert expected[:, 0::NUM_FEATURES // 2].any()  # hands were found
    assert np.allclose(inputs["hands"][0], expected, atol=1e-4)
    assert recorder.latest_hands is not None


@pytest.mark.slow
def test_livedemo_stream_hands_predicts_the_real_clip_in_one_json_line(tmp_path, shared_data, monkeypatch, capsys):
    video_set = write_sign_set(tmp_path, takes=(4, 2), num_frames=16, num_signs=3)
    for split in ("train", "val"):
        for label in SIGNS[:3]:
            (video_set.video_dir / split / label).mkdir(parents=True)
    train_hands(video_set, HandsConfig(epochs=2), verbose=0)
    monkeypatch.chdir(tmp_path)
    code = livedemo.main(["--set", "data-set/handsynth/003", "--stream", "hands", "--headless", "--once",
                          "--source", str(shared_data / "real" / "signing_clip.mp4"), "--no-pace"])
    out = capsys.readouterr()
    assert code == 0, out.err
    (line,) = [json.loads(line) for line in out.out.splitlines() if line.startswith("{")]
    assert line["frames"] == 58 and len(line["top"]) == 3 and {t[0] for t in line["top"]} == set(SIGNS[:3])
    assert abs(sum(t[2] for t in line["top"]) - 1) < 1e-3
    assert 0 < line["latency_s"] < 5


@pytest.mark.slow
def test_sliding_windows_give_each_window_its_hands(shared_data):
    frames = video_to_frames(shared_data / "real" / "signing_clip.mp4", min_dim_px=None)[::2]  # 29 frames
    windows = []
    worker = liveinput.SlidingWindows(8, 2, 4, 128, None, lambda inputs, *_: windows.append(inputs), ("hands",),
                                      skip_late=False, fps=15.0)
    try:
        for frame in frames:
            worker.add(frame)
        worker.finish()
    finally:
        worker.close()
    assert len(windows) == 4  # samples 0..14 (every 2nd frame), windows of 8 every 2 samples: ends 7, 9, 11, 13
    assert all(set(w) == {"hands"} and w["hands"].shape == (1, 8, NUM_FEATURES) for w in windows)
    assert any(w["hands"].any() for w in windows)  # the raised hand is in the middle of the clip
