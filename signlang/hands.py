"""Hand landmarks of video frames: MediaPipe's hand landmarker, each hand kept in its own slot, missing hands explicit.

One clip becomes one array `(num_frames, 2, 21, 4)` float32 (LANDMARK_SHAPE): per frame, slot 0 the signer's
left hand and slot 1 the right (HANDS), each with MediaPipe's 21 points (wrist 0, finger tips 4, 8, 12, 16, 20) as
(x, y, z, present). The reference is the frame: x and y are measured from the frame's centre in units of its
shorter side (x right, y down; a 640x480 frame spans x in [-0.67, 0.67], y in [-0.5, 0.5]), so the numbers do not
depend on the resolution or the aspect ratio; z is MediaPipe's depth relative to the wrist, in the same unit.
A hand not found in a frame is all zeros with present = 0, never a guess.

Which hand is which: MediaPipe labels each detection "Left" or "Right" frame by frame, and on the real clip
(../shared/data/real/signing_clip.mp4, a non-mirrored webcam) it called the signer's right hand "Right" in 22
frames and "Left" in 3, between them. So labels are not used frame by frame: detections are linked into tracks
(the nearest hand of the previous frames, at most MAX_GAP_FRAMES back and MAX_JUMP away), each track takes
the slot its labels vote for (summed scores), and two tracks at the same time never share a slot.
The body is not used (MediaPipe's pose model did not load as a .task bundle: docs/hands.md).

Importable without MediaPipe or TensorFlow: `Landmarker` imports MediaPipe (which imports TensorFlow, ~4 s).
"""
from pathlib import Path

import numpy as np

from signlang.handmodel import require_task
from signlang.video import frame_indices, video_info, video_to_frames

HANDS = ("left", "right")  # the slots, the signer's hands as MediaPipe names them
NUM_POINTS = 21
LANDMARK_SHAPE = (len(HANDS), NUM_POINTS, 4)  # per frame: hand, point, (x, y, z, present)
MAX_SIDE_PX = 640  # larger frames are scaled down first: the detector sees 192 px, the landmarker 224 px crops
MAX_GAP_FRAMES = 4  # a hand lost for up to this many frames continues its track
MAX_JUMP = 0.35  # ... when it reappears within this distance (shorter sides) of where it was
MIN_DETECTION = 0.5  # MediaPipe's default confidences
MIN_TRACKING = 0.5


class Landmarker:
    """MediaPipe's HandLandmarker in video mode on a sequence of BGR frames; one per clip (its tracker carries
    the previous frame's hands).

    Args:
        task: the hand_landmarker.task bundle; None: the cached one (handmodel.require_task, never downloads).
    """

    def __init__(self, task: Path | None = None):
        import mediapipe as mp  # ~4 s (it imports TensorFlow): only where landmarks are computed
        from mediapipe.tasks.python import BaseOptions, vision

        self._mp = mp
        options = vision.HandLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(task or require_task())),
            running_mode=vision.RunningMode.VIDEO, num_hands=len(HANDS),
            min_hand_detection_confidence=MIN_DETECTION, min_tracking_confidence=MIN_TRACKING)
        self._landmarker = vision.HandLandmarker.create_from_options(options)
        self.detections = []  # per frame: [(label, score, points (21, 3) frame units)]

    def add(self, frame: np.ndarray, time_ms: int) -> list:
        """Finds the hands in one frame (h, w, 3) uint8 BGR taken at `time_ms` (increasing); returns and keeps
        its detections [(label "Left"/"Right", score, points (21, 3))]."""
        import cv2

        height, width = frame.shape[:2]
        if max(height, width) > MAX_SIDE_PX:
            scale = MAX_SIDE_PX / max(height, width)
            frame = cv2.resize(frame, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
        rgb = np.ascontiguousarray(frame[:, :, ::-1])
        result = self._landmarker.detect_for_video(self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=rgb),
                                                   int(time_ms))
        unit = min(height, width)
        found = []
        for points, handedness in zip(result.hand_landmarks, result.handedness):
            xyz = np.array([(p.x, p.y, p.z) for p in points], np.float32)  # x, y in [0, 1] of the frame
            xyz[:, 0] = (xyz[:, 0] - 0.5) * width / unit
            xyz[:, 1] = (xyz[:, 1] - 0.5) * height / unit
            xyz[:, 2] *= width / unit  # MediaPipe's z has the scale of x
            found.append((handedness[0].category_name, float(handedness[0].score), xyz))
        self.detections.append(found)
        return found

    def result(self) -> np.ndarray:
        """The clip so far as (frames, 2, 21, 4) float32 (assign_hands)."""
        return assign_hands(self.detections)

    def close(self) -> None:
        """Frees MediaPipe's graph; the detections so far stay (result()). A second call does nothing."""
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def frames_landmarks(frames: np.ndarray, fps: float, task: Path | None = None) -> np.ndarray:
    """Landmarks of a clip's frames (n, h, w, 3) uint8 BGR, `fps` apart: (n, 2, 21, 4) float32."""
    with Landmarker(task) as landmarker:
        for i, frame in enumerate(frames):
            landmarker.add(frame, round(i * 1000 / fps))
        return landmarker.result()


def video_landmarks(video_path: Path, num_frames: int | None, task: Path | None = None) -> np.ndarray:
    """Landmarks of one video file at its own resolution: (num_frames, 2, 21, 4) float32 at the frames frame.py
    samples (video.frame_indices), all frames when num_frames is None.

    Raises:
        FileNotFoundError, VideoError: see video.video_to_frames.
    """
    frames = video_to_frames(video_path, min_dim_px=None)  # (n, h, w, 3) uint8 BGR
    _, fps, _ = video_info(video_path)
    indices = np.arange(len(frames)) if num_frames is None else frame_indices(len(frames), num_frames)
    unique, inverse = np.unique(indices, return_inverse=True)  # a short video repeats frames: each found once
    # Numbered 1/fps apart although sampled frames lie further apart: that only loosens the tracking between them.
    landmarks = frames_landmarks(frames[unique], fps if fps > 0 else 25.0, task)
    return landmarks[inverse]


# ---- model input -------------------------------------------------------------------------------------------
# What the hands network sees of a frame, per hand (FEATURES_PER_HAND), all 0 where the hand is missing:
#   present;
#   the wrist's position in the frame (x, y: where the sign is made, e.g. near the face or the chest);
#   the wrist relative to its mean over the clip and its movement since the previous frame, both in palm lengths
#   (the trajectory's shape, whatever the signer's distance to the camera);
#   the 21 points relative to the wrist in palm lengths (the hand's shape).
# The palm length is the wrist's distance to the middle finger's knuckle (point 9), in x and y.
FEATURES_PER_HAND = 1 + 2 + 2 + 2 + NUM_POINTS * 3
NUM_FEATURES = len(HANDS) * FEATURES_PER_HAND
PALM_POINT = 9


def hand_features(landmarks: np.ndarray) -> np.ndarray:
    """(..., frames, 2, 21, 4) landmarks of whole clips -> (..., frames, NUM_FEATURES) float32 (see above)."""
    landmarks = np.asarray(landmarks, np.float32)
    here = landmarks[..., 0, 3:4]  # (..., t, 2, 1)
    wrist = landmarks[..., 0, :2] * here
    relative = landmarks[..., :3] - landmarks[..., :1, :3]
    palm = np.linalg.norm(relative[..., PALM_POINT, :2], axis=-1)[..., None]  # (..., t, 2, 1)
    frames_here = np.maximum(here.sum(axis=-3, keepdims=True), 1.0)
    mean_wrist = wrist.sum(axis=-3, keepdims=True) / frames_here
    mean_palm = np.maximum((palm * here).sum(axis=-3, keepdims=True) / frames_here, 1e-3)
    path = (wrist - mean_wrist) / mean_palm * here
    before = np.concatenate([wrist[..., :1, :, :], wrist[..., :-1, :, :]], axis=-3)
    here_before = np.concatenate([here[..., :1, :, :], here[..., :-1, :, :]], axis=-3)
    motion = (wrist - before) / mean_palm * here * here_before
    shape = relative / np.maximum(palm, 1e-3)[..., None] * here[..., None]
    parts = [here, wrist, path, motion, shape.reshape(*shape.shape[:-2], NUM_POINTS * 3)]
    features = np.concatenate(parts, axis=-1)  # (..., t, 2, FEATURES_PER_HAND)
    return features.reshape(*features.shape[:-2], NUM_FEATURES).astype(np.float32)


def _centre(points: np.ndarray) -> np.ndarray:
    return points[:, :2].mean(axis=0)


def assign_hands(detections: list) -> np.ndarray:
    """Per-frame detections -> (frames, 2, 21, 4) with each hand in one slot for the whole clip (module docstring).

    Args:
        detections: per frame a list of (label "Left"/"Right", score, points (21, 3)).
    """
    tracks = []  # {"frames": [...], "points": [...], "votes": [left, right], "last": frame, "at": centre}
    for i, found in enumerate(detections):
        open_tracks = [t for t in tracks if 0 < i - t["last"] <= MAX_GAP_FRAMES + 1]
        pairs = sorted((float(np.linalg.norm(_centre(points) - track["at"])), d, n)
                       for d, (_, _, points) in enumerate(found) for n, track in enumerate(open_tracks))
        matched, taken = {}, set()
        for distance, d, n in pairs:
            if distance <= MAX_JUMP and d not in matched and n not in taken:
                matched[d] = open_tracks[n]
                taken.add(n)
        for d, (label, score, points) in enumerate(found):
            track = matched.get(d)
            if track is None:
                track = {"frames": [], "points": [], "votes": [0.0, 0.0]}
                tracks.append(track)
            track["frames"].append(i)
            track["points"].append(points)
            track["votes"][int(label == "Right")] += score
            track["last"], track["at"] = i, _centre(points)
    # The strongest votes choose first; a track overlapping one already placed in its slot takes the other.
    placed = {0: [], 1: []}
    out = np.zeros((len(detections), *LANDMARK_SHAPE), np.float32)
    for track in sorted(tracks, key=lambda t: -abs(t["votes"][1] - t["votes"][0])):
        slot = int(track["votes"][1] > track["votes"][0])
        frames = set(track["frames"])
        if any(frames & other for other in placed[slot]):
            slot = 1 - slot
            if any(frames & other for other in placed[slot]):
                continue  # a third hand at the same time (two people): left out
        placed[slot].append(frames)
        for i, points in zip(track["frames"], track["points"]):
            out[i, slot, :, :3] = points
            out[i, slot, :, 3] = 1.0
    return out


def present(landmarks: np.ndarray) -> np.ndarray:
    """(frames, 2) bool: which hand was found in which frame."""
    return landmarks[..., 0, 3] > 0.5
