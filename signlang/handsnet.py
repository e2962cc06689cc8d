"""The hands stream's network: a small 1-D CNN over landmark sequences, its augmentation and its training run.

`python train_i3d.py --stream hands` trains it (fullrecipe.train_i3d hands over to `train_hands`) on the set's
landmark files (`python hands.py`), with the guarantees of the I3D runs: an interrupted run (even kill -9)
resumes after its last committed epoch (the same epoch order and augmentation, so the weights come out as an
uninterrupted run's), a second process on the same run is refused, the CSV log and its PNG curves, the
`.keras.json` record with every checkpoint (modelinfo), and the last epoch's val accuracy reported beside the
best's. Files:
    model/<stamp>-<name><NNN>-hands-net-entire-{last,best}.keras   (+ .keras.json; predict.py --export as for I3D)
    model/<stamp>-<name><NNN>-hands-net-state.json                 (the run's settings and progress)
    log/<stamp>-<name><NNN>-hands-net.{csv,png}
One phase ("entire": every layer trains from the start; nothing is pretrained).

The network sees hands.hand_features of each frame (where each hand is, how it moves, its shape) and
convolves over time; global average and max pooling over the frames make it indifferent to when in the clip
the sign happens. Augmentation, drawn anew for every clip of every epoch: rotation about the frame's centre,
scale, shift, speed (the clip resampled in time) and, when HandsConfig.mirror > 0, a mirrored signer (x -> -x
with the two hands swapped, so a left-handed signer's sign looks like a right-handed one's; off by default).

Importable without TensorFlow: Keras is imported inside the functions that need it (predictor.py reads the run
files without it).
"""
import copy
import math
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from signlang import modelinfo
from signlang.hands import HANDS, LANDMARK_SHAPE, NUM_FEATURES, hand_features
from signlang.safeio import claim, clean_leftovers, write_json_atomic
from signlang.videoset import VideoClasses, VideoSet, split_clips

STREAM = "hands"
PHASE = "entire"  # the one phase: its checkpoints are named as I3D's full fine-tuning (-entire-best.keras)
RUN_KIND = "net"  # model/<stamp>-<tag>-hands-net-...: not an I3D


@dataclass
class HandsConfig:
    """Settings of one hands training run; saved beside the checkpoints so that a resumed run uses the same."""

    stream: str = STREAM
    # 9 synthetic signs x 7 takes (signlang/handsynth.py) reached 100 % val top-1 after 10 epochs of 16 steps
    # (2026-12-06, 11 s at load 11 on 2 cores); twice that leaves a margin for real signers (docs/hands.md).
    epochs: int = 20
    passes: int = 4  # each training clip this many times per epoch (each time augmented anew): fewer, longer
    # epochs, as every epoch end costs a validation and three checkpoint writes
    batch_size: int = 16
    learning_rate: float = 3e-3  # Adam, cosine decay to 0 over the run
    filters: int = 64
    dropout_prob: float = 0.3
    rotate_deg: float = 15.0  # augmentation: uniform in +-rotate_deg
    scale: float = 0.15  # x (1 +- scale)
    shift: float = 0.1  # +- shorter sides
    speed: float = 0.2  # the clip played (1 +- speed) times as fast, resampled to its frames
    # Probability of a mirrored signer (x -> -x, the hands swapped). Off by default: on the demo set, whose signs
    # differ by direction (circle_cw / circle_ccw, swipe_left / swipe_right), 0.5 took the last epoch's val top-1
    # from 88.3 % to 58.3 % (2026-12-06, docs/hands.md). Set 0.5 for signs that stay the same sign when mirrored
    # (a sign language with left- and right-handed signers).
    mirror: float = 0.0
    seed: int = 0
    phases_done: list = field(default_factory=list)
    best: dict = field(default_factory=dict)
    resume: dict = field(default_factory=dict)
    history: list = field(default_factory=list)


# ---- data ------------------------------------------------------------------------------------------------------

def load_split(split_dir: Path, classes: VideoClasses, listed: set[str] | None = None) -> tuple[np.ndarray, np.ndarray, list[Path]]:
    """The landmark files <split_dir>/<label>/<video>.npy (sorted by path, as clips.list_samples sorts folders):
    (landmarks (n, frames, 2, 21, 4) float32, labels (n,) int, files).

    Args:
        listed: the clips the set holds in this split ("<label>/<video stem>", videoset.split_clips); None: all.

    Raises:
        FileNotFoundError: no (listed) landmark file; says to run hands.py.
        ValueError: files of different frame counts or not landmark arrays (names one).
    """
    split_dir = Path(split_dir)
    files = sorted(p for p in split_dir.glob("*/*.npy") if not p.name.startswith("."))
    if listed is not None:
        files = [p for p in files if f"{p.parent.name}/{p.stem}" in listed]
    if not files:
        raise FileNotFoundError(f"No landmark files under {split_dir.resolve()}"
                                + (" for the videos the set lists" if listed is not None else "")
                                + "; run `python hands.py --set ...` first")
    arrays = []
    for path in files:
        array = np.load(path)
        if array.ndim != 4 or array.shape[1:] != LANDMARK_SHAPE or (arrays and len(array) != len(arrays[0])):
            raise ValueError(f"{path} holds {array.shape}, not (frames, {', '.join(map(str, LANDMARK_SHAPE))}) with "
                             f"the frames of the others; delete it and run `python hands.py` again")
        arrays.append(array)
    labels = np.array([classes.index(p.parent.name) for p in files], dtype=np.int64)
    return np.stack(arrays).astype(np.float32), labels, files


def augment(landmarks: np.ndarray, rng: np.random.Generator, config: HandsConfig) -> np.ndarray:
    """One random variant of a clip (frames, 2, 21, 4): rotation, scale, shift, speed, mirror (module docstring)."""
    out = landmarks.copy()
    angle = math.radians(rng.uniform(-config.rotate_deg, config.rotate_deg))
    scale = rng.uniform(1 - config.scale, 1 + config.scale)
    rotation = scale * np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]], np.float32)
    out[..., :2] = out[..., :2] @ rotation.T + rng.uniform(-config.shift, config.shift, 2).astype(np.float32)
    out[..., 2] *= scale
    speed = rng.uniform(1 - config.speed, 1 + config.speed)
    frames = len(out)
    start = rng.uniform(0, max(0.0, frames - frames * speed)) if speed < 1 else 0.0
    centre = (frames - 1) / 2
    times = start + np.arange(frames) * speed if speed < 1 else centre + (np.arange(frames) - centre) * speed
    out = out[np.clip(np.round(times).astype(int), 0, frames - 1)]
    if rng.uniform() < config.mirror:
        out[..., 0] *= -1
        out = out[:, ::-1]  # the left hand's slot becomes the right's
    return out * out[..., 3:4]  # a missing hand stays all zeros


class _Batches:
    """A Keras PyDataset's methods over landmark arrays; the class itself is made in `batches` (Keras imported late).

    Epoch e's order and augmentation come from (seed, e) alone, so a resumed run sees the same batches as an
    uninterrupted one (set_epoch).
    """

    def __init__(self, landmarks, labels, num_classes: int, config: HandsConfig, train: bool):
        super().__init__()
        self.landmarks, self.labels, self.num_classes = landmarks, labels, num_classes
        self.config, self.train, self.epoch = config, train, 0
        self._order = np.arange(len(labels))
        self.set_epoch(0)  # the training order holds each clip `passes` times: len() counts them

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        if self.train:
            rng = np.random.default_rng([self.config.seed, epoch])
            self._order = np.concatenate([rng.permutation(len(self.labels)) for _ in range(self.config.passes)])

    def __len__(self):
        return math.ceil(len(self._order) / self.config.batch_size)

    def __getitem__(self, index):
        chosen = self._order[index * self.config.batch_size:(index + 1) * self.config.batch_size]
        clips = self.landmarks[chosen]
        if self.train:
            rng = np.random.default_rng([self.config.seed, self.epoch, index])
            clips = np.stack([augment(clip, rng, self.config) for clip in clips])
        return hand_features(clips), np.eye(self.num_classes, dtype=np.float32)[self.labels[chosen]]

    def on_epoch_end(self):
        self.set_epoch(self.epoch + 1)


def batches(landmarks, labels, num_classes: int, config: HandsConfig, train: bool):
    """A keras.utils.PyDataset of (features (batch, frames, NUM_FEATURES), one-hot labels)."""
    import keras

    kind = type("LandmarkBatches", (_Batches, keras.utils.PyDataset), {})
    return kind(landmarks, labels, num_classes, config, train)


# ---- the network -----------------------------------------------------------------------------------------------

def build_handsnet(num_frames: int, num_classes: int, filters: int = 64, dropout_prob: float = 0.3):
    """The Keras model: input (batch, num_frames, NUM_FEATURES) float32 -> class probabilities (batch, classes)."""
    import keras
    from keras import layers

    inputs = keras.Input((num_frames, NUM_FEATURES), name="landmarks")
    x = layers.Dense(filters, activation="relu", name="frame_dense")(inputs)  # per frame
    x = layers.Conv1D(filters, 3, padding="same", activation="relu", name="conv_1")(x)
    x = layers.Conv1D(filters, 3, padding="same", dilation_rate=2, activation="relu", name="conv_2")(x)
    x = layers.Conv1D(2 * filters, 3, padding="same", dilation_rate=4, activation="relu", name="conv_3")(x)
    x = layers.Concatenate(name="pool")([layers.GlobalAveragePooling1D(name="mean_pool")(x),
                                         layers.GlobalMaxPooling1D(name="max_pool")(x)])
    x = layers.Dropout(dropout_prob, name="dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="classes")(x)
    return keras.Model(inputs, outputs, name="handsnet")


# ---- the run's files ---------------------------------------------------------------------------------------------

def run_prefix(video_set: VideoSet, stamp: str) -> Path:
    """model/<stamp>-<name><NNN>-hands-net: checkpoints add -entire-{last,best}.keras."""
    return video_set.model_dir / f"{stamp}-{video_set.tag}-{STREAM}-{RUN_KIND}"


def checkpoint_path(prefix: Path, which: str) -> Path:
    return prefix.with_name(f"{prefix.name}-{PHASE}-{which}.keras")


def state_path(prefix: Path) -> Path:
    return prefix.with_name(f"{prefix.name}-state.json")


def checkpoint_state(checkpoint: Path) -> Path:
    """The state file of the run a hands checkpoint (or its export) belongs to."""
    checkpoint = Path(checkpoint)
    return checkpoint.with_name(checkpoint.name.rsplit(f"-{PHASE}-", 1)[0] + "-state.json")


def is_hands_checkpoint(path: Path) -> bool:
    return f"-{STREAM}-{RUN_KIND}-{PHASE}-" in Path(path).name


def read_state(state_file: Path) -> HandsConfig:
    """Raises ValueError naming the file when it is not a readable hands run state."""
    import json

    try:
        return HandsConfig(**json.loads(Path(state_file).read_text()))
    except (ValueError, TypeError) as error:
        raise ValueError(f"{state_file} is not a readable hands training state ({error}); move it away (with its "
                         "model/.resume-<run>/ folder) to train without that run") from None


def is_finished(config: HandsConfig) -> bool:
    return PHASE in config.phases_done


def runs(video_set: VideoSet) -> list[tuple[str, HandsConfig]]:
    """(stamp, config) of this set's hands runs, oldest first."""
    found = []
    for path in sorted(video_set.model_dir.glob(f"*-{video_set.tag}-{STREAM}-{RUN_KIND}-state.json")):
        if not path.name.startswith("."):
            found.append((path.name.split(f"-{video_set.tag}-")[0], read_state(path)))
    return found


def find_checkpoint(video_set: VideoSet, which: str = "best") -> tuple[Path, bool] | None:
    """(the `which` checkpoint of the newest finished hands run, True) or, when none finished, the newest
    unfinished one's (path, False); None when the set has no hands checkpoint."""
    unfinished = None
    for stamp, config in reversed(runs(video_set)):
        path = checkpoint_path(run_prefix(video_set, stamp), which)
        if not path.is_file():
            continue
        if is_finished(config):
            return path, True
        unfinished = unfinished or path
    return (unfinished, False) if unfinished else None


# ---- training ------------------------------------------------------------------------------------------------

def train_hands(video_set: VideoSet, config: HandsConfig | None = None, fresh: bool = False, verbose: int = 2,
                callbacks=()) -> dict:
    """Trains the hands network on the set's landmark files; resumes the newest unfinished hands run unless fresh.

    Returns:
        {"entire-best", "entire-last": checkpoint paths, "csv", "png", "val_accuracy" (best epoch),
         "last_val_accuracy", "seconds"}.

    Raises:
        FileNotFoundError: no landmark files (run hands.py). ValueError: no hand in any training clip.
    """
    import keras

    from signlang.training import AtomicCheckpoint, StopOnNonFiniteLoss, plot_curves, restore_rng_state, write_log

    start_s = time.monotonic()
    config = copy.deepcopy(config or HandsConfig())  # the run's progress goes into its own copy
    classes = VideoClasses(video_set.class_file)
    data_dir = video_set.stream_dir(STREAM)
    train_x, train_y, _ = load_split(data_dir / "train", classes, split_clips(video_set.video_dir, "train"))
    val_x, val_y, _ = load_split(data_dir / "val", classes, split_clips(video_set.video_dir, "val"))
    if not train_x[..., 3].any():
        raise ValueError(f"No hand was found in any of the {len(train_x)} training clips under {data_dir / 'train'} "
                         "(hands.py said so); the hands stream needs videos of real hands (the generated demo set "
                         "has none): train --stream flow instead")
    resumed = None
    if not fresh:
        for stamp, saved in reversed(runs(video_set)):
            if not is_finished(saved):
                resumed = (stamp, saved)
                break
    if resumed:
        stamp, saved = resumed
        config = saved
        print(f"Resuming hands run {stamp} ({config.resume.get('epochs', 0)} of {config.epochs} epochs done); "
              "--fresh starts a new run")
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S")
    prefix = run_prefix(video_set, stamp)
    csv_file = video_set.log_dir / f"{prefix.name}.csv"
    resume_dir = prefix.with_name(f".resume-{prefix.name}")
    lock = prefix.with_name(f"{prefix.name}.lock")
    video_set.model_dir.mkdir(parents=True, exist_ok=True)
    video_set.log_dir.mkdir(parents=True, exist_ok=True)
    claim(lock, f"Run {prefix.name}")
    write_json_atomic(state_path(prefix), asdict(config))
    for folder in (video_set.model_dir, video_set.log_dir):
        clean_leftovers(folder)
    keras.utils.set_random_seed(config.seed)
    train = batches(train_x, train_y, len(classes), config, train=True)
    val = batches(val_x, val_y, len(classes), config, train=False)
    done = config.resume.get("epochs", 0)
    state = resume_dir / config.resume.get("file", "")
    if done and state.is_file():
        print(f"Continuing after epoch {done} of {config.epochs} from {state}")
        model = keras.models.load_model(state)
        restore_rng_state(model, config.resume.get("rng", {}))
    else:
        if done:
            print(f"The saved training state {state} is gone; the run starts again")
            config.history, config.best, done = [], {}, 0
        model = build_handsnet(train_x.shape[1], len(classes), config.filters, config.dropout_prob)
        steps = max(1, config.epochs * len(train))
        rate = keras.optimizers.schedules.CosineDecay(config.learning_rate, decay_steps=steps)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=rate), loss="categorical_crossentropy",
                      metrics=["accuracy"])
    present_share = float(train_x[..., 0, 3].mean())
    print(f"Training the hands network on {len(train_y)} clips, validating on {len(val_y)}, {len(classes)} classes, "
          f"{config.epochs} epochs (hands present in {present_share:.0%} of the hand-frames); run {prefix.resolve()}")
    info = {**modelinfo.describe_run(video_set, STREAM, classes.classes), "features": NUM_FEATURES,
            "hands": list(HANDS), "landmarks_settings": _landmark_settings(data_dir)}
    checkpoint = AtomicCheckpoint(checkpoint_path(prefix, "last"), checkpoint_path(prefix, "best"), state_path(prefix),
                                  config, PHASE, info, resume_dir=resume_dir, log_file=csv_file, row={"phase": 1},
                                  last_epoch=config.epochs - 1)
    stop = StopOnNonFiniteLoss(prefix.name, "Start a new run with --fresh, or check the landmark files")
    train.set_epoch(done)
    if done < config.epochs:
        model.fit(train, validation_data=val, epochs=config.epochs, initial_epoch=done, shuffle=False,
                  callbacks=[stop, checkpoint, *callbacks], verbose=verbose)
    if config.history and not csv_file.exists():
        write_log(csv_file, config.history)
    if csv_file.exists():
        plot_curves(csv_file, csv_file.with_suffix(".png"))
    shutil.rmtree(resume_dir, ignore_errors=True)
    lock.unlink(missing_ok=True)
    last = float(config.history[-1].get("val_accuracy", "nan")) if config.history else float("nan")
    result = {"entire-best": checkpoint_path(prefix, "best"), "entire-last": checkpoint_path(prefix, "last"),
              "csv": csv_file, "png": csv_file.with_suffix(".png"), "val_accuracy": config.best.get(PHASE),
              "last_val_accuracy": last, "seconds": time.monotonic() - start_s}
    print(f"Done: val accuracy of the last epoch {last:.3f} (report this one); best epoch "
          f"{config.best.get(PHASE, float('nan')):.3f} (selected on val, so optimistic), model "
          f"{result['entire-best'].resolve()} ({result['seconds']:.1f} s)")
    return result


def _landmark_settings(hands_dir: Path) -> dict | None:
    """hands.py's record of how the landmarks were made (<hands_dir>/hands-settings.json), or None."""
    import json

    try:
        return json.loads((Path(hands_dir) / "hands-settings.json").read_text())
    except (OSError, ValueError):
        return None
