"""The activation cache: a frozen network's outputs for augmented views of every clip, computed once, kept on disk.

    data-temp/<name>/<NNN>-<frames>/cache/<stream>-<key>/<split>/<label>/<video>-<clip>.npy   (views, ...) float16

train_i3d.py's fast recipe trains only the layers above a frozen part of the I3D, so that part's output for a
clip never changes: it is computed here once per view and read back by every later run (a second run on the set, a
run after the set grew, another seed). What the activations depend on is in the two names, so a change never
reads a stale file:
- <key> (`cache_key`): the frozen weights (their sha256), the layer, the input size, the number of views and their
  augmentation settings. Another key is another folder.
- <clip> (`clip_signature`): the clip's own files (names, sizes, modification times). A clip extracted again
  gets a new name; the file of its old extraction is deleted when the new one is written.
`cached_views_first_early` computes the first views of every clip before the others (the fast recipe fits its
preview to them). Every file is written under a temporary name and renamed (safeio.atomic_write): a run killed while filling the
cache keeps the clips finished before the kill, and the rerun computes only the rest.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from signlang.folderstep import progress
from signlang.safeio import atomic_write

CACHE_FOLDER = "cache"  # beside image/ and oflow/ in data-temp/<name>/<NNN>-<frames>/
CACHE_DTYPE = np.float16  # half the disk and memory of float32; activations of a ReLU network, well within range


def cache_key(**parts) -> str:
    """A short name for everything the activations depend on besides the clip (12 hex digits of a sha256)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:12]


def clip_signature(clip_dir: Path) -> str:
    """8 hex digits naming a clip folder's present state: its files' names, sizes and modification times."""
    stats = [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(Path(clip_dir).iterdir()) if p.is_file()]
    return hashlib.sha256(json.dumps(stats).encode()).hexdigest()[:8]


def cache_dir(data_root: Path, stream: str, key: str) -> Path:
    """data-temp/<name>/<NNN>-<frames>/cache/<stream>-<key> for data_root = data-temp/<name>/<NNN>-<frames>."""
    return Path(data_root) / CACHE_FOLDER / f"{stream}-{key}"


def cache_file(folder: Path, clip: Path) -> Path:
    """The cache file of a clip folder .../<label>/<video> in its present state (clip_signature)."""
    return Path(folder) / clip.parent.name / f"{clip.name}-{clip_signature(clip)}.npy"


def read_cached(folder: Path, clip: Path) -> np.ndarray | None:
    """The cached activations of a clip, or None when they are not cached (or not readable: computed again)."""
    target = cache_file(folder, clip)
    if target.is_file():
        try:
            return np.load(target)
        except (OSError, ValueError):  # not expected (files are renamed into place whole); recompute it
            pass
    return None


def store(folder: Path, clip: Path, activations: np.ndarray) -> np.ndarray:
    """Caches a clip's activations (as CACHE_DTYPE, written atomically; the file of its earlier extraction deleted);
    returns them as stored."""
    array = np.asarray(activations).astype(CACHE_DTYPE)
    target = cache_file(folder, clip)
    with atomic_write(target) as tmp, open(tmp, "wb") as f:
        np.save(f, array)
    for stale in target.parent.glob(f"{clip.name}-*.npy"):  # the same clip's earlier extraction
        if stale != target and len(stale.stem) == len(target.stem):
            stale.unlink(missing_ok=True)
    return array


def cached_views(folder: Path, clips: list[Path], compute: Callable[[int], np.ndarray], desc: str = "activations",
                 ) -> tuple[list[np.ndarray], int]:
    """The cached activations of every clip, computing (and caching) those not cached yet.

    Args:
        folder: the split's cache folder (cache_dir(...) / split).
        clips: the clip folders (.../<label>/<video>), whose last two names name the cache file.
        compute: clip index -> its activations (views, ...) (any float dtype; stored as CACHE_DTYPE).
        desc: the progress bar's name.

    Returns:
        ([array (views, ...) per clip, in the order of `clips`], how many were computed now).
    """
    arrays, computed = [], 0
    for index, clip in enumerate(progress(clips, desc=desc, unit="clip")):
        array = read_cached(folder, clip)
        if array is None:
            array = store(folder, clip, compute(index))
            computed += 1
        arrays.append(array)
    return arrays, computed


def cached_views_first_early(folder: Path, clips: list[Path], start: Callable[[int], object],
                             more: Callable[[int, object, int], np.ndarray], views: int, first: int,
                             on_first: Callable[[list[np.ndarray]], None], desc: str = "activations",
                             ) -> tuple[list[np.ndarray], int]:
    """cached_views for views drawn one after another from each clip's own state (its random generator), with the
    first `first` views of every clip there early: the clips not cached yet get those first, then
    on_first([the first `first` views of every clip]) runs (the fast recipe fits its preview), then their remaining
    views are computed and each clip cached whole. Nothing missing, or first >= views: on_first is not called.

    Args:
        start: clip index -> its state (e.g. a numpy Generator seeded by the clip's name).
        more: (clip index, its state, count) -> its next `count` views (count, ...), advancing the state.
        views: the views per clip; first: those needed early.

    Returns:
        As cached_views. A run killed before a clip is cached whole computes it again (its first views too).
    """
    arrays = [read_cached(folder, clip) for clip in clips]
    missing = [index for index, array in enumerate(arrays) if array is None]
    begun = {}  # clip index -> (state, its first views)
    if missing and first < views:
        for index in progress(missing, desc=f"{desc}, views 1-{first} of {views}", unit="clip"):
            state = start(index)
            begun[index] = (state, np.asarray(more(index, state, first)).astype(CACHE_DTYPE))
        on_first([array[:first] if array is not None else begun[index][1] for index, array in enumerate(arrays)])
    rest = f", views {first + 1}-{views}" if begun else f", {views} views"
    for index in progress(missing, desc=desc + rest, unit="clip"):
        state, done = begun.pop(index, (None, None))
        if state is None:
            state = start(index)
            arrays[index] = store(folder, clips[index], more(index, state, views))
        else:
            arrays[index] = store(folder, clips[index], np.concatenate(
                [done, np.asarray(more(index, state, views - first)).astype(CACHE_DTYPE)]))
    return arrays, len(missing)
