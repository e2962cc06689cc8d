"""A webcam or a video file as a live frame source (and a CLI that records one clip from it).

    python videocapture.py --source data-set/demo/010/val/circle_cw/s07_0000.avi --seconds 3 --headless

Run as a script it opens the source (default: the webcam), records one clip of --seconds while computing
the optical flow of the frames a model would see, and prints how fluent the capture stayed. With a window
(no --headless) it shows the mirrored preview; SPACE records, q quits.

Sources (`open_source`): a camera by index, falling back to the built-in one (0); or a video file or a
folder of .jpg frames standing in for the camera, paced at the file's own frame rate so that it behaves
like a live camera (a frame is never delivered before its time; when the reader is late, stale frames are
dropped, as a camera driver does). `pace=False` reads as fast as possible.

The recording of the CLI prepares the network input while recording (liveinput.ClipRecorder); the
overlays it draws are livedemo.py's.
"""
import argparse
import collections
import sys
import time
from pathlib import Path

import cv2
import numpy as np

import frame
import liveinput
import opticalflow

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


def main(argv=None) -> int:
    # The overlays live in livedemo.py (which imports this module): imported here, not at the top.
    from livedemo import GREEN, RED, draw_box, flow_mosaic, preview_image

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, help="video file or folder of .jpg frames instead of the webcam")
    parser.add_argument("--camera", type=int, default=0, help="webcam index (default 0; falls back to 0)")
    parser.add_argument("--no-pace", action="store_true", help="read --source as fast as possible, not at its fps")
    parser.add_argument("--seconds", type=float, default=3.0, help="recording length in seconds (default 3)")
    parser.add_argument("--num-frames", type=int, default=16, help="frames the model takes (default 16, DEMO_SET)")
    parser.add_argument("--min-dim", type=int, default=128, help="smaller side after resizing (default 128)")
    parser.add_argument("--crop", type=int, default=128, help="center crop in pixels (default 128)")
    parser.add_argument("--flow-method", choices=opticalflow.METHODS, default=opticalflow.DEFAULT_FLOW_METHOD, help="optical flow method")
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
                    recorder = liveinput.ClipRecorder(liveinput.clip_length(args.seconds, source.fps), args.num_frames, args.min_dim,
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
                        recorder = liveinput.ClipRecorder(liveinput.clip_length(args.seconds, source.fps), args.num_frames,
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
