"""The full recipe: an I3D fine-tuned in two phases, every layer, resumable after any kill (--recipe full).

Phase 1 ("above") trains a new top on the frozen backbone, phase 2 ("entire") every layer, each clip decoded and
augmented at every step. Writes model/<stamp>-<name><NNN>-<stream>-i3d-{above,entire}-{last,best}.keras and
log/<stamp>-<name><NNN>-<stream>-i3d.{csv,png}; its state after every epoch is in model/<run>-state.json and
model/.resume-<run>/ (docs/training.md, "Stopping and resuming"). Also the pieces the fast recipe shares
(signlang/fastrecipe.py): the model with its new top, AdaBN, run names.
"""
from __future__ import annotations  # "keras.Model" in signatures without importing Keras

from signlang import tfquiet; tfquiet.install()  # before any TF import: holds back its benign start-up lines
import json
import math
import os
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from signlang import i3d, modelinfo
from signlang.clips import list_samples
from signlang.i3d_names import TOP_PREFIX
from signlang.precision import cpu_has_amx_bf16, warn_precision
from signlang.safeio import claim, clean_leftovers, write_json_atomic
from signlang.videoset import VideoClasses, VideoSet, split_clips

if TYPE_CHECKING:
    import keras

# Keras, TensorFlow and the modules that import them (training, the generators of batches.py) are imported
# inside the functions that use them, so that `python train_i3d.py --help` starts at once (TensorFlow takes
# ~4 s to import).

# The seed's words, kept in checkpoint names users have: "above" = head-only fine-tuning (the new top above
# the frozen backbone), "entire" = full fine-tuning (every layer but BatchNorm).
PHASES = ("above", "entire")
# TrainConfig.precision -> the Keras dtype policy training runs under (None: Keras' default, float32).
TRAIN_POLICIES = {"float32": None, "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}


@dataclass
class TrainConfig:
    """Settings of one training run; saved beside the checkpoints so that a resumed run uses the same."""

    stream: str = "flow"
    weights: str = "rgb_kinetics400"  # flow is initialised from RGB weights when no flow weights exist
    # The recipe of the 98.3 % demo result (docs/results.md), also pipeline_i3d.py's EPOCHS_* (a test keeps them equal);
    # the seed trained the new top alone for 3 epochs, frozen flow features carry little here.
    epochs_above: int = 1
    epochs_entire: int | None = None  # None: from the training set's size (auto_schedule), as passes
    passes: int = 1  # times each training clip comes per epoch
    learning_rate_above: float = 1e-3  # the seed's Adam 1e-3 for the new top
    # The seed fine-tuned with a constant 1e-4; on the demo set 3e-4 with a cosine decay to 0 over the phase
    # learned ~2x faster and ended stable (val accuracy swung by +-10 % between epochs at a constant 3e-4).
    learning_rate_entire: float = 3e-4
    # Phase 2's first tenth raises the rate linearly from 0 (then the cosine decay): on the demo set (1 + 11
    # epochs, tvl1-lite flow, 2026-12-03) val stood at 37 % after 10 epochs without it and at 83 % with it.
    warmup_entire: float = 0.1
    # Augmentation: zoom into the random crop by up to 1.25x. On the demo set, 1 + 11 epochs with warmup ended
    # at val 90.0 % with it against 85.0 % without (2026-12-03).
    max_zoom: float = 0.25
    batch_size: int = 4
    dropout_prob: float = 0.2  # 0.5 (the seed) slowed fitting 160 demo clips without helping validation
    workers: int = 1
    seed: int = 0
    distribute: str = "none"  # "mirrored": all GPUs of one machine; "multiworker": machines named in TF_CONFIG
    # "float32"; "float16" (mixed_float16, GPUs); "bfloat16" (mixed_bfloat16). The scripts' default "auto" is
    # resolved before a run starts (resolve_train_precision), so a run records what it computed in.
    precision: str = "float32"
    adapt_bn: bool = True  # re-estimate BatchNorm statistics on the training clips before phase 1 (AdaBN)
    # The set's classes when the run started (output index i is classes[i]); None in runs before 2026-12-06. A set
    # that grew since (signlang/videoset.py grow_description) is trained by a new run, never by this one.
    classes: list | None = None
    phases_done: list = field(default_factory=list)
    best: dict = field(default_factory=dict)  # phase -> best val_accuracy so far
    resume: dict = field(default_factory=dict)  # the last committed epoch: {"phase", "epochs", "file", "rng"}
    history: list = field(default_factory=list)  # the log row of every committed epoch (the CSV is made from it)


# The small-set rule. The demo recipe (160 clips, batch 4: 40 steps x 22 epochs = 880 Adam steps) reached
# 98.3 %; a set of 5-10 takes per sign gets about the same number of steps. A small set's epoch shows every
# clip `passes` times (each pass in a new order) so that an epoch has at least MIN_STEPS_PER_EPOCH steps:
# validating and checkpointing after an epoch cost ~2.5 s, a step of 4 clips ~0.5 s (demo size, 2026-12-03),
# and 30 clips in 8-step epochs spent a third of their training time on that (100 epochs, 662 s). Large sets
# get at least the demo's 22 epochs. Learning-rate schedule (cosine over the phase) and augmentation (random
# crop and zoom, +-2 frames jitter) are the same at every size: the schedule scales with the steps chosen.
AUTO_STEPS = 880
MIN_STEPS_PER_EPOCH = 20
MIN_AUTO_EPOCHS = math.ceil(AUTO_STEPS / 40)  # the demo set's epochs (160 clips: 40 steps each)


def resolve_train_precision(precision: str) -> str:
    """"auto" -> "bfloat16" on a CPU-only machine whose CPU has AMX-BF16, else "float32"; others as given.

    Why, on the demo recipe (docs/speed.md): on an Intel Xeon with AMX (2026-12-03) bfloat16 training took
    0.44x float32's time per phase-2 epoch (20 s against 45 s) and its last epoch scored the same val top-1
    (98.3 %). On an AMD EPYC with AVX512_BF16 but no AMX (2026-12-02) phase 2 went NaN within its first epoch in
    both runs tried (a Mixed_5b Branch_1 3x3x3 kernel non-finite after one Adam step), so AVX512_BF16 alone
    does not count. GPUs stay float32 here: not measured.
    """
    if precision != "auto":
        return precision
    if not cpu_has_amx_bf16():
        return "float32"
    import tensorflow as tf  # the device list; only for "auto" on an AMX CPU

    return "float32" if tf.config.list_physical_devices("GPU") else "bfloat16"


def auto_schedule(num_train_clips: int, batch_size: int) -> tuple[int, int]:
    """(passes, phase-2 epochs) for a training set of num_train_clips: ~AUTO_STEPS steps (the rule above)."""
    num_train_clips = max(1, num_train_clips)
    passes = max(1, math.ceil(MIN_STEPS_PER_EPOCH * batch_size / num_train_clips))
    steps = math.ceil(num_train_clips * passes / batch_size)
    return passes, max(MIN_AUTO_EPOCHS, math.ceil(AUTO_STEPS / steps))


def with_epochs(video_set: VideoSet, config: TrainConfig) -> TrainConfig:
    """`config` with epochs_entire and passes chosen from the set's training clips when epochs_entire is None
    (printed)."""
    if config.epochs_entire is not None:
        return config
    data_dir = video_set.stream_dir(config.stream)
    num_clips = len(list_samples(data_dir / "train", VideoClasses(video_set.class_file),
                                 split_clips(video_set.video_dir, "train"), report=False))  # the generator reports
    passes, epochs = auto_schedule(num_clips, config.batch_size)
    steps = math.ceil(num_clips * passes / config.batch_size)
    print(f"Phase 2: {epochs} epochs of {steps} steps for {num_clips} training clips"
          + (f" (each clip {passes} times per epoch)" if passes > 1 else "")
          + f": {epochs * steps} steps of {config.batch_size} clips, about {AUTO_STEPS} as for the demo set "
          "(--epochs-entire sets the epochs)")
    return replace(config, epochs_entire=epochs, passes=passes)


def learning_rate(config: TrainConfig, phase: str, steps: int):
    """Phase "above": the constant learning_rate_above. Phase "entire": a linear rise from 0 to
    learning_rate_entire over warmup_entire of its `steps`, then a cosine decay to 0 over the rest."""
    import keras

    if phase == "above":
        return config.learning_rate_above
    steps = max(1, steps)
    warmup = min(steps - 1, round(config.warmup_entire * steps))
    if not warmup:
        return keras.optimizers.schedules.CosineDecay(config.learning_rate_entire, decay_steps=steps)
    return keras.optimizers.schedules.CosineDecay(0.0, decay_steps=steps - warmup,
                                                  warmup_target=config.learning_rate_entire, warmup_steps=warmup)


def run_prefix(video_set: VideoSet, stamp: str, stream: str) -> Path:
    """model/<stamp>-<name><NNN>-<stream>-i3d: checkpoints add -{above,entire}-{last,best}.keras."""
    return video_set.model_dir / f"{stamp}-{video_set.tag}-{stream}-i3d"


def recipe_path(video_set: VideoSet, stamp: str, stream: str, kind: str) -> Path:
    """model/<stamp>-<name><NNN>-<stream>-i3d-<kind>.keras: a run's one model file (kind "fast" or "preview")."""
    prefix = run_prefix(video_set, stamp, stream)
    return prefix.with_name(f"{prefix.name}-{kind}.keras")


def recipe_models(video_set: VideoSet, stream: str, kind: str) -> list[Path]:
    """This set's recipe_path models of `stream` and `kind`, oldest first (temporary dot-files left out)."""
    return sorted(p for p in video_set.model_dir.glob(f"*-{video_set.tag}-{stream}-i3d-{kind}.keras")
                  if not p.name.startswith("."))


def checkpoint_path(prefix: Path, phase: str, which: str) -> Path:
    return prefix.with_name(f"{prefix.name}-{phase}-{which}.keras")


def state_path(prefix: Path) -> Path:
    return prefix.with_name(f"{prefix.name}-state.json")


def lock_path(prefix: Path) -> Path:
    """model/<run>.lock: the pid of the process training the run (safeio.claim)."""
    return prefix.with_name(f"{prefix.name}.lock")


def resume_dir(prefix: Path) -> Path:
    """model/.resume-<run>/: the newest epoch's model + optimizer, while the run is unfinished."""
    return prefix.with_name(f".resume-{prefix.name}")


def read_state(state_file: Path) -> TrainConfig:
    """A run's state file as a TrainConfig.

    Raises:
        ValueError: the file is truncated, not JSON, or holds settings this version does not know (names the file).
    """
    try:
        return TrainConfig(**legacy_settings(json.loads(state_file.read_text())))
    except (ValueError, TypeError) as error:  # json.JSONDecodeError is a ValueError; unknown keys a TypeError
        raise ValueError(f"{state_file} is not a readable training state ({error}); restore it, or move it away "
                         "(with its model/.resume-<run>/ folder) to train without that run") from None


def state_files(video_set: VideoSet, stream: str) -> list[Path]:
    """The state files of this set's and stream's runs, oldest first (not the temporary one of a write under way)."""
    return sorted(path for path in video_set.model_dir.glob(f"*-{video_set.tag}-{stream}-i3d-state.json")
                  if not path.name.startswith("."))


def newest_run(video_set: VideoSet, stream: str, finished: bool) -> tuple[str, TrainConfig] | None:
    """(stamp, config) of the newest run of this set and stream that did (not) finish both phases, if any."""
    for state_file in reversed(state_files(video_set, stream)):
        config = read_state(state_file)
        if (len(config.phases_done) == len(PHASES)) == finished:
            return state_file.name.split(f"-{video_set.tag}-")[0], config
    return None


def run_leftovers(video_set: VideoSet, stamp: str, stream: str) -> list[Path]:
    """What a run that trained every epoch still has to do: its training state folder and lock to remove, its
    curves PNG to draw (all left when it was killed after its last commit); [] when it ended cleanly."""
    prefix = run_prefix(video_set, stamp, stream)
    png = (video_set.log_dir / f"{prefix.name}.csv").with_suffix(".png")
    return [path for path in (resume_dir(prefix), lock_path(prefix)) if path.exists()] + (
        [] if png.exists() else [png])


def finish_run(video_set: VideoSet, stamp: str, config: TrainConfig):
    """The last steps of a run whose every epoch is committed, in an order a kill can interrupt anywhere: the log
    and its PNG first, then its training state (model/.resume-<run>/), the lock last (the sign of a clean end)."""
    from signlang.training import plot_curves, write_log

    prefix = run_prefix(video_set, stamp, config.stream)
    csv_file = video_set.log_dir / f"{prefix.name}.csv"
    if config.history:
        if not csv_file.exists():
            write_log(csv_file, config.history)
        plot_curves(csv_file, csv_file.with_suffix(".png"))
    shutil.rmtree(resume_dir(prefix), ignore_errors=True)  # finished: the weights-only checkpoints remain
    lock_path(prefix).unlink(missing_ok=True)


def complete_finished_runs(video_set: VideoSet, stream: str) -> list[str]:
    """Finishes every run of this set and stream that trained all its epochs but was killed before its last steps
    (finish_run), unless a live process holds its lock; returns their stamps (issue 23 item 3)."""
    completed = []
    for state_file in state_files(video_set, stream):
        config = read_state(state_file)
        stamp = state_file.name.split(f"-{video_set.tag}-")[0]
        if len(config.phases_done) != len(PHASES) or not run_leftovers(video_set, stamp, stream):
            continue
        prefix = run_prefix(video_set, stamp, stream)
        try:
            claim(lock_path(prefix), f"Run {prefix.name}")  # a dead process' lock is taken over
        except ValueError:
            continue  # its process is still finishing it
        finish_run(video_set, stamp, config)
        completed.append(stamp)
    return completed


def finished_run(video_set: VideoSet, config: TrainConfig) -> dict | None:
    """The newest finished run of this set and config.stream trained with this very recipe (every setting of
    `config` but progress and workers), as {"stamp", "entire-best", "entire-last"} (checkpoint paths); else None."""
    done = newest_run(video_set, config.stream, finished=True)
    if done is None or settings_kept(done[1], config) or not same_classes(done[1], set_classes(video_set)):
        return None
    prefix = run_prefix(video_set, done[0], config.stream)
    return {"stamp": done[0], "entire-best": checkpoint_path(prefix, "entire", "best"),
            "entire-last": checkpoint_path(prefix, "entire", "last")}


def legacy_settings(saved: dict) -> dict:
    """A run's saved settings in today's names: runs before 2026-12-02 saved `mixed_precision` (bool)."""
    if "mixed_precision" in saved:
        saved = {**saved, "precision": "float16" if saved["mixed_precision"] else "float32"}
        del saved["mixed_precision"]
    return saved


def set_classes(video_set: VideoSet) -> list[str]:
    """The set's classes in output order (class.csv, in videoset.json's order for a folder set)."""
    return list(VideoClasses(video_set.class_file).classes)


def same_classes(saved: TrainConfig, classes: list[str]) -> bool:
    """Whether a run was trained on these classes (a run from before runs recorded them counts as such)."""
    return saved.classes is None or list(saved.classes) == list(classes)


def settings_kept(saved: TrainConfig, requested: TrainConfig) -> list[str]:
    """The settings where a resumed run's recorded value differs from the requested one, as "name=saved (not x)".

    The classes are not among them: a run on other classes is never resumed nor reused (same_classes)."""
    progress = {"phases_done", "best", "workers", "resume", "history", "classes"}
    return [f"{name}={value!r} (not {getattr(requested, name)!r})" for name, value in asdict(saved).items()
            if name not in progress and value != getattr(requested, name)]


def make_strategy(distribute: str):
    """A tf.distribute strategy: "none" (default device), "mirrored" (one machine) or "multiworker" (TF_CONFIG)."""
    import tensorflow as tf

    if distribute == "none":
        return tf.distribute.get_strategy()
    if distribute == "mirrored":
        # All GPUs; without GPUs, all logical CPU devices (how the tests exercise this path on a CPU).
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([device.name for device in devices])
    if distribute == "multiworker":
        if "TF_CONFIG" not in os.environ:
            raise ValueError("--distribute multiworker needs the TF_CONFIG environment variable; see docs/scale-out.md")
        return reduce_value_by_value(tf.distribute.MultiWorkerMirroredStrategy())
    raise ValueError(f"distribute={distribute!r}; choose none, mirrored or multiworker")


def reduce_value_by_value(strategy):
    """`strategy` with a reduce() that takes a nest and scalars, as Keras 3.15's fit() calls it.

    Under MultiWorkerMirroredStrategy fit() reduces the first batch (x, y) in one call and each step's logs
    (scalars) with axis=0; TF 2.21's reduce takes one value, and axis=None for a scalar, so the first fit()
    failed with "Attempt to convert a value (PerReplica...) to a Tensor" and, past that, "Invalid reduction
    dimension 0 for input with 0 dimensions" (keras-team/keras#20585). Here each value is reduced on its own,
    a scalar across replicas only. Only this strategy object changes.
    """
    import tensorflow as tf

    reduce = strategy.reduce

    def reduce_each(reduce_op, value, axis=None):
        def one(v):
            local = v.values[0] if isinstance(v, tf.distribute.DistributedValues) else tf.convert_to_tensor(v)
            return reduce(reduce_op, v, axis if local.shape.rank else None)

        return tf.nest.map_structure(one, value)

    strategy.reduce = reduce_each
    return strategy


def is_chief(strategy) -> bool:
    """Whether this process writes the run's files: yes, except on the other workers of a multi-worker run.

    The chief is TF_CONFIG's "chief" task, or worker 0 when the cluster names none (the rule of TF's
    multi-worker Keras tutorial). Keras 3.15 saves a .keras file without collective ops (a chief-only save
    did not wait for the other workers: tests/test_train_multiworker.py), so the others save nothing at all.
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    return (resolver.task_type, resolver.task_id) == ("worker", 0) and "chief" not in resolver.cluster_spec().as_dict()


def build_model(video_set: VideoSet, config: TrainConfig, num_classes: int) -> keras.Model:
    """Pretrained I3D without top + a new top for num_classes, input (num_frames, crop, crop, channels)."""
    channels = 2 if config.stream == "flow" else 3
    base = i3d.Inception_Inflated3d(
        include_top=False, weights=config.weights,
        input_shape=(video_set.num_frames, video_set.crop_px, video_set.crop_px, channels))
    return i3d.add_i3d_top(base, num_classes, dropout_prob=config.dropout_prob)


def set_trainable(model: keras.Model, phase: str):
    """Phase "above": only the new top trains. Phase "entire": everything trains. BatchNormalization never.

    Frozen BatchNormalization runs in inference mode with its stored statistics in Keras 3 (the top's too),
    which adapt_batchnorm fitted to the training clips before phase 1: with 4 clips per batch, batch
    statistics are noisy, and moving averages (momentum 0.999 in DeepMind's I3D) would lag far behind the
    changing weights, so validation would run on stale statistics.
    """
    import keras

    for layer in model.layers:
        is_top = layer.name.startswith(TOP_PREFIX)
        is_norm = isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = not is_norm and (is_top or phase == "entire")


def adapt_batchnorm(model: keras.Model, generator, momentum: float = 0.9, passes: int = 1,
                    keep: bool = False) -> list:
    """Re-estimates every BatchNormalization's statistics on the training clips (AdaBN: Li et al.,
    "Revisiting Batch Normalization For Practical Domain Adaptation", 2016).

    The pretrained statistics describe Kinetics RGB frames in [-1, 1]; optical flow is mostly near 0, so
    with RGB statistics nearly every unit sits at its bias and the frozen features carry little signal.
    Forward passes in training mode (no weight update) move the moving averages to the new input.
    momentum=1.0 leaves them as they are (the training-mode outputs only).

    Returns:
        With keep, the model's training-mode output of each batch of the last pass (numpy); else [].
    """
    import keras

    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    saved = [(layer.trainable, layer.momentum) for layer in norms]
    for layer in norms:
        layer.trainable, layer.momentum = True, momentum
    forward = tf_function(model)
    outputs = []
    try:
        for _ in range(passes):
            outputs = []
            for i in range(len(generator)):
                output = forward(generator[i][0], training=True)
                if keep:
                    outputs.append(output.numpy())
        return outputs
    finally:
        for layer, (trainable, old_momentum) in zip(norms, saved):
            layer.trainable, layer.momentum = trainable, old_momentum


def tf_function(model):
    import tensorflow as tf

    return tf.function(model, reduce_retracing=True)


def train_i3d(video_set: VideoSet, config: TrainConfig, fresh: bool = False, verbose: int = 2,
              callbacks=()) -> dict:
    """Train one stream in two phases; resumes an unfinished run of the same set and stream unless fresh.

    Args:
        callbacks: extra Keras callbacks for both phases, run after the checkpoint and log callbacks.

    Returns:
        dict with the checkpoint paths ("above-best", "entire-best", ...), "csv", "png" and "val_accuracy".
    """
    if config.stream == "hands":  # the landmark stream's own small network, not an I3D (issue 22, signlang/handsnet.py)
        from signlang.handsnet import HandsConfig, train_hands

        return train_hands(video_set, HandsConfig(seed=config.seed), fresh=fresh, verbose=verbose, callbacks=callbacks)
    import keras

    from signlang.batches import FramesGenerator
    from signlang.training import AtomicCheckpoint, StopOnNonFiniteLoss, precision_policy, restore_rng_state

    if config.stream not in ("flow", "rgb"):
        raise ValueError(f"stream={config.stream!r}; choose flow or rgb")
    if config.precision not in TRAIN_POLICIES:
        raise ValueError(f"precision={config.precision!r}; choose one of {', '.join(TRAIN_POLICIES)}")
    warn_precision(config.precision)
    data_dir = video_set.stream_dir(config.stream)
    classes = VideoClasses(video_set.class_file)
    config = replace(with_epochs(video_set, config), classes=list(classes.classes))
    resumed = None if fresh else newest_run(video_set, config.stream, finished=False)
    if resumed and not same_classes(resumed[1], config.classes):
        print(f"Not resuming run {resumed[0]}: it trains {len(resumed[1].classes)} classes and the set now has "
              f"{len(config.classes)}; starting a new run")
        resumed = None
    if not fresh and config.distribute != "multiworker":
        # A run killed after its last epoch's commit (or while drawing its PNG) is finished: its leftovers are
        # completed and, when it is the newest run and has this recipe, it is the result (not trained again).
        newest = newest_run(video_set, config.stream, finished=True)
        pending = newest is not None and bool(run_leftovers(video_set, newest[0], config.stream))
        completed = complete_finished_runs(video_set, config.stream)
        if completed:
            print(f"Completed run {', '.join(completed)}: every epoch was trained; drew its curves and removed its "
                  "training state")
        if (pending and newest[0] in completed and not settings_kept(newest[1], config)
                and same_classes(newest[1], config.classes) and (resumed is None or resumed[0] < newest[0])):
            print(f"Run {newest[0]} had trained every epoch when it was stopped: it is the result (--fresh trains "
                  "a new run)")
            for folder in (video_set.model_dir, video_set.log_dir):
                clean_leftovers(folder)  # e.g. the half-written PNG of the killed run
            prefix = run_prefix(video_set, newest[0], config.stream)
            return run_result(prefix, newest[1], video_set.log_dir / f"{prefix.name}.csv")
    if resumed:
        stamp, saved = resumed
        saved.workers = config.workers  # how many workers this machine has may differ; the recipe may not
        kept = settings_kept(saved, config)
        config = saved
        print(f"Resuming run {stamp} (phases done: {config.phases_done or 'none'})"
              + (f", keeping its {', '.join(kept)}" if kept else "") + "; --fresh starts a new run")
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S")
    prefix = run_prefix(video_set, stamp, config.stream)
    csv_file = video_set.log_dir / f"{prefix.name}.csv"
    # Before any write: of the workers of a multi-worker run only the chief writes (checkpoints, state, log, PNG);
    # the others train in step with it and read the state it wrote when they resume (docs/scale-out.md).
    strategy = make_strategy(config.distribute)
    chief = is_chief(strategy)
    if chief:
        video_set.model_dir.mkdir(parents=True, exist_ok=True)
        video_set.log_dir.mkdir(parents=True, exist_ok=True)
        # A second train_i3d.py resuming the same run (the same command twice) would interleave its epochs with
        # this one's in one state file: refused while this process lives; a killed run's lock is taken over.
        claim(lock_path(prefix), f"Run {prefix.name}")
        write_json_atomic(state_path(prefix), asdict(config))
        for folder in (video_set.model_dir, video_set.log_dir):
            clean_leftovers(folder)  # temporary files of a killed run (dead pids only)
    # The policy is global in Keras; restored when training ends so that a caller's later models are not affected.
    with precision_policy(TRAIN_POLICIES[config.precision]):
        keras.utils.set_random_seed(config.seed)
        common = dict(stream=config.stream, num_frames=video_set.num_frames, crop_px=video_set.crop_px,
                      batch_size=config.batch_size, workers=config.workers, use_multiprocessing=config.workers > 1)
        # Only the clips the set lists: folders of videos moved or deleted since extraction stay out.
        listed = {split: split_clips(video_set.video_dir, split) for split in ("train", "val")}
        train = FramesGenerator(data_dir / "train", classes, shuffle=True, augment=True, seed=config.seed,
                                max_zoom=config.max_zoom, passes=config.passes,
                                listed=listed["train"], **common)
        val = FramesGenerator(data_dir / "val", classes, shuffle=False, augment=False, listed=listed["val"], **common)
        print(f"Training {config.stream} I3D on {len(train.samples)} clips, validating on {len(val.samples)}, "
              f"{len(classes)} classes, computing in {config.precision}; run {prefix.resolve()}"
              + ("" if chief else f" (written by the chief; this worker, {strategy.cluster_resolver.task_type} "
                                  f"{strategy.cluster_resolver.task_id}, writes nothing)"))

        info = modelinfo.describe_run(video_set, config.stream, classes.classes,
                                      video_set.flow_dir if config.stream == "flow" else None)
        epochs = {"above": config.epochs_above, "entire": config.epochs_entire}
        model = None
        for number, phase in enumerate(PHASES, start=1):
            if phase in config.phases_done:
                continue
            first_epoch = sum(epochs[p] for p in PHASES[:number - 1])
            done = config.resume["epochs"] - first_epoch if config.resume.get("phase") == phase else 0
            with strategy.scope():
                if done:
                    state = resume_dir(prefix) / config.resume["file"]
                    if state.is_file():
                        print(f"Phase {number} ({phase}): continuing after epoch {done} of {epochs[phase]} from {state}")
                        model = i3d.load_model(state)  # with its optimizer (moments, step count)
                        restore_rng_state(model, config.resume.get("rng", {}))
                    else:
                        print(f"Phase {number} ({phase}): the saved training state {state} is gone; "
                              "the phase starts again")
                        config.history = [row for row in config.history if row["epoch"] < first_epoch]
                        done = 0
                if not done:
                    if model is None:
                        previous = checkpoint_path(prefix, PHASES[number - 2], "last") if number > 1 else None
                        if previous and previous.exists():
                            model = i3d.load_model(previous, compile=False)
                            restore_rng_state(model, config.resume.get("rng", {}))  # where the previous phase ended
                        else:
                            model = build_model(video_set, config, len(classes))
                            if config.adapt_bn:
                                print(f"Adapting BatchNorm statistics to the {config.stream} clips (AdaBN) ...")
                                adapt_batchnorm(model, FramesGenerator(data_dir / "train", classes, shuffle=True,
                                                                       augment=False, seed=config.seed,
                                                                       listed=listed["train"], **common))
                    set_trainable(model, phase)
                    rate = learning_rate(config, phase, epochs[phase] * len(train))
                    model.compile(optimizer=keras.optimizers.Adam(learning_rate=rate),
                                  loss="categorical_crossentropy", metrics=["accuracy"])
            phase_callbacks = [
                StopOnNonFiniteLoss(prefix.name, "the epochs finished before it are kept. Start a new run with "
                                    "--fresh" + (" --precision float32 (bfloat16 training diverged like this on a "
                                                 "CPU without AMX)" if config.precision != "float32" else
                                                 " and a lower learning rate, or check the input clips")),
                AtomicCheckpoint(checkpoint_path(prefix, phase, "last"), checkpoint_path(prefix, phase, "best"),
                                 state_path(prefix), config, phase, info, resume_dir=resume_dir(prefix),
                                 log_file=csv_file, row={"phase": number},
                                 last_epoch=first_epoch + epochs[phase] - 1, write=chief),
                *callbacks,
            ]
            print(f"Phase {number} ({phase}): {epochs[phase]} epochs, Adam "
                  + (f"{config.learning_rate_above:g}, " if phase == "above" else
                     f"{config.learning_rate_entire:g} with {config.warmup_entire:.0%} warmup and cosine decay, ")
                  + ("all layers" if phase == "entire" else "new top only") + " trainable")
            train.set_epoch(first_epoch + done)  # the data order and augmentation of an uninterrupted run
            # shuffle=False: the generator orders each epoch by (seed, epoch). Keras' own shuffle permutes the
            # batches with Python's global `random`, seeded once per process, so a resumed run's first epoch
            # took the batches in the order of the run's first epoch (issue 23 item 7: not bit-identical).
            with tfquiet.hold_back():  # the first fit() prints TensorFlow's benign "Memory patch applied" line
                model.fit(train, validation_data=val, epochs=first_epoch + epochs[phase],
                          initial_epoch=first_epoch + done, callbacks=phase_callbacks, verbose=verbose, shuffle=False)
    if chief:
        finish_run(video_set, stamp, config)
    return run_result(prefix, config, csv_file)


def run_result(prefix: Path, config: TrainConfig, csv_file: Path) -> dict:
    """train_i3d's result for a finished run (printed as one "Done" line)."""
    result = {f"{p}-{w}": checkpoint_path(prefix, p, w) for p in PHASES for w in ("last", "best")}
    # The best checkpoint is chosen by val accuracy, so its score is optimistic; the last epoch's was fixed in
    # advance (no choice made on val), so it is the number to report beside it (docs/results.md).
    # From the committed log rows (the CSV is written from them), which every worker holds.
    last_val = float(config.history[-1].get("val_accuracy", "nan")) if config.history else float("nan")
    result.update(csv=csv_file, png=csv_file.with_suffix(".png"), val_accuracy=config.best.get("entire"),
                  last_val_accuracy=last_val)
    print(f"Done: val accuracy of the last epoch {last_val:.3f} (report this one); best epoch "
          f"{config.best.get('entire', float('nan')):.3f} (selected on val, so optimistic), "
          f"model {result['entire-best'].resolve()}")
    return result
