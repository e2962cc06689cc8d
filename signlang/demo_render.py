"""Renders one demo-set video: a cartoon signer whose hand draws one movement.

Used by prepare_demo.py, which writes the set, and by bench/livedemo.py, bench/own_signs.py and the tests.

Only motion separates the classes: hand shape, size, pose, colours, start position and the
time-averaged hand position are drawn from the same distribution for every class (each movement
starts and ends at rest and is centred on a random anchor), so no single frame and no mean frame
tells the class (tests/test_prepare_demo.py checks this with simple classifiers).
"Signers" are appearance presets (skin, clothes, hair, room, handedness).

Everything follows from the seed: `draw_video` makes every random draw of a video up front, in one fixed
order, into a frozen `VideoDraws`; the drawing functions after it only read those draws. Changing the order
of the draws changes every video (tests/test_prepare_demo.py pins checksums of a few rendered clips).
"""
import functools
import math
from dataclasses import dataclass, replace
from statistics import NormalDist
from typing import NamedTuple, Sequence

import cv2
import numpy as np

# ---- what a demo video is ------------------------------------------------
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



@dataclass(frozen=True)
class GestureDraws:
    """The random draws of one movement; a class draws only the fields it uses (the others stay None)."""

    start: float                          # lead-in ends, as a fraction of the video
    end: float                            # lead-out starts
    reach_gain: float | None = None       # swipes: stroke length, in units of the amplitude
    windup: float | None = None           # swipes: progress at the end of the wind-up
    stroke: float | None = None           # swipes: progress the stroke takes
    slowdown: float | None = None         # the others: how much slower the shape is drawn at its ends
    start_angle: float | None = None      # circles: offset of the first point, radians
    push_depth: float | None = None       # double_tap: log-scale amplitude of a push
    cycles: float | None = None           # wave: side-to-side cycles


def _draw_gesture(label: str, rng: np.random.Generator) -> GestureDraws:
    """The draws `_gesture_path` uses for `label`, in the order the renderer has always made them."""
    start, end = rng.uniform(0.06, 0.1), 1.0 - rng.uniform(0.06, 0.1)
    if label in _SWIPES:
        reach_gain = rng.uniform(0.95, 1.15)
        windup = rng.uniform(0.2, 0.3)
        stroke = rng.uniform(0.35, 0.45)
        return GestureDraws(start, end, reach_gain=reach_gain, windup=windup, stroke=stroke)
    slowdown = rng.uniform(0.2, 0.5)
    if label in ("circle_cw", "circle_ccw"):
        return GestureDraws(start, end, slowdown=slowdown, start_angle=rng.uniform(-0.7, 0.7))
    if label == "double_tap":
        return GestureDraws(start, end, slowdown=slowdown, push_depth=rng.uniform(0.35, 0.45))
    if label == "wave":
        return GestureDraws(start, end, slowdown=slowdown, cycles=rng.uniform(2.0, 2.5))
    return GestureDraws(start, end, slowdown=slowdown)


def _gesture_path(label: str, t: np.ndarray, draws: GestureDraws) -> tuple:
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
    t0, t1 = draws.start, draws.end                       # the gesture between lead-in and lead-out
    tau = np.clip((t - t0) / (t1 - t0), 0.0, 1.0)
    if label in _SWIPES:
        # Wind up against the direction, stroke through (twice the distance in about the same time), return.
        reach = np.array(_SWIPES[label]) * draws.reach_gain
        corners = np.array([[0, 0], -reach, reach, [0, 0]], float)
        return _polyline(corners, tau, (0, draws.windup, draws.windup + draws.stroke, 1)), log_scale, rotation
    u = tau - draws.slowdown * np.sin(2 * np.pi * tau) / (2 * np.pi)   # a random speed profile, slower at the ends
    if label in ("circle_cw", "circle_ccw"):
        sign = 1.0 if label == "circle_cw" else -1.0   # y points down: increasing angle turns clockwise on screen
        angle = -np.pi / 2 + draws.start_angle + sign * 2 * np.pi * u
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
        log_scale = draws.push_depth * push
        xy = np.stack([0.1 * push, -0.25 * push], axis=1)
    elif label == "wave":
        phase = 2 * np.pi * draws.cycles * u
        xy = np.stack([0.55 * np.sin(phase), 0.06 * np.sin(2 * phase)], axis=1)
        rotation = 18.0 * np.sin(phase - 0.4) * np.sin(np.pi * u)   # the wrist turns with the wave
    elif label == "figure_eight":
        xy = np.stack([0.5 * np.sin(4 * np.pi * u), -0.9 * np.sin(2 * np.pi * u)], axis=1)
    else:
        raise ValueError(f"Unknown demo class {label!r}; choose one of {', '.join(LABELS)}")
    # Lead-in from rest to the first point of the shape, lead-out from its last point back to rest.
    xy = xy * np.where(t < t0, _ease(t / t0), np.where(t > t1, _ease((1 - t) / (1 - t1)), 1.0))[:, None]
    return xy, log_scale, rotation


def _room_shape(height: int, width: int) -> tuple:
    """(h, w) of a signer's room texture: 1.4x the frame, so that per-video crops and zooms vary it."""
    return int(height * 1.4), int(width * 1.4)


def _value_noise(shape: tuple, cells: tuple, rng: np.random.Generator) -> np.ndarray:
    """Smooth random field (h, w) float32 in about [-1, 1]: random cells upsampled bicubically."""
    field = rng.uniform(-1, 1, size=cells).astype(np.float32)
    return cv2.resize(field, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)


def _draw_shelves(wall: np.ndarray, base: np.ndarray, unit: float, rng: np.random.Generator) -> None:
    """Shelves of books of random width, height and colour across the wall (float32 BGR), in place."""
    h, w = wall.shape[:2]
    shelf_h = int(55 * unit)
    for y in range(0, h, shelf_h):
        x = 0
        while x < w:
            book_w = int(rng.uniform(6, 16) * unit)
            top = y + int(rng.uniform(8, 20) * unit)
            colour = rng.uniform(30, 220, 3)
            cv2.rectangle(wall, (x, top), (x + book_w - 1, y + shelf_h - 6), colour.tolist(), -1)
            x += book_w + int(rng.integers(0, 3))
        cv2.rectangle(wall, (0, y + shelf_h - 6), (w, y + shelf_h), (base * 0.6).tolist(), -1)


@functools.lru_cache(maxsize=16)
def _room_texture(signer_id: int, height: int, width: int) -> np.ndarray:
    """A signer's room: a textured wall 1.4x the frame size, (H, W, 3) uint8 BGR; per-video crops vary it."""
    signer = SIGNERS[signer_id]
    rng = np.random.default_rng(1000 + signer_id)
    h, w = _room_shape(height, width)
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
        _draw_shelves(wall, base, unit, rng)
    elif signer.room == "curtain":
        folds = np.sin(np.linspace(0, 2 * np.pi * rng.uniform(14, 20), w))[None, :]
        shade = shade + 0.22 * folds.astype(np.float32) + 0.05 * _value_noise((h, w), (8, 8), rng)
    else:
        raise AssertionError(signer.room)
    wall *= shade[:, :, None]
    return np.clip(wall, 0, 255).astype(np.uint8)


def _bgr(rgb, gain=1.0) -> tuple:
    return tuple(float(np.clip(c * gain, 0, 255)) for c in rgb[::-1])



@dataclass(frozen=True)
class HandShapeDraws:
    """The random draws of one hand sprite."""

    spread_deg: float        # fingers fan out by this much between neighbours
    finger_gain: float       # finger length factor
    finger_width: float      # in units of the hand length at 2x
    thumb_deg: float         # thumb angle from vertical
    skin_gain: np.ndarray    # (3,) per BGR channel


def _draw_hand_shape(rng: np.random.Generator) -> HandShapeDraws:
    spread_deg = rng.uniform(2, 9)
    finger_gain = rng.uniform(0.9, 1.1)
    finger_width = rng.uniform(0.085, 0.1)
    thumb_deg = rng.uniform(35, 60)
    return HandShapeDraws(spread_deg, finger_gain, finger_width, thumb_deg, skin_gain=rng.uniform(0.93, 1.07, 3))


def _ellipse(img, centre, axes, angle_deg, value, thickness=-1) -> None:
    """A full anti-aliased ellipse; axes of at least 1 px."""
    cv2.ellipse(img, (int(centre[0]), int(centre[1])), (max(1, int(axes[0])), max(1, int(axes[1]))),
                angle_deg, 0, 360, value, thickness, cv2.LINE_AA)


def _hand_sprite(skin_rgb: tuple, length_px: float, mirror: bool, shape: HandShapeDraws) -> tuple:
    """A palm-forward hand, fingers up: premultiplied BGRA (s, s, 4) float32 and its palm centre (x, y) in px.

    Drawn at 2x the nominal size (it is scaled down per frame), with soft edges and darker rims.
    """
    unit_px = 2.0 * length_px            # drawing scale: 1 unit = hand length at 2x
    size = int(math.ceil(unit_px * 1.25)) | 1
    centre = np.array([size / 2, size / 2])           # palm centre
    mask = np.zeros((size, size), np.uint8)
    rims = np.zeros((size, size), np.uint8)
    finger_len = np.array([0.43, 0.47, 0.44, 0.35]) * shape.finger_gain
    finger_x = np.array([0.15, 0.05, -0.05, -0.15])   # index .. little finger; the thumb is on the +x side
    rim_px = max(1, int(0.012 * unit_px))

    _ellipse(mask, centre + [0, 0.1 * unit_px], (0.08 * unit_px, 0.25 * unit_px), 0, 255)    # wrist
    _ellipse(mask, centre, (0.22 * unit_px, 0.24 * unit_px), 0, 255)                         # palm
    for i in range(4):
        angle = np.radians(shape.spread_deg * (1.5 - i))   # fan out from the middle
        direction = np.array([np.sin(angle), -np.cos(angle)])
        base = centre + np.array([finger_x[i], -0.14]) * unit_px
        middle = base + direction * finger_len[i] * unit_px * 0.5
        tilt = 90 - np.degrees(np.arctan2(-direction[1], direction[0]))
        axes = (shape.finger_width * unit_px * 0.5, finger_len[i] * unit_px * 0.5)
        _ellipse(mask, middle, axes, tilt, 255)
        _ellipse(rims, middle, axes, tilt, 255, rim_px)
    thumb_angle = np.radians(shape.thumb_deg)
    direction = np.array([np.sin(thumb_angle), -np.cos(thumb_angle)])
    middle = centre + np.array([0.2, 0.08]) * unit_px + direction * 0.16 * unit_px
    tilt = 90 - np.degrees(np.arctan2(-direction[1], direction[0]))
    _ellipse(mask, middle, (0.06 * unit_px, 0.17 * unit_px), tilt, 255)
    _ellipse(rims, middle, (0.06 * unit_px, 0.17 * unit_px), tilt, 255, rim_px)
    cv2.line(rims, (int(centre[0] - 0.12 * unit_px), int(centre[1] + 0.02 * unit_px)),
             (int(centre[0] + 0.1 * unit_px), int(centre[1] - 0.05 * unit_px)), 255, max(1, int(0.008 * unit_px)),
             cv2.LINE_AA)

    alpha = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (5, 5), 0)
    # Darker towards the edges (a rounded look) and along the finger outlines and the palm crease.
    depth = cv2.GaussianBlur(alpha, (0, 0), 0.05 * unit_px)
    shading = 0.72 + 0.33 * depth - 0.18 * (rims.astype(np.float32) / 255.0)
    skin = np.array(_bgr(skin_rgb), np.float32) * shape.skin_gain.astype(np.float32)
    bgr = np.clip(shading[:, :, None] * skin, 0, 255)
    sprite = np.dstack([bgr * alpha[:, :, None], alpha]).astype(np.float32)
    if mirror:
        sprite = sprite[:, ::-1].copy()
    return sprite, centre



# Standard normal quantiles of the 256 byte values: maps uniform random bytes to Gaussian noise.
_GAUSS_QUANTILES = np.array([NormalDist().inv_cdf((k + 0.5) / 256) for k in range(256)])


def noise_table(sigma: float) -> np.ndarray:
    """(256,) uint8: a uniform random byte -> 128 + Gaussian noise of `sigma` grey levels (its quantile)."""
    return np.clip(np.round(128 + sigma * _GAUSS_QUANTILES), 0, 255).astype(np.uint8)


def add_noise(image: np.ndarray, table: np.ndarray, key: int, i: int) -> np.ndarray:
    """image (h, w, 3) uint8 plus frame i's sensor noise of the stream `key` (table: noise_table), saturated.

    Random bytes through the Gaussian quantile table, 128 = no change: a few times cheaper than normal draws.
    """
    h, w = image.shape[:2]
    random_bytes = np.random.default_rng([key, int(i)]).bytes(h * w * 3)
    noise = cv2.LUT(np.frombuffer(random_bytes, np.uint8).reshape(h, w, 3), table)
    return cv2.addWeighted(image, 1.0, noise, 1.0, -128.0)


def _pt(x, y) -> tuple:
    return int(round(x)), int(round(y))


def _draw_person(scene: np.ndarray, body: np.ndarray, person: "Person") -> None:
    """Draws head, neck, shoulders and the resting arm into scene (BGR) and their outline into body (mask)."""
    body_x, head_y, shoulder_y, shoulder_half = person.body_x, person.head_y, person.shoulder_y, person.shoulder_half
    size, skin, shirt, hair, side = person.size, person.skin_rgb, person.shirt_rgb, person.hair_rgb, person.side
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
    """The pipeline's sampling rule (frame_indices): index i = floor(i * num_in / num_samples)."""
    return (np.arange(num_samples, dtype=np.int64) * num_in) // num_samples



# ---- every random draw of a video, made up front in one fixed order --------------------------------------
# Fractions are of the frame height unless said otherwise. The order of the fields is the order of the draws:
# the same seed gives the same video only while it stays so (tests/test_prepare_demo.py pins checksums).
@dataclass(frozen=True)
class SceneDraws:
    """The wall crop and the person's build and colours."""

    room_zoom: float          # the crop of the room texture is 1/room_zoom of it
    room_y0: int              # crop corner in the texture, px
    room_x0: int
    wall_blur: float          # Gaussian sigma, in px at height 240: behind the signer, out of focus
    person_size: float        # person scale
    body_shift: float         # of the width, from the centre
    head_drop: float          # head centre below the frame's top
    shoulder_gain: float
    skin_gain: float
    shirt_gain: float


@dataclass(frozen=True)
class HandDraws:
    """The hand's path (class-specific shape, class-independent everything else), its look and the arm."""

    amplitude: float          # path amplitude A (MOTION_FRAC)
    gesture: GestureDraws
    anchor_out: float         # path centre, sideways from the body towards the moving hand
    anchor_down: float        # path centre below the frame's top
    wobble_hz: float          # the wrist turns slowly...
    wrist_turn_deg: float     # ...about this angle
    wobble_phase: float
    pulse_hz: float           # the hand's size pulses slowly (log scale +-0.06)
    pulse_phase: float
    hand_size: float          # hand scale factor
    hand_length: float        # hand length
    hand_shape: HandShapeDraws
    elbow_out: float          # elbow sideways from the midpoint of shoulder and wrist


@dataclass(frozen=True)
class DistractorDraws:
    """A drifting ball (passes behind the person) and a blinking lamp on the wall: class-independent motion."""

    use_ball: bool
    use_lamp: bool            # always when there is no ball
    ball_radius: float
    ball_start: tuple         # (x, y) as fractions of the canvas width and height
    ball_angle: float         # direction of the drift, radians
    ball_speed: float         # px/s at height 240: slow drift
    ball_colour: list         # BGR
    lamp_centre: tuple        # (x, y) as fractions of the canvas width and height
    lamp_radius: float
    lamp_brightness: float    # added grey level at the lamp's centre
    blink_period_s: float
    blink_phase_s: float
    blink_duty: float         # fraction of a period the lamp is on


@dataclass(frozen=True)
class CameraDraws:
    """Lighting, camera shake and sensor noise."""

    gain: np.ndarray          # (3,) brightness x white balance, per BGR channel
    contrast: float
    bias_offset: float        # grey levels
    flicker_hz: float         # the light flickers by +-3 %
    flicker_phase: float
    shake_steps: np.ndarray   # (n, 2) px (dy, dx): the steps of a slow random walk
    noise_sigma: float        # grey levels
    noise_key: int            # seeds the per-frame noise bytes


@dataclass(frozen=True)
class VideoDraws:
    """Every random draw of one video."""

    num_frames: int
    scene: SceneDraws
    hand: HandDraws
    distractors: DistractorDraws
    camera: CameraDraws


@dataclass(frozen=True)
class Layout:
    """The frame size and the bigger canvas that camera shake crops from; every length scales with the height."""

    width: int
    height: int

    @property
    def unit(self) -> float:       # px per px at height 240
        return self.height / 240.0

    @property
    def margin(self) -> int:       # canvas border on each side, px
        return int(math.ceil(4 * self.unit))

    @property
    def canvas_h(self) -> int:
        return self.height + 2 * self.margin

    @property
    def canvas_w(self) -> int:
        return self.width + 2 * self.margin


def _room_crop_size(layout: Layout, zoom: float) -> tuple:
    """(h, w) px of the crop of the room texture that fills the canvas."""
    room_h, room_w = _room_shape(layout.height, layout.width)
    return int(round(room_h / zoom)), int(round(room_w / zoom))


def _draw_scene(rng: np.random.Generator, layout: Layout) -> SceneDraws:
    room_h, room_w = _room_shape(layout.height, layout.width)
    room_zoom = rng.uniform(1.0, 1.15)
    crop_h, crop_w = _room_crop_size(layout, room_zoom)
    room_y0 = int(rng.integers(0, room_h - crop_h + 1)) if crop_h < room_h else 0
    room_x0 = int(rng.integers(0, room_w - crop_w + 1)) if crop_w < room_w else 0
    wall_blur = rng.uniform(0.7, 1.8)
    person_size = rng.uniform(0.9, 1.1)
    body_shift = rng.uniform(-0.06, 0.06)
    head_drop = rng.uniform(0.24, 0.3)
    shoulder_gain = rng.uniform(0.9, 1.1)
    skin_gain = rng.uniform(0.93, 1.07)
    return SceneDraws(room_zoom, room_y0, room_x0, wall_blur, person_size, body_shift, head_drop, shoulder_gain,
                      skin_gain, shirt_gain=rng.uniform(0.9, 1.1))


def _draw_hand(rng: np.random.Generator, label: str) -> HandDraws:
    amplitude = rng.uniform(*MOTION_FRAC)
    gesture = _draw_gesture(label, rng)
    anchor_out = rng.uniform(0.06, 0.36)
    anchor_down = rng.uniform(0.33, 0.6)
    wobble_hz = rng.uniform(0.3, 0.8)
    wrist_turn_deg = rng.uniform(-15, 15)
    wobble_phase = rng.uniform(0, 2 * np.pi)
    pulse_hz = rng.uniform(0.2, 0.6)
    pulse_phase = rng.uniform(0, 2 * np.pi)
    hand_size = rng.uniform(0.82, 1.2)
    hand_length = rng.uniform(0.2, 0.24)
    hand_shape = _draw_hand_shape(rng)
    return HandDraws(amplitude, gesture, anchor_out, anchor_down, wobble_hz, wrist_turn_deg, wobble_phase, pulse_hz,
                     pulse_phase, hand_size, hand_length, hand_shape, elbow_out=rng.uniform(0.05, 0.15))


def _draw_distractors(rng: np.random.Generator) -> DistractorDraws:
    use_ball = rng.random() < 0.7
    use_lamp = (not use_ball) or rng.random() < 0.5     # a second draw only when there is a ball
    ball_radius = rng.uniform(0.03, 0.06)
    ball_start = (rng.uniform(0.05, 0.95), rng.uniform(0.05, 0.4))
    ball_angle = rng.uniform(0, 2 * np.pi)
    ball_speed = rng.uniform(4, 14)
    ball_colour = rng.uniform(40, 230, 3).tolist()
    lamp_centre = (rng.uniform(0.05, 0.95), rng.uniform(0.05, 0.35))
    lamp_radius = rng.uniform(0.06, 0.12)
    lamp_brightness = rng.uniform(15, 35)
    blink_period_s = rng.uniform(0.6, 1.6)
    blink_phase_s = rng.uniform(0, blink_period_s)
    return DistractorDraws(use_ball, use_lamp, ball_radius, ball_start, ball_angle, ball_speed, ball_colour,
                           lamp_centre, lamp_radius, lamp_brightness, blink_period_s, blink_phase_s,
                           blink_duty=rng.uniform(0.3, 0.7))


def _draw_camera(rng: np.random.Generator, layout: Layout, num_frames: int) -> CameraDraws:
    gain = rng.uniform(0.75, 1.2) * rng.uniform(0.92, 1.08, 3)
    contrast = rng.uniform(0.8, 1.15)
    bias_offset = rng.uniform(-15, 15)
    flicker_hz = rng.uniform(0.1, 0.5)
    flicker_phase = rng.uniform(0, 2 * np.pi)
    shake_steps = rng.normal(0, 0.35 * layout.unit, (num_frames, 2))
    noise_sigma = rng.uniform(1.0, 3.0)
    return CameraDraws(gain, contrast, bias_offset, flicker_hz, flicker_phase, shake_steps, noise_sigma,
                       noise_key=int(rng.integers(2**62)))


def _draw_num_frames(rng: np.random.Generator, fps: float) -> int:
    """The frame count of a video: its first random draw is the duration (DURATION_S), so it is known cheaply."""
    return max(2, int(round(rng.uniform(*DURATION_S) * fps)))


def draw_video(label: str, rng_seed, layout: Layout, fps: float = FPS) -> VideoDraws:
    """Every random draw of one video, in the order that makes the same seed give the same frames."""
    rng = np.random.default_rng(rng_seed)
    num_frames = _draw_num_frames(rng, fps)
    scene = _draw_scene(rng, layout)
    hand = _draw_hand(rng, label)
    distractors = _draw_distractors(rng)
    return VideoDraws(num_frames, scene, hand, distractors, camera=_draw_camera(rng, layout, num_frames))


def expected_num_frames(rng_seed, fps: float = FPS) -> int:
    """How many frames render_video(..., rng_seed, fps=fps) has, without rendering it."""
    return _draw_num_frames(np.random.default_rng(rng_seed), fps)


# ---- what the draws give: the person, the hand's track, distractors, camera --------------------------------
@dataclass(frozen=True)
class Person:
    """Where the signer stands and what they look like; px in canvas coordinates, colours RGB float."""

    body_x: float
    head_y: float
    size: float               # person scale, px
    shoulder_half: float      # half the shoulder width, px
    skin_rgb: np.ndarray
    shirt_rgb: np.ndarray
    hair_rgb: np.ndarray
    right_handed: bool

    @property
    def side(self) -> float:  # where the moving hand is, seen from the camera: -1 left, +1 right
        return -1.0 if self.right_handed else 1.0

    @property
    def shoulder_y(self) -> float:
        return self.head_y + 0.25 * self.size

    @property
    def shoulder(self) -> np.ndarray:  # (x, y) of the moving arm's shoulder
        return np.array([self.body_x + self.side * self.shoulder_half * 0.9, self.shoulder_y + 0.05 * self.size])


def _person(preset: Signer, layout: Layout, draws: SceneDraws) -> Person:
    size = draws.person_size * layout.height
    return Person(body_x=layout.canvas_w / 2 + draws.body_shift * layout.width,
                  head_y=layout.margin + draws.head_drop * layout.height,
                  size=size, shoulder_half=0.36 * size * draws.shoulder_gain,
                  skin_rgb=np.array(preset.skin_rgb, float) * draws.skin_gain,
                  shirt_rgb=np.array(preset.shirt_rgb, float) * draws.shirt_gain,
                  hair_rgb=np.array(preset.hair_rgb, float), right_handed=preset.right_handed)


def _scene(signer: int, layout: Layout, draws: SceneDraws, person: Person, background=None) -> tuple:
    """The static scene: (canvas_h, canvas_w, 3) uint8 BGR wall crop with the person, and the person's mask.

    background: an image to use as it is in place of the signer's room (resized to the canvas if it differs).
    """
    if background is not None:
        scene = np.ascontiguousarray(background, np.uint8)
        if scene.shape[:2] != (layout.canvas_h, layout.canvas_w):
            scene = cv2.resize(scene, (layout.canvas_w, layout.canvas_h), interpolation=cv2.INTER_AREA)
        scene = scene.copy()
    else:
        room = _room_texture(signer, layout.height, layout.width)
        crop_h, crop_w = _room_crop_size(layout, draws.room_zoom)
        y0, x0 = draws.room_y0, draws.room_x0
        wall = room[y0:y0 + min(crop_h, room.shape[0]), x0:x0 + min(crop_w, room.shape[1])]
        wall = cv2.resize(wall, (layout.canvas_w, layout.canvas_h), interpolation=cv2.INTER_AREA)
        scene = cv2.GaussianBlur(wall, (0, 0), draws.wall_blur * layout.unit)
    body = np.zeros((layout.canvas_h, layout.canvas_w), np.uint8)   # where the person is (distractors pass behind)
    _draw_person(scene, body, person)
    return scene, body


@dataclass(frozen=True)
class HandTrack:
    """The palm centre per frame, px in canvas coordinates, and how the hand is turned and scaled."""

    x: np.ndarray             # (n,)
    y: np.ndarray             # (n,)
    rotation_deg: np.ndarray  # (n,)
    scale: np.ndarray         # (n,) of the nominal size
    length_px: float          # nominal hand length


def _hand_track(label: str, layout: Layout, person: Person, draws: HandDraws, t: np.ndarray,
                seconds: np.ndarray) -> HandTrack:
    """The class's movement, centred on a random anchor beside the body and kept inside the frame."""
    h, margin, side = layout.height, layout.margin, person.side
    xy, log_scale, rotation = _gesture_path(label, t, draws.gesture)
    xy = (xy - xy.mean(axis=0)) * (draws.amplitude * h)   # centred: the mean position is the anchor for every class
    anchor_x = person.body_x + side * draws.anchor_out * h
    anchor_y = margin + draws.anchor_down * h
    edge = 0.1 * h
    anchor_x = np.clip(anchor_x, margin + edge - xy[:, 0].min(), margin + layout.width - edge - xy[:, 0].max())
    anchor_y = np.clip(anchor_y, margin + edge - xy[:, 1].min(), margin + h - edge - xy[:, 1].max())
    rotation = (rotation + draws.wrist_turn_deg
                + 6 * np.sin(2 * np.pi * draws.wobble_hz * seconds + draws.wobble_phase)) * -side
    log_scale = log_scale + 0.06 * np.sin(2 * np.pi * draws.pulse_hz * seconds + draws.pulse_phase)
    return HandTrack(anchor_x + xy[:, 0], anchor_y + xy[:, 1], rotation, draws.hand_size * np.exp(log_scale),
                     length_px=draws.hand_length * h)


@dataclass(frozen=True)
class Distractors:
    """What moves besides the hand: a ball path (n, 2) px and a lamp glow (canvas, 3) uint8 lit on some frames."""

    ball_path: np.ndarray | None
    ball_radius_px: float
    ball_colour: list
    lamp_glow: np.ndarray | None
    lamp_on: np.ndarray       # (n,) bool


def _distractors(layout: Layout, draws: DistractorDraws, body: np.ndarray, seconds: np.ndarray) -> Distractors:
    h, canvas_w, canvas_h = layout.height, layout.canvas_w, layout.canvas_h
    start = np.array([draws.ball_start[0] * canvas_w, draws.ball_start[1] * canvas_h])
    speed_px = draws.ball_speed * layout.unit
    ball_path = start + np.outer(seconds * speed_px, [np.cos(draws.ball_angle), np.sin(draws.ball_angle)])
    lamp = np.zeros((canvas_h, canvas_w), np.float32)
    cv2.circle(lamp, _pt(draws.lamp_centre[0] * canvas_w, draws.lamp_centre[1] * canvas_h),
               int(draws.lamp_radius * h), 1.0, -1)
    lamp = cv2.GaussianBlur(lamp, (0, 0), 0.04 * h) * draws.lamp_brightness
    lamp[body > 0] = 0                                # the lamp is on the wall, behind the person
    lamp_glow = np.clip(lamp[:, :, None] * np.array([0.8, 1.0, 1.1], np.float32), 0, 255).astype(np.uint8)
    period = draws.blink_period_s
    lamp_on = ((seconds + draws.blink_phase_s) % period) < period * draws.blink_duty
    return Distractors(ball_path if draws.use_ball else None, draws.ball_radius * h, draws.ball_colour,
                       lamp_glow if draws.use_lamp else None, lamp_on)


@dataclass(frozen=True)
class Camera:
    """Per-frame lighting, the shake offset and the sensor-noise table."""

    gain: np.ndarray          # (3,)
    contrast: float
    bias: np.ndarray          # (3,) grey levels
    flicker: np.ndarray       # (n,) light factor
    shake: np.ndarray         # (n, 2) int px (dy, dx), within +-margin
    noise_table: np.ndarray   # (256,) uint8: a uniform random byte -> 128 + Gaussian noise
    noise_key: int


def _camera(layout: Layout, draws: CameraDraws, seconds: np.ndarray) -> Camera:
    bias = draws.bias_offset + 128 * (1 - draws.contrast) * draws.gain
    flicker = 1 + 0.03 * np.sin(2 * np.pi * draws.flicker_hz * seconds + draws.flicker_phase)
    shake = np.cumsum(draws.shake_steps, axis=0)      # a slow random walk
    shake = np.clip(shake - shake.mean(axis=0), -layout.margin, layout.margin).round().astype(int)
    return Camera(draws.gain, draws.contrast, bias, flicker, shake, noise_table(draws.noise_sigma), draws.noise_key)


# ---- compositing one frame ---------------------------------------------------------------------------------
def _draw_ball(canvas: np.ndarray, body: np.ndarray, centre: np.ndarray, radius: float, colour: list) -> None:
    """The ball at centre (x, y) px, anti-aliased at 1/16 px, hidden where the person is."""
    canvas_h, canvas_w = body.shape
    bx, by = centre
    x_lo, x_hi = max(0, int(bx - radius) - 2), min(canvas_w, int(bx + radius) + 3)
    y_lo, y_hi = max(0, int(by - radius) - 2), min(canvas_h, int(by + radius) + 3)
    if x_lo < x_hi and y_lo < y_hi:
        patch = canvas[y_lo:y_hi, x_lo:x_hi].copy()
        cv2.circle(patch, _pt((bx - x_lo) * 16, (by - y_lo) * 16), int(radius * 16), colour, -1, cv2.LINE_AA, 4)
        behind = body[y_lo:y_hi, x_lo:x_hi] == 0
        canvas[y_lo:y_hi, x_lo:x_hi][behind] = patch[behind]


def _draw_arm_and_hand(canvas: np.ndarray, i: int, layout: Layout, person: Person, track: HandTrack,
                       elbow_out: float, sprite: tuple) -> None:
    """Arm: shoulder -> elbow (below, outwards) -> wrist, then the hand over its end, at frame i.

    elbow_out: of the height (HandDraws.elbow_out); sprite: (image, palm centre) from _hand_sprite.
    """
    canvas_h, canvas_w = layout.canvas_h, layout.canvas_w
    sprite, sprite_centre = sprite
    x, y, rotation_deg, scale = track.x[i], track.y[i], track.rotation_deg[i], track.scale[i]
    angle = np.radians(rotation_deg)
    down = np.array([-np.sin(angle), np.cos(angle)])          # from palm centre towards the wrist
    shoulder = person.shoulder
    wrist = np.array([x, y]) + down * 0.3 * track.length_px * scale
    elbow = np.array([(shoulder[0] + wrist[0]) / 2 + person.side * (elbow_out * layout.height),
                      max(shoulder[1], wrist[1]) + 0.2 * layout.height])
    sleeve_w = int(0.085 * person.size)
    for colour, extra in ((_bgr(person.shirt_rgb, 0.7), 3), (_bgr(person.shirt_rgb), 0)):
        cv2.line(canvas, _pt(*shoulder), _pt(*elbow), colour, sleeve_w + extra, cv2.LINE_AA)
        cv2.line(canvas, _pt(*elbow), _pt(*wrist), colour, int(sleeve_w * 0.85) + extra, cv2.LINE_AA)
    zoom = scale / 2.0                                        # the sprite is drawn at 2x
    radius = int(math.ceil(sprite.shape[0] * 0.75 * zoom)) + 2
    cx, cy = int(round(x)), int(round(y))
    x_lo, x_hi = max(0, cx - radius), min(canvas_w, cx + radius)
    y_lo, y_hi = max(0, cy - radius), min(canvas_h, cy + radius)
    if x_lo < x_hi and y_lo < y_hi:
        matrix = cv2.getRotationMatrix2D((float(sprite_centre[0]), float(sprite_centre[1])), -rotation_deg, zoom)
        matrix[:, 2] += [x - x_lo - sprite_centre[0], y - y_lo - sprite_centre[1]]
        warped = cv2.warpAffine(sprite, matrix, (x_hi - x_lo, y_hi - y_lo), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        roi = canvas[y_lo:y_hi, x_lo:x_hi]
        blended = roi * (1.0 - warped[:, :, 3:]) + warped[:, :, :3]
        roi[:] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)


def _film(canvas: np.ndarray, i: int, layout: Layout, camera: Camera) -> np.ndarray:
    """What the camera records of the canvas at frame i: the shaken crop, lit, with sensor noise; uint8 BGR."""
    h, w, margin = layout.height, layout.width, layout.margin
    dy, dx = camera.shake[i]
    crop = canvas[margin + dy:margin + dy + h, margin + dx:margin + dx + w]
    light = np.zeros((3, 4), np.float32)
    light[[0, 1, 2], [0, 1, 2]] = camera.contrast * camera.gain * camera.flicker[i]
    light[:, 3] = camera.bias
    lit = cv2.transform(crop, light)
    return add_noise(lit, camera.noise_table, camera.noise_key, i)


def _composite(canvas: np.ndarray, i: int, shot: "_Shot") -> np.ndarray:
    """Frame i: the scene, the distractors, the arm and hand, through the camera; canvas is scratch space."""
    np.copyto(canvas, shot.scene)
    distractors = shot.distractors
    if distractors.ball_path is not None:
        _draw_ball(canvas, shot.body, distractors.ball_path[i], distractors.ball_radius_px, distractors.ball_colour)
    if distractors.lamp_glow is not None and distractors.lamp_on[i]:
        cv2.add(canvas, distractors.lamp_glow, dst=canvas)
    _draw_arm_and_hand(canvas, i, shot.layout, shot.person, shot.track, shot.elbow_out, shot.sprite)
    if not shot.film:  # the canvas as drawn, no camera: a caller that films it itself (signlang/standin.py)
        margin = shot.layout.margin
        return canvas[margin:margin + shot.layout.height, margin:margin + shot.layout.width].copy()
    return _film(canvas, i, shot.layout, shot.camera)


# ---- the public functions ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Shot:
    """Everything a video's frames are composited from."""

    layout: Layout
    person: Person
    track: HandTrack
    camera: Camera
    num_frames: int
    scene: np.ndarray | None = None        # (canvas_h, canvas_w, 3) uint8 BGR
    body: np.ndarray | None = None         # (canvas_h, canvas_w) uint8 mask of the person
    distractors: Distractors | None = None
    elbow_out: float = 0.0
    sprite: tuple = ()                     # (image, palm centre) from _hand_sprite
    film: bool = True                      # through the camera (shake, light, noise), or the canvas as drawn


def _shoot(label, signer, rng_seed, width, height, fps, path_only=False, background=None, shirt_rgb=None,
           film=True) -> _Shot:
    """Draws everything up front, then derives the person, hand track and camera (and, unless path_only, images)."""
    if label not in LABELS:
        raise ValueError(f"Unknown demo class {label!r}; choose one of {', '.join(LABELS)}")
    if signer not in SIGNERS:
        raise ValueError(f"Unknown signer {signer!r}; choose one of {sorted(SIGNERS)}")
    preset = SIGNERS[signer] if shirt_rgb is None else SIGNERS[signer]._replace(shirt_rgb=tuple(shirt_rgb))
    layout = Layout(width, height)
    draws = draw_video(label, rng_seed, layout, fps)
    t = np.arange(draws.num_frames) / (draws.num_frames - 1)      # 0..1
    seconds = np.arange(draws.num_frames) / fps
    person = _person(preset, layout, draws.scene)
    track = _hand_track(label, layout, person, draws.hand, t, seconds)
    shot = _Shot(layout, person, track, _camera(layout, draws.camera, seconds), draws.num_frames, film=film)
    if path_only:
        return shot
    scene, body = _scene(signer, layout, draws.scene, person, background)
    sprite = _hand_sprite(tuple(person.skin_rgb), track.length_px, not preset.right_handed, draws.hand.hand_shape)
    return replace(shot, scene=scene, body=body, elbow_out=draws.hand.elbow_out, sprite=sprite,
                               distractors=_distractors(layout, draws.distractors, body, seconds))


def render_video(label: str, signer: int, rng_seed, width: int = WIDTH_PX, height: int = HEIGHT_PX,
                 fps: float = FPS, num_samples: int | None = None, *, background: np.ndarray | None = None,
                 shirt_rgb: tuple | None = None, film: bool = True) -> np.ndarray:
    """Renders one demo video of `label` performed by `signer`.

    Args:
        label: a class name from DEMO_CLASSES, e.g. "circle_cw".
        signer: appearance preset 1..8 (SIGNERS; prepare_demo.py trains on 1-6, validates on 7-8).
        rng_seed: anything numpy's default_rng takes (an int or a sequence of ints); the same seed
            gives the same frames, byte for byte.
        width, height: frame size in px; every length scales with the height.
        fps: frame rate; the duration (2-5 s) is drawn from the seed, so the frame count is fps * duration.
        num_samples: render only this many evenly spaced frames (the pipeline's rule, floor(i * n / k)),
            identical to the same rows of the full video; for quick analysis and tests.
        background: (canvas_h, canvas_w, 3) uint8 BGR, the frame plus Layout.margin px on each side: used as
            it is in place of the signer's room (resized to that size if it differs). The draws stay the same.
        shirt_rgb: the signer's clothes colour in place of the preset's (the draws' shirt_gain still applies).
        film: False gives the canvas as drawn (its centre, frame-sized) without the camera's shake, light and
            noise, for a caller that adds its own camera (signlang/standin.py).
        The defaults give the demo set's frames, bit for bit.
    Returns:
        frames: (n, height, width, 3) uint8 BGR.
    Raises:
        ValueError: unknown label or signer.
    """
    shot = _shoot(label, signer, rng_seed, width, height, fps, background=background, shirt_rgb=shirt_rgb, film=film)
    indices = np.arange(shot.num_frames) if num_samples is None else _evenly_spaced(shot.num_frames, num_samples)
    frames = np.empty((len(indices), height, width, 3), np.uint8)   # (n, h, w, 3) uint8 BGR
    canvas = np.empty_like(shot.scene)
    for row, i in enumerate(indices):
        frames[row] = _composite(canvas, i, shot)
    return frames


def hand_path(label: str, signer: int, rng_seed, width: int = WIDTH_PX, height: int = HEIGHT_PX,
              fps: float = FPS, film: bool = True) -> np.ndarray:
    """Where render_video puts the palm centre: (n, 2) float x, y in frame px (camera shake included unless
    film is False, as render_video's film)."""
    shot = _shoot(label, signer, rng_seed, width, height, fps, path_only=True)
    margin, shake = shot.layout.margin, shot.camera.shake * film
    return np.stack([shot.track.x - margin - shake[:, 1], shot.track.y - margin - shake[:, 0]], axis=1)
