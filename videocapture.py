"""A webcam or a video file as a live frame source, the demo's overlays, and recording with incremental flow.

    python videocapture.py --source data-set/demo/010/val/circle_cw/s07_0000.avi --seconds 3 --headless

Run as a script it opens the source (default: the webcam), records one clip of --seconds while computing
the optical flow of the frames a model would see, and prints how fluent the capture stayed. With a window
(no --headless) it shows the mirrored preview; SPACE records, q quits.

Sources (`open_source`): a camera by index, falling back to the built-in one (0); or a video file or a
folder of .jpg frames standing in for the camera, paced at the file's own frame rate so that it behaves
like a live camera (a frame is never delivered before its time; when the reader is late, stale frames are
dropped, as a camera driver does). `pace=False` reads as fast as possible.

Recording (`ClipRecorder`) prepares the network input exactly as training did (frame.py, opticalflow.py,
predict.clip_inputs): a recording of num_in frames is sampled with `frame.frame_indices(num_in,
num_frames)`, each sampled frame is resized so its smaller side is min_dim_px, flow runs between
consecutive SAMPLED frames on the full resized frame (the first flow is zeros), then the center crop.
The difference: this happens in a worker thread WHILE recording, as soon as a sampled frame arrives, so at
the end of the recording only the network is left to run. OpenCV releases the GIL inside its flow code,
so capture and preview stay fluent; if flow falls behind, its queue holds only sampled frames to catch up.
"""
import argparse
import collections
import os
import queue
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np

import frame
import opticalflow

# ---- camera and display ------------------------------------------------
CAMERA_WIDTH_PX, CAMERA_HEIGHT_PX = 640, 480  # the seed's webcam resolution
CAMERA_FPS = 25.0                             # the demo set's frame rate (videoset.DEMO_SET.fps)
FOLDER_FPS = 25.0                             # frame rate assumed for a folder of frames
DISPLAY_WIDTH_PX = 640                        # preview width; small test clips are scaled up to it
# BGR colours of the centred box: ready, countdown / working, recording.
GREEN, ORANGE, RED, WHITE = (0, 200, 0), (0, 140, 255), (0, 0, 230), (255, 255, 255)
FONT = cv2.FONT_HERSHEY_SIMPLEX  # Hershey fonts are built into OpenCV: no font files needed
# The flow worker runs at a lower priority (Linux nice, this thread only) so that on a busy machine the
# capture/preview thread is served first and stays fluent; on an idle machine this changes nothing.
WORKER_NICE = 5
# ------------------------------------------------------------------------
ON_END = ("stop", "loop")


class CameraError(RuntimeError):
    """No camera could be opened."""


class Source:
    """A live stream of BGR frames: `read()` gives the next frame, or None when the stream has ended.

    Attributes:
        fps: frames per second the stream delivers (a file's own rate; a camera's measured rate).
        name: for messages.
        num_read: frames delivered so far; num_dropped: frames skipped because the reader was late.
    """

    fps: float = CAMERA_FPS
    name: str = "source"

    def __init__(self):
        self.num_read = 0
        self.num_dropped = 0

    def read(self) -> np.ndarray | None:
        raise NotImplementedError

    @property
    def num_read_total(self) -> int:
        """Frames delivered plus frames dropped: the stream position in frames."""
        return self.num_read + self.num_dropped

    def release(self) -> None:
        """Frees the device or file; safe to call twice."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()
        return False


class Camera(Source):
    """A webcam opened by `open_camera`; its fps is measured from frame arrival times (drivers often
    announce 30 and deliver 15 in dim light, and the recording length in frames depends on it)."""

    def __init__(self, capture, index: int, nominal_fps: float):
        super().__init__()
        self.capture, self.index = capture, index
        self.name = f"camera {index}"
        self.nominal_fps = nominal_fps
        self._times = collections.deque(maxlen=31)

    @property
    def fps(self) -> float:
        if len(self._times) >= 11:
            span = self._times[-1] - self._times[0]
            if span > 0:
                return min((len(self._times) - 1) / span, 240.0)
        return self.nominal_fps

    def read(self) -> np.ndarray | None:
        grabbed, image = self.capture.read()
        if not grabbed or image is None:
            return None
        self._times.append(time.perf_counter())
        self.num_read += 1
        return image  # (h, w, 3) uint8 BGR

    def release(self) -> None:
        if self.capture is not None:
            self.capture.release()
            self.capture = None


def open_camera(index: int = 0, width: int = CAMERA_WIDTH_PX, height: int = CAMERA_HEIGHT_PX,
                fps: float = CAMERA_FPS) -> Camera:
    """Opens camera `index`, else the built-in camera 0; asks for width x height at fps (the driver may differ).

    A camera counts as open only when it also delivers a first frame.

    Raises:
        CameraError: none of the tried devices opens; the message lists them and suggests `--source FILE`.
    """
    tried = [index] if index == 0 else [index, 0]
    log_level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # our error below names what was tried
    try:
        for device in tried:
            camera = _try_camera(device, width, height, fps)
            if camera is not None:
                return camera
    finally:
        cv2.utils.logging.setLogLevel(log_level)
    devices = ", ".join(f"{d} (/dev/video{d})" if sys.platform.startswith("linux") else str(d) for d in tried)
    raise CameraError(
        f"No camera could be opened; tried device {devices}. Connect a webcam or choose another with "
        "--camera N, or replay a recorded sign instead: --source FILE (a video file or a folder of .jpg frames)"
    )


def _try_camera(device: int, width: int, height: int, fps: float) -> Camera | None:
    """Camera `device` when it opens and delivers a frame, else None (released)."""
    capture = cv2.VideoCapture(device)
    try:
        if capture.isOpened():
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
            capture.set(cv2.CAP_PROP_FPS, fps)
            grabbed, _ = capture.read()
            if grabbed:
                nominal = float(capture.get(cv2.CAP_PROP_FPS))
                camera, capture = Camera(capture, device, nominal if 1 <= nominal <= 240 else fps), None
                return camera
        return None
    finally:
        if capture is not None:
            capture.release()


class FileSource(Source):
    """A video file or a folder of .jpg frames standing in for a camera.

    Args:
        path: video file (anything OpenCV reads) or folder of frames (frame.py's frame0000.jpg ...).
        pace: deliver frames at the file's own rate, as a camera would (False: as fast as read).
        on_end: "stop" (read() returns None at the end) or "loop" (start again from the first frame).
        fps: override the frame rate (default: the file's; FOLDER_FPS for a folder).
        clock, sleep: injectable for tests.

    Raises:
        FileNotFoundError: no such file or folder, or a folder without .jpg frames.
        frame.VideoError: the file cannot be opened as a video.
    """

    def __init__(self, path, pace: bool = True, on_end: str = "stop", fps: float | None = None,
                 clock=time.perf_counter, sleep=time.sleep):
        super().__init__()
        if on_end not in ON_END:
            raise ValueError(f"on_end={on_end!r}; choose one of {ON_END}")
        self.path = Path(path)
        self.name = str(self.path)
        self.pace, self.on_end = pace, on_end
        self._clock, self._sleep = clock, sleep
        self._capture, self._files = None, None
        if self.path.is_dir():
            self._files = frame.jpg_files(self.path)
            if not self._files:
                raise FileNotFoundError(f"No .jpg frames in {self.path}; give a video file or a folder of frames")
            file_fps, self.num_frames = FOLDER_FPS, len(self._files)
        else:
            self.num_frames, file_fps, _ = frame.video_info(self.path)  # raises FileNotFoundError / VideoError
            self._capture = cv2.VideoCapture(str(self.path))
        self.fps = float(fps) if fps else (file_fps if file_fps > 0 else FOLDER_FPS)
        self._position = 0  # index of the next frame in the file
        self._t0 = None      # clock time at which frame 0 was delivered (pacing)

    def _next_frame(self) -> np.ndarray | None:
        """The next frame of the file, or None at its end (or the first frame again when looping)."""
        for attempt in range(2):
            if self._files is not None:
                if self._position < len(self._files):
                    image = cv2.imread(str(self._files[self._position]), cv2.IMREAD_COLOR)
                    if image is None:
                        raise ValueError(f"Cannot read image {self._files[self._position]}")
                    self._position += 1
                    return image
            elif self._capture is not None:
                grabbed, image = self._capture.read()
                if grabbed:
                    self._position += 1
                    return image
            if self.on_end != "loop" or attempt == 1 or self._position == 0:
                return None
            self._restart()
        return None

    def _restart(self) -> None:
        self._position = 0
        if self._capture is not None:
            self._capture.release()
            self._capture = cv2.VideoCapture(str(self.path))

    def _skip(self) -> None:
        """Skips one frame without decoding it."""
        if self._files is not None:
            if self._position < len(self._files):
                self._position += 1
        elif self._capture.grab():
            self._position += 1

    def read(self) -> np.ndarray | None:
        if self._capture is None and self._files is None:
            return None
        if self.pace:
            now = self._clock()
            if self._t0 is None:
                self._t0 = now
            due = self._t0 + self.num_read_total / self.fps
            if now < due:
                self._sleep(due - now)
            else:
                # Late by more than one frame: a camera would have replaced those frames; skip them.
                for _ in range(int((now - due) * self.fps)):
                    self._skip()
                    self.num_dropped += 1
        image = self._next_frame()
        if image is None:
            return None
        self.num_read += 1
        return image  # (h, w, 3) uint8 BGR

    def release(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None
        self._files = None


def open_source(source=None, camera: int = 0, width: int = CAMERA_WIDTH_PX, height: int = CAMERA_HEIGHT_PX,
                fps: float = CAMERA_FPS, pace: bool = True, on_end: str = "stop") -> Source:
    """A video file / frame folder (`source` path) or else the webcam `camera` (see open_camera).

    Raises:
        CameraError, FileNotFoundError, frame.VideoError: as open_camera and FileSource.
    """
    if source is not None:
        return FileSource(source, pace=pace, on_end=on_end)
    return open_camera(camera, width, height, fps)


# ---- overlays ----------------------------------------------------------------------------------------
def preview_image(image: np.ndarray, mirror: bool = True, width_px: int = DISPLAY_WIDTH_PX) -> np.ndarray:
    """A display copy of a frame: scaled to width_px wide and mirrored like a bathroom mirror (as the seed's
    preview). Only the display is mirrored: the frames given to the model stay as captured."""
    height, width = image.shape[:2]
    if width != width_px:
        image = cv2.resize(image, (width_px, max(1, round(height * width_px / width))), interpolation=cv2.INTER_LINEAR)
    return cv2.flip(image, 1) if mirror else image.copy()


def draw_box(image: np.ndarray, text: str, color) -> np.ndarray:
    """Draws a centred box with `text` (white on a box of `color`) into image, in place; returns it."""
    height, width = image.shape[:2]
    scale = width / 640.0
    thickness = max(1, round(2 * scale))
    (text_w, text_h), baseline = cv2.getTextSize(text, FONT, 1.0 * scale, thickness)
    pad = round(16 * scale)
    x0, y0 = (width - text_w) // 2 - pad, (height - text_h) // 2 - pad
    x1, y1 = (width + text_w) // 2 + pad, (height + text_h) // 2 + pad + baseline
    cv2.rectangle(image, (x0, y0), (x1, y1), color, cv2.FILLED)
    cv2.rectangle(image, (x0, y0), (x1, y1), WHITE, thickness)
    cv2.putText(image, text, ((width - text_w) // 2, (height + text_h) // 2), FONT, 1.0 * scale, WHITE,
                thickness, cv2.LINE_AA)
    return image


def draw_lines(image: np.ndarray, lines) -> tuple[int, int]:
    """Draws text lines (white on an opaque dark band) at the bottom of image, in place.

    Returns:
        (y0, y1): the rows of the band, so that tests can find it on screen.
    """
    lines = [line for line in lines if line]
    if not lines:
        return (image.shape[0], image.shape[0])
    height, width = image.shape[:2]
    scale = 0.6 * width / 640.0
    thickness = max(1, round(width / 640.0))
    line_h = round(28 * width / 640.0)
    y0 = height - line_h * len(lines) - round(8 * width / 640.0)
    cv2.rectangle(image, (0, y0), (width - 1, height - 1), (30, 30, 30), cv2.FILLED)
    for i, line in enumerate(lines):
        y = y0 + line_h * (i + 1) - round(6 * width / 640.0)
        cv2.putText(image, line, (round(10 * width / 640.0), y), FONT, scale, WHITE, thickness, cv2.LINE_AA)
    return (y0, height)


def flow_mosaic(flows: np.ndarray, num_tiles: int = 4) -> np.ndarray:
    """(n, h, w, 2) flows in [-1, 1] -> (h, num_tiles * w, 3) uint8 BGR: evenly spaced flows side by side as colour.

    The first flow of a clip is zeros by definition and is left out. Brightness: one scale for all tiles,
    the 99th percentile of the clip's flow magnitude, so a few outliers do not leave the rest dark.
    """
    flows = np.asarray(flows, dtype=np.float32)
    if len(flows) > 1:
        flows = flows[1:]
    picks = frame.frame_indices(len(flows), min(num_tiles, len(flows)))
    magnitude = np.hypot(flows[..., 0], flows[..., 1])
    scale = float(np.percentile(magnitude, 99))
    colours = opticalflow.flows_to_color_images(flows[picks], max_magnitude=scale if scale > 0 else None)
    return np.concatenate(list(colours), axis=1)


# ---- recording with incremental flow -----------------------------------------------------------------
def clip_length(duration_s: float, fps: float) -> int:
    """Frames in a recording of duration_s at fps (at least 1)."""
    if not duration_s > 0 or not fps > 0:
        raise ValueError(f"duration_s={duration_s}, fps={fps}; both must be > 0")
    return max(1, round(duration_s * fps))


class _InputWorker:
    """Prepares network input from sampled frames in a background thread: resize -> flow -> crop (and RGB).

    Items are processed in queue order; `flow_of(image)` keeps the flow state between consecutive items.
    """

    def __init__(self, min_dim_px: int, crop_px: int, streams, flow_method: str):
        streams = tuple(streams)
        unknown = set(streams) - {"flow", "rgb"}
        if not streams or unknown:
            raise ValueError(f"streams={streams}; use 'flow' and/or 'rgb'")
        if crop_px > min_dim_px:
            raise ValueError(f"crop_px={crop_px} is larger than min_dim_px={min_dim_px}; the crop must fit")
        self.min_dim_px, self.crop_px, self.streams = min_dim_px, crop_px, streams
        self.flow = opticalflow.OpticalFlow(flow_method) if "flow" in streams else None
        self.error: BaseException | None = None
        self.num_done = 0
        self.seconds_busy = 0.0
        self._queue: queue.Queue = queue.Queue()
        self._cancelled = False
        self._thread = threading.Thread(target=self._run, name=type(self).__name__, daemon=True)
        self._thread.start()

    def prepare(self, image: np.ndarray) -> dict:
        """One sampled frame (h, w, 3) uint8 BGR -> stream -> (crop, crop, channels) float32 in [-1, 1]."""
        resized = frame.image_resize_aspectratio(image, self.min_dim_px)
        out = {}
        if self.flow is not None:
            out["flow"] = frame.images_crop(self.flow.next(resized), self.crop_px, self.crop_px)
        if "rgb" in self.streams:
            out["rgb"] = frame.bgr_to_model_rgb(frame.images_crop(resized, self.crop_px, self.crop_px))
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
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        """Stops the worker without finishing its queue (Ctrl-C, abandoned recording)."""
        self._cancelled = True
        self._queue.put(None)


class ClipRecorder(_InputWorker):
    """Records a clip of num_in frames and prepares the model's input from it while recording.

    Call `add(frame)` for each captured frame; it returns True with the last one. `inputs()` then waits
    for the worker (usually only for the last sampled frame) and returns what `predict.clip_inputs`
    would give for the same frames.

    Args:
        num_in: frames to record (`clip_length(duration_s, fps)`).
        num_frames: frames the model takes; the sampled ones are `frame.frame_indices(num_in, num_frames)`.
        min_dim_px: smaller side after resizing (VideoSet.min_dim_px).
        crop_px: center crop the model takes.
        streams: "flow" and/or "rgb".
        flow_method: one of opticalflow.METHODS; the one the model was trained with.
        keep_frames: keep every captured frame (for saving the clip).
    """

    def __init__(self, num_in: int, num_frames: int, min_dim_px: int, crop_px: int, streams=("flow",),
                 flow_method: str = "tvl1-fast", keep_frames: bool = False):
        if num_in < 1 or num_frames < 1:
            raise ValueError(f"num_in={num_in}, num_frames={num_frames}; both must be >= 1")
        self.num_in, self.num_frames = num_in, num_frames
        self.indices = frame.frame_indices(num_in, num_frames)
        self._uses = collections.defaultdict(list)  # captured index -> positions in the clip (repeats upsample)
        for position, index in enumerate(self.indices):
            self._uses[int(index)].append(position)
        self._clip = {}
        self.frames: list[np.ndarray] | None = [] if keep_frames else None
        self.num_recorded = 0
        self.t_start = self.t_end = None  # perf_counter of the first and last frame
        super().__init__(min_dim_px, crop_px, streams, flow_method)

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
        for position in self._uses.get(self.num_recorded, ()):
            self._queue.put((position, image))
        if self.frames is not None:
            self.frames.append(image)
        self.num_recorded += 1
        if self.done:
            self.t_end = now
        return self.done

    def handle(self, item) -> None:
        position, image = item
        for stream, array in self.prepare(image).items():
            if stream not in self._clip:
                self._clip[stream] = np.zeros((self.num_frames, *array.shape), dtype=np.float32)
            self._clip[stream][position] = array

    def inputs(self, timeout: float | None = None) -> dict:
        """stream -> (1, num_frames, crop_px, crop_px, channels) float32 in [-1, 1]; waits for the worker.

        Raises:
            RuntimeError: the recording is not complete.
        """
        if not self.done:
            raise RuntimeError(f"Recording has {self.num_recorded} of {self.num_in} frames; record the rest first")
        self.finish(timeout)
        return {stream: clip[None] for stream, clip in self._clip.items()}


def window_geometry(num_frames: int, duration_s: float, fps: float, hop_s: float) -> tuple[int, int, int]:
    """Continuous recognition on a fixed sampling grid: (stride, window, hop) in captured frames.

    The window holds `num_frames` samples `stride` frames apart, with stride = round(duration_s * fps /
    num_frames) (at least 1), so window = stride * num_frames is about duration_s; for a clip of exactly
    `window` frames `frame.frame_indices` gives the same samples, so each window is prepared as training
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
    stream -> (1, num_frames, crop, crop, channels) (the window's first flow set to zeros, as for a clip),
    the perf_counter of its last sample's capture and the captured-frame index one past the window.
    With skip_late (live sources) a window is skipped when the worker has fallen behind by more than one
    hop, so that the shown prediction stays current; without (a file read as fast as possible) every
    window is predicted.
    """

    def __init__(self, num_frames: int, stride: int, hop: int, min_dim_px: int, crop_px: int, on_window,
                 streams=("flow",), flow_method: str = "tvl1-fast", skip_late: bool = True):
        if stride < 1 or hop < stride or hop % stride:
            raise ValueError(f"stride={stride}, hop={hop}; need stride >= 1 and hop a positive multiple of stride")
        self.num_frames, self.stride, self.hop_samples = num_frames, stride, hop // stride
        self.on_window, self.skip_late = on_window, skip_late
        self.num_recorded = 0
        self.num_windows = self.num_skipped = 0
        self._samples = collections.deque(maxlen=num_frames)
        super().__init__(min_dim_px, crop_px, streams, flow_method)

    def add(self, image: np.ndarray) -> None:
        """Feeds one captured frame (h, w, 3) uint8 BGR."""
        if self.num_recorded % self.stride == 0:
            self._queue.put((self.num_recorded // self.stride, image, time.perf_counter()))
        self.num_recorded += 1

    def handle(self, item) -> None:
        sample, image, t_capture = item
        self._samples.append(self.prepare(image))
        first = sample - self.num_frames + 1
        if first < 0 or first % self.hop_samples:
            return
        if self.skip_late and self.backlog > self.hop_samples:
            self.num_skipped += 1
            return
        inputs = {}
        for stream in self.streams:
            clip = np.stack([s[stream] for s in self._samples])
            if stream == "flow":
                clip[0] = 0.0  # a window starts a clip: its first flow is zeros, as for a recorded clip
            inputs[stream] = clip[None]
        self.num_windows += 1
        self.on_window(inputs, t_capture, (sample + 1) * self.stride)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, help="video file or folder of .jpg frames instead of the webcam")
    parser.add_argument("--camera", type=int, default=0, help="webcam index (default 0; falls back to 0)")
    parser.add_argument("--no-pace", action="store_true", help="read --source as fast as possible, not at its fps")
    parser.add_argument("--seconds", type=float, default=3.0, help="recording length in seconds (default 3)")
    parser.add_argument("--num-frames", type=int, default=16, help="frames the model takes (default 16, DEMO_SET)")
    parser.add_argument("--min-dim", type=int, default=128, help="smaller side after resizing (default 128)")
    parser.add_argument("--crop", type=int, default=128, help="center crop in pixels (default 128)")
    parser.add_argument("--flow-method", choices=opticalflow.METHODS, default="tvl1-fast", help="optical flow method")
    parser.add_argument("--headless", action="store_true", help="no window: record at once and print the timings")
    args = parser.parse_args(argv)

    try:
        source = open_source(args.source, args.camera, pace=not args.no_pace)
    except (CameraError, FileNotFoundError, frame.VideoError) as error:
        print(f"videocapture: {error}", file=sys.stderr)
        return 2
    with source:
        recorder = None
        try:
            while True:
                image = source.read()
                if image is None:
                    break
                if recorder is None and args.headless:
                    recorder = ClipRecorder(clip_length(args.seconds, source.fps), args.num_frames, args.min_dim,
                                            args.crop, flow_method=args.flow_method)
                if recorder is not None and recorder.add(image):
                    break
                if not args.headless:
                    display = preview_image(image)
                    if recorder is None:
                        draw_box(display, "Press SPACE to start", GREEN)
                    else:
                        draw_box(display, f"Recording {recorder.elapsed_s:.1f} s", RED)
                    cv2.imshow("videocapture", display)
                    key = cv2.waitKey(1) & 0xFF
                    if key == ord("q"):
                        break
                    if key == ord(" ") and recorder is None:
                        recorder = ClipRecorder(clip_length(args.seconds, source.fps), args.num_frames,
                                                args.min_dim, args.crop, flow_method=args.flow_method)
            if recorder is None or not recorder.done:
                print(f"Nothing recorded from {source.name}")
                return 1
            record_s = recorder.t_end - recorder.t_start
            inputs = recorder.inputs()
            wait_s = time.perf_counter() - recorder.t_end
            if not args.headless:
                cv2.imshow("videocapture", flow_mosaic(inputs["flow"][0]))
                cv2.waitKey(2000)
            print(f"Recorded {recorder.num_in} frames in {record_s:.2f} s ({(recorder.num_in - 1) / max(record_s, 1e-9):.1f} "
                  f"fps, {source.num_dropped} dropped) from {source.name}; {args.flow_method} flow of "
                  f"{args.num_frames} frames took {recorder.seconds_busy:.2f} s, ready {wait_s:.3f} s after recording")
        finally:
            if recorder is not None:
                recorder.close()
            if not args.headless:
                cv2.destroyAllWindows()
    return 0


if __name__ == "__main__":
    sys.exit(main())
