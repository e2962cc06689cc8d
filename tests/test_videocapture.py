"""videocapture.py: file sources paced like a camera, camera errors and release, recording with incremental flow."""
import sys
import time
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


def test_paced_replay_takes_the_clip_duration_and_no_pace_is_much_faster(tmp_path):
    video = write_blob_video(tmp_path / "clip.avi", DIRECTIONS[0], num_frames=25)  # 1 s at 25 fps
    timings = {}
    for pace in (True, False):
        start = time.perf_counter()
        with videocapture.FileSource(video, pace=pace) as source:
            count = 0
            while source.read() is not None:
                count += 1
        timings[pace] = time.perf_counter() - start
        assert count + source.num_dropped == 25
    assert 0.9 <= timings[True] < 1.6  # frame 24 is due 24/25 s after frame 0
    assert timings[False] < timings[True] / 3


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


def test_recorder_uses_exactly_the_frames_of_frame_indices():
    for num_in, num_frames in ((30, 8), (5, 8)):  # down-sampling skips frames, up-sampling repeats them
        recorder = videocapture.ClipRecorder(num_in, num_frames, min_dim_px=16, crop_px=16, streams=("rgb",))
        frames = numbered_frames(num_in)
        assert [recorder.add(image) for image in frames] == [False] * (num_in - 1) + [True]
        rgb = recorder.inputs(timeout=10)["rgb"][0]  # (num_frames, 16, 16, 3) in [-1, 1]
        used = np.round((rgb[:, 0, 0, 0] + 1) * 127.5 / 5).astype(int)
        assert used.tolist() == frame.frame_indices(num_in, num_frames).tolist()
        with pytest.raises(RuntimeError, match="already holds"):
            recorder.add(frames[0])


def test_incremental_flow_equals_offline_clip_inputs(tmp_path):
    import predict

    video = write_blob_video(tmp_path / "clip.avi", DIRECTIONS[2], num_frames=50, seed=3)
    with videocapture.FileSource(video, pace=False) as source:
        recorder = videocapture.ClipRecorder(50, 8, min_dim_px=64, crop_px=48, streams=("flow", "rgb"))
        while not recorder.add(source.read()):
            pass
    live = recorder.inputs(timeout=30)
    offline = predict.clip_inputs(frame.video_to_frames(video, 64), ("flow", "rgb"), 8, 48, "tvl1-fast")
    for stream in ("flow", "rgb"):
        assert live[stream].shape == offline[stream].shape == (1, 8, 48, 48, 2 if stream == "flow" else 3)
        assert np.allclose(live[stream], offline[stream], atol=1e-6)
    assert np.all(live["flow"][0, 0] == 0) and np.abs(live["flow"][0, 1:]).max() > 0.02
    assert recorder.t_end >= recorder.t_start


def test_sliding_windows_equal_offline_clips_of_the_window(tmp_path):
    import predict

    stride, window, hop = videocapture.window_geometry(num_frames=8, duration_s=2.0, fps=25.0, hop_s=0.5)
    assert (stride, window, hop) == (6, 48, 12)
    assert frame.frame_indices(window, 8).tolist() == list(range(0, window, stride))  # the training rule
    frames = frame.images_resize_aspectratio(blob_frames(DIRECTIONS[1], 72, np.random.default_rng(5)), 64)
    got = []
    windows = videocapture.SlidingWindows(8, stride, hop, 64, 64, lambda inputs, t, end: got.append((end, inputs)),
                                          skip_late=False)
    for image in frames:
        windows.add(image)
    windows.finish(timeout=30)
    assert [end for end, _ in got] == [48, 60, 72]  # windows start at frames 0, 12 and 24
    for end, inputs in got:
        offline = predict.clip_inputs(frames[end - window:end], ("flow",), 8, 64)
        assert np.allclose(inputs["flow"], offline["flow"], atol=1e-6)


def test_preview_mirrors_only_the_display_and_overlays_draw():
    image = np.zeros((96, 128, 3), np.uint8)
    image[:, :10] = 200  # a bright left edge
    display = videocapture.preview_image(image, mirror=True, width_px=256)
    assert display.shape == (192, 256, 3)
    assert display[:, -10:].mean() > 150 and display[:, :10].mean() < 50  # mirrored on screen ...
    assert image[:, :10].mean() == 200 and image[:, 10:].max() == 0  # ... the captured frame untouched
    videocapture.draw_box(display, "Press SPACE to start", videocapture.GREEN)
    green = (display == videocapture.GREEN).all(axis=-1)
    assert green[96].sum() > 20 and not green[:60].any() and not green[130:].any()  # a box in the centre
    y0, y1 = videocapture.draw_lines(display, ["1. dir0 90%", "latency 0.10 s"])
    assert y1 == 192 and y0 < 192 and (display[y0:y1] > 120).any()  # light text on the band
