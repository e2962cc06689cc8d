"""Real-world videos through frame.py and opticalflow.py: H.264 phone clip, portrait, odd frame rates,
several containers and sizes in one set, a clip shorter than --num-frames, a rotation tag."""
import struct
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest

from signlang.flow import files_to_flows
from signlang.synthetic import blob_frames
from signlang.video import files_to_frames, jpg_files, video_info, video_to_frames, write_video
from signlang import steps


def sizes(folder: Path) -> set[tuple]:
    return {cv2.imread(str(path)).shape for path in jpg_files(folder)}


def test_real_h264_portrait_clip_goes_through_frames_and_flow(shared_data, tmp_path):
    clip = shared_data / "real" / "signing_clip.mp4"  # H.264, 540x720 portrait, 29.92 fps, 58 frames
    video = tmp_path / "videos" / "train" / "sign" / "signing_clip.mp4"
    video.parent.mkdir(parents=True)
    video.symlink_to(clip)  # read in place, never copied into the repo
    num_frames, fps, _ = video_info(clip)
    decoded = video_to_frames(clip, min_dim_px=None)
    assert decoded.shape[1:] == (720, 540, 3) and abs(len(decoded) - num_frames) <= 1 and 29 < fps < 31
    summary = steps.videos_dir_to_frames_dir(tmp_path / "videos", tmp_path / "image", num_frames=16, min_dim_px=128)
    assert (summary.done, summary.failed) == (1, [])
    folder = tmp_path / "image" / "train" / "sign" / "signing_clip"
    assert len(jpg_files(folder)) == 16 and sizes(folder) == {(171, 128, 3)}  # 720x540 -> 171x128
    summary = steps.frames_dir_to_flows_dir(tmp_path / "image", tmp_path / "oflow", "farneback")
    flows = files_to_flows(tmp_path / "oflow" / "train" / "sign" / "signing_clip")
    assert (summary.done, summary.failed) == (1, []) and flows.shape == (16, 171, 128, 2)
    assert np.abs(flows[1:]).max() > 0.01  # a person signing moves


def test_mixed_containers_sizes_rates_and_a_short_clip_in_one_set(tmp_path):
    videos = tmp_path / "videos" / "train" / "wave"
    clips = {  # name: (frames, height, width, fps)
        "landscape.avi": (20, 96, 128, 30.0),
        "portrait.mp4": (20, 128, 96, 60.0),
        "ntsc.mov": (20, 72, 96, 30000 / 1001),
        "web.webm": (20, 96, 128, 25.0),
        "short.avi": (5, 96, 128, 29.97),  # fewer frames than --num-frames: frames are repeated
    }
    for name, (count, height, width, fps) in clips.items():
        write_video(videos / name, blob_frames(count, height, width), fps)
        assert video_info(videos / name)[1] == pytest.approx(fps, rel=0.01)
    summary = steps.videos_dir_to_frames_dir(tmp_path / "videos", tmp_path / "image", num_frames=8, min_dim_px=64,
                                             crop_px=64)
    assert (summary.done, summary.failed) == (len(clips), [])
    for name in clips:
        folder = tmp_path / "image" / "train" / "wave" / Path(name).stem
        assert len(jpg_files(folder)) == 8 and sizes(folder) == {(64, 64, 3)}, name
    short = files_to_frames(tmp_path / "image" / "train" / "wave" / "short")
    assert np.array_equal(short[0], short[1])  # 5 -> 8 frames: [0, 0, 1, 1, 2, 3, 3, 4]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = steps.frames_dir_to_flows_dir(tmp_path / "image", tmp_path / "oflow", "farneback")
    assert (summary.done, summary.failed) == (len(clips), [])


def rotation_tagged(path: Path, rotated: Path) -> Path:
    """A copy of an .mp4 whose track header says "display rotated 90 degrees" (ISO 14496-12 tkhd matrix),
    as a phone filming upright writes it (no ffmpeg here to tag one)."""
    data = bytearray(path.read_bytes())
    box = data.index(b"tkhd")
    matrix_at = box + 4 + (40 if data[box + 4] == 0 else 52)  # after version/flags, times, ids, layer, volume
    struct.pack_into(">9i", data, matrix_at, 0, 65536, 0, -65536, 0, 0, 0, 0, 0x40000000)  # 16.16 / 2.30 fixed point
    rotated.parent.mkdir(parents=True, exist_ok=True)
    rotated.write_bytes(bytes(data))
    return rotated


def test_rotation_tag_is_applied_frames_come_out_upright(tmp_path):
    images = blob_frames(6, 48, 64)
    images[:, :8, :16] = 255  # a white mark in the top-left corner
    plain = write_video(tmp_path / "plain.mp4", images, 30)
    rotated = rotation_tagged(plain, tmp_path / "videos" / "train" / "wave" / "rotated.mp4")
    capture = cv2.VideoCapture(str(rotated))
    assert capture.get(cv2.CAP_PROP_ORIENTATION_META) == 90
    capture.release()
    upright = video_to_frames(rotated, min_dim_px=None)
    assert upright.shape == (6, 64, 48, 3)  # OpenCV 5 applied the tag (CAP_PROP_ORIENTATION_AUTO)
    expected = np.rot90(video_to_frames(plain, min_dim_px=None), k=-1, axes=(1, 2))  # 90 degrees clockwise
    assert np.abs(upright.astype(int) - expected).mean() < 3
    assert upright[0, :16, -8:].mean() > 200 and upright[0, :16, :8].mean() < 150  # the mark is now top-right
    summary = steps.videos_dir_to_frames_dir(tmp_path / "videos", tmp_path / "image", num_frames=4, min_dim_px=32)
    assert summary.done == 1 and sizes(tmp_path / "image" / "train" / "wave" / "rotated") == {(43, 32, 3)}
