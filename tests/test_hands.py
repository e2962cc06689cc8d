"""The hands step: the hand model bundle (built, checked, offline), landmarks on a real signer, the folder step."""
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import hands
from signlang import handmodel
from signlang.hands import HANDS, LANDMARK_SHAPE, assign_hands, present, video_landmarks
from signlang.i3d_weights import cache_damage
from signlang.synthetic import write_noisy_blob_video
from signlang.videoset import resolve_set

REPO = Path(__file__).resolve().parents[1]


def fake_wheel(path: Path) -> dict:
    """A zip with two stand-in networks at the wheel's member paths; returns members as build_task takes them."""
    import hashlib

    members = {}
    with zipfile.ZipFile(path, "w") as wheel:
        for name, (member, _) in handmodel.MEMBERS.items():
            data = f"network {name}".encode() * 50
            wheel.writestr(member, data)
            members[name] = (member, hashlib.sha256(data).hexdigest())
    return members


def test_bundle_holds_the_two_networks_under_the_task_names_and_records_its_sha256(tmp_path):
    members = fake_wheel(tmp_path / "w.whl")
    target = handmodel.build_task(tmp_path / "w.whl", tmp_path / "hand_landmarker.task", None, members)
    with zipfile.ZipFile(target) as bundle:
        assert sorted(bundle.namelist()) == ["hand_detector.tflite", "hand_landmarks_detector.tflite"]
        assert bundle.read("hand_detector.tflite") == b"network hand_detector.tflite" * 50
        offsets = [info.header_offset + 30 + len(info.filename) + len(info.extra) for info in bundle.infolist()]
    assert all(offset % handmodel.ALIGN_BYTES == 0 for offset in offsets)  # each network starts aligned
    assert cache_damage(target) is None
    rebuilt = handmodel.build_task(tmp_path / "w.whl", tmp_path / "again.task", None, members)
    assert rebuilt.read_bytes() == target.read_bytes()  # the same wheel gives the same bundle


def test_a_wheel_or_member_with_another_hash_is_refused_and_nothing_is_written(tmp_path):
    members = fake_wheel(tmp_path / "w.whl")
    with pytest.raises(handmodel.HandModelError, match="pinned"):
        handmodel.build_task(tmp_path / "w.whl", tmp_path / "a.task")  # the real wheel's sha256
    bad = {**members, "hand_detector.tflite": (members["hand_detector.tflite"][0], "0" * 64)}
    with pytest.raises(handmodel.HandModelError, match="differs from the pinned sha256"):
        handmodel.build_task(tmp_path / "w.whl", tmp_path / "b.task", None, bad)
    assert not list(tmp_path.glob("*.task"))


def test_a_missing_model_is_one_line_naming_the_download_command(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    with pytest.raises(handmodel.HandModelError, match=r"run `python hands\.py --download`"):
        handmodel.require_task()
    (tmp_path / "set" / "train" / "a").mkdir(parents=True)
    (tmp_path / "set" / "train" / "b").mkdir(parents=True)
    assert hands.main(["--set", str(tmp_path / "set")]) == 2


def test_offline_download_fails_in_one_line_with_the_fix(tmp_path):
    env = {**os.environ, "KERAS_HOME": str(tmp_path / "keras"), "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1",
           "PIP_FIND_LINKS": ""}
    result = subprocess.run([sys.executable, "hands.py", "--download"], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "--wheel" in errors[0] and handmodel.WHEEL_REQUIREMENT in errors[0], result.stderr
    assert not (tmp_path / "keras" / "models" / handmodel.TASK_NAME).exists()


def test_tracks_keep_one_slot_although_the_label_flips():
    hand = np.zeros((21, 3), np.float32)
    frames = []
    for i in range(10):  # one hand moving right, labelled "Left" in two frames; a second hand appears at 6
        found = [("Left" if i in (3, 7) else "Right", 0.9, hand + [0.01 * i, 0, 0])]
        if i >= 6:
            found.append(("Right", 0.6, hand + [-0.4, 0.2, 0]))
        frames.append(found)
    frames.insert(5, [])  # lost for a frame
    landmarks = assign_hands(frames)
    assert landmarks.shape == (11, *LANDMARK_SHAPE)
    found = present(landmarks)
    assert found[:, 1].sum() == 10 and not found[5].any()  # the first hand: always the right slot
    assert found[7:, 0].all() and not found[:7, 0].any()  # the second: the other slot, though labelled "Right"
    assert np.allclose(landmarks[7:, 0, 0, :2], [-0.4, 0.2])


@pytest.fixture(scope="module")
def real_clip_landmarks(shared_data):
    """Landmarks of every frame of the real signer (58 frames, 540x720, 29.9 fps)."""
    handmodel.require_task()
    return video_landmarks(shared_data / "real" / "signing_clip.mp4", None)


@pytest.mark.slow  # with the fixture: MediaPipe's start (~4 s) and 58 frames at 540x720 (~1-2 s on 2 cores, idle)
def test_real_signer_hand_is_found_where_raised_and_not_where_down(real_clip_landmarks):
    found = present(real_clip_landmarks)
    assert real_clip_landmarks.shape == (58, *LANDMARK_SHAPE)
    # The signer's right hand is raised from about frame 17 to 44 (looked at frame by frame) and rests below the
    # frame before and after.
    assert found[17:45].any(axis=1).sum() >= 18, found.any(axis=1).nonzero()
    assert not found[:14].any() and not found[48:].any(), found.any(axis=1).nonzero()


@pytest.mark.slow
def test_real_signer_hand_keeps_one_slot_and_lies_in_the_frame(real_clip_landmarks):
    found = present(real_clip_landmarks)
    assert found[:, HANDS.index("right")].sum() == found.sum()  # never the left slot: stable handedness
    points = real_clip_landmarks[found][..., :3]
    # x, y in shorter sides from the centre: a 540x720 frame spans x in [-0.5, 0.5], y in [-0.67, 0.67]
    assert np.abs(points[..., 0]).max() < 0.6 and np.abs(points[..., 1]).max() < 0.75
    # on the left half of the image (her right hand, a non-mirrored camera) and 21 distinct points per hand
    assert np.median(points[:, 0, 0]) < 0
    spread = np.ptp(points[..., :2], axis=1).max(axis=1)
    assert (spread > 0.05).all() and (spread < 0.6).all()
    assert not np.any(real_clip_landmarks[~found])  # a missing hand is all zeros


@pytest.mark.slow
def test_step_writes_a_file_per_video_skips_on_rerun_and_says_which_clips_show_no_hands(tmp_path, shared_data,
                                                                                        capsys):
    handmodel.require_task()
    folder = tmp_path / "data-set" / "mine" / "002"
    for split in ("train", "val"):
        (folder / split / "wave").mkdir(parents=True)
        (folder / split / "wave" / "take.mp4").symlink_to(shared_data / "real" / "signing_clip.mp4")
        write_noisy_blob_video(folder / split / "blob" / "take.avi", (1, 0), num_frames=20)
    video_set = resolve_set(str(folder), root=tmp_path, num_frames=8)
    summary = hands.videos_to_landmarks(video_set)
    out = capsys.readouterr().out
    assert (summary.done, summary.skipped, summary.failed) == (4, 0, [])
    assert "hands: no hands found in 2 of 4 clips" in out
    written = sorted(video_set.stream_dir("hands").glob("*/*/*.npy"))
    assert [p.relative_to(video_set.stream_dir("hands")).as_posix() for p in written] == [
        "train/blob/take.npy", "train/wave/take.npy", "val/blob/take.npy", "val/wave/take.npy"]
    wave = np.load(written[1])
    assert wave.shape == (8, *LANDMARK_SHAPE) and present(wave).any()
    again = hands.videos_to_landmarks(video_set)
    assert (again.done, again.skipped) == (0, 4)
