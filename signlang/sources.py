"""A webcam or a video file as a live frame source.

Sources (`open_source`): a camera by index, falling back to the built-in one (0); or a video file or a
folder of .jpg frames standing in for the camera, paced at the file's own frame rate so that it behaves
like a live camera (a frame is never delivered before its time; when the reader is late, stale frames are
dropped, as a camera driver does). `pace=False` reads as fast as possible.
"""
import collections
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from signlang.video import jpg_files, video_info

# ---- camera and display ------------------------------------------------
CAMERA_WIDTH_PX, CAMERA_HEIGHT_PX = 640, 480  # the seed's webcam resolution
CAMERA_FPS = 25.0                             # the demo set's frame rate (videoset.DEMO_SET.fps)
FOLDER_FPS = 25.0                             # frame rate assumed for a folder of frames
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
        VideoError: the file cannot be opened as a video.
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
            self._files = jpg_files(self.path)
            if not self._files:
                raise FileNotFoundError(f"No .jpg frames in {self.path}; give a video file or a folder of frames")
            file_fps, self.num_frames = FOLDER_FPS, len(self._files)
        else:
            self.num_frames, file_fps, _ = video_info(self.path)  # raises FileNotFoundError / VideoError
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

    @property
    def position(self) -> int:
        """Index of the next frame in the file (frames read and skipped since its start)."""
        return self._position

    def seek(self, position: int) -> int:
        """Skips ahead to frame `position` of the file (not counted as read or dropped); returns where it got
        (less than `position` when the file is shorter). Pacing starts anew from there."""
        if self._files is not None:
            self._position = max(self._position, min(int(position), len(self._files)))
        elif self._capture is not None:
            while self._position < position and self._capture.grab():
                self._position += 1
        self._t0 = None
        self.num_read = self.num_dropped = 0
        return self._position

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
        CameraError, FileNotFoundError, VideoError: as open_camera and FileSource.
    """
    if source is not None:
        return FileSource(source, pace=pace, on_end=on_end)
    return open_camera(camera, width, height, fps)
