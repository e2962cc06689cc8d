"""Network input prepared while recording: a clip recorder and sliding windows with incremental flow.

Users: livedemo.py, videocapture.py and bench/livedemo.py use it; no TensorFlow.

A recording of num_in frames is sampled with `frame_indices(num_in, num_frames)`, each sampled frame
is resized so its smaller side is min_dim_px, flow runs between consecutive SAMPLED frames on the full
resized frame (the first flow is zeros), then (given crop_px) the center crop; without crop_px the whole resized
frame, exactly clip_inputs (the Predictor takes its views' crops). The
difference: it happens in a worker thread WHILE recording, as soon as a sampled frame arrives, so at the
end of the recording only the network is left to run. OpenCV releases the GIL inside its flow code, so
capture and preview stay fluent; if flow falls behind, its queue holds only sampled frames to catch up.

The "hands" stream (hands.py's landmarks) is found in the same worker on each sampled frame as captured (not
resized, as the hands step reads videos), numbered 1/fps apart as the step numbers them; the hands keep their
slots over the clip (or window) when it is complete (hands.assign_hands), then hands.hand_features. The newest
sampled frame's hands are in `latest_hands`, for the preview to draw.
"""
import collections
import os
import queue
import sys
import threading
import time

import numpy as np
from signlang.flow import OpticalFlow, SEED_FLOW_METHOD
from signlang.hands import Landmarker, assign_hands, hand_features
from signlang.video import bgr_to_model_rgb, frame_indices, frames_crop, image_resize_min_side

# The flow worker runs at a lower priority (Linux nice, this thread only) so that on a busy machine the
# capture/preview thread is served first and stays fluent; on an idle machine this changes nothing.
WORKER_NICE = 5


def clip_length(duration_s: float, fps: float) -> int:
    """Frames in a recording of duration_s at fps (at least 1)."""
    if not duration_s > 0 or not fps > 0:
        raise ValueError(f"duration_s={duration_s}, fps={fps}; both must be > 0")
    return max(1, round(duration_s * fps))


# How long `close` waits for the worker to finish the item it is on (one flow, or one prediction of a window).
CLOSE_TIMEOUT_S = 60.0


class _InputWorker:
    """Prepares network input from sampled frames in a background thread: resize -> flow -> crop (and RGB);
    crop_px None keeps the whole resized frame.

    Items are processed in queue order; `flow_of(image)` keeps the flow state between consecutive items.
    """

    def __init__(self, min_dim_px: int, crop_px: int | None, streams, flow_method: str, fps: float = 25.0):
        streams = tuple(streams)
        unknown = set(streams) - {"flow", "rgb", "hands"}
        if not streams or unknown:
            raise ValueError(f"streams={streams}; use 'flow', 'rgb' and/or 'hands'")
        if crop_px is not None and crop_px > min_dim_px:
            raise ValueError(f"crop_px={crop_px} is larger than min_dim_px={min_dim_px}; the crop must fit")
        self.min_dim_px, self.crop_px, self.streams = min_dim_px, crop_px, streams
        self.flow = OpticalFlow(flow_method) if "flow" in streams else None
        # MediaPipe (imported by the first Landmarker of the process, ~4 s; then ~20 ms each) before the thread
        self.hands = Landmarker() if "hands" in streams else None
        self.frame_ms = 1000.0 / fps  # the hands' timestamps: sampled frames 1/fps apart, as hands.py numbers them
        self.latest_hands: tuple | None = None  # ((h, w) of the frame, [(label, score, points (21, 3))])
        self.sample = 0  # the number of the sampled frame being prepared (in the clip or the stream)
        self.error: BaseException | None = None
        self.num_done = 0
        self.seconds_busy = 0.0
        self._queue: queue.Queue = queue.Queue()
        self._cancelled = False
        self._thread = threading.Thread(target=self._run, name=type(self).__name__, daemon=True)
        self._thread.start()

    def prepare(self, image: np.ndarray) -> dict:
        """One sampled frame (h, w, 3) uint8 BGR -> stream -> (crop, crop, channels) float32 in [-1, 1] (without
        crop_px the resized frame's size); "hands":
        its detections (hands.Landmarker.add), timed as the `sample`-th sampled frame (set by handle)."""
        out = {}
        if self.hands is not None:
            out["hands"] = self.hands.add(image, round(self.sample * self.frame_ms))
            self.latest_hands = (image.shape[:2], out["hands"])
        if not set(self.streams) - {"hands"}:
            return out
        resized = image_resize_min_side(image, self.min_dim_px)
        crop = (lambda x: x) if self.crop_px is None else (lambda x: frames_crop(x, self.crop_px, self.crop_px))
        if self.flow is not None:
            out["flow"] = crop(self.flow.next(resized))
        if "rgb" in self.streams:
            out["rgb"] = bgr_to_model_rgb(crop(resized))
        return out

    def _run(self):
        if sys.platform.startswith("linux") and WORKER_NICE:
            try:  # on Linux, a thread id as PRIO_PROCESS "who" changes only this thread
                nice = os.getpriority(os.PRIO_PROCESS, 0) + WORKER_NICE
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), min(nice, 19))
            except OSError:
                pass
        while True:
            item = self._queue.get()
            if item is None or self._cancelled:
                return
            if self.error is not None:
                continue
            start = time.perf_counter()
            try:
                self.handle(item)
            except BaseException as error:  # reported to the caller by wait()
                self.error = error
            self.seconds_busy += time.perf_counter() - start
            self.num_done += 1

    def handle(self, item) -> None:
        raise NotImplementedError

    @property
    def backlog(self) -> int:
        """Sampled frames waiting for flow."""
        return self._queue.qsize()

    def finish(self, timeout: float | None = None) -> None:
        """Processes everything queued, then stops; re-raises an error of the worker."""
        self._queue.put(None)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"Optical flow did not finish within {timeout} s")
        if self.hands is not None:
            self.hands.close()
        if self.error is not None:
            raise self.error

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> None:
        """Stops the worker without finishing its queue (Ctrl-C, abandoned recording) and waits for it.

        The wait matters: a daemon thread still inside OpenCV's flow when the interpreter exits is ended by
        pthread_exit, whose unwinding through OpenCV's C++ catch (...) aborts the process ("FATAL: exception
        not rethrown", signal 6; issue 9 item 15). The worker stops after the item it is on.
        """
        self._cancelled = True
        self._queue.put(None)
        self._thread.join(timeout)
        if self._thread.is_alive():
            print(f"liveinput: warning: the flow worker did not stop within {timeout:g} s", file=sys.stderr)
        elif self.hands is not None:
            self.hands.close()


class ClipRecorder(_InputWorker):
    """Records a clip of num_in frames and prepares the model's input from it while recording.

    Call `add(frame)` for each captured frame; it returns True with the last one. `inputs()` then waits
    for the worker (usually only for the last sampled frame) and returns what `clip_inputs`
    would give for the same frames.

    Args:
        num_in: frames to record (`clip_length(duration_s, fps)`).
        num_frames: frames the model takes; the sampled ones are `frame_indices(num_in, num_frames)`.
        min_dim_px: smaller side after resizing (VideoSet.min_dim_px).
        crop_px: center crop (None: the whole resized frame, for the Predictor's views; or only "hands").
        streams: "flow", "rgb" and/or "hands".
        flow_method: one of METHODS; the one the model was trained with.
        keep_frames: keep every captured frame (for saving the clip).
        fps: the capture's frame rate (the hands' timestamps).
    """

    def __init__(self, num_in: int, num_frames: int, min_dim_px: int, crop_px: int | None, streams=("flow",),
                 flow_method: str = SEED_FLOW_METHOD, keep_frames: bool = False, fps: float = 25.0):
        if num_in < 1 or num_frames < 1:
            raise ValueError(f"num_in={num_in}, num_frames={num_frames}; both must be >= 1")
        self.num_in, self.num_frames = num_in, num_frames
        self.indices = frame_indices(num_in, num_frames)
        # captured frame index -> its positions in the clip (an index repeats when a short clip is upsampled)
        self._positions = collections.defaultdict(list)
        for position, index in enumerate(self.indices):
            self._positions[int(index)].append(position)
        self._clip = {}
        self.frames: list[np.ndarray] | None = [] if keep_frames else None
        self.num_recorded = 0
        self.t_start = self.t_end = None  # perf_counter of the first and last frame
        super().__init__(min_dim_px, crop_px, streams, flow_method, fps)

    @property
    def done(self) -> bool:
        return self.num_recorded >= self.num_in

    @property
    def elapsed_s(self) -> float:
        return 0.0 if self.t_start is None else time.perf_counter() - self.t_start

    def add(self, image: np.ndarray) -> bool:
        """Records one captured frame (h, w, 3) uint8 BGR; returns True when the clip is complete."""
        if self.done:
            raise RuntimeError(f"The clip already holds its {self.num_in} frames; start a new ClipRecorder")
        now = time.perf_counter()
        if self.t_start is None:
            self.t_start = now
        for position in self._positions.get(self.num_recorded, ()):
            self._queue.put((position, image))
        if self.frames is not None:
            self.frames.append(image)
        self.num_recorded += 1
        if self.done:
            self.t_end = now
        return self.done

    def handle(self, item) -> None:
        position, image = item
        self.sample = position
        for stream, array in self.prepare(image).items():
            if stream == "hands":
                continue  # kept by the landmarker, in position order
            if stream not in self._clip:
                self._clip[stream] = np.zeros((self.num_frames, *array.shape), dtype=np.float32)
            self._clip[stream][position] = array

    def inputs(self, timeout: float | None = None) -> dict:
        """stream -> (1, num_frames, crop_px, crop_px, channels) float32 in [-1, 1] (without crop_px the resized
        frame's size); waits for the worker.

        Raises:
            RuntimeError: the recording is not complete.
        """
        if not self.done:
            raise RuntimeError(f"Recording has {self.num_recorded} of {self.num_in} frames; record the rest first")
        self.finish(timeout)
        if self.hands is not None:
            self._clip["hands"] = hand_features(self.hands.result())  # (num_frames, features)
        return {stream: clip[None] for stream, clip in self._clip.items()}


DEFAULT_HOP_S = 0.5  # continuous recognition: a prediction about every half second (livedemo.py's HOP_S)


def window_geometry(num_frames: int, duration_s: float, fps: float, hop_s: float) -> tuple[int, int, int]:
    """Continuous recognition on a fixed sampling grid: (stride, window, hop) in captured frames.

    The window holds `num_frames` samples `stride` frames apart, with stride = round(duration_s * fps /
    num_frames) (at least 1), so window = stride * num_frames is about duration_s; for a clip of exactly
    `window` frames `frame_indices` gives the same samples, so each window is prepared as training
    prepares such a clip. Windows start every `hop` frames (a multiple of stride, about hop_s), so all
    windows share one grid and the flow of each sampled frame is computed once for every window.
    """
    stride = max(1, round(duration_s * fps / num_frames))
    hop = stride * max(1, round(hop_s * fps / stride))
    return stride, stride * num_frames, hop


class SlidingWindows(_InputWorker):
    """Continuous recognition: every `hop` frames, the model input of the last window of the stream.

    Every `stride`-th captured frame is a sample; the worker computes its flow from the previous sample.
    When a window is complete, `on_window(inputs, t_last, window_end)` is called in the worker thread with
    stream -> (1, num_frames, crop, crop, channels) (without crop_px the resized frame's size; the window's first flow
    set to zeros, as for a clip),
    the perf_counter of its last sample's capture and the captured-frame index one past the window.
    With skip_late (live sources) a window is skipped when the worker has fallen behind by more than one
    hop, so that the shown prediction stays current; without (a file read as fast as possible) every
    window is predicted.
    """

    def __init__(self, num_frames: int, stride: int, hop: int, min_dim_px: int, crop_px: int | None, on_window,
                 streams=("flow",), flow_method: str = SEED_FLOW_METHOD, skip_late: bool = True, fps: float = 25.0):
        if stride < 1 or hop < stride or hop % stride:
            raise ValueError(f"stride={stride}, hop={hop}; need stride >= 1 and hop a positive multiple of stride")
        self.num_frames, self.stride, self.hop_samples = num_frames, stride, hop // stride
        self.on_window, self.skip_late = on_window, skip_late
        self.num_recorded = 0
        self.num_windows = self.num_skipped = 0
        self._samples = collections.deque(maxlen=num_frames)
        super().__init__(min_dim_px, crop_px, streams, flow_method, fps)

    def add(self, image: np.ndarray) -> None:
        """Feeds one captured frame (h, w, 3) uint8 BGR."""
        if self.num_recorded % self.stride == 0:
            self._queue.put((self.num_recorded // self.stride, image, time.perf_counter()))
        self.num_recorded += 1

    def handle(self, item) -> None:
        sample, image, t_capture = item
        self.sample = sample
        self._samples.append(self.prepare(image))
        first = sample - self.num_frames + 1
        if first < 0 or first % self.hop_samples:
            return
        if self.skip_late and self.backlog > self.hop_samples:
            self.num_skipped += 1
            return
        inputs = {}
        for stream in self.streams:
            if stream == "hands":  # the window's hands get their slots as a recorded clip's do
                inputs[stream] = hand_features(assign_hands([s[stream] for s in self._samples]))[None]
                continue
            clip = np.stack([s[stream] for s in self._samples])
            if stream == "flow":
                clip[0] = 0.0  # a window starts a clip: its first flow is zeros, as for a recorded clip
            inputs[stream] = clip[None]
        self.num_windows += 1
        self.on_window(inputs, t_capture, (sample + 1) * self.stride)
