"""Video files and frame arrays: reading, writing, resizing, sampling, cropping and the model's [-1, 1] RGB.

The one implementation of every frame operation; frame.py (the folder step), the data generators, the live
demo and the demo renderer all use these. VIDEO_EXTENSIONS is what counts as a video everywhere.
"""
import errno
import os
import re
import shutil
from pathlib import Path

import cv2
import numpy as np

from signlang.folderstep import visible
from signlang.safeio import atomic_write, disk_full_hint, tmp_sibling

# What counts as a video file (lower-case suffixes): every step and the set description use this list.
VIDEO_EXTENSIONS = (".avi", ".mp4", ".mov", ".m4v", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv")

# A video that decodes to fewer frames than its header announces is truncated (copy cut short).
# The header count of some containers is an estimate, so a small shortfall is tolerated.
TRUNCATED_TOLERANCE = 0.05


class VideoError(ValueError):
    """A video that cannot be used: unreadable, empty (0 bytes), truncated or not a video at all."""


def video_info(video_path: Path) -> tuple[int, float, float]:
    """(num_frames, fps, duration_s) of a video as its header reports them (OpenCV).

    Raises:
        FileNotFoundError: no such file.
        VideoError: OpenCV cannot open it.
    """
    capture = _open(Path(video_path))
    try:
        num_frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        fps = float(capture.get(cv2.CAP_PROP_FPS))
    finally:
        capture.release()
    duration_s = num_frames / fps if fps > 0 else 0.0
    return num_frames, fps, duration_s


def _open(video_path: Path) -> cv2.VideoCapture:
    if not video_path.is_file():
        raise FileNotFoundError(f"Video {video_path} does not exist")
    check_readable(video_path, "video")
    if video_path.stat().st_size == 0:
        raise VideoError(f"Video {video_path} is empty (0 bytes); copy it again or delete it")
    capture = cv2.VideoCapture(str(video_path))
    # Phone clips carry a rotation tag; OpenCV 5 applies it by default (frames come out upright, as a player
    # shows them): say so, so that the frames never depend on a changed default.
    capture.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
    if not capture.isOpened():
        capture.release()
        raise VideoError(f"Cannot open {video_path}: not a video, truncated, or a codec OpenCV lacks")
    return capture


def check_readable(path: Path, what: str) -> None:
    """Raises PermissionError (one line, with the fix) when this process may not read the file `path`."""
    try:
        with open(path, "rb"):
            pass
    except PermissionError:
        raise PermissionError(f"Cannot read {what} {path}: permission denied; make it readable "
                              f"(chmod a+r) or run as its owner") from None


def video_to_frames(video_path: Path, min_dim_px: int | None = 240) -> np.ndarray:
    """All frames of a video, resized so that the smaller side is `min_dim_px` (None: original size).

    Returns:
        frames: (n, h, w, 3) uint8 BGR.

    Raises:
        FileNotFoundError: no such file.
        VideoError: empty file, not a video, no decodable frame, or truncated (decodes to clearly
            fewer frames than the header announces).
    """
    video_path = Path(video_path)
    capture = _open(video_path)
    frames = []
    try:
        expected = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        while True:
            grabbed, frame = capture.read()
            if not grabbed:
                break
            if min_dim_px is not None:
                frame = image_resize_min_side(frame, min_dim_px)
            if frames and frame.shape != frames[0].shape:
                raise VideoError(f"Video {video_path}: frame {len(frames)} is {frame.shape}, frame 0 {frames[0].shape}")
            frames.append(frame)
    except cv2.error as error:
        raise VideoError(f"Cannot decode {video_path}: {error}") from error
    finally:
        capture.release()
    if not frames:
        raise VideoError(f"Video {video_path} has no decodable frame")
    if expected > 0 and len(frames) < expected * (1 - TRUNCATED_TOLERANCE) - 1:
        raise VideoError(f"Video {video_path} is truncated: decoded {len(frames)} of {expected} frames")
    return np.stack(frames)  # (n, h, w, 3) uint8 BGR


def image_resize_min_side(image: np.ndarray, min_dim_px: int) -> np.ndarray:
    """Resizes one image (h, w, ...) so that its smaller side is `min_dim_px`, keeping the aspect ratio (bilinear)."""
    if min_dim_px < 1:
        raise ValueError(f"min_dim_px={min_dim_px}; must be a positive number of pixels")
    height, width = image.shape[:2]
    if min(height, width) == min_dim_px:
        return image
    if height <= width:
        size_wh = (max(1, round(width * min_dim_px / height)), min_dim_px)
    else:
        size_wh = (min_dim_px, max(1, round(height * min_dim_px / width)))
    return cv2.resize(image, size_wh, interpolation=cv2.INTER_LINEAR)


def frames_resize_min_side(frames: np.ndarray, min_dim_px: int) -> np.ndarray:
    """`image_resize_min_side` for each frame of (n, h, w, c); returns (n, h', w', c)."""
    if len(frames) == 0:
        raise ValueError("frames_resize_min_side: no frames to resize")
    return np.stack([image_resize_min_side(frame, min_dim_px) for frame in frames])


def frame_indices(num_in: int, num_frames: int) -> np.ndarray:
    """The one sampling rule: `num_frames` evenly spaced indices into `num_in` frames, starting at 0.

    index i = floor(i * num_in / num_frames) (the seed's rule). Down-sampling skips frames
    (10 -> 4: [0, 2, 5, 7]); up-sampling a short video repeats them (4 -> 10: [0, 0, 0, 1, 1, 2, 2, 2, 3, 3]).
    The live demo uses it to know in advance which captured frames the model will see.
    """
    if num_in < 1 or num_frames < 1:
        raise ValueError(f"frame_indices(num_in={num_in}, num_frames={num_frames}): both must be >= 1")
    return (np.arange(num_frames, dtype=np.int64) * num_in) // num_frames  # integer maths: no rounding drift


def frames_downsample(frames: np.ndarray, num_frames: int) -> np.ndarray:
    """(n, ...) -> (num_frames, ...): the frames at `frame_indices(n, num_frames)`."""
    if len(frames) == num_frames:
        return frames
    return frames[frame_indices(len(frames), num_frames)]


def frames_crop(frames: np.ndarray, height: int, width: int, offset: tuple[int, int] | None = None) -> np.ndarray:
    """Crops (..., h, w, c) to (..., height, width, c): centered, or with its top-left corner at offset=(y, x).

    Raises:
        ValueError: the crop is larger than the frame, or the offset puts it outside.
    """
    frame_h, frame_w = frames.shape[-3], frames.shape[-2]
    if height > frame_h or width > frame_w:
        raise ValueError(f"Cannot crop {height}x{width} from frames of {frame_h}x{frame_w}; resize them larger first")
    if offset is None:
        y, x = (frame_h - height) // 2, (frame_w - width) // 2
    else:
        y, x = offset
        if not (0 <= y <= frame_h - height and 0 <= x <= frame_w - width):
            raise ValueError(
                f"Crop offset (y, x)={offset} puts a {height}x{width} crop outside frames of {frame_h}x{frame_w}; "
                f"need 0 <= y <= {frame_h - height} and 0 <= x <= {frame_w - width}"
            )
    return frames[..., y : y + height, x : x + width, :]


def frames_rescale(frames: np.ndarray) -> np.ndarray:
    """uint8 pixels 0..255 -> float32 in [-1, 1] (p / 127.5 - 1, the I3D input range; kinetics-i3d README)."""
    return frames.astype(np.float32) / np.float32(127.5) - np.float32(1.0)


def bgr_to_model_rgb(frames: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 BGR (OpenCV's order) -> float32 RGB in [-1, 1], the RGB I3D's input (Kinetics is RGB)."""
    return frames_rescale(frames[..., ::-1])


# Free space below which a video that did not decode back completely is reported as "disk full": a full disk
# leaves less than a frame (an MJPG 320x240 frame is ~20 KB).
DISK_FULL_MB = 1.0

# Codec of each container write_video writes (all in OpenCV's own FFmpeg: this build has no H.264 encoder).
VIDEO_CODECS = {".avi": "MJPG", ".mp4": "mp4v", ".mov": "mp4v", ".webm": "VP80"}


def write_video(path: Path, frames, fps: float) -> Path:
    """Writes frames ((n, h, w, 3) uint8 BGR, or a list of them) as a video, complete or not at all.

    The container follows the suffix (VIDEO_CODECS: MJPG .avi, the project's format; mp4v .mp4/.mov and
    VP8 .webm for test clips). Written under a temporary name (safeio), decoded again, and renamed into place
    only when it decodes to all n frames: a full disk or a failing encoder never leaves a broken video under a
    real name.

    Raises:
        ValueError: no frames, frames of different sizes, or a suffix not in VIDEO_CODECS.
        OSError: the video cannot be written completely (disk full, unwritable folder, no encoder).
    """
    path = Path(path)
    if len(frames) == 0:
        raise ValueError(f"No frames to write to {path}")
    codec = VIDEO_CODECS.get(path.suffix.lower())
    if codec is None:
        raise ValueError(f"Cannot write {path}: the name must end in one of {', '.join(VIDEO_CODECS)}")
    height, width = frames[0].shape[:2]
    if any(image.shape != frames[0].shape for image in frames):
        raise ValueError(f"Frames for {path} differ in size; resize them to {width}x{height} first")
    fourcc = cv2.VideoWriter_fourcc(*codec)
    with atomic_write(path) as tmp:
        # FFmpeg's MJPEG is half the size of OpenCV's own encoder at the same error; the latter is the fallback.
        writer = cv2.VideoWriter(str(tmp), cv2.CAP_FFMPEG, fourcc, float(fps), (width, height))
        if not writer.isOpened() and codec == "MJPG":
            writer = cv2.VideoWriter(str(tmp), cv2.CAP_OPENCV_MJPEG, fourcc, float(fps), (width, height))
        try:
            if not writer.isOpened():
                raise OSError(f"Cannot write {path}: is {path.parent} writable, and is opencv-contrib-python "
                              "installed (requirements.txt)?")
            for image in frames:
                writer.write(image)
        finally:
            writer.release()
        written = count_frames(tmp)
        if written != len(frames):
            free_mb = shutil.disk_usage(path.parent).free / 2**20
            if free_mb < DISK_FULL_MB:  # OpenCV's writer drops frames silently when the disk fills (no ENOSPC)
                raise disk_full_hint(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), path)
            raise OSError(f"Could not write {path} completely ({written} of {len(frames)} frames decode back; "
                          f"{free_mb:.0f} MB free on its disk): free space or choose another folder, then re-run")
    return path


def write_numbered_video(folder: Path, prefix: str, frames, fps: float, suffix: str = ".avi") -> Path:
    """Writes frames as folder/<prefix>NNNN<suffix>, NNNN one above the highest number there; returns the path.

    Written by write_video under a temporary name (complete and verified, or not at all), then hard-linked to
    the name: os.link fails when the name exists, so an existing video is never overwritten (not even by a
    second run at the same time), and a killed run leaves no broken video under a numbered name. Numbers
    count over every suffix (take_0003.avi and take_0003.mp4 never both).

    Raises:
        ValueError, OSError: as write_video (nothing is left under a numbered name).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = tmp_sibling(folder / f"{prefix}{suffix}", "numbered")
    try:
        write_video(tmp, frames, fps)
        numbers = [int(p.stem[len(prefix):]) for p in folder.glob(f"{prefix}*") if p.stem[len(prefix):].isdigit()]
        number = max(numbers, default=-1) + 1
        while True:
            target = folder / f"{prefix}{number:04d}{suffix}"
            try:
                os.link(tmp, target)  # fails if target exists: never overwrite
                return target
            except FileExistsError:
                number += 1
    finally:
        tmp.unlink(missing_ok=True)


def count_frames(video_path: Path) -> int:
    """How many frames of a video decode (grabbed to the end; 0 when it does not open)."""
    capture = cv2.VideoCapture(str(video_path))
    count = 0
    try:
        while capture.isOpened() and capture.grab():
            count += 1
    finally:
        capture.release()
    return count


def frames_normalize(frames: np.ndarray, num_frames: int, height: int, width: int, rescale: bool = True) -> np.ndarray:
    """Resamples to `num_frames`, center-crops to height x width and (rescale=True) maps to float32 [-1, 1]."""
    frames = frames_downsample(frames, num_frames)
    frames = frames_crop(frames, height, width)
    return frames_rescale(frames) if rescale else frames


def jpg_files(folder: Path) -> list[Path]:
    """The visible *.jpg files of a folder in frame order (numeric: frame999 before frame1000)."""

    def number_key(path: Path):
        digits = re.findall(r"\d+", path.stem)
        return (int(digits[-1]) if digits else -1, path.name)

    return sorted(visible(Path(folder).glob("*.jpg")), key=number_key)


def write_jpg(path: Path, image: np.ndarray, params=()) -> None:
    """The one JPEG writer: encodes (h, w, 3) uint8 BGR and writes it to `path` (same bytes as cv2.imwrite).

    Written with Python's file I/O so that a full disk raises OSError(ENOSPC) that says so (cv2.imwrite
    only returns False).

    Raises:
        OSError: the file cannot be written; "Disk full ..." when the disk is full (safeio.disk_full_hint).
    """
    encoded, data = cv2.imencode(".jpg", image, list(params))
    if not encoded:
        raise ValueError(f"Cannot encode {image.shape} {image.dtype} image as JPEG for {path}")
    try:
        _write_bytes(Path(path), data.tobytes())
    except OSError as error:
        raise disk_full_hint(error, Path(path)) from error


def _write_bytes(path: Path, data: bytes) -> None:
    with open(path, "wb") as file:
        file.write(data)


def frames_to_files(frames: np.ndarray, target_dir: Path) -> None:
    """Writes (n, h, w, 3) uint8 BGR frames to target_dir/frame0000.jpg, frame0001.jpg, ..."""
    target_dir = Path(target_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(frames):
        write_jpg(target_dir / f"frame{i:04d}.jpg", image)


def files_to_frames(frame_dir: Path, what: str = "frames", fix: str = "run `python frame.py` to extract them"
                    ) -> np.ndarray:
    """Reads frame_dir/*.jpg in frame order; returns (n, h, w, 3) uint8 BGR. The one JPEG-folder reader:
    files_to_flows reads flow folders through it (`what` and `fix` word its errors).

    Raises:
        FileNotFoundError: the folder is missing or holds no .jpg.
        ValueError: a file cannot be decoded, or the frames differ in size.
    """
    frame_dir = Path(frame_dir)
    if frame_dir.is_dir() and not os.access(frame_dir, os.R_OK | os.X_OK):
        raise PermissionError(f"Cannot read folder {frame_dir}: permission denied; make it readable (chmod a+rx)")
    files = jpg_files(frame_dir)
    if not files:
        raise FileNotFoundError(f"No .jpg {what} in {frame_dir}; {fix}")
    frames = []
    for path in files:
        frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if frame is None:
            check_readable(path, "image")
            raise ValueError(f"Cannot decode image {path} (corrupt or not a JPEG); delete its folder and {fix}")
        if frames and frame.shape != frames[0].shape:
            raise ValueError(f"{path} is {frame.shape}, {files[0].name} is {frames[0].shape}; frames must match")
        frames.append(frame)
    return np.stack(frames)


def set_cv2_threads(num_threads: int) -> None:
    """Worker-process initializer: at most `num_threads` OpenCV threads (no oversubscription with many workers)."""
    cv2.setNumThreads(num_threads)
