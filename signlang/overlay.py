"""What the live windows draw: preview, status boxes, text lines, flow thumbnails, and scripted keys for tests.

The on-screen kit of livedemo.py, its --collect mode and videocapture.py: one look for all of them.
"""
import time

import cv2
import numpy as np

from signlang.flow import flows_to_color_images
from signlang.video import frame_indices

COUNTDOWN_S = 3.0      # the seed's countdown before recording
WINDOW_NAME = "Sign language live demo"
DISPLAY_WIDTH_PX = 640  # preview width; small test clips are scaled up to it
# BGR colours of the status band: ready, countdown / working, recording.
GREEN, ORANGE, RED, WHITE = (0, 200, 0), (0, 140, 255), (0, 0, 230), (255, 255, 255)
DARK = (40, 40, 40)  # the text band, and the part of a progress bar still to go
# The status band across the top (at a 640 px wide display): the signer's chest and hands stay in view (a box
# in the centre covered them, issue 24 item 8); the head is usually below 48 px in a webcam frame.
STATUS_BAND_PX = 48
FONT = cv2.FONT_HERSHEY_SIMPLEX  # Hershey fonts are built into OpenCV: no font files needed
KEYS = {"space": 32, "q": ord("q"), "esc": 27, "enter": 13}
QUIT_KEYS = (ord("q"), 27)


def preview_image(image: np.ndarray, mirror: bool = True, width_px: int = DISPLAY_WIDTH_PX) -> np.ndarray:
    """A display copy of a frame: scaled to width_px wide and mirrored like a bathroom mirror (as the seed's
    preview). Only the display is mirrored: the frames given to the model stay as captured."""
    height, width = image.shape[:2]
    if width != width_px:
        image = cv2.resize(image, (width_px, max(1, round(height * width_px / width))), interpolation=cv2.INTER_LINEAR)
    return cv2.flip(image, 1) if mirror else image.copy()


def draw_box(image: np.ndarray, text: str, color, progress: float | None = None) -> tuple[int, int]:
    """Draws the status band across the top of image, in place: `text` (white) on `color`.

    With `progress` (0..1) the band is a progress bar: `color` from the left up to that fraction, dark after it
    (a recording shows how much of it is done, besides the seconds left in its text).

    Returns:
        (y0, y1): the rows of the band.
    """
    height, width = image.shape[:2]
    scale = width / 640.0
    band_h = min(height, round(STATUS_BAND_PX * scale))
    if progress is None:
        cv2.rectangle(image, (0, 0), (width - 1, band_h - 1), color, cv2.FILLED)
    else:
        done_px = round(width * min(1.0, max(0.0, float(progress))))
        image[:band_h] = DARK
        if done_px:
            image[:band_h, :done_px] = color
    thickness = max(1, round(2 * scale))
    font_scale = 0.9 * scale
    (text_w, text_h), _ = cv2.getTextSize(text, FONT, font_scale, thickness)
    cv2.putText(image, text, ((width - text_w) // 2, (band_h + text_h) // 2), FONT, font_scale, WHITE, thickness,
                cv2.LINE_AA)
    return (0, band_h)


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
    cv2.rectangle(image, (0, y0), (width - 1, height - 1), DARK, cv2.FILLED)
    for i, line in enumerate(lines):
        y = y0 + line_h * (i + 1) - round(6 * width / 640.0)
        cv2.putText(image, line, (round(10 * width / 640.0), y), FONT, scale, WHITE, thickness, cv2.LINE_AA)
    return (y0, height)


# The bones drawn between MediaPipe's 21 hand points: each finger from the wrist (0) out to its tip, and the
# knuckles across the palm.
HAND_BONES = tuple((a, b) for finger in range(5) for a, b in zip([0, *range(1 + 4 * finger, 4 + 4 * finger)],
                                                                range(1 + 4 * finger, 5 + 4 * finger))) + (
    (5, 9), (9, 13), (13, 17))
HAND_COLOURS = (ORANGE, GREEN)  # the signer's left, right hand (hands.HANDS order)


def draw_hands(display: np.ndarray, frame_hw, detections, mirror: bool = True) -> None:
    """Draws hands found in a captured frame of size frame_hw = (h, w) onto its preview `display`, in place.

    Args:
        detections: [(label "Left"/"Right", score, points (21, 3))], x and y from the frame's centre in units of its
            shorter side (hands.Landmarker.add).
        mirror: the preview is mirrored (preview_image's default).
    """
    height, width = frame_hw
    scale = display.shape[1] / width
    for label, _, points in detections:
        xy = (points[:, :2] * min(height, width) + (width / 2, height / 2)) * scale
        if mirror:
            xy[:, 0] = display.shape[1] - 1 - xy[:, 0]
        xy = np.round(xy).astype(np.int32)
        colour = HAND_COLOURS[int(label == "Right")]
        for a, b in HAND_BONES:
            cv2.line(display, tuple(map(int, xy[a])), tuple(map(int, xy[b])), colour, 2, cv2.LINE_AA)
        for point in xy:
            cv2.circle(display, tuple(map(int, point)), 3, WHITE, cv2.FILLED, cv2.LINE_AA)


def flow_mosaic(flows: np.ndarray, num_tiles: int = 4) -> np.ndarray:
    """(n, h, w, 2) flows in [-1, 1] -> (h, num_tiles * w, 3) uint8 BGR: evenly spaced flows side by side as colour.

    The first flow of a clip is zeros by definition and is left out. Brightness: one scale for all tiles,
    the 99th percentile of the clip's flow magnitude, so a few outliers do not leave the rest dark.
    """
    flows = np.asarray(flows, dtype=np.float32)
    if len(flows) > 1:
        flows = flows[1:]
    picks = frame_indices(len(flows), min(num_tiles, len(flows)))
    magnitude = np.hypot(flows[..., 0], flows[..., 1])
    scale = float(np.percentile(magnitude, 99))
    colours = flows_to_color_images(flows[picks], max_magnitude=scale if scale > 0 else None)
    return np.concatenate(list(colours), axis=1)


def flow_strip(flows: np.ndarray, display_width_px: int) -> np.ndarray:
    """A recording's flow_mosaic (4 flows side by side) scaled to the display's full width (160 px tiles at 640 px:
    80 px tiles over the preview were too small to read), shown below the preview (with_strip)."""
    mosaic = flow_mosaic(flows)
    width_px = display_width_px
    return cv2.resize(mosaic, (width_px, round(mosaic.shape[0] * width_px / mosaic.shape[1])),
                      interpolation=cv2.INTER_NEAREST)


def with_strip(display: np.ndarray, strip: np.ndarray | None) -> np.ndarray:
    """The display with `strip` (flow_strip) below it, nothing of the preview covered; the display if None."""
    if strip is None:
        return display
    if strip.shape[1] != display.shape[1]:
        strip = cv2.resize(strip, (display.shape[1], round(strip.shape[0] * display.shape[1] / strip.shape[1])),
                           interpolation=cv2.INTER_NEAREST)
    return np.concatenate([display, strip], axis=0)


class ScriptedKeys:
    """Key input: the window's keys (cv2.waitKey) plus an optional script, for tests and unattended demos.

    Script: comma-separated `WHEN:KEY` items, fired in order. WHEN is seconds after the previous item (the
    first: after the first poll), or `result+S`: S seconds after the next result is shown. KEY is a name
    (space, q, esc, enter) or one character. Example: "1:space,result+2:q".
    """

    def __init__(self, script: str | None = None, gui: bool = True):
        self.gui = gui
        self.items = []
        for item in (script or "").split(","):
            if not item.strip():
                continue
            when, _, key = item.strip().rpartition(":")
            name = key.strip().lower()
            if name not in KEYS and len(key.strip()) != 1:
                raise ValueError(f"--keys item {item!r}: key must be one of {sorted(KEYS)} or one character")
            code = KEYS.get(name, ord(key.strip()[:1] or " "))
            try:
                if when.startswith("result+"):
                    self.items.append(("result", float(when[len("result+"):]), code))
                else:
                    self.items.append(("after", float(when), code))
            except ValueError:
                raise ValueError(f"--keys item {item!r}: write SECONDS:KEY or result+SECONDS:KEY, "
                                 "e.g. 1:space,result+2:q") from None
        self._reference = None   # when the previous item fired
        self._result_at = None   # when a result was shown after that

    def result_shown(self) -> None:
        if self._result_at is None:
            self._result_at = time.perf_counter()

    def poll(self, wait_ms: int = 1) -> int:
        """The key pressed or scripted now (a code as from cv2.waitKey & 0xFF), or -1."""
        key = (cv2.waitKey(wait_ms) & 0xFF) if self.gui else 255
        now = time.perf_counter()
        if self._reference is None:
            self._reference = now
        if key != 255:
            return key
        if self.items:
            kind, delay, code = self.items[0]
            start = self._reference if kind == "after" else self._result_at
            if start is not None and now >= start + delay:
                self.items.pop(0)
                self._reference, self._result_at = now, None
                return code
        return -1
