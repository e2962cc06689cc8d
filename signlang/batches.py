"""Keras PyDatasets over a VideoSet's clips: batches of frames, flows or features with one-hot labels.

They batch the clips clips.py lists and loads. They live apart because a subclass of
keras.utils.PyDataset needs Keras when its module is imported, and the data scripts' --help should
start at once. ConcatFeaturesGenerator is train_mobile_lstm.py's `--stream both`.

Imports Keras.
"""
import math
import time
from pathlib import Path

import keras
import numpy as np

from signlang.clips import list_samples, load_clip, temporal_jitter, time_stretched
from signlang.video import frames_crop, frames_resize_min_side
from signlang.videoset import VideoClasses


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
        passes: times every sample comes in one epoch (each pass in its own order): fewer, longer epochs
            for a small set, so that validating and checkpointing after every epoch costs less.
        **pydataset: workers, use_multiprocessing, max_queue_size of keras.utils.PyDataset.
    """

    augment = False

    def __init__(self, samples: list[tuple[Path, int]], classes: VideoClasses, batch_size: int, shuffle: bool,
                 seed: int = 0, passes: int = 1, **pydataset):
        super().__init__(**pydataset)
        if passes < 1:
            raise ValueError(f"passes={passes}; need >= 1")
        self.samples = samples
        self.classes = classes
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.passes = passes
        self.order = np.tile(np.arange(len(self.samples)), passes)
        self.set_epoch(0)

    @property
    def labels(self) -> np.ndarray:
        """Label index of every sample, in sample order (not shuffled)."""
        return np.array([label for _, label in self.samples])

    def __len__(self):
        return math.ceil(len(self.order) / self.batch_size)

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
            rng = np.random.default_rng([self.seed, self.epoch])
            self.order = np.concatenate([rng.permutation(len(self.samples)) for _ in range(self.passes)])


def zoomed(clip: np.ndarray, size: int, flow: bool) -> np.ndarray:
    """(n, s, s, c) -> (n, size, size, c), bilinear (frames_resize_min_side); flow vectors grow with the
    image (x size / s), clipped to [-1, 1] as stored flow is."""
    out = frames_resize_min_side(clip, size)
    return np.clip(out * np.float32(size / clip.shape[1]), -1.0, 1.0) if flow else out


def padded(clip: np.ndarray, side: int, flow: bool) -> np.ndarray:
    """(n, h, w, c) -> (n, >= side, >= side, c): centred in a border, zero flow (no motion) or the edge pixels."""
    h, w = clip.shape[1:3]
    dy, dx = max(0, side - h), max(0, side - w)
    pad = ((0, 0), (dy // 2, dy - dy // 2), (dx // 2, dx - dx // 2), (0, 0))
    return np.pad(clip, pad, mode="constant") if flow else np.pad(clip, pad, mode="edge")


class FramesGenerator(SampleBatches):
    """Batches of (clips, one-hot labels) from frame or flow folders.

    Training (augment=True): a random square crop, zoomed by a random factor of 1/(1+zoom_out)..1+max_zoom (a
    smaller square resized up, or a larger one with a border resized down; flow vectors scaled with it), played at
    a random speed of 1/(1+max_speed)..1+max_speed (log-uniform; clips.time_stretched) and shifted in time by up to
    ±max_shift frames; no horizontal flip, because in sign language the dominant hand carries meaning. Validation:
    center crop.

    Args:
        data_dir: a split folder, e.g. data-temp/demo/010-16/oflow/train.
        classes: the VideoClasses of the set.
        stream: "flow" (2 channels) or "rgb" (3 channels).
        listed: only these clips of the split ("<label>/<video stem>", videoset.split_clips); None: all folders.
        num_frames, crop_px: clip size the model takes.
        batch_size: clips per batch.
        shuffle: reshuffle at every epoch end.
        augment: random crop and zoom (in, or out with zoom_out), speed change (max_speed), temporal jitter.
        max_shift, max_zoom, max_speed: the largest temporal jitter (frames), zoom (0.25: up to 1.25x) and speed
            change (0.25: 0.8-1.25x; 0, the default, draws none) of augment.
        zoom_out: augment also zooms out, down to 1/(1+zoom_out) (0.25: 0.8x), the frame shrunk inside a border.
        seed: for shuffling and augmentation.
        passes: times each clip comes per epoch (SampleBatches).
        workers, use_multiprocessing, max_queue_size: passed to keras.utils.PyDataset.
    """

    def __init__(self, data_dir, classes: VideoClasses, stream="flow", num_frames=40, crop_px=224, batch_size=4,
                 shuffle=True, augment=False, max_shift=2, max_zoom=0.0, max_speed=0.0, zoom_out=0.0, seed=0,
                 passes=1, workers=1, use_multiprocessing=False, max_queue_size=10, listed: set[str] | None = None):
        if stream not in ("flow", "rgb"):
            raise ValueError(f"stream={stream!r}; choose 'flow' or 'rgb'")
        self.stream = stream
        self.num_frames = num_frames
        self.crop_px = crop_px
        self.augment = augment
        self.max_shift = max_shift
        self.max_zoom = max_zoom
        self.max_speed = max_speed
        self.zoom_out = zoom_out
        super().__init__(list_samples(data_dir, classes, listed), classes, batch_size, shuffle, seed,
                         passes=passes, workers=workers, use_multiprocessing=use_multiprocessing,
                         max_queue_size=max_queue_size)

    @property
    def channels(self) -> int:
        return 2 if self.stream == "flow" else 3

    def clip(self, sample_index: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """One prepared clip: (num_frames, crop_px, crop_px, channels) float32."""
        clip = load_clip(self.samples[sample_index][0], self.stream, self.num_frames)
        h, w = clip.shape[1:3]
        if rng is None:
            return frames_crop(clip, self.crop_px, self.crop_px)
        zoom = float(rng.uniform(1 / (1 + self.zoom_out), 1 + self.max_zoom)) if self.max_zoom or self.zoom_out else 1.0
        side = max(1, round(self.crop_px / zoom))
        if zoom < 1 and side > min(h, w):  # zoomed out past the frame: a border of no motion (flow) or edge pixels
            clip = padded(clip, side, flow=self.stream == "flow")
            h, w = clip.shape[1:3]
        side = min(h, w, side)
        offset = (int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1)))
        clip = frames_crop(clip, side, side, offset=offset)
        if side != self.crop_px:
            clip = zoomed(clip, self.crop_px, flow=self.stream == "flow")
        if self.max_speed:  # drawn only when asked for, so that the other draws stay those of earlier runs
            speed = float(np.exp(rng.uniform(-np.log1p(self.max_speed), np.log1p(self.max_speed))))
            clip = time_stretched(clip, speed, flow=self.stream == "flow")
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


class ConcatFeaturesGenerator(SampleBatches):
    """Batches of (features, one-hot labels) with each frame's vectors of several streams concatenated.

    Args:
        generators: one FeaturesGenerator (shuffle=False) per stream, over the same videos.
        batch_size: clips per batch.
        shuffle: reshuffle at every epoch end.
        seed: for shuffling.

    Raises:
        ValueError: the streams' folders hold different videos.
    """

    def __init__(self, generators: list, batch_size: int = 16, shuffle: bool = True, seed: int = 0):
        names = [[p.relative_to(p.parents[1]) for p, _ in g.samples] for g in generators]
        for generator, other in zip(generators[1:], names[1:]):
            if other != names[0]:
                missing = sorted(set(names[0]).symmetric_difference(other))[:3]
                raise ValueError(f"The feature folders hold different videos (e.g. {[str(m) for m in missing]}); "
                                 "compute the features of every stream for every video (`python feature.py`)")
        self.generators = generators
        super().__init__(generators[0].samples, generators[0].classes, batch_size, shuffle, seed)

    def sample(self, sample_index: int, rng=None) -> np.ndarray:
        return np.concatenate([g.features(sample_index) for g in self.generators], axis=-1)


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


def shuffled_batches(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int, mixup: float = 0.0):
    """x and y (arrays in memory) as a tf.data pipeline for fit(): batches of batch_size in a new order every epoch,
    the same orders for the same seed.

    With mixup > 0, each sample of a batch is blended with the batch's sample in the mirrored position, inputs and
    labels alike, by a weight drawn from Beta(mixup, mixup) (mixup: Zhang et al. 2018; on a hidden layer's
    activations, as the fast recipe's cached views are: Verma et al. 2019, "Manifold Mixup").

    tf.data's autotuning is off and the pipeline has one thread of its own: fit() on the arrays themselves (Keras'
    pipeline, prefetching with autotuning on TensorFlow's shared threads) ran about half of the fast recipe's epochs
    at half speed on a 2-core CPU (20 s against 10.6 s for 15 steps of 16 cached views; this pipeline: 10.9-12.4 s
    every epoch; docs/training.md, "No more half-speed epochs").
    """
    import tensorflow as tf

    xs, ys = tf.convert_to_tensor(x, tf.float32), tf.convert_to_tensor(y, tf.float32)  # to_categorical: float64
    options = tf.data.Options()
    options.autotune.enabled = False
    options.threading.private_threadpool_size = 1
    order = tf.data.Dataset.range(len(x)).shuffle(len(x), seed=seed, reshuffle_each_iteration=True)

    def batch(indices):
        bx, by = tf.gather(xs, indices), tf.gather(ys, indices)
        if mixup <= 0:
            return bx, by
        shape = tf.shape(indices)
        a = tf.random.gamma(shape, mixup, seed=seed)  # a / (a + b) ~ Beta(mixup, mixup)
        b = tf.random.gamma(shape, mixup, seed=seed + 1)
        weight = a / (a + b)
        wx = tf.reshape(weight, tf.concat([shape, tf.ones([tf.rank(bx) - 1], tf.int32)], 0))
        return (wx * bx + (1 - wx) * tf.reverse(bx, [0]),
                weight[:, None] * by + (1 - weight[:, None]) * tf.reverse(by, [0]))

    return order.batch(batch_size).map(batch).with_options(options)
