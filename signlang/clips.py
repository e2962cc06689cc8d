"""The clips of a split as arrays: listed from the frame/flow folders, loaded, jittered in time.

Labels are indices into the sorted `sClass` list of class.csv (videoset.VideoClasses). The Keras generators
that batch these clips are in batches.py; this module does not import Keras.
"""
from pathlib import Path

import numpy as np

from signlang.flow import files_to_flows
from signlang.video import bgr_to_model_rgb, files_to_frames, frames_downsample
from signlang.videoset import VideoClasses


def list_samples(data_dir, classes: VideoClasses, listed: set[str] | None = None,
                 report: bool = True) -> list[tuple[Path, int]]:
    """The <data_dir>/<label>/<video>/ folders with their label index, sorted by path.

    Args:
        listed: the clips the data set holds in this split ("<label>/<video stem>", videoset.split_clips);
            folders not listed (left by videos since moved or deleted) are left out, and both they and
            listed clips without a folder are reported in one line each (report=False: not). None takes every
            folder.

    Raises:
        FileNotFoundError: when data_dir holds no (listed) <label>/<video> folders.
    """
    data_dir = Path(data_dir)
    folders = sorted(p for p in data_dir.glob("*/*") if p.is_dir() and not p.name.startswith("."))
    if listed is not None:
        names = {f"{p.parent.name}/{p.name}": p for p in folders}
        stale = sorted(set(names) - listed)
        missing = sorted(listed - set(names))
        if stale and report:
            print(f"Leaving out {len(stale)} folder(s) under {data_dir.resolve()} whose video is no longer in "
                  f"this split of the set (e.g. {stale[0]}); rerun frame.py and opticalflow.py to remove them")
        if missing and report:
            print(f"{len(missing)} video(s) of this split have no folder under {data_dir.resolve()} "
                  f"(e.g. {missing[0]}): failed or not extracted yet; rerun frame.py and opticalflow.py")
        folders = [p for name, p in sorted(names.items()) if name in listed]
    if not folders:
        raise FileNotFoundError(
            f"No <label>/<video> folders under {data_dir.resolve()}"
            + (" for the videos the set lists" if listed is not None else "")
            + "; run `python frame.py` (and `python opticalflow.py` for flow) first"
        )
    return [(folder, classes.index(folder.parent.name)) for folder in folders]


def temporal_jitter(clip: np.ndarray, shift: int) -> np.ndarray:
    """Shift a clip in time by `shift` frames, repeating the edge frame: (n, ...) -> (n, ...)."""
    if shift == 0:
        return clip
    indices = np.clip(np.arange(len(clip)) + shift, 0, len(clip) - 1)
    return clip[indices]


def time_stretched(clip: np.ndarray, speed: float, flow: bool) -> np.ndarray:
    """The clip played `speed` times as fast about its middle: (n, ...) float -> (n, ...) float32.

    Frame i shows the moment c + (i - c) * speed of the clip (c its middle frame), linearly interpolated between the
    two nearest frames, the first or last frame where that falls outside. Flow vectors are motion per frame, so they
    grow with the speed (clipped to [-1, 1] as stored flow is). A take signed faster fills less of its fixed-length
    clip, one signed slower more: the hard own-signs stand-in plays its takes at 0.8-1.25x (signlang/standin.py).
    """
    n = len(clip)
    middle = (n - 1) / 2
    moments = np.clip(middle + (np.arange(n) - middle) * speed, 0, n - 1)
    before = np.floor(moments).astype(int)
    after = np.minimum(before + 1, n - 1)
    weight = (moments - before).astype(np.float32).reshape((n,) + (1,) * (clip.ndim - 1))
    out = clip[before] * (1 - weight) + clip[after] * weight
    return np.clip(out * np.float32(speed), -1.0, 1.0) if flow else out.astype(np.float32)


def load_clip(folder, stream: str, num_frames: int) -> np.ndarray:
    """One clip as network input: (num_frames, h, w, 2) flow or (num_frames, h, w, 3) RGB, float32 in [-1, 1]."""
    if stream == "flow":
        clip = files_to_flows(folder)
    else:
        clip = bgr_to_model_rgb(files_to_frames(folder))
    if len(clip) != num_frames:
        clip = frames_downsample(clip, num_frames)
    return clip
