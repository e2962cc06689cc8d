"""Synthetic test clips: moving blobs as frames, videos and small sets, and a fake camera.

Two blobs: `blob_frames` (a textured disc over a still background, exact geometry: frame and flow tests,
bench.preprocess) and `noisy_blob_frames` (a Gaussian blob on fresh noise, random speed and start: the
learnable sets). Class k of a set is a blob moving in DIRECTIONS[k] (0 right, 1 down, 2 left, 3 up).
"""
import warnings
from pathlib import Path

import cv2
import numpy as np

from signlang import video
from signlang.flow import flows_to_files, frames_to_flows
from signlang.video import frames_to_files
from signlang.videoset import VideoSet

DIRECTIONS = ((1, 0), (0, 1), (-1, 0), (0, -1))


def blob_frames(num_frames: int = 30, height: int = 72, width: int = 96, step_px=(3.0, 0.0), start_px=None) -> np.ndarray:
    """A textured bright blob moving `step_px` = (x, y) pixels per frame over a still, darker background.

    Returns:
        frames: (num_frames, height, width, 3) uint8 BGR.
    """
    rng = np.random.default_rng(0)
    background = cv2.GaussianBlur(rng.uniform(30, 90, (height, width)).astype(np.float32), (0, 0), 2.0)
    radius = max(4.0, min(height, width) / 6)
    start_x, start_y = start_px if start_px is not None else (width / 4, height / 2)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    frames = np.empty((num_frames, height, width, 3), dtype=np.uint8)
    for i in range(num_frames):
        cx, cy = start_x + i * step_px[0], start_y + i * step_px[1]
        dx, dy = xx - cx, yy - cy
        inside = 1.0 / (1.0 + np.exp(np.minimum((np.sqrt(dx**2 + dy**2) - radius) * 1.5, 50.0)))  # soft-edged disc
        # a texture that moves with the blob, so its inside has gradients to track
        texture = 170 + 50 * np.sin(dx * 0.7) * np.cos(dy * 0.5)
        gray = background * (1 - inside) + texture * inside
        frames[i] = np.clip(np.round(gray), 0, 255).astype(np.uint8)[..., None]
    return frames


def write_blob_video(path: Path, num_frames: int = 30, height: int = 72, width: int = 96, step_px=(3.0, 0.0), fps: float = 25.0) -> Path:
    """Writes `blob_frames` as a video with write_video (MJPG .avi, mp4v .mp4/.mov, VP8 .webm)."""
    return write_video(path, blob_frames(num_frames, height, width, step_px), fps)


def noisy_blob_frames(direction, num_frames, rng, size=(128, 96), speed_px=(0.9, 1.2), sigma_px=10.0,
                      peak=170, start=(0.4, 0.6), start_px=None) -> np.ndarray:
    """(num_frames, h, w, 3) uint8 BGR: a Gaussian blob on fresh noise crossing the middle along `direction`.

    size is (w, h); the speed (px/frame) is speed_px or drawn from rng in that range, the start (x, y) is
    start_px or drawn in the `start` range (fractions of w and h); the blob passes its start at the middle
    frame. The live-path and training sets differ only in these settings.
    """
    width, height = size
    speed = rng.uniform(*speed_px) if isinstance(speed_px, tuple) else speed_px
    x0, y0 = start_px if start_px is not None else (rng.uniform(*start) * width, rng.uniform(*start) * height)
    yy, xx = np.mgrid[0:height, 0:width]
    frames = []
    for t in range(num_frames):
        cx = x0 + direction[0] * speed * (t - num_frames / 2)
        cy = y0 + direction[1] * speed * (t - num_frames / 2)
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sigma_px**2))
        frames.append(np.clip(60 + peak * blob[..., None] + rng.normal(0, 4, (height, width, 3)), 0, 255))
    return np.stack(frames).astype(np.uint8)


def moving_blob_frames(direction, num_frames: int, size_px: int, rng) -> np.ndarray:
    """(num_frames, size_px, size_px * 4 // 3, 3) uint8 BGR: a bright blob on noise moving 3-4 px/frame."""
    return noisy_blob_frames(direction, num_frames, rng, size=(size_px * 4 // 3, size_px), speed_px=(3.0, 4.0),
                             sigma_px=size_px / 8, peak=150, start=(0.35, 0.65))


def write_video(path: Path, frames, fps: float = 25.0) -> Path:
    """write_video (the one video writer) at the tests' default 25 fps."""
    return video.write_video(path, frames, fps)


def write_noisy_blob_video(path: Path, direction, num_frames: int = 50, seed: int = 0, fps: float = 25.0) -> Path:
    """A noisy_blob_frames clip (live-path settings) written as a video."""
    return write_video(path, noisy_blob_frames(direction, num_frames, np.random.default_rng(seed)), fps)


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


def blob_set(root: Path, num_classes=4, num_frames=8, size_px=64) -> VideoSet:
    """A VideoSet under root for moving-blob clips (frames already at size_px, cropped to size_px)."""
    return VideoSet("blobs", num_classes, num_frames=num_frames, min_dim_px=size_px, crop_px=size_px, root=root)


def write_set(video_set: VideoSet, per_class=(6, 3), seed=0) -> VideoSet:
    """Writes the set's class.csv and its image/ and oflow/ folders for train and val; returns the set."""
    rng = np.random.default_rng(seed)
    labels = [f"dir{k}" for k in range(video_set.num_classes)]
    video_set.video_dir.mkdir(parents=True, exist_ok=True)
    rows = [f"{i},{label},Blob moves {label},Test,{label}" for i, label in enumerate(labels)]
    video_set.class_file.write_text(",sClass,sLong,sCat,sDetail\n" + "\n".join(rows) + "\n")
    for split, count in zip(("train", "val"), per_class):
        for k, label in enumerate(labels):
            for n in range(count):
                h, w = video_set.min_dim_px, video_set.min_dim_px * 4 // 3
                speed = rng.uniform(3.0, 4.0)
                y0, x0 = rng.uniform(0.35, 0.65) * h, rng.uniform(0.35, 0.65) * w
                frames = noisy_blob_frames(DIRECTIONS[k % 4], video_set.num_frames, rng, (w, h), speed_px=speed,
                                           sigma_px=h / 8, peak=150, start_px=(x0, y0))
                frames_to_files(frames, video_set.image_dir / split / label / f"v{n:03d}")
                with warnings.catch_warnings():  # DIS: fast, and these tests need no TV-L1 statistics
                    warnings.simplefilter("ignore")
                    flows = frames_to_flows(frames, method="dis")
                flows_to_files(flows, video_set.flow_dir / split / label / f"v{n:03d}")
    return video_set
