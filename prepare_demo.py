"""python prepare_demo.py --classes 10 --per-class 16 --val-per-class 6 --out data-set/demo

Generates the built-in demo dataset: real MJPG .avi videos of a cartoon signer whose hand draws
one of a few movements, in exactly ChaLearn's layout, so that `make demo` runs without downloads:

    <out>/<NNN>/class.csv                               ,sClass,sLong,sCat,sDetail
    <out>/<NNN>/{train,val}/<label>/s<signer>_<k>.avi   320x240, 25 fps, 2-5 s

Only motion separates the classes: hand shape, size, pose, colours, start position and the
time-averaged hand position are drawn from the same distribution for every class (each movement
starts and ends at rest and is centred on a random anchor), so no single frame and no mean frame
tells the class (tests/test_prepare_demo.py checks this with simple classifiers).
"Signers" are appearance presets (skin, clothes, hair, room, handedness); train and val use
different signers (signer-independent, as ChaLearn's splits are): train s01-s06, val s07-s08.

Everything follows from --seed: the same seed gives byte-identical frames. A video is written to
a temporary name, decoded again and renamed into place only when complete, so a killed run or a full disk
is resumed by running it again (a rerun also renders again a video that does not decode to all its frames).
class.csv is written last: it marks a complete set.
Exit status: 0 done; 1 a video could not be written (disk full: free space and re-run); 2 user error.
"""
import argparse
import functools
import itertools
import math
import multiprocessing
import os
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from statistics import NormalDist
from typing import NamedTuple, Sequence

import cv2
import numpy as np
import pandas as pd
from tqdm import tqdm

import frame
from folderstep import EXIT_FAILED, EXIT_USER_ERROR, exit_with_parent
from safeio import clean_leftovers
from videoset import write_class_table

# ---- what the demo set is ------------------------------------------------
WIDTH_PX, HEIGHT_PX = 320, 240    # ChaLearn IsoGD's RGB videos are 320x240
FPS = 25.0
DURATION_S = (2.0, 5.0)           # uniform per video
MOTION_FRAC = (0.125, 0.185)       # path amplitude A / height: paths span ~25-45 % of the height (tests pin it)
# --------------------------------------------------------------------------


class DemoClass(NamedTuple):
    """One row of class.csv: (sClass, sLong, sCat, sDetail)."""

    label: str
    description: str
    category: str
    detail: str


# Directions are as the camera sees them (image coordinates): "left" moves towards the image's left edge.
DEMO_CLASSES = (
    DemoClass("circle_cw", "Hand draws a circle clockwise", "Demo", "Circle clockwise"),
    DemoClass("circle_ccw", "Hand draws a circle counter-clockwise", "Demo", "Circle counter-clockwise"),
    DemoClass("swipe_left", "Hand swipes to the left", "Demo", "Swipe left"),
    DemoClass("swipe_right", "Hand swipes to the right", "Demo", "Swipe right"),
    DemoClass("swipe_up", "Hand swipes upwards", "Demo", "Swipe up"),
    DemoClass("swipe_down", "Hand swipes downwards", "Demo", "Swipe down"),
    DemoClass("zigzag", "Hand draws a zig-zag from top to bottom", "Demo", "Zig-zag"),
    DemoClass("double_tap", "Hand pushes towards the camera twice", "Demo", "Double tap"),
    DemoClass("wave", "Raised hand waves side to side", "Demo", "Wave"),
    DemoClass("figure_eight", "Hand draws an upright figure eight", "Demo", "Figure eight"),
    DemoClass("swipe_up_left", "Hand swipes diagonally up and to the left", "Demo", "Swipe up-left"),
    DemoClass("swipe_up_right", "Hand swipes diagonally up and to the right", "Demo", "Swipe up-right"),
    DemoClass("swipe_down_left", "Hand swipes diagonally down and to the left", "Demo", "Swipe down-left"),
    DemoClass("swipe_down_right", "Hand swipes diagonally down and to the right", "Demo", "Swipe down-right"),
    DemoClass("square_cw", "Hand draws a square clockwise", "Demo", "Square clockwise"),
    DemoClass("square_ccw", "Hand draws a square counter-clockwise", "Demo", "Square counter-clockwise"),
)
LABELS = tuple(c.label for c in DEMO_CLASSES)


class Signer(NamedTuple):
    """An appearance preset. Colours are RGB (converted to BGR when drawn)."""

    skin_rgb: tuple
    shirt_rgb: tuple
    hair_rgb: tuple
    room: str           # background texture kind, see _room_texture
    room_rgb: tuple     # its main colour
    right_handed: bool  # right hand = on the image's left, thumb towards the body


SIGNERS = {
    1: Signer((241, 194, 125), (40, 70, 150), (60, 40, 25), "brick", (150, 70, 50), True),
    2: Signer((141, 85, 36), (200, 200, 200), (20, 15, 15), "planks", (170, 130, 85), True),
    3: Signer((255, 219, 172), (150, 30, 40), (200, 160, 90), "mottled", (110, 130, 160), False),
    4: Signer((198, 134, 66), (30, 110, 60), (30, 20, 15), "tiles", (215, 215, 205), True),
    5: Signer((224, 172, 105), (60, 60, 70), (120, 60, 30), "shelf", (120, 90, 60), False),
    6: Signer((92, 58, 34), (230, 190, 40), (15, 10, 10), "curtain", (60, 110, 70), True),
    7: Signer((232, 182, 140), (90, 40, 110), (90, 90, 95), "brick", (170, 170, 165), False),
    8: Signer((120, 76, 46), (200, 100, 40), (25, 20, 20), "mottled", (200, 180, 110), True),
}
TRAIN_SIGNERS = (1, 2, 3, 4, 5, 6)
VAL_SIGNERS = (7, 8)
SPLITS = {"train": TRAIN_SIGNERS, "val": VAL_SIGNERS}

_SWIPES = {  # unit direction of each straight stroke (image coordinates, y down)
    "swipe_left": (-1, 0), "swipe_right": (1, 0), "swipe_up": (0, -1), "swipe_down": (0, 1),
    "swipe_up_left": (-0.7071, -0.7071), "swipe_up_right": (0.7071, -0.7071),
    "swipe_down_left": (-0.7071, 0.7071), "swipe_down_right": (0.7071, 0.7071),
}


def _ease(f: np.ndarray) -> np.ndarray:
    """0..1 -> 0..1 with zero speed at both ends (a stroke that starts and stops)."""
    return 0.5 - 0.5 * np.cos(np.pi * np.clip(f, 0.0, 1.0))


def _polyline(corners: np.ndarray, u: np.ndarray, times: Sequence[float] | None = None) -> np.ndarray:
    """Walks the corners (k, 2) at progress u (n,) in [0, 1], stopping briefly at each corner -> (n, 2).

    times: the progress (k,) at which each corner is reached, 0 .. 1; evenly spaced if None.
    """
    times = np.linspace(0.0, 1.0, len(corners)) if times is None else np.asarray(times, float)
    u = np.clip(u, 0.0, 1.0)
    segment = np.clip(np.searchsorted(times, u, side="right") - 1, 0, len(corners) - 2)
    f = _ease((u - times[segment]) / (times[segment + 1] - times[segment]))[:, None]
    return corners[segment] * (1 - f) + corners[segment + 1] * f


def _gesture_path(label: str, t: np.ndarray, rng: np.random.Generator) -> tuple:
    """The hand's movement for one class, starting and ending at the rest point (0, 0).

    A lead-in brings the hand from rest to where the shape begins and a lead-out takes it back, so the
    first and last frames look the same for every class; the caller centres the whole path on a random anchor.

    Args:
        t: (n,) time as a fraction of the video, 0..1.
    Returns:
        xy (n, 2) in units of the amplitude A, log_scale (n,), extra_rotation_deg (n,).
    """
    n = len(t)
    log_scale = np.zeros(n)
    rotation = np.zeros(n)
    t0, t1 = rng.uniform(0.06, 0.1), 1.0 - rng.uniform(0.06, 0.1)   # the gesture between lead-in and lead-out
    tau = np.clip((t - t0) / (t1 - t0), 0.0, 1.0)
    if label in _SWIPES:
        # Wind up against the direction, stroke through (twice the distance in about the same time), return.
        reach = np.array(_SWIPES[label]) * rng.uniform(0.95, 1.15)
        windup, stroke = rng.uniform(0.2, 0.3), rng.uniform(0.35, 0.45)
        corners = np.array([[0, 0], -reach, reach, [0, 0]], float)
        return _polyline(corners, tau, (0, windup, windup + stroke, 1)), log_scale, rotation
    b = rng.uniform(0.2, 0.5)
    u = tau - b * np.sin(2 * np.pi * tau) / (2 * np.pi)   # a random speed profile, slower at the ends
    if label in ("circle_cw", "circle_ccw"):
        sign = 1.0 if label == "circle_cw" else -1.0   # y points down: increasing angle turns clockwise on screen
        angle = -np.pi / 2 + rng.uniform(-0.7, 0.7) + sign * 2 * np.pi * u
        xy = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    elif label == "zigzag":
        corners = np.array([[-1, -1], [1, -1 / 3], [-1, 1 / 3], [1, 1]], float) * [0.8, 0.85]
        xy = _polyline(corners, u)
    elif label in ("square_cw", "square_ccw"):
        corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]], float) * 0.65
        if label == "square_ccw":
            corners = corners[:, ::-1]   # swapping x and y walks the same square the other way round
        xy = _polyline(corners, u)
    elif label == "double_tap":
        push = np.sin(4 * np.pi * u)      # two pushes towards the camera (grow) and back (shrink)
        log_scale = rng.uniform(0.35, 0.45) * push
        xy = np.stack([0.1 * push, -0.25 * push], axis=1)
    elif label == "wave":
        cycles = rng.uniform(2.0, 2.5)
        phase = 2 * np.pi * cycles * u
        xy = np.stack([0.55 * np.sin(phase), 0.06 * np.sin(2 * phase)], axis=1)
        rotation = 18.0 * np.sin(phase - 0.4) * np.sin(np.pi * u)   # the wrist turns with the wave
    elif label == "figure_eight":
        xy = np.stack([0.5 * np.sin(4 * np.pi * u), -0.9 * np.sin(2 * np.pi * u)], axis=1)
    else:
        raise ValueError(f"Unknown demo class {label!r}; choose one of {', '.join(LABELS)}")
    # Lead-in from rest to the first point of the shape, lead-out from its last point back to rest.
    xy = xy * np.where(t < t0, _ease(t / t0), np.where(t > t1, _ease((1 - t) / (1 - t1)), 1.0))[:, None]
    return xy, log_scale, rotation


def _value_noise(shape: tuple, cells: tuple, rng: np.random.Generator) -> np.ndarray:
    """Smooth random field (h, w) float32 in about [-1, 1]: random cells upsampled bicubically."""
    field = rng.uniform(-1, 1, size=cells).astype(np.float32)
    return cv2.resize(field, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)


@functools.lru_cache(maxsize=16)
def _room_texture(signer_id: int, height: int, width: int) -> np.ndarray:
    """A signer's room: a textured wall 1.4x the frame size, (H, W, 3) uint8 BGR; per-video crops vary it."""
    signer = SIGNERS[signer_id]
    rng = np.random.default_rng(1000 + signer_id)
    h, w = int(height * 1.4), int(width * 1.4)
    base = np.array(signer.room_rgb[::-1], np.float32)
    unit = height / 240.0
    wall = np.empty((h, w, 3), np.float32)
    wall[:] = base
    shade = np.ones((h, w), np.float32)
    if signer.room == "brick":
        brick_h, brick_w = int(18 * unit), int(40 * unit)
        for row, y in enumerate(range(0, h, brick_h)):
            offset = (row % 2) * brick_w // 2
            for x in range(-offset, w, brick_w):
                colour = base * rng.uniform(0.8, 1.15, 3)
                cv2.rectangle(wall, (x + 1, y + 1), (x + brick_w - 2, y + brick_h - 2), colour.tolist(), -1)
            cv2.line(wall, (0, y), (w, y), (base * 0.55 + 90).tolist(), max(1, int(2 * unit)))
        shade += 0.08 * _value_noise((h, w), (h // 6, w // 6), rng)
    elif signer.room == "planks":
        plank_w = int(28 * unit)
        for x in range(0, w, plank_w):
            wall[:, x:x + plank_w] *= rng.uniform(0.85, 1.1)
            cv2.line(wall, (x, 0), (x, h), (base * 0.5).tolist(), max(1, int(2 * unit)))
        grain = _value_noise((h, w), (6, w // 3), rng)
        shade += 0.12 * grain
    elif signer.room == "mottled":
        shade += 0.18 * _value_noise((h, w), (6, 8), rng) + 0.06 * _value_noise((h, w), (30, 40), rng)
    elif signer.room == "tiles":
        tile = int(30 * unit)
        for y in range(0, h, tile):
            for x in range(0, w, tile):
                wall[y:y + tile, x:x + tile] *= rng.uniform(0.93, 1.05)
        for y in range(0, h, tile):
            cv2.line(wall, (0, y), (w, y), (base * 0.6).tolist(), max(1, int(2 * unit)))
        for x in range(0, w, tile):
            cv2.line(wall, (x, 0), (x, h), (base * 0.6).tolist(), max(1, int(2 * unit)))
    elif signer.room == "shelf":
        shelf_h = int(55 * unit)
        for y in range(0, h, shelf_h):
            x = 0
            while x < w:   # books of random width, height and colour
                book_w = int(rng.uniform(6, 16) * unit)
                top = y + int(rng.uniform(8, 20) * unit)
                colour = rng.uniform(30, 220, 3)
                cv2.rectangle(wall, (x, top), (x + book_w - 1, y + shelf_h - 6), colour.tolist(), -1)
                x += book_w + int(rng.integers(0, 3))
            cv2.rectangle(wall, (0, y + shelf_h - 6), (w, y + shelf_h), (base * 0.6).tolist(), -1)
    elif signer.room == "curtain":
        folds = np.sin(np.linspace(0, 2 * np.pi * rng.uniform(14, 20), w))[None, :]
        shade = shade + 0.22 * folds.astype(np.float32) + 0.05 * _value_noise((h, w), (8, 8), rng)
    else:
        raise AssertionError(signer.room)
    wall *= shade[:, :, None]
    return np.clip(wall, 0, 255).astype(np.uint8)


def _bgr(rgb, gain=1.0) -> tuple:
    return tuple(float(np.clip(c * gain, 0, 255)) for c in rgb[::-1])


def _hand_sprite(skin_rgb: tuple, length_px: float, mirror: bool, rng: np.random.Generator) -> tuple:
    """A palm-forward hand, fingers up: premultiplied BGRA (s, s, 4) float32 and its palm centre (x, y) in px.

    Drawn at 2x the nominal size (it is scaled down per frame), with soft edges and darker rims.
    """
    ss = 2.0 * length_px                 # drawing scale: 1 unit = hand length at 2x
    size = int(math.ceil(ss * 1.25)) | 1
    centre = np.array([size / 2, size / 2])           # palm centre
    mask = np.zeros((size, size), np.uint8)
    rims = np.zeros((size, size), np.uint8)
    spread = rng.uniform(2, 9)
    finger_len = np.array([0.43, 0.47, 0.44, 0.35]) * rng.uniform(0.9, 1.1)
    finger_x = np.array([0.15, 0.05, -0.05, -0.15])   # index .. little finger; the thumb is on the +x side
    width = rng.uniform(0.085, 0.1)

    def ellipse(img, c, axes, angle_deg, value, thickness=-1):
        cv2.ellipse(img, (int(c[0]), int(c[1])), (max(1, int(axes[0])), max(1, int(axes[1]))),
                    angle_deg, 0, 360, value, thickness, cv2.LINE_AA)

    ellipse(mask, centre + [0, 0.1 * ss], (0.08 * ss, 0.25 * ss), 0, 255)                    # wrist
    ellipse(mask, centre, (0.22 * ss, 0.24 * ss), 0, 255)                                    # palm
    for i in range(4):
        angle = np.radians(spread * (1.5 - i))        # fan out from the middle
        direction = np.array([np.sin(angle), -np.cos(angle)])
        base = centre + np.array([finger_x[i], -0.14]) * ss
        middle = base + direction * finger_len[i] * ss * 0.5
        tilt = 90 - np.degrees(np.arctan2(-direction[1], direction[0]))
        ellipse(mask, middle, (width * ss * 0.5, finger_len[i] * ss * 0.5), tilt, 255)
        ellipse(rims, middle, (width * ss * 0.5, finger_len[i] * ss * 0.5), tilt, 255, max(1, int(0.012 * ss)))
    thumb_angle = np.radians(rng.uniform(35, 60))
    direction = np.array([np.sin(thumb_angle), -np.cos(thumb_angle)])
    middle = centre + np.array([0.2, 0.08]) * ss + direction * 0.16 * ss
    tilt = 90 - np.degrees(np.arctan2(-direction[1], direction[0]))
    ellipse(mask, middle, (0.06 * ss, 0.17 * ss), tilt, 255)
    ellipse(rims, middle, (0.06 * ss, 0.17 * ss), tilt, 255, max(1, int(0.012 * ss)))
    cv2.line(rims, (int(centre[0] - 0.12 * ss), int(centre[1] + 0.02 * ss)),
             (int(centre[0] + 0.1 * ss), int(centre[1] - 0.05 * ss)), 255, max(1, int(0.008 * ss)), cv2.LINE_AA)

    alpha = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (5, 5), 0)
    # Darker towards the edges (a rounded look) and along the finger outlines and the palm crease.
    depth = cv2.GaussianBlur(alpha, (0, 0), 0.05 * ss)
    shading = 0.72 + 0.33 * depth - 0.18 * (rims.astype(np.float32) / 255.0)
    skin = np.array(_bgr(skin_rgb), np.float32) * rng.uniform(0.93, 1.07, 3).astype(np.float32)
    bgr = np.clip(shading[:, :, None] * skin, 0, 255)
    sprite = np.dstack([bgr * alpha[:, :, None], alpha]).astype(np.float32)
    if mirror:
        sprite = sprite[:, ::-1].copy()
    return sprite, centre


# Standard normal quantiles of the 256 byte values: maps uniform random bytes to Gaussian noise.
_GAUSS_QUANTILES = np.array([NormalDist().inv_cdf((k + 0.5) / 256) for k in range(256)])


def _pt(x, y) -> tuple:
    return int(round(x)), int(round(y))


def _draw_person(scene, body, body_x, head_y, shoulder_y, shoulder_half, size, skin, shirt, hair, side) -> None:
    """Draws head, neck, shoulders and the resting arm into scene (BGR) and their outline into body (mask)."""
    shirt_dark, shirt_bgr = _bgr(shirt, 0.7), _bgr(shirt)
    canvas_h = scene.shape[0]
    # Resting arm of the other side, hanging out of the frame.
    rest = _pt(body_x - side * shoulder_half * 0.9, shoulder_y + 0.1 * size)
    for img, value, extra in ((scene, shirt_dark, 4), (scene, shirt_bgr, 0), (body, 255, 0)):
        cv2.line(img, rest, _pt(body_x - side * shoulder_half * 1.05, canvas_h + 20), value,
                 int(0.16 * size) + extra, cv2.LINE_AA)
    chest_y = shoulder_y + 0.42 * size
    for img, value in ((scene, shirt_bgr), (body, 255)):   # shoulders (upper half ellipse) and torso
        cv2.ellipse(img, _pt(body_x, chest_y), _pt(shoulder_half * 1.05, 0.45 * size), 0, 180, 360, value, -1,
                    cv2.LINE_AA)
        cv2.rectangle(img, _pt(body_x - shoulder_half * 1.05, chest_y), _pt(body_x + shoulder_half * 1.05, canvas_h),
                      value, -1)
    # Neck, collar, head, ears, hair, face.
    skin_bgr, skin_dark = _bgr(skin), _bgr(skin, 0.82)
    head_axes = (0.1 * size, 0.13 * size)
    for img, value in ((scene, skin_dark), (body, 255)):
        cv2.rectangle(img, _pt(body_x - 0.045 * size, head_y), _pt(body_x + 0.045 * size, shoulder_y + 0.03 * size),
                      value, -1)
    cv2.ellipse(scene, _pt(body_x, shoulder_y), _pt(0.07 * size, 0.035 * size), 0, 0, 180, _bgr(shirt, 0.6), -1,
                cv2.LINE_AA)
    for dx in (-1, 1):
        for img, value in ((scene, skin_dark), (body, 255)):
            cv2.ellipse(img, _pt(body_x + dx * 0.1 * size, head_y + 0.01 * size), _pt(0.02 * size, 0.035 * size),
                        0, 0, 360, value, -1, cv2.LINE_AA)
    for img, value in ((scene, _bgr(hair)), (body, 255)):
        cv2.ellipse(img, _pt(body_x, head_y - 0.03 * size), _pt(head_axes[0] * 1.08, head_axes[1] * 1.02), 0, 0, 360,
                    value, -1, cv2.LINE_AA)
    cv2.ellipse(scene, _pt(body_x, head_y + 0.012 * size), _pt(*head_axes), 0, 0, 360, skin_bgr, -1, cv2.LINE_AA)
    cv2.ellipse(scene, _pt(body_x, head_y - 0.05 * size), _pt(head_axes[0] * 1.05, 0.07 * size), 0, 180, 360,
                _bgr(hair), -1, cv2.LINE_AA)
    for dx in (-1, 1):
        eye = (body_x + dx * 0.04 * size, head_y)
        cv2.ellipse(scene, _pt(*eye), _pt(0.014 * size, 0.008 * size), 0, 0, 360, (245, 245, 245), -1, cv2.LINE_AA)
        cv2.circle(scene, _pt(*eye), max(1, int(0.006 * size)), (40, 30, 25), -1, cv2.LINE_AA)
        cv2.line(scene, _pt(eye[0] - 0.018 * size, eye[1] - 0.025 * size), _pt(eye[0] + 0.018 * size,
                 eye[1] - 0.027 * size), _bgr(hair, 0.8), max(1, int(0.007 * size)), cv2.LINE_AA)
    cv2.line(scene, _pt(body_x, head_y + 0.01 * size), _pt(body_x - 0.008 * size, head_y + 0.045 * size),
             _bgr(skin, 0.7), max(1, int(0.005 * size)), cv2.LINE_AA)
    cv2.ellipse(scene, _pt(body_x, head_y + 0.075 * size), _pt(0.03 * size, 0.01 * size), 0, 0, 180,
                _bgr(skin, 0.55), max(1, int(0.006 * size)), cv2.LINE_AA)


def _evenly_spaced(num_in: int, num_samples: int) -> np.ndarray:
    """The pipeline's sampling rule (frame.frame_indices): index i = floor(i * num_in / num_samples)."""
    return (np.arange(num_samples, dtype=np.int64) * num_in) // num_samples


def render_video(label: str, signer: int, rng_seed, width: int = WIDTH_PX, height: int = HEIGHT_PX,
                 fps: float = FPS, num_samples: int | None = None) -> np.ndarray:
    """Renders one demo video of `label` performed by `signer`.

    Args:
        label: a class name from DEMO_CLASSES, e.g. "circle_cw".
        signer: appearance preset 1..8 (SIGNERS; train 1-6, val 7-8).
        rng_seed: anything numpy's default_rng takes (an int or a sequence of ints); the same seed
            gives the same frames, byte for byte.
        width, height: frame size in px; every length scales with the height.
        fps: frame rate; the duration (2-5 s) is drawn from the seed, so the frame count is fps * duration.
        num_samples: render only this many evenly spaced frames (the pipeline's rule, floor(i * n / k)),
            identical to the same rows of the full video; for quick analysis and tests.
    Returns:
        frames: (n, height, width, 3) uint8 BGR.
    Raises:
        ValueError: unknown label or signer.
    """
    return _render(label, signer, rng_seed, width, height, fps, num_samples)


def hand_path(label: str, signer: int, rng_seed, width: int = WIDTH_PX, height: int = HEIGHT_PX,
              fps: float = FPS) -> np.ndarray:
    """Where render_video puts the palm centre: (n, 2) float x, y in frame px (camera shake included)."""
    return _render(label, signer, rng_seed, width, height, fps, None, path_only=True)


def _draw_num_frames(rng: np.random.Generator, fps: float) -> int:
    """The frame count of a video: its first random draw is the duration (DURATION_S), so it is known cheaply."""
    return max(2, int(round(rng.uniform(*DURATION_S) * fps)))


def expected_num_frames(rng_seed, fps: float = FPS) -> int:
    """How many frames render_video(..., rng_seed, fps=fps) has, without rendering it."""
    return _draw_num_frames(np.random.default_rng(rng_seed), fps)


def is_finished_video(path: Path, rng_seed, fps: float = FPS) -> bool:
    """True when `path` decodes to all the frames its seed gives: a rerun skips it, else renders it again.

    An older version could leave a truncated or 0-byte video under its final name (a full disk, issue 9 item 2).
    """
    return path.is_file() and frame.count_frames(path) == expected_num_frames(rng_seed, fps)


def _render(label, signer, rng_seed, width, height, fps, num_samples, path_only=False) -> np.ndarray:
    """render_video, or with path_only the hand's path; every random draw happens in the same order."""
    if label not in LABELS:
        raise ValueError(f"Unknown demo class {label!r}; choose one of {', '.join(LABELS)}")
    if signer not in SIGNERS:
        raise ValueError(f"Unknown signer {signer!r}; choose one of {sorted(SIGNERS)}")
    preset = SIGNERS[signer]
    rng = np.random.default_rng(rng_seed)
    h, w = height, width
    unit = h / 240.0
    margin = int(math.ceil(4 * unit))                 # camera shake moves a crop of this bigger canvas
    canvas_h, canvas_w = h + 2 * margin, w + 2 * margin
    num_frames = _draw_num_frames(rng, fps)
    t = np.arange(num_frames) / (num_frames - 1)      # 0..1
    seconds = np.arange(num_frames) / fps

    # ---- the static scene: wall crop, person (head, shoulders, resting arm) --------------------
    room = _room_texture(signer, h, w)
    scale_room = rng.uniform(1.0, 1.15)
    room_h, room_w = int(round(room.shape[0] / scale_room)), int(round(room.shape[1] / scale_room))
    y0 = int(rng.integers(0, room.shape[0] - room_h + 1)) if room_h < room.shape[0] else 0
    x0 = int(rng.integers(0, room.shape[1] - room_w + 1)) if room_w < room.shape[1] else 0
    wall = room[y0:y0 + min(room_h, room.shape[0]), x0:x0 + min(room_w, room.shape[1])]
    wall = cv2.resize(wall, (canvas_w, canvas_h), interpolation=cv2.INTER_AREA)
    wall = cv2.GaussianBlur(wall, (0, 0), rng.uniform(0.7, 1.8) * unit)   # behind the signer: out of focus
    scene = wall.copy()
    body = np.zeros((canvas_h, canvas_w), np.uint8)   # where the person is (distractors pass behind)

    size = rng.uniform(0.9, 1.1) * h                   # person scale
    body_x = canvas_w / 2 + rng.uniform(-0.06, 0.06) * w
    head_y = margin + rng.uniform(0.24, 0.3) * h
    shoulder_y = head_y + 0.25 * size
    shoulder_half = 0.36 * size * rng.uniform(0.9, 1.1)
    skin = np.array(preset.skin_rgb, float) * rng.uniform(0.93, 1.07)
    shirt = np.array(preset.shirt_rgb, float) * rng.uniform(0.9, 1.1)
    side = -1.0 if preset.right_handed else 1.0        # where the moving hand is, seen from the camera

    shirt_dark, shirt_bgr = _bgr(shirt, 0.7), _bgr(shirt)
    _draw_person(scene, body, body_x, head_y, shoulder_y, shoulder_half, size, skin, shirt,
                 np.array(preset.hair_rgb, float), side)

    # ---- the hand's path: class-specific shape, class-independent everything else ---------------
    amplitude = rng.uniform(*MOTION_FRAC) * h
    xy, log_scale, rotation = _gesture_path(label, t, rng)
    xy = (xy - xy.mean(axis=0)) * amplitude           # centred: the mean position is the anchor for every class
    anchor_x = body_x + side * rng.uniform(0.06, 0.36) * h
    anchor_y = margin + rng.uniform(0.33, 0.6) * h
    edge = 0.1 * h
    anchor_x = np.clip(anchor_x, margin + edge - xy[:, 0].min(), margin + w - edge - xy[:, 0].max())
    anchor_y = np.clip(anchor_y, margin + edge - xy[:, 1].min(), margin + h - edge - xy[:, 1].max())
    hand_x, hand_y = anchor_x + xy[:, 0], anchor_y + xy[:, 1]
    wobble_hz = rng.uniform(0.3, 0.8)
    rotation = (rotation + rng.uniform(-15, 15)
                + 6 * np.sin(2 * np.pi * wobble_hz * seconds + rng.uniform(0, 2 * np.pi))) * -side
    log_scale = log_scale + 0.06 * np.sin(2 * np.pi * rng.uniform(0.2, 0.6) * seconds + rng.uniform(0, 2 * np.pi))
    hand_scale = rng.uniform(0.82, 1.2) * np.exp(log_scale)
    hand_len = rng.uniform(0.2, 0.24) * h
    sprite, sprite_centre = _hand_sprite(tuple(skin), hand_len, mirror=not preset.right_handed, rng=rng)
    shoulder = np.array([body_x + side * shoulder_half * 0.9, shoulder_y + 0.05 * size])
    elbow_out = rng.uniform(0.05, 0.15) * h
    sleeve_w = int(0.085 * size)

    # ---- distractors, lighting, shake, noise: independent of the class ---------------------------
    use_ball = rng.random() < 0.7
    use_lamp = (not use_ball) or rng.random() < 0.5
    ball_r = rng.uniform(0.03, 0.06) * h
    ball_start = np.array([rng.uniform(0.05, 0.95) * canvas_w, rng.uniform(0.05, 0.4) * canvas_h])
    ball_angle = rng.uniform(0, 2 * np.pi)
    ball_speed = rng.uniform(4, 14) * unit            # px/s: slow drift
    ball_colour = rng.uniform(40, 230, 3).tolist()
    ball_path = ball_start + np.outer(seconds * ball_speed, [np.cos(ball_angle), np.sin(ball_angle)])
    lamp = np.zeros((canvas_h, canvas_w), np.float32)
    cv2.circle(lamp, _pt(rng.uniform(0.05, 0.95) * canvas_w, rng.uniform(0.05, 0.35) * canvas_h),
               int(rng.uniform(0.06, 0.12) * h), 1.0, -1)
    lamp = cv2.GaussianBlur(lamp, (0, 0), 0.04 * h) * rng.uniform(15, 35)
    lamp[body > 0] = 0
    lamp_glow = np.clip(lamp[:, :, None] * np.array([0.8, 1.0, 1.1], np.float32), 0, 255).astype(np.uint8)
    blink_period = rng.uniform(0.6, 1.6)
    lamp_on = ((seconds + rng.uniform(0, blink_period)) % blink_period) < blink_period * rng.uniform(0.3, 0.7)

    gain = rng.uniform(0.75, 1.2) * rng.uniform(0.92, 1.08, 3)        # brightness + white balance
    contrast = rng.uniform(0.8, 1.15)
    bias = rng.uniform(-15, 15) + 128 * (1 - contrast) * gain
    flicker = 1 + 0.03 * np.sin(2 * np.pi * rng.uniform(0.1, 0.5) * seconds + rng.uniform(0, 2 * np.pi))
    shake = np.cumsum(rng.normal(0, 0.35 * unit, (num_frames, 2)), axis=0)   # a slow random walk
    shake = np.clip(shake - shake.mean(axis=0), -margin, margin).round().astype(int)
    noise_sigma = rng.uniform(1.0, 3.0)
    noise_table = np.clip(np.round(128 + noise_sigma * _GAUSS_QUANTILES), 0, 255).astype(np.uint8)
    noise_key = int(rng.integers(2**62))

    if path_only:
        return np.stack([hand_x - margin - shake[:, 1], hand_y - margin - shake[:, 0]], axis=1)

    indices = np.arange(num_frames) if num_samples is None else _evenly_spaced(num_frames, num_samples)
    frames = np.empty((len(indices), h, w, 3), np.uint8)   # (n, h, w, 3) uint8 BGR
    canvas = np.empty_like(scene)
    for row, i in enumerate(indices):
        np.copyto(canvas, scene)
        if use_ball:
            bx, by = ball_path[i]
            x_lo, x_hi = max(0, int(bx - ball_r) - 2), min(canvas_w, int(bx + ball_r) + 3)
            y_lo, y_hi = max(0, int(by - ball_r) - 2), min(canvas_h, int(by + ball_r) + 3)
            if x_lo < x_hi and y_lo < y_hi:
                patch = canvas[y_lo:y_hi, x_lo:x_hi].copy()
                cv2.circle(patch, _pt((bx - x_lo) * 16, (by - y_lo) * 16), int(ball_r * 16), ball_colour, -1,
                           cv2.LINE_AA, 4)
                behind = body[y_lo:y_hi, x_lo:x_hi] == 0
                canvas[y_lo:y_hi, x_lo:x_hi][behind] = patch[behind]
        if use_lamp and lamp_on[i]:
            cv2.add(canvas, lamp_glow, dst=canvas)

        # Arm: shoulder -> elbow (below, outwards) -> wrist, then the hand over its end.
        angle = np.radians(rotation[i])
        down = np.array([-np.sin(angle), np.cos(angle)])          # from palm centre towards the wrist
        scale = hand_scale[i]
        wrist = np.array([hand_x[i], hand_y[i]]) + down * 0.3 * hand_len * scale
        elbow = np.array([(shoulder[0] + wrist[0]) / 2 + side * elbow_out, max(shoulder[1], wrist[1]) + 0.2 * h])
        for colour, extra in ((shirt_dark, 3), (shirt_bgr, 0)):
            cv2.line(canvas, _pt(*shoulder), _pt(*elbow), colour, sleeve_w + extra, cv2.LINE_AA)
            cv2.line(canvas, _pt(*elbow), _pt(*wrist), colour, int(sleeve_w * 0.85) + extra, cv2.LINE_AA)
        zoom = scale / 2.0                                        # the sprite is drawn at 2x
        radius = int(math.ceil(sprite.shape[0] * 0.75 * zoom)) + 2
        cx, cy = int(round(hand_x[i])), int(round(hand_y[i]))
        x_lo, x_hi = max(0, cx - radius), min(canvas_w, cx + radius)
        y_lo, y_hi = max(0, cy - radius), min(canvas_h, cy + radius)
        if x_lo < x_hi and y_lo < y_hi:
            matrix = cv2.getRotationMatrix2D((float(sprite_centre[0]), float(sprite_centre[1])), -rotation[i], zoom)
            matrix[:, 2] += [hand_x[i] - x_lo - sprite_centre[0], hand_y[i] - y_lo - sprite_centre[1]]
            warped = cv2.warpAffine(sprite, matrix, (x_hi - x_lo, y_hi - y_lo), flags=cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            roi = canvas[y_lo:y_hi, x_lo:x_hi]
            blended = roi * (1.0 - warped[:, :, 3:]) + warped[:, :, :3]
            roi[:] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)

        dy, dx = shake[i]
        frame = canvas[margin + dy:margin + dy + h, margin + dx:margin + dx + w]
        light = np.zeros((3, 4), np.float32)
        light[[0, 1, 2], [0, 1, 2]] = contrast * gain * flicker[i]
        light[:, 3] = bias
        frame = cv2.transform(frame, light)
        # Sensor noise: random bytes through the Gaussian quantile table, 128 = no change.
        random_bytes = np.random.default_rng([noise_key, int(i)]).bytes(h * w * 3)
        noise = cv2.LUT(np.frombuffer(random_bytes, np.uint8).reshape(h, w, 3), noise_table)
        frames[row] = cv2.addWeighted(frame, 1.0, noise, 1.0, -128.0)
    return frames


def _make_video(task: tuple) -> str:
    """Worker: renders and writes one video; returns its path."""
    path, label, signer, entropy, fps = task
    cv2.setNumThreads(1)     # one video per process; the pool gives the parallelism
    frame.write_video(Path(path), render_video(label, signer, entropy, fps=fps), fps)
    return path


def video_plan(video_dir: Path, num_classes: int, per_class: int, val_per_class: int, seed: int) -> list:
    """Every video of the set: (path, label, signer, seed entropy) in a fixed order.

    Video k of a class and split is signer SPLITS[split][k % len] and is named s<signer>_<k>.avi; its seed
    (seed, class index, split index, k) does not depend on the other counts, so a bigger --per-class only adds videos.
    """
    plan = []
    for class_index, demo_class in enumerate(DEMO_CLASSES[:num_classes]):
        for split_index, (split, count) in enumerate((("train", per_class), ("val", val_per_class))):
            signers = SPLITS[split]
            for k in range(count):
                signer = signers[k % len(signers)]
                path = video_dir / split / demo_class.label / f"s{signer:02d}_{k:04d}.avi"
                plan.append((path, demo_class.label, signer, (seed, class_index, split_index, k)))
    return plan


def _check_existing(video_dir: Path, labels: Sequence[str]) -> None:
    """Refuses to mix: an existing class.csv or label folder must match this class list."""
    class_file = video_dir / "class.csv"
    if class_file.exists():
        try:
            existing = pd.read_csv(class_file, index_col=0)["sClass"].astype(str).tolist()
        except (KeyError, ValueError, pd.errors.ParserError) as error:
            raise ValueError(f"{class_file} is not a class list with column sClass ({error}); "
                             "choose another --out or move that folder away") from error
        if existing != list(labels):
            raise ValueError(f"{class_file} lists other classes ({', '.join(existing[:5])}, ...) than the demo set "
                             f"({', '.join(labels[:5])}, ...); choose another --out or move {video_dir} away")
    for split in SPLITS:
        split_dir = video_dir / split
        if split_dir.is_dir():
            strangers = sorted(p.name for p in split_dir.iterdir() if p.is_dir() and p.name not in labels)
            if strangers:
                raise ValueError(f"{split_dir} holds label folders that are not demo classes ({', '.join(strangers)}); "
                                 f"choose another --out or move {video_dir} away")


def write_class_file(video_dir: Path, num_classes: int) -> Path:
    """Writes <video_dir>/class.csv (,sClass,sLong,sCat,sDetail) atomically; returns its path."""
    class_file = video_dir / "class.csv"
    return write_class_table(class_file, DEMO_CLASSES[:num_classes])


def generate_demo_set(out_dir: Path, num_classes: int = 10, per_class: int = 16, val_per_class: int = 6,
                      seed: int = 0, workers: int = 2, overwrite: bool = False) -> Path:
    """Generates the demo set under out_dir/<NNN>; skips videos that already exist unless overwrite.

    Args:
        out_dir: the dataset folder (data-set/demo); the set goes to out_dir/<num_classes as 3 digits>.
        num_classes: the first num_classes of DEMO_CLASSES (2..16).
        per_class, val_per_class: videos per class in train (signers s01-s06) and val (s07-s08).
        seed: everything follows from it; the same seed gives the same frames.
        workers: processes rendering videos; 1 renders in this process.
        overwrite: render every video again (files of other names are never touched).
    Returns:
        The <NNN> folder.
    Raises:
        ValueError: bad counts, or the folder already holds a different class list.
    """
    if not 2 <= num_classes <= len(DEMO_CLASSES):
        raise ValueError(f"num_classes={num_classes}: the demo set has 2..{len(DEMO_CLASSES)} classes")
    if per_class < 1 or val_per_class < 1:
        raise ValueError(f"per_class={per_class}, val_per_class={val_per_class}: each split needs >= 1 video per class")
    if workers < 1:
        raise ValueError(f"workers={workers}: need at least 1")
    for folder in (Path(out_dir), Path(out_dir) / f"{num_classes:03d}"):
        if folder.exists() and not folder.is_dir():
            raise ValueError(f"{folder} is a file, not a folder; choose another --out (default data-set/demo)")
    start = time.perf_counter()
    video_dir = Path(out_dir) / f"{num_classes:03d}"
    labels = LABELS[:num_classes]
    _check_existing(video_dir, labels)
    clean_leftovers(video_dir)          # hidden .tmp-* files of a killed run
    video_dir.mkdir(parents=True, exist_ok=True)

    plan = video_plan(video_dir, num_classes, per_class, val_per_class, seed)
    todo = [(str(path), label, signer, entropy, FPS) for path, label, signer, entropy in plan
            if overwrite or not is_finished_video(path, entropy)]
    for path in {Path(task[0]).parent for task in todo}:
        path.mkdir(parents=True, exist_ok=True)
    bar = tqdm(total=len(todo), desc="demo videos", unit="video", disable=not todo)
    try:
        if workers == 1 or len(todo) <= 1:
            for task in todo:
                _make_video(task)
                bar.update()
        else:
            # A few videos in flight at a time: on Ctrl-C or an error only those finish, not the whole queue.
            queue = iter(todo)
            # "spawn": a forked child of a process that already runs TensorFlow's threads can deadlock.
            # Workers exit when this process dies (kill -9 included; folderstep.exit_with_parent).
            with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                     initializer=exit_with_parent, initargs=(os.getpid(),)) as pool:
                running = {pool.submit(_make_video, task) for task in itertools.islice(queue, 2 * workers)}
                while running:
                    done, running = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        future.result()
                        bar.update()
                        running |= {pool.submit(_make_video, task) for task in itertools.islice(queue, 1)}
    finally:
        bar.close()
    write_class_file(video_dir, num_classes)    # last: a class.csv means the set is complete
    seconds = time.perf_counter() - start
    print(f"Demo set videos: {len(todo)} written, {len(plan) - len(todo)} skipped ({num_classes} classes x "
          f"{per_class} train [signers s01-s06] + {val_per_class} val [s07-s08]) in {seconds:.1f} s "
          f"-> {video_dir.resolve()}")
    return video_dir


def ensure_demo_set(video_set, workers: int = 2) -> None:
    """Generates the built-in demo set when `video_set` is it and its class.csv (written last) is absent."""
    if video_set.name == "demo" and video_set.folder is None and not video_set.class_file.exists():
        generate_demo_set(video_set.video_dir.parent, num_classes=video_set.num_classes, workers=workers)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--classes", type=int, default=10, choices=range(2, len(DEMO_CLASSES) + 1), metavar="N",
                        help=f"number of classes, 2..{len(DEMO_CLASSES)}: the first N of DEMO_CLASSES (default 10)")
    parser.add_argument("--per-class", type=int, default=16, help="train videos per class (default 16)")
    parser.add_argument("--val-per-class", type=int, default=6, help="val videos per class (default 6)")
    parser.add_argument("--out", type=Path, default=Path("data-set/demo"),
                        help="dataset folder; the set goes to OUT/<NNN> (default data-set/demo)")
    parser.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same videos")
    parser.add_argument("--workers", type=int, default=2, help="rendering processes (default 2)")
    parser.add_argument("--overwrite", action="store_true", help="render existing videos again")
    args = parser.parse_args(argv)
    try:
        generate_demo_set(args.out, num_classes=args.classes, per_class=args.per_class,
                          val_per_class=args.val_per_class, seed=args.seed, workers=args.workers,
                          overwrite=args.overwrite)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as error:  # disk full, unwritable folder: the finished videos stay, a rerun does the rest
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main())
