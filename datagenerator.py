"""Keras data generators over the frame, flow and feature folders of a VideoSet.

    python datagenerator.py data-temp/demo/010-16/oflow/train --class-file data-set/demo/010/class.csv

Run as a script it measures how many clips per second the generator delivers.
Labels are indices into the sorted `sClass` list of class.csv.
"""
import tfquiet; tfquiet.install()  # before any TF import: holds back its benign start-up lines
import argparse
import math
import time
from pathlib import Path

import keras
import numpy as np

import frame
import opticalflow
from videoset import VideoClasses  # noqa: F401 (the generators' label table; callers use datagenerator.VideoClasses)

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


class SampleBatches(keras.utils.PyDataset):
    """The one batching of the generators: samples [(path, label index)], one-hot labels, and an order that is
    a function of (seed, epoch), so that a resumed run sees the batches it would have seen.

    A subclass says how one sample becomes an array (`sample`); `rng` is None unless it augments.

    Args:
        samples: [(path, label index)], sorted by path.
        classes: the VideoClasses of the set.
        batch_size: samples per batch.
        shuffle: a new order at every epoch.
        seed: for the order (and a subclass' augmentation).
        **pydataset: workers, use_multiprocessing, max_queue_size of keras.utils.PyDataset.
    """

    augment = False

    def __init__(self, samples: list[tuple[Path, int]], classes: VideoClasses, batch_size: int, shuffle: bool,
                 seed: int = 0, **pydataset):
        super().__init__(**pydataset)
        self.samples = samples
        self.classes = classes
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.order = np.arange(len(self.samples))
        self.set_epoch(0)

    @property
    def labels(self) -> np.ndarray:
        """Label index of every sample, in sample order (not shuffled)."""
        return np.array([label for _, label in self.samples])

    def __len__(self):
        return math.ceil(len(self.samples) / self.batch_size)

    def sample(self, sample_index: int, rng: np.random.Generator | None) -> np.ndarray:
        raise NotImplementedError

    def __getitem__(self, index):
        batch = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        # One generator per (epoch, batch): workers fetch batches in any order, augmentation stays reproducible.
        rng = np.random.default_rng([self.seed, self.epoch, index]) if self.augment else None
        x = np.stack([self.sample(i, rng) for i in batch]).astype(np.float32)
        y = keras.utils.to_categorical([self.samples[i][1] for i in batch], len(self.classes))
        return x, y

    def on_epoch_end(self):
        self.set_epoch(self.epoch + 1)

    def set_epoch(self, epoch: int):
        """Order (and augmentation) of epoch `epoch` (0-based)."""
        self.epoch = epoch
        if self.shuffle:
            self.order = np.random.default_rng([self.seed, self.epoch]).permutation(len(self.samples))


class FramesGenerator(SampleBatches):
    """Batches of (clips, one-hot labels) from frame or flow folders.

    Training (augment=True): random crop and a temporal jitter of up to ±max_shift frames; no horizontal
    flip, because in sign language the dominant hand carries meaning. Validation: center crop.

    Args:
        data_dir: a split folder, e.g. data-temp/demo/010-16/oflow/train.
        classes: the VideoClasses of the set.
        stream: "flow" (2 channels) or "rgb" (3 channels).
        listed: only these clips of the split ("<label>/<video stem>", videoset.split_clips); None: all folders.
        num_frames, crop_px: clip size the model takes.
        batch_size: clips per batch.
        shuffle: reshuffle at every epoch end.
        augment: random crop + temporal jitter.
        seed: for shuffling and augmentation.
        workers, use_multiprocessing, max_queue_size: passed to keras.utils.PyDataset.
    """

    def __init__(self, data_dir, classes: VideoClasses, stream="flow", num_frames=40, crop_px=224, batch_size=4,
                 shuffle=True, augment=False, max_shift=2, seed=0, workers=1, use_multiprocessing=False,
                 max_queue_size=10, listed: set[str] | None = None):
        if stream not in ("flow", "rgb"):
            raise ValueError(f"stream={stream!r}; choose 'flow' or 'rgb'")
        self.stream = stream
        self.num_frames = num_frames
        self.crop_px = crop_px
        self.augment = augment
        self.max_shift = max_shift
        super().__init__(list_samples(data_dir, classes, listed), classes, batch_size, shuffle, seed,
                         workers=workers, use_multiprocessing=use_multiprocessing, max_queue_size=max_queue_size)

    @property
    def channels(self) -> int:
        return 2 if self.stream == "flow" else 3

    def clip(self, sample_index: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """One prepared clip: (num_frames, crop_px, crop_px, channels) float32."""
        clip = load_clip(self.samples[sample_index][0], self.stream, self.num_frames)
        h, w = clip.shape[1:3]
        if rng is None:
            return frame.frames_crop(clip, self.crop_px, self.crop_px)
        offset = (int(rng.integers(0, h - self.crop_px + 1)), int(rng.integers(0, w - self.crop_px + 1)))
        clip = frame.frames_crop(clip, self.crop_px, self.crop_px, offset=offset)
        return temporal_jitter(clip, int(rng.integers(-self.max_shift, self.max_shift + 1)))

    sample = clip


class FeaturesGenerator(SampleBatches):
    """Batches of (features, one-hot labels) from <features>/<label>/<video>.npy files of shape (n, feature_len).

    Used by the MobileNet + LSTM path (feature.py writes the files).
    """

    def __init__(self, data_dir, classes: VideoClasses, num_frames: int, feature_len: int, batch_size=16,
                 shuffle=True, seed=0, workers=1, use_multiprocessing=False):
        data_dir = Path(data_dir)
        files = sorted(p for p in data_dir.glob("*/*.npy") if not p.name.startswith("."))
        if not files:
            raise FileNotFoundError(
                f"No <label>/<video>.npy feature files under {data_dir.resolve()}; run `python feature.py` first"
            )
        self.num_frames = num_frames
        self.feature_len = feature_len
        super().__init__([(path, classes.index(path.parent.name)) for path in files], classes, batch_size, shuffle,
                         seed, workers=workers, use_multiprocessing=use_multiprocessing)

    def features(self, sample_index: int, rng=None) -> np.ndarray:
        """One clip's features: (num_frames, feature_len)."""
        path = self.samples[sample_index][0]
        features = np.load(path)
        if features.shape != (self.num_frames, self.feature_len):
            raise ValueError(
                f"{path} has shape {features.shape}, expected ({self.num_frames}, {self.feature_len}); "
                "recompute it with `python feature.py --overwrite`"
            )
        return features

    sample = features


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
    generator = FramesGenerator(args.data_dir, VideoClasses(args.class_file), args.stream, args.num_frames, args.crop,
                                args.batch_size, augment=True, workers=args.workers,
                                use_multiprocessing=args.workers > 1)
    print(f"{len(generator.samples)} clips in {args.data_dir.resolve()}: "
          f"{measure_throughput(generator):.1f} clips/s with {args.workers} worker(s)")


if __name__ == "__main__":
    main()
