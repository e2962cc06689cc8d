"""Rendered signs filmed like a person's own recordings: real backgrounds, light, noise, compression, shake, speed.

Used by bench/own_signs.py (`--hard`, and `write_set` for benchmarks) to make a stand-in for a user's folder of
real takes, harder than the demo renderer's own camera. One demo_render.py signer performs every take, as one
person records their own signs, in sessions: each session has its own clothes, light and white balance,
background (a frame of a real webcam recording, ../shared/data/real/signing_clip.mp4, read at run time,
blurred, flipped, scaled and shifted), camera distance and position, noise and compression; within a session
each take varies a little about those, and is performed at 0.8-1.25x speed, starting at a random moment. The
camera is hand-held: every frame is moved by a smooth drift and a tremor, which whole-frame optical flow
sees as motion. A label ending in REVERSED_SUFFIX is its sign's path performed backwards (a near-duplicate).

A take is made in the order a camera makes it: the signer drawn over the background (demo_render with
film=False), the optics (distance, position, shake: one affine warp per frame of a world bigger than the
frame, so zooming out shows more background, not a border), the sensor (light and white balance as a per
channel gain and gamma, Gaussian noise) and compression. cv2.VideoWriter here has no H.264 encoder, so a JPEG
round trip of every frame at the session's quality (20-45: 8x8 blocking and ringing, as a webcam's H.264 at a
low bit rate) stands in for it; the take is then written as mp4v, which compresses it again.

Everything follows from the seeds: the same (seed, session, take) gives the same frames, byte for byte.
"""
import functools
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from signlang.demo_render import (LABELS, Layout, add_noise, expected_num_frames, hand_path, noise_table,
                                  render_video)
from signlang.video import frame_indices, video_to_frames

# ---- what a stand-in take is --------------------------------------------------------------------------------
REAL_CLIP = Path(__file__).resolve().parents[2] / "shared" / "data" / "real" / "signing_clip.mp4"
REVERSED_SUFFIX = "_reversed"     # zigzag_reversed: zigzag's path from its end to its start
REVERSIBLE = ("zigzag", "figure_eight")  # their reverse is no other class (circles, squares, swipes have one)
SPEED = (0.8, 1.25)               # a take's tempo, log-uniform: the 0.8-1.25x
MOVEMENT_S = 2.2                  # the movement at 1x; at 0.8x 2.75 s, at 1.25x 1.76 s (a 3 s take holds both)
WORLD_PAD = 0.2                   # the world around the frame, of its width/height: room to zoom out and shake
ZOOM = (0.85, 1.2)                # session: the signer's size in the frame (distance to the camera)
SHIFT = 0.06                      # session: camera position, +- of the frame's width/height
DRIFT_PX = (2.0, 6.0)             # hand-held: slow drift, standard deviation in px at height 360
TREMOR_PX = (0.4, 1.2)            # hand-held: fast tremor, standard deviation in px at height 360
NOISE_SIGMA = (2.0, 5.0)          # sensor noise, grey levels
JPEG_QUALITY = (20, 45)           # the H.264 stand-in (see the docstring)
# --------------------------------------------------------------------------------------------------------------


def base_label(label: str) -> tuple[str, bool]:
    """(the demo class a stand-in label performs, whether backwards): "zigzag_reversed" -> ("zigzag", True)."""
    if label.endswith(REVERSED_SUFFIX) and label.removesuffix(REVERSED_SUFFIX) in REVERSIBLE:
        return label.removesuffix(REVERSED_SUFFIX), True
    if label not in LABELS:
        raise ValueError(f"Unknown stand-in sign {label!r}; choose one of {', '.join(standin_labels())}")
    return label, False


def standin_labels() -> tuple[str, ...]:
    """Every label a stand-in can perform: the demo classes and the REVERSIBLE ones backwards."""
    return LABELS + tuple(label + REVERSED_SUFFIX for label in REVERSIBLE)


def real_frames(path: Path | None = None) -> np.ndarray:
    """The frames of the real recording the backgrounds come from (default REAL_CLIP): (n, h, w, 3) uint8 BGR,
    read-only, read once per process.

    Raises:
        FileNotFoundError: the clip is missing (one line naming it and the fix).
    """
    path = Path(REAL_CLIP if path is None else path).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: the hard stand-in films its signer in front of that real "
                                "recording's frames; put the shared reference data (../shared/data/real/"
                                "signing_clip.mp4) beside the repository, or leave out --hard")
    return _read_frames(path)


@functools.lru_cache(maxsize=2)
def _read_frames(path: Path) -> np.ndarray:
    frames = video_to_frames(path, None)
    frames.flags.writeable = False
    return frames


# ---- the draws of a session and of a take ---------------------------------------------------------------------
@dataclass(frozen=True)
class Session:
    """What stays the same for all takes of one recording session."""

    background_index: int     # frame of the real clip
    background_flip: bool     # mirrored left-right
    background_zoom: float    # >= 1: of the size that just covers the world
    background_x: float       # 0..1: where the world's crop sits in the zoomed frame
    background_y: float
    background_blur: float    # Gaussian sigma, px at height 360: out of focus behind the signer
    shirt_rgb: tuple          # the clothes of the day
    gain: np.ndarray          # (3,) per BGR channel: exposure x white balance
    gamma: float              # the camera's tone curve
    zoom: float               # the signer's size in the frame (ZOOM)
    shift: np.ndarray         # (2,) camera position (dx, dy), of the frame's width/height
    noise_sigma: float
    jpeg_quality: int


def draw_session(rng: np.random.Generator, num_backgrounds: int) -> Session:
    """One session's draws; num_backgrounds: frames in the real clip."""
    background_index = int(rng.integers(num_backgrounds))
    background_flip = bool(rng.random() < 0.5)
    background_zoom = rng.uniform(1.0, 1.6)
    background_x, background_y = rng.uniform(0, 1, 2)
    background_blur = rng.uniform(1.5, 4.0)
    shirt_rgb = tuple(float(c) for c in rng.uniform(20, 235, 3))
    gain = rng.uniform(0.75, 1.15) * rng.uniform(0.85, 1.15, 3)   # brightness, then a colour cast
    gamma = rng.uniform(0.8, 1.25)
    zoom = math.exp(rng.uniform(math.log(ZOOM[0]), math.log(ZOOM[1])))
    shift = rng.uniform(-SHIFT, SHIFT, 2)
    noise_sigma = rng.uniform(*NOISE_SIGMA)
    return Session(background_index, background_flip, background_zoom, background_x, background_y,
                   background_blur, shirt_rgb, gain, gamma, zoom, shift, noise_sigma,
                   jpeg_quality=int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1)))


@dataclass(frozen=True)
class Take:
    """What varies from take to take inside a session."""

    speed: float              # SPEED
    lead_in: float            # 0..1 of the take's still time comes before the movement
    background_step: int      # the real clip's frame moves on by this much (the person behind moved)
    gain: np.ndarray          # (3,) about the session's
    zoom: float               # factor on the session's
    shift: np.ndarray         # (2,) added to the session's
    shake: np.ndarray         # (n, 3) per frame: dx, dy px at height 360, rotation degrees
    noise_key: int


def draw_take(rng: np.random.Generator, num_frames: int, fps: float) -> Take:
    """One take's draws; num_frames: the take's length."""
    speed = math.exp(rng.uniform(math.log(SPEED[0]), math.log(SPEED[1])))
    lead_in = rng.uniform(0.1, 0.9)
    background_step = int(rng.integers(-3, 4))
    gain = rng.uniform(0.95, 1.05, 3)
    zoom = rng.uniform(0.97, 1.03)
    shift = rng.uniform(-0.015, 0.015, 2)
    return Take(speed, lead_in, background_step, gain, zoom, shift, hand_held_shake(rng, num_frames, fps),
                noise_key=int(rng.integers(2**62)))


def hand_held_shake(rng: np.random.Generator, num_frames: int, fps: float) -> np.ndarray:
    """A hand-held camera's motion: (n, 3) dx, dy px at height 360 and rotation degrees, per frame.

    A slow drift (smoothed over ~0.4 s, plus a steady glide) and a tremor (smoothed over ~2 frames), each
    scaled to a drawn standard deviation (DRIFT_PX, TREMOR_PX); the rotation follows the drift.
    """
    drift_px, tremor_px = rng.uniform(*DRIFT_PX), rng.uniform(*TREMOR_PX)
    glide = rng.normal(0, 2.0, 3) * [1, 1, 0.1] / fps                # px (degrees) per frame
    slow = _smooth_noise(rng, num_frames, 0.4 * fps) * [drift_px, drift_px, 0.15 * drift_px / 4]
    fast = _smooth_noise(rng, num_frames, 2.0) * [tremor_px, tremor_px, 0.0]
    steady = np.arange(num_frames)[:, None] * glide
    return slow + fast + steady - steady.mean(axis=0)


def _smooth_noise(rng: np.random.Generator, num: int, sigma_frames: float) -> np.ndarray:
    """(num, 3) Gaussian noise smoothed in time by a Gaussian of sigma_frames, each column of std 1."""
    pad = int(3 * sigma_frames) + 1
    white = rng.standard_normal((num + 2 * pad, 3))
    kernel = np.exp(-0.5 * (np.arange(-pad, pad + 1) / sigma_frames) ** 2)
    smooth = np.stack([np.convolve(white[:, k], kernel, mode="valid") for k in range(3)], axis=1)[:num]
    return (smooth - smooth.mean(axis=0)) / np.maximum(smooth.std(axis=0), 1e-9)


def sessions_of_takes(num_takes: int, num_sessions: int, last: int) -> list[int]:
    """The session of each take, in recording order: the last `last` takes make the last session (the takes a
    set holds out), the others are shared evenly by the sessions before it, earlier sessions the bigger."""
    if num_sessions < 1 or not 0 < last <= num_takes:
        raise ValueError(f"sessions_of_takes({num_takes}, {num_sessions}, {last}): need 1 <= last <= takes")
    if num_sessions == 1:
        return [0] * num_takes
    first = np.array_split(np.arange(num_takes - last), num_sessions - 1)
    return [s for s, part in enumerate(first) for _ in part] + [num_sessions - 1] * last


# ---- the effects -------------------------------------------------------------------------------------------------
def world_background(real: np.ndarray, session: Session, take: Take, world_hw: tuple, height: int) -> np.ndarray:
    """The room behind the signer, the size of the world (world_h, world_w, 3) uint8 BGR: a frame of the real
    clip, mirrored, scaled to cover the world (times background_zoom), cropped where the session says, blurred."""
    index = int(np.clip(session.background_index + take.background_step, 0, len(real) - 1))
    image = real[index][:, ::-1] if session.background_flip else real[index]
    world_h, world_w = world_hw
    scale = max(world_w / image.shape[1], world_h / image.shape[0]) * session.background_zoom
    size = (max(world_w, math.ceil(image.shape[1] * scale)), max(world_h, math.ceil(image.shape[0] * scale)))
    image = cv2.resize(np.ascontiguousarray(image), size, interpolation=cv2.INTER_AREA)
    x0 = int(round(session.background_x * (size[0] - world_w)))
    y0 = int(round(session.background_y * (size[1] - world_h)))
    crop = image[y0:y0 + world_h, x0:x0 + world_w]
    return cv2.GaussianBlur(crop, (0, 0), session.background_blur * height / 360)


def camera_matrices(frame_wh: tuple, pad_wh: tuple, zoom: float, shift: np.ndarray, shake: np.ndarray,
                    ) -> np.ndarray:
    """(n, 2, 3) affine maps from world px to frame px: zoom about the frame's centre, then the camera's shift
    (of the frame size) and the per-frame shake (dx, dy px at height 360, degrees)."""
    width, height = frame_wh
    centre_world = np.array([pad_wh[0] + width / 2, pad_wh[1] + height / 2])
    centre_frame = np.array([width / 2, height / 2]) + shift * [width, height]
    matrices = []
    for dx, dy, degrees in shake:
        matrix = cv2.getRotationMatrix2D(tuple(centre_world), float(degrees), zoom)   # about the world's centre
        matrix[:, 2] += centre_frame + np.array([dx, dy]) * height / 360 - centre_world
        matrices.append(matrix)
    return np.array(matrices)


def film(frames: np.ndarray, background: np.ndarray, pad_wh: tuple, matrices: np.ndarray) -> np.ndarray:
    """The optics: each frame (n, h, w, 3) pasted into the world (background, the frame at pad_wh from its
    corner) and warped by its matrix to (n, h, w, 3) uint8 BGR. Below the frame the world continues the
    frame's bottom row where the signer is (the body goes on below the frame's edge), the background elsewhere."""
    num, height, width = frames.shape[:3]
    pad_w, pad_h = pad_wh
    world = background.copy()
    below = world[pad_h + height:, pad_w:pad_w + width]
    out = np.empty_like(frames)
    for i in range(num):
        world[pad_h:pad_h + height, pad_w:pad_w + width] = frames[i]
        body = np.any(frames[i, -1] != background[pad_h + height - 1, pad_w:pad_w + width], axis=-1)
        below[:] = np.where(body[:, None], frames[i, -1], background[pad_h + height:, pad_w:pad_w + width])
        out[i] = cv2.warpAffine(world, matrices[i], (width, height), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REPLICATE)
    return out


def light(frames: np.ndarray, gain: np.ndarray, gamma: float) -> np.ndarray:
    """Exposure, white balance and tone: out = 255 * (in / 255) ** gamma * gain[c] per BGR channel, clipped."""
    levels = (np.arange(256) / 255.0) ** gamma
    table = np.clip(np.round(255 * levels[:, None] * np.asarray(gain)[None, :]), 0, 255).astype(np.uint8)
    table = table.reshape(256, 1, 3)
    return np.stack([cv2.LUT(frame, table) for frame in frames])


def sensor_noise(frames: np.ndarray, sigma: float, key: int) -> np.ndarray:
    """Gaussian noise of `sigma` grey levels, new in every frame (from key), saturated to uint8 (the demo
    renderer's own sensor noise, demo_render.add_noise)."""
    table = noise_table(sigma)
    return np.stack([add_noise(frame, table, key, i) for i, frame in enumerate(frames)])


def compress(frames: np.ndarray, quality: int) -> np.ndarray:
    """Every frame through JPEG at `quality` and back (the H.264 stand-in, see the docstring)."""
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    return np.stack([cv2.imdecode(cv2.imencode(".jpg", frame, params)[1], cv2.IMREAD_COLOR) for frame in frames])


def movement_length(fps: float, speed: float) -> int:
    """Frames of a movement performed at `speed` (MOVEMENT_S at 1x): 0.8x gives 1.25x the frames."""
    return max(2, int(round(MOVEMENT_S * fps / speed)))


def _render_fps(rng_seed, fps: float, num: int) -> float:
    """A frame rate at which the renderer draws the movement (its duration fixed by the seed) in exactly `num`
    frames, its first and last (the hand at rest) included: the lowest with that many, found by bisection
    (the count, round(duration * rate), grows one by one with the rate)."""
    low, high = 0.0, fps
    while expected_num_frames(rng_seed, high) < num:
        low, high = high, 2 * high
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if expected_num_frames(rng_seed, middle) < num else (low, middle)
    assert expected_num_frames(rng_seed, high) == num, (rng_seed, fps, num)
    return high


def movement(label: str, signer: int, rng_seed, width: int, height: int, fps: float, speed: float,
             background: np.ndarray | None = None, shirt_rgb: tuple | None = None) -> np.ndarray:
    """The signer performing `label` once at `speed`: movement_length(fps, speed) frames, (n, h, w, 3) uint8 BGR,
    as drawn (no camera); background: the canvas (demo_render.render_video). A REVERSED_SUFFIX label is its
    sign's frames in reverse order."""
    base, reverse = base_label(label)
    num = movement_length(fps, speed)
    frames = render_video(base, signer, rng_seed, width, height, _render_fps(rng_seed, fps, num),
                          background=background, shirt_rgb=shirt_rgb, film=False)
    return frames[::-1] if reverse else frames


def movement_path(label: str, signer: int, rng_seed, width: int, height: int, fps: float, speed: float
                  ) -> np.ndarray:
    """Where `movement` puts the palm centre: (n, 2) x, y in frame px before the camera."""
    base, reverse = base_label(label)
    num = movement_length(fps, speed)
    path = hand_path(base, signer, rng_seed, width, height, _render_fps(rng_seed, fps, num), film=False)
    return path[::-1] if reverse else path


def hard_take(label: str, signer: int, rng_seed, session: Session, take: Take, width: int, height: int,
              fps: float, num_frames: int, real: np.ndarray) -> np.ndarray:
    """One take as a user's camera records it: (num_frames, height, width, 3) uint8 BGR.

    The movement (at take.speed, starting after take.lead_in of the still time, the signer still before and
    after) over the session's background, filmed with the session's and take's camera.
    """
    pad_wh = (int(round(WORLD_PAD * width)), int(round(WORLD_PAD * height)))
    world_hw = (height + 2 * pad_wh[1], width + 2 * pad_wh[0])
    background = world_background(real, session, take, world_hw, height)
    margin = Layout(width, height).margin
    canvas = background[pad_wh[1] - margin:pad_wh[1] + height + margin, pad_wh[0] - margin:pad_wh[0] + width + margin]
    moving = movement(label, signer, rng_seed, width, height, fps, take.speed, canvas, session.shirt_rgb)
    moving = moving[frame_indices(len(moving), num_frames)] if len(moving) > num_frames else moving
    before = int(round(take.lead_in * (num_frames - len(moving))))
    after = num_frames - len(moving) - before
    frames = np.concatenate([moving[:1].repeat(before, 0), moving, moving[-1:].repeat(after, 0)])
    matrices = camera_matrices((width, height), pad_wh, session.zoom * take.zoom, session.shift + take.shift,
                               take.shake)
    frames = film(frames, background, pad_wh, matrices)
    frames = light(frames, session.gain * take.gain, session.gamma)
    frames = sensor_noise(frames, session.noise_sigma, take.noise_key)
    return compress(frames, session.jpeg_quality)
