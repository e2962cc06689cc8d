"""Synthetic hand-landmark clips: signs that differ by trajectory and hand shape, for the tests and the benchmark.

Sign k of SHAPES x PATHS (9 signs) is the right hand in shape SHAPES[k // 3] ("open", "fist", "point") moving
along PATHS[k % 3] ("circle", "side", "up"), in the hands.py array format (frames, 2, 21, 4), frame units. Each
take varies what a real signer varies: where in the frame, how large, how fast and when, a little jitter on every
point, frames where the hand is lost, and sometimes a resting left hand. A sign is learnable only from both the
trajectory and the shape (three signs share each).
"""
from pathlib import Path

import numpy as np

from signlang.hands import LANDMARK_SHAPE, NUM_POINTS
from signlang.safeio import atomic_write
from signlang.videoset import VideoSet, write_class_table

SHAPES = ("open", "fist", "point")
PATHS = ("circle", "side", "up")
SIGNS = tuple(f"{shape}_{path}" for shape in SHAPES for path in PATHS)
# Finger directions of the open hand (thumb, index, middle, ring, little), degrees from "up", image y down.
_FINGER_DEG = (-60.0, -20.0, 0.0, 18.0, 36.0)
_FINGER_LEN = (0.55, 0.75, 0.8, 0.75, 0.6)  # in palm lengths, the 4 points of each finger at 1/4 .. 4/4 beyond MCP


def hand_points(shape: str, size: float) -> np.ndarray:
    """21 points (x, y, z) of a right hand in `shape`, wrist at (0, 0), palm length `size`: (21, 3) float32."""
    points = np.zeros((NUM_POINTS, 3), np.float32)
    for finger, (degrees, length) in enumerate(zip(_FINGER_DEG, _FINGER_LEN)):
        angle = np.radians(degrees)
        direction = np.array([np.sin(angle), -np.cos(angle)])
        base = direction * (0.4 if finger == 0 else 1.0)  # the thumb starts low on the palm
        extended = shape == "open" or (shape == "point" and finger == 1)
        for joint in range(4):
            reach = length * (joint + 1) / 4
            if extended:
                xy = base + direction * reach
            else:  # curled back towards the palm's centre
                xy = base * (1 - 0.35 * (joint + 1) / 4) + np.array([0.0, 0.15 * joint])
            points[1 + finger * 4 + joint, :2] = xy * size
            points[1 + finger * 4 + joint, 2] = -0.05 * size * (joint + 1) * (0 if extended else 1)
    return points


def _path(kind: str, t: np.ndarray, radius: float) -> np.ndarray:
    """Wrist offsets (frames, 2) along a path at phases t in [0, 1]."""
    if kind == "circle":
        return radius * np.stack([np.cos(2 * np.pi * t), np.sin(2 * np.pi * t)], axis=1)
    if kind == "side":
        return radius * np.stack([np.sin(2 * np.pi * t), 0.1 * t], axis=1)
    return radius * np.stack([0.1 * t, -2 * t + 1], axis=1)  # up: from below to above


def sign_clip(sign: int, num_frames: int, rng: np.random.Generator) -> np.ndarray:
    """One take of sign `sign` (index into SIGNS): (num_frames, 2, 21, 4) float32."""
    shape, kind = SHAPES[sign // len(PATHS)], PATHS[sign % len(PATHS)]
    size = rng.uniform(0.12, 0.2)
    centre = np.array([rng.uniform(-0.2, 0.1), rng.uniform(-0.1, 0.15)])
    start, speed = rng.uniform(0, 0.15), rng.uniform(0.8, 1.2)
    t = np.clip(start + speed * np.linspace(0, 1, num_frames) * 0.85, 0, 1)
    wrists = centre + _path(kind, t, rng.uniform(0.12, 0.2))
    clip = np.zeros((num_frames, *LANDMARK_SHAPE), np.float32)
    hand = hand_points(shape, size)
    for i, wrist in enumerate(wrists):
        clip[i, 1, :, :3] = hand + np.array([*wrist, 0.0]) + rng.normal(0, 0.004, (NUM_POINTS, 3))
        clip[i, 1, :, 3] = 1.0
    lost = rng.uniform(size=num_frames) < 0.1  # the detector misses a frame now and then
    clip[lost, 1] = 0.0
    if rng.uniform() < 0.5:  # a resting left hand low in the frame
        rest = hand_points("open", size) * np.array([-1, 1, 1]) + np.array([0.35, 0.4, 0.0])
        clip[:, 0, :, :3] = rest + rng.normal(0, 0.004, (num_frames, NUM_POINTS, 3))
        clip[:, 0, :, 3] = 1.0
    return clip


def write_sign_set(root: Path, takes=(7, 3), num_frames: int = 16, seed: int = 0, num_signs: int = len(SIGNS)) -> VideoSet:
    """A set of landmark files only: class.csv under root/data-set/handsynth/<NNN>/ and takes[0] train, takes[1]
    val takes of each sign in its data-temp hands/ folder (no videos: the generators then take every file)."""
    labels = SIGNS[:num_signs]
    folder = Path(root) / "data-set" / "handsynth" / f"{num_signs:03d}"
    video_set = VideoSet("handsynth", num_classes=num_signs, num_frames=num_frames, min_dim_px=128, crop_px=128,
                         root=Path(root), folder=folder)
    write_class_table(video_set.class_file, [(label, label.replace("_", " "), "", "") for label in labels])
    rng = np.random.default_rng(seed)
    for split, count in zip(("train", "val"), takes):
        for sign, label in enumerate(labels):
            for take in range(count):
                target = video_set.stream_dir("hands") / split / label / f"take_{take:04d}.npy"
                with atomic_write(target) as tmp:
                    np.save(tmp, sign_clip(sign, num_frames, rng))
    return video_set
