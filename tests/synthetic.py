"""Tiny synthetic flow/frame sets for tests of the generator, training and prediction (no video decoding).

Class k is a blob moving in direction k (0 right, 1 down, 2 left, 3 up): separable by motion only.
"""
import warnings
from pathlib import Path

import numpy as np

import frame
import opticalflow
from videoset import VideoSet

DIRECTIONS = ((1, 0), (0, 1), (-1, 0), (0, -1))


def moving_blob_frames(direction, num_frames, size_px, rng) -> np.ndarray:
    """(num_frames, size_px, size_px * 4 // 3, 3) uint8 BGR: a bright blob on noise moving 3-4 px/frame."""
    h, w = size_px, size_px * 4 // 3
    speed = rng.uniform(3.0, 4.0)
    y0, x0 = rng.uniform(0.35, 0.65) * h, rng.uniform(0.35, 0.65) * w
    yy, xx = np.mgrid[0:h, 0:w]
    frames = []
    for t in range(num_frames):
        cy = y0 + direction[1] * speed * (t - num_frames / 2)
        cx = x0 + direction[0] * speed * (t - num_frames / 2)
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (size_px / 8) ** 2))
        image = 60 + 150 * blob[..., None] + rng.normal(0, 4, (h, w, 3))
        frames.append(np.clip(image, 0, 255).astype(np.uint8))
    return np.stack(frames)


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
                frames = moving_blob_frames(DIRECTIONS[k % 4], video_set.num_frames, video_set.min_dim_px, rng)
                frame.frames_to_files(frames, video_set.image_dir / split / label / f"v{n:03d}")
                with warnings.catch_warnings():  # DIS: fast, and these tests need no TV-L1 statistics
                    warnings.simplefilter("ignore")
                    flows = opticalflow.frames_to_flows(frames, method="dis")
                opticalflow.flows_to_files(flows, video_set.flow_dir / split / label / f"v{n:03d}")
    return video_set
