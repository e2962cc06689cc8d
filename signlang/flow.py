"""Optical flow of frame arrays: the methods, their defaults, and the one flow encoder of the network and live demo.

Encoding, as DeepMind's I3D flow stream expects (kinetics-i3d README): TV-L1 flow on grayscale
frames, in pixels, clipped to [-20, 20] and scaled to [-1, 1]. On disk (the seed's format): a
3-channel JPEG, x in channel 0, y in channel 1, a zero-flow third channel, byte = round((f + 1) * 127.5).
"""
import functools
import warnings
from pathlib import Path

import cv2
import numpy as np

from signlang.video import files_to_frames, write_jpg

# The default flow of every step, pipeline and new set: on the demo set it scored the seed's tvl1-fast's val
# top-1 (98.3 %, last epoch) at 0.3x its flow cost (docs/results.md, "Which flow"). A described set keeps its own.
DEFAULT_FLOW_METHOD = "tvl1-lite"
# The flow of a new folder set (videoset.describe_set; livedemo.py --collect into a new folder): a user's own takes
# are often filmed hand-held, whose shake whole-frame flow shows as motion. On the hard own-signs stand-in (hand-held
# camera) the fast recipe scored 75.3 % on it against 70.4 % on tvl1-lite (3 seeds, 3 views per clip), on the plain
# one (still camera) the same (docs/flow.md). The built-in sets keep DEFAULT_FLOW_METHOD; a described set its own.
NEW_SET_FLOW_METHOD = "tvl1-steady"
# The seed's final preset: what a model or set recorded before flow methods were recorded was computed with.
SEED_FLOW_METHOD = "tvl1-fast"
METHODS = ("tvl1-fast", "tvl1-lite", "tvl1-steady", "tvl1-warps1", "tvl1-quality", "farneback", "dis")
METHOD_HELP = {
    # The seed's final preset: coarser pyramid steps, fewer warps, looser stopping than OpenCV's defaults.
    "tvl1-fast": "TV-L1, scaleStep=0.5 warps=3 epsilon=0.02 (the seed's final preset)",
    # tvl1-fast with a looser stopping threshold: on the real signing clip at 224 px, 1 thread, 3.0x faster
    # (122 vs 363 ms per pair) for a mean end-point difference of 0.51 px from tvl1-fast (mean |flow| 3.2 px).
    "tvl1-lite": "TV-L1, scaleStep=0.5 warps=3 epsilon=0.05 (tvl1-fast stopping earlier: ~3x cheaper, same demo accuracy; default)",
    # A hand-held camera moves the whole picture, and whole-frame flow then shows the shake as motion everywhere.
    # Subtracting each frame pair's global flow is the "mean flow subtraction" of Simonyan & Zisserman, "Two-Stream
    # Convolutional Networks for Action Recognition in Videos" (NIPS 2014), section 3.1; the median here, so that a
    # hand moving across much of the frame does not count as the camera's motion.
    "tvl1-steady": "tvl1-lite with the camera's motion removed (each frame pair's median flow subtracted; for hand-held cameras)",
    # The seed's earlier preset (cv2.DualTVL1OpticalFlow_create(warps=1)): only the warps changed.
    "tvl1-warps1": "TV-L1, warps=1, other parameters OpenCV defaults (the seed's earlier preset)",
    "tvl1-quality": "TV-L1 with OpenCV's defaults (scaleStep=0.8, 5 scales, 5 warps, epsilon=0.01; slowest)",
    "farneback": "Farneback with the seed's parameters (pyr_scale=0.5 levels=1 winsize=15 iterations=2 poly_n=5 poly_sigma=1.1)",
    "dis": "DIS, PRESET_FAST (fastest); NOT TV-L1: pretrained I3D flow weights expect TV-L1 statistics",
}
DIS_WARNING = (
    "opticalflow method 'dis' gives a different flow distribution from TV-L1; pretrained I3D flow weights "
    "(and models trained on TV-L1 flow) expect TV-L1 input. Use 'dis' only for models trained on DIS flow."
)
BOUND_PX = 20.0  # clip to ±20 px, scale to [-1, 1] (kinetics-i3d README)
# JPEG with full-resolution chroma: x and y do not share one subsampled chroma plane (4:2:0 errs up to ~5 px at edges).
JPEG_PARAMS = [cv2.IMWRITE_JPEG_QUALITY, 95, cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444]


def _flow_engine(method: str):
    """A function (prev_gray, next_gray) -> (h, w, 2) float32 flow in pixels for `method`."""
    if method == "tvl1-fast":
        tvl1 = cv2.optflow.DualTVL1OpticalFlow_create(scaleStep=0.5, warps=3, epsilon=0.02)
    elif method == "tvl1-lite":
        tvl1 = cv2.optflow.DualTVL1OpticalFlow_create(scaleStep=0.5, warps=3, epsilon=0.05)
    elif method == "tvl1-steady":
        lite = _flow_engine("tvl1-lite")
        return lambda prev, nxt: remove_camera_motion(lite(prev, nxt))
    elif method == "tvl1-warps1":
        tvl1 = cv2.optflow.DualTVL1OpticalFlow_create(warps=1)
    elif method == "tvl1-quality":
        tvl1 = cv2.optflow.DualTVL1OpticalFlow_create()
    elif method == "farneback":
        return functools.partial(
            cv2.calcOpticalFlowFarneback,
            flow=None, pyr_scale=0.5, levels=1, winsize=15, iterations=2, poly_n=5, poly_sigma=1.1, flags=0,
        )
    elif method == "dis":
        dis = cv2.DISOpticalFlow_create(cv2.DISOpticalFlow_PRESET_FAST)
        return lambda prev, nxt: dis.calc(prev, nxt, None)
    else:
        raise ValueError(f"Unknown optical flow method={method!r}; choose one of {METHODS}")
    return lambda prev, nxt: tvl1.calc(prev, nxt, None)


def remove_camera_motion(flow_px: np.ndarray) -> np.ndarray:
    """(h, w, 2) flow minus its median x and y: what is left moved against the picture as a whole."""
    return (flow_px - np.median(flow_px.reshape(-1, 2), axis=0)).astype(np.float32)


def check_method(method: str) -> None:
    """Raises ValueError for an unknown method; warns when it is 'dis' (not TV-L1)."""
    if method not in METHODS:
        raise ValueError(f"Unknown optical flow method={method!r}; choose one of {METHODS}")
    if method == "dis":
        warnings.warn(DIS_WARNING, stacklevel=3)


class OpticalFlow:
    """Incremental flow: feed frames one by one (the live demo); each call returns the flow into that frame.

    Args:
        method: one of METHODS.
        bound_px: flow is clipped to ±bound_px pixels and divided by it (I3D: 20).
    """

    def __init__(self, method: str = DEFAULT_FLOW_METHOD, bound_px: float = BOUND_PX):
        check_method(method)
        if not bound_px > 0:
            raise ValueError(f"bound_px={bound_px}; must be > 0 pixels")
        self.method = method
        self.bound_px = float(bound_px)
        self._engine = _flow_engine(method)
        self._prev_gray: np.ndarray | None = None

    def reset(self) -> None:
        """Forgets the previous frame: the next call starts a new clip (returns zeros)."""
        self._prev_gray = None

    def next(self, frame_bgr: np.ndarray) -> np.ndarray:
        """Flow from the previous frame to `frame_bgr` (h, w, 3) uint8 BGR; zeros on the first call.

        Returns:
            flow: (h, w, 2) float32 in [-1, 1]; channel 0 is x (right +), channel 1 y (down +).
        """
        gray = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY) if frame_bgr.ndim == 3 else frame_bgr
        prev, self._prev_gray = self._prev_gray, gray
        if prev is None:
            return np.zeros((*gray.shape, 2), dtype=np.float32)
        if prev.shape != gray.shape:
            raise ValueError(f"Frame size changed from {prev.shape} to {gray.shape}; call reset() between clips")
        flow_px = self._engine(prev, gray)  # (h, w, 2) float32 pixels
        return encode_flow(flow_px, self.bound_px)


def encode_flow(flow_px: np.ndarray, bound_px: float = BOUND_PX) -> np.ndarray:
    """Flow in pixels -> float32 in [-1, 1]: clip to ±bound_px and divide by it (kinetics-i3d README)."""
    return (np.clip(flow_px, -bound_px, bound_px) / np.float32(bound_px)).astype(np.float32)


def frames_to_flows(frames: np.ndarray, method: str = DEFAULT_FLOW_METHOD, bound_px: float = BOUND_PX) -> np.ndarray:
    """(n, h, w, 3) uint8 BGR frames -> (n, h, w, 2) float32 flows in [-1, 1]; flow 0 is zeros."""
    optical_flow = OpticalFlow(method, bound_px)
    return np.stack([optical_flow.next(frame) for frame in frames])


def flows_to_files(flows: np.ndarray, target_dir: Path) -> None:
    """Writes (n, h, w, 2) flows in [-1, 1] to target_dir/flow000.jpg, flow001.jpg, ... (seed format)."""
    target_dir = Path(target_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    for i, flow in enumerate(flows):
        image = np.empty((*flow.shape[:2], 3), dtype=np.uint8)
        image[..., :2] = np.round((np.clip(flow, -1.0, 1.0) + 1.0) * 127.5)
        image[..., 2] = 128  # the seed's zero-flow third channel: round((0 + 1) * 127.5)
        write_jpg(target_dir / f"flow{i:03d}.jpg", image, JPEG_PARAMS)


def files_to_flows(flow_dir: Path) -> np.ndarray:
    """Reads flow_dir/*.jpg in order; returns (n, h, w, 2) float32 in [-1, 1].

    Raises:
        FileNotFoundError: the folder is missing or holds no .jpg.
    """
    images = files_to_frames(flow_dir, "flow files", "run `python opticalflow.py` to compute them")
    return images[..., :2].astype(np.float32) / np.float32(127.5) - np.float32(1.0)


def flows_to_color_images(flows: np.ndarray, max_magnitude: float | None = None) -> np.ndarray:
    """(n, h, w, 2) flows -> (n, h, w, 3) uint8 BGR for display: direction as hue, magnitude as brightness.

    Brightness is magnitude / max_magnitude; None uses the largest magnitude of the whole clip
    (one scale for all frames, so still frames stay dark instead of showing amplified noise).
    """
    flows = np.asarray(flows, dtype=np.float32)
    magnitude, angle = cv2.cartToPolar(flows[..., 0].reshape(-1), flows[..., 1].reshape(-1))
    magnitude, angle = magnitude.reshape(flows.shape[:-1]), angle.reshape(flows.shape[:-1])
    scale = float(magnitude.max()) if max_magnitude is None else float(max_magnitude)
    hsv = np.empty((*flows.shape[:-1], 3), dtype=np.uint8)
    hsv[..., 0] = np.round(angle * (90.0 / np.pi)) % 180  # OpenCV hue is 0..179 for 0..2π
    hsv[..., 1] = 255
    hsv[..., 2] = np.round(np.clip(magnitude / scale, 0.0, 1.0) * 255) if scale > 0 else 0
    return np.stack([cv2.cvtColor(image, cv2.COLOR_HSV2BGR) for image in hsv])
