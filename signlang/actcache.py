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
Every file is written under a temporary name and renamed (safeio.atomic_write): a run killed while filling the
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
        target = Path(folder) / clip.parent.name / f"{clip.name}-{clip_signature(clip)}.npy"
        if target.is_file():
            try:
                arrays.append(np.load(target))
                continue
            except (OSError, ValueError):  # not expected (files are renamed into place whole); recompute it
                pass
        array = np.asarray(compute(index)).astype(CACHE_DTYPE)
        with atomic_write(target) as tmp, open(tmp, "wb") as f:
            np.save(f, array)
        for stale in target.parent.glob(f"{clip.name}-*.npy"):  # the same clip's earlier extraction
            if stale != target and len(stale.stem) == len(target.stem):
                stale.unlink(missing_ok=True)
        arrays.append(array)
        computed += 1
    return arrays, computed
