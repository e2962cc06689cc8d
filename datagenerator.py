"""The clips of a split as network input: listed, loaded, jittered (the Keras generators are in batches.py).

    python datagenerator.py data-temp/demo/010-16/oflow/train --class-file data-set/demo/010/class.csv

Run as a script it measures how many clips per second the generator delivers.
Labels are indices into the sorted `sClass` list of class.csv. This module lists a split's clips and
loads one as network input; the generator classes that batch them (SampleBatches, FramesGenerator,
FeaturesGenerator) subclass a Keras class, so they live in batches.py, which imports Keras: this module
does not, so that `python datagenerator.py --help` starts at once.
"""
from __future__ import annotations  # "keras.utils.PyDataset" in signatures without importing Keras

import tfquiet; tfquiet.install()  # before any TF import: holds back its benign start-up lines
import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

import frame
import opticalflow
from videoset import VideoClasses  # noqa: F401 (the generators' label table; callers use datagenerator.VideoClasses)

if TYPE_CHECKING:
    import keras


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


def load_clip(folder, stream: str, num_frames: int) -> np.ndarray:
    """One clip as network input: (num_frames, h, w, 2) flow or (num_frames, h, w, 3) RGB, float32 in [-1, 1]."""
    if stream == "flow":
        clip = opticalflow.files_to_flows(folder)
    else:
        clip = frame.bgr_to_model_rgb(frame.files_to_frames(folder))
    if len(clip) != num_frames:
        clip = frame.frames_downsample(clip, num_frames)
    return clip


def measure_throughput(generator: keras.utils.PyDataset, num_batches: int | None = None) -> float:
    """Clips per second delivered by iterating the generator once (as fit() does, with its workers)."""
    num_batches = min(num_batches or len(generator), len(generator))
    count = 0
    start = time.perf_counter()
    for i, (x, _) in enumerate(generator):
        if i >= num_batches:
            break
        count += len(x)
    return count / (time.perf_counter() - start)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path, help="split folder of frames or flows, e.g. data-temp/demo/010-16/oflow/train")
    parser.add_argument("--class-file", type=Path, required=True, help="class.csv of the set")
    parser.add_argument("--stream", choices=("flow", "rgb"), default="flow", help="what the folders hold")
    parser.add_argument("--num-frames", type=int, default=16, help="frames per clip")
    parser.add_argument("--crop", type=int, default=128, help="crop size in pixels")
    parser.add_argument("--batch-size", type=int, default=4, help="clips per batch")
    parser.add_argument("--workers", type=int, default=1, help="PyDataset workers")
    args = parser.parse_args(argv)
    from batches import FramesGenerator  # Keras, after the arguments are parsed

    generator = FramesGenerator(args.data_dir, VideoClasses(args.class_file), args.stream, args.num_frames, args.crop,
                                args.batch_size, augment=True, workers=args.workers,
                                use_multiprocessing=args.workers > 1)
    print(f"{len(generator.samples)} clips in {args.data_dir.resolve()}: "
          f"{measure_throughput(generator):.1f} clips/s with {args.workers} worker(s)")


if __name__ == "__main__":
    main()
