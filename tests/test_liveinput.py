"""liveinput.py: the recorder and the sliding windows give exactly clip_inputs' arrays (no TensorFlow)."""
import threading
import time

import numpy as np
import pytest

import frame
from signlang import liveinput
from signlang.predictor import clip_inputs
from signlang.sources import FileSource
from signlang.synthetic import (DIRECTIONS, noisy_blob_frames as blob_frames, numbered_frames,
                                write_noisy_blob_video as write_blob_video)
from signlang.video import Path, frame_indices, frames_crop, frames_resize_min_side, video_to_frames


def test_recorder_uses_exactly_the_frames_of_frame_indices():
    for num_in, num_frames in ((30, 8), (5, 8)):  # down-sampling skips frames, up-sampling repeats them
        recorder = liveinput.ClipRecorder(num_in, num_frames, min_dim_px=16, crop_px=16, streams=("rgb",))
        frames = numbered_frames(num_in)
        assert [recorder.add(image) for image in frames] == [False] * (num_in - 1) + [True]
        rgb = recorder.inputs(timeout=10)["rgb"][0]  # (num_frames, 16, 16, 3) in [-1, 1]
        used = np.round((rgb[:, 0, 0, 0] + 1) * 127.5 / 5).astype(int)
        assert used.tolist() == frame_indices(num_in, num_frames).tolist()
        with pytest.raises(RuntimeError, match="already holds"):
            recorder.add(frames[0])


@pytest.mark.parametrize("crop_px", [None, 48])
def test_incremental_flow_equals_offline_clip_inputs(tmp_path, crop_px):
    # crop_px None (livedemo: the Predictor takes its views' crops): the whole resized frame; 48: its centre crop
    video = write_blob_video(tmp_path / "clip.avi", DIRECTIONS[2], num_frames=50, seed=3)
    with FileSource(video, pace=False) as source:
        recorder = liveinput.ClipRecorder(50, 8, min_dim_px=64, crop_px=crop_px, streams=("flow", "rgb"))
        while not recorder.add(source.read()):
            pass
    live = recorder.inputs(timeout=30)
    offline = clip_inputs(video_to_frames(video, 64), ("flow", "rgb"), 8, "tvl1-fast")
    if crop_px is not None:
        offline = {stream: frames_crop(x, crop_px, crop_px) for stream, x in offline.items()}
    for stream in ("flow", "rgb"):
        size = (48, 48) if crop_px else video_to_frames(video, 64).shape[1:3]
        assert live[stream].shape == offline[stream].shape == (1, 8, *size, 2 if stream == "flow" else 3)
        assert np.allclose(live[stream], offline[stream], atol=1e-6)
    assert np.all(live["flow"][0, 0] == 0) and np.abs(live["flow"][0, 1:]).max() > 0.02
    assert recorder.t_end >= recorder.t_start


def test_sliding_windows_equal_offline_clips_of_the_window(tmp_path):

    stride, window, hop = liveinput.window_geometry(num_frames=8, duration_s=2.0, fps=25.0, hop_s=0.5)
    assert (stride, window, hop) == (6, 48, 12)
    assert frame_indices(window, 8).tolist() == list(range(0, window, stride))  # the training rule
    frames = frames_resize_min_side(blob_frames(DIRECTIONS[1], 72, np.random.default_rng(5)), 64)
    got = []
    windows = liveinput.SlidingWindows(8, stride, hop, 64, None, lambda inputs, t, end: got.append((end, inputs)),
                                          skip_late=False)
    for image in frames:
        windows.add(image)
    windows.finish(timeout=30)
    assert [end for end, _ in got] == [48, 60, 72]  # windows start at frames 0, 12 and 24
    for end, inputs in got:
        offline = clip_inputs(frames[end - window:end], ("flow",), 8)
        assert np.allclose(inputs["flow"], offline["flow"], atol=1e-6)


def test_liveinput_imports_no_tensorflow():
    import subprocess
    import sys

    code = "import sys, videocapture, livedemo; from signlang import liveinput; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(Path(frame.__file__).parent)).stdout.split()
    assert out == ["False", "False"]


@pytest.mark.parametrize("kind", ["clip", "windows"])
def test_close_waits_until_the_worker_thread_has_ended(kind, monkeypatch):
    # A worker still inside OpenCV at interpreter exit aborts the process (issue 9 item 15): close() must join it.
    busy = threading.Event()

    def slow_prepare(self, image):
        busy.set()
        time.sleep(0.3)
        return {"flow": np.zeros((8, 8, 2), np.float32)}

    monkeypatch.setattr(liveinput._InputWorker, "prepare", slow_prepare)
    if kind == "clip":
        worker = liveinput.ClipRecorder(num_in=40, num_frames=8, min_dim_px=16, crop_px=8)
    else:
        worker = liveinput.SlidingWindows(8, 1, 1, 16, 8, on_window=lambda *args: None)
    for image in numbered_frames(6):
        worker.add(image)
    assert busy.wait(5)
    worker.close()
    assert not worker._thread.is_alive()
