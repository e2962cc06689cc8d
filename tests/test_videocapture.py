"""videocapture.py: file sources paced like a camera, camera errors and release, recording with incremental flow."""
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import frame
import videocapture

DIRECTIONS = ((1, 0), (0, 1), (-1, 0), (0, -1))  # class k: a blob moving right, down, left, up


def blob_frames(direction, num_frames, rng, size=(128, 96)) -> np.ndarray:
    """(num_frames, h, w, 3) uint8 BGR: a bright blob on noise crossing the middle at ~1 px/frame."""
    width, height = size
    speed = rng.uniform(0.9, 1.2)
    x0, y0 = rng.uniform(0.4, 0.6) * width, rng.uniform(0.4, 0.6) * height
    yy, xx = np.mgrid[0:height, 0:width]
    frames = []
    for t in range(num_frames):
        cx = x0 + direction[0] * speed * (t - num_frames / 2)
        cy = y0 + direction[1] * speed * (t - num_frames / 2)
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 10.0**2))
        frames.append(np.clip(60 + 170 * blob[..., None] + rng.normal(0, 4, (height, width, 3)), 0, 255))
    return np.stack(frames).astype(np.uint8)


def write_video(path: Path, frames, fps: float = 25.0) -> Path:
    """Writes (n, h, w, 3) uint8 BGR frames as an MJPG .avi (the demo set's format)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (frames[0].shape[1], frames[0].shape[0]))
    try:
        for image in frames:
            writer.write(image)
    finally:
        writer.release()
    return path


def write_blob_video(path: Path, direction, num_frames: int = 50, seed: int = 0, fps: float = 25.0) -> Path:
    return write_video(path, blob_frames(direction, num_frames, np.random.default_rng(seed)), fps)


def numbered_frames(num: int, size: int = 16) -> np.ndarray:
    """(num, size, size, 3) uint8: frame i is filled with the value 5 * i, so a frame tells its index."""
    return np.stack([np.full((size, size, 3), 5 * i, np.uint8) for i in range(num)])


class FakeCapture:
    """Stands in for cv2.VideoCapture(device): opens only the devices in `working`, counts releases."""

    instances: list = []
    working: set = set()

    def __init__(self, device):
        self.device, self.released, self.reads = device, False, 0
        FakeCapture.instances.append(self)

    def isOpened(self):
        return self.device in FakeCapture.working

    def set(self, prop, value):
        return True

    def get(self, prop):
        return 30.0

    def read(self):
        self.reads += 1
        return True, np.full((48, 64, 3), self.reads % 256, np.uint8)

    def release(self):
        self.released = True


@pytest.fixture
def fake_cameras(monkeypatch):
    """cv2.VideoCapture replaced by FakeCapture; set FakeCapture.working to the devices that open."""
    FakeCapture.instances, FakeCapture.working = [], set()
    monkeypatch.setattr(cv2, "VideoCapture", FakeCapture)
    return FakeCapture


def test_paced_replay_takes_the_clip_duration_and_no_pace_sleeps_never(tmp_path):
    video = write_blob_video(tmp_path / "clip.avi", DIRECTIONS[0], num_frames=25)  # 1 s at 25 fps
    for pace in (True, False):
        now, slept = [0.0], []
        with videocapture.FileSource(video, pace=pace, clock=lambda: now[0],
                                     sleep=lambda s: slept.append(s) or now.__setitem__(0, now[0] + s)) as source:
            times = []
            while source.read() is not None:
                times.append(now[0])
        assert len(times) == 25 and source.num_dropped == 0
        if pace:  # frame i is delivered when it is due, i/25 s after frame 0 on the source's clock
            assert times == pytest.approx([i / 25 for i in range(25)])
        else:
            assert slept == [] and times == [0.0] * 25


def test_late_reader_gets_the_current_frame_and_stale_frames_are_dropped(tmp_path):
    frame.frames_to_files(numbered_frames(20), tmp_path / "frames")
    now = [0.0]
    slept = []
    source = videocapture.FileSource(tmp_path / "frames", pace=True, fps=25.0, clock=lambda: now[0],
                                     sleep=lambda s: slept.append(s) or now.__setitem__(0, now[0] + s))
    assert source.read()[0, 0, 0] == 0
    source.read()  # frame 1: on time, the source sleeps until it is due
    assert slept == [pytest.approx(0.04)]
    now[0] = 0.21  # the reader comes back late: frame 5 (due at 0.20 s) is the current one
    image = source.read()
    assert source.num_dropped == 3
    assert abs(int(image[0, 0, 0]) - 5 * 5) <= 2  # frames 2-4 were replaced by frame 5, as a camera would
    source.release()
    assert source.read() is None


def test_frame_folder_loops_or_stops_at_its_end(tmp_path):
    frame.frames_to_files(numbered_frames(3), tmp_path / "frames")
    with videocapture.FileSource(tmp_path / "frames", pace=False, on_end="loop") as source:
        values = [int(source.read()[0, 0, 0]) for _ in range(7)]
    assert [round(v / 5) for v in values] == [0, 1, 2, 0, 1, 2, 0]
    with videocapture.FileSource(tmp_path / "frames", pace=False, on_end="stop") as source:
        assert [source.read() is None for _ in range(4)] == [False, False, False, True]


def test_unreadable_source_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.avi"):
        videocapture.open_source(tmp_path / "missing.avi")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="No .jpg frames"):
        videocapture.open_source(tmp_path / "empty")


def test_missing_camera_error_names_the_devices_tried_and_source(fake_cameras):
    with pytest.raises(videocapture.CameraError) as error:
        videocapture.open_camera(2)
    message = str(error.value)
    assert "2 (/dev/video2)" in message and "0 (/dev/video0)" in message and "--source FILE" in message
    assert [c.device for c in fake_cameras.instances] == [2, 0]
    assert all(c.released for c in fake_cameras.instances)


@pytest.mark.skipif(not sys.platform.startswith("linux") or any(Path("/dev").glob("video*")),
                    reason="needs a Linux machine without a camera")
def test_this_machine_without_camera_gets_the_clear_error():
    with pytest.raises(videocapture.CameraError, match=r"tried device 0 \(/dev/video0\).*--source FILE"):
        videocapture.open_camera(0)


def test_camera_falls_back_to_the_built_in_one_and_is_released_on_exceptions(fake_cameras):
    fake_cameras.working = {0}
    with pytest.raises(RuntimeError, match="boom"):
        with videocapture.open_camera(1) as camera:
            assert camera.index == 0 and camera.read().shape == (48, 64, 3)
            raise RuntimeError("boom")
    assert [(c.device, c.released) for c in fake_cameras.instances] == [(1, True), (0, True)]
