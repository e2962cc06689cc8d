"""The fast recipe, train_i3d.py's default: the I3D's lower part frozen and cached, the layers above trained.

Writes model/<stamp>-<name><NNN>-<stream>-i3d-fast.keras with its record: the trained layers and the preview's linear
layer (signlang/preview.py, saved on its own as soon as the cache is filled) averaged; the cached activations live
in the set's data-temp/ folder (signlang/actcache.py). docs/training.md, "The fast recipe", says what it does and what it scored.
"""
from __future__ import annotations  # "keras.Model" in signatures without importing Keras

from signlang import tfquiet; tfquiet.install()  # before any TF import: holds back its benign start-up lines
import math
import sys
import time
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from signlang import i3d, modelinfo, preview
from signlang.fullrecipe import TrainConfig, adapt_batchnorm, build_model, recipe_models, recipe_path, tf_function
from signlang.i3d_names import TOP_PREFIX
from signlang import precision as precisions
from signlang.videoset import VideoClasses, VideoSet, split_clips

if TYPE_CHECKING:
    import keras

# Keras, TensorFlow and the modules that import them (training, the generators of batches.py) are imported
# inside the functions that use them, so that `python train_i3d.py --help` starts at once (TensorFlow takes
# ~4 s to import).

# ---- the fast recipe --------------------------------------------------------------------------------------------
# The default since 2026-12-06 (docs/training.md "The fast recipe"): the I3D up to FAST_CUT stays frozen (Kinetics
# weights, BatchNorm adapted to the set's clips), its output for FAST_VIEWS augmented views of every training clip is
# computed once and cached (signlang/actcache.py), and only the layers above (Mixed_4b to Mixed_5c and a new top,
# 11.3 M of the 12.3 M weights) train on the cached views. A step on 16 cached views took 0.73 s against 0.97 s for
# a full-recipe step of 4 clips (16 x 128 flow, AMD EPYC, float32, 2026-12-06): ~5x less per clip seen. The full
# recipe above stays one option away (--recipe full).
FAST_CUT = "MaxPool3d_4a_3x3"  # the last layer of the frozen part; above it Mixed_4b ... Mixed_5c, the top
FAST_VIEWS = 8  # augmented views per training clip (random crop, zoom, temporal jitter as the full recipe's)
FAST_VIEW_SEED = 0  # the views' augmentation: fixed, so that the cache serves every training seed
# The preview is first fitted to this many views of each clip, computed for every clip before the others, so that
# livedemo can start on it after about half the cache; fitted again to all views before training (what the
# delivered model holds). Fitted to the first 4 of the 8 cached views, the preview scored as fitted to all 8
# (centre views: hard stand-in 70.4 against 66.7 %, demo set 83.3 against 83.3 %; 2 views: 51.9 and 81.7 %;
# 2026-12-07, from the caches of bench.own_signs --hard and make demo).
FAST_PREVIEW_VIEWS = 4
FAST_EMA_FRACTION = 0.1  # the delivered weights average the last ~10 % of the steps (EMA)
# Steps of 16 views when FastConfig.epochs is None: the plain own-signs stand-in's 24 epochs of 15 steps (30 clips).
FAST_STEPS = 360
FAST_MIN_EPOCHS = 4
# An update (a set that grew, started from its previous fast model) trains about this many steps over all the cached
# views, old and new: a few epochs of a small set, one of a larger one (bench.recipes --grow measures it).
FAST_UPDATE_STEPS = 60
# Training holds every cached view in memory (float32): 8 views of a 16x128 clip take 3.9 MB at Mixed_4a, so a few
# thousand clips fit; ChaLearn's 40x224 clips (30 MB each) need the full recipe.
FAST_MAX_GIB = 4.0


@dataclass
class FastConfig:
    """Settings of a fast-recipe run (recorded in its model's .keras.json)."""

    stream: str = "flow"
    weights: str = "rgb_kinetics400"
    cut: str = FAST_CUT  # the last frozen layer; its output is what the cache holds
    views: int = FAST_VIEWS
    epochs: int | None = None  # passes over every cached view; None: about FAST_STEPS steps, an update fewer
    batch_size: int = 16  # views per step
    # At 1e-3 one of 3 seeds on the hard own-signs stand-in stayed at chance through all its epochs and the other two
    # for their first 2-6 (docs/training.md, "What it scored"). 5e-4 against 3e-4 (the full recipe's phase-2 rate, the
    # default until 2026-12-06 night), the same 3 batch orders, held-out top-1 of the centre view: hard stand-in 75.3
    # against 66.7 %, plain 90.7 against 85.2 %, no seed lower; with 9 views 81.5 against 80.2 %, 96.3 against 94.4 %.
    learning_rate: float = 5e-4
    # An update (a grown set, started from its previous model; FAST_UPDATE_STEPS): on a plain stand-in that grew from
    # 5 to 6 signs it scored 77.8 % at 1e-4 and 72.2 % at 3e-4, a new model 77.8 % (bench.recipes --grow, seed 0).
    update_learning_rate: float = 1e-4
    warmup: float = 0.1  # linear rise over the first tenth of the steps, then a cosine decay to 0
    label_smoothing: float = 0.0
    mixup: float = 0.0  # > 0: cached views blended in pairs, weights ~ Beta(mixup, mixup) (batches.shuffled_batches)
    ema: bool = True  # deliver the exponential moving average of the weights (FAST_EMA_FRACTION)
    # Deliver the trained layers and the preview's linear layer as one model, their logits averaged
    # (preview.combined_model). With the same trained layers, 9 views per clip, 3 seeds: hard stand-in 96.3, 85.2,
    # 85.2 % against 85.2, 81.5, 77.8 %; plain 100, 100, 94.4 % against 100, 94.4, 94.4 %; demo (seed 0) 98.3 % both
    # (docs/training.md, "The preview").
    combine: bool = True
    # The frozen part's compute dtype while it fills the cache (inference only; training's is `precision`): "auto"
    # is bfloat16 on a CPU with native bfloat16 (precision.resolve_precision), else float32.
    cache_precision: str = "auto"
    # Training's compute dtype: "float32", or "bfloat16" (bfloat16 maths, float32 weights; asked for with
    # --precision bfloat16). Not the default anywhere: on the AMD EPYC here (AVX512_BF16, no AMX) it went NaN (docs/
    # training.md, "bfloat16"); on a CPU with AMX the full recipe trained in bfloat16 in 0.44x the time with the same
    # demo top-1, but this recipe was not measured there.
    precision: str = "float32"
    max_zoom: float = 0.25
    max_speed: float = 0.0  # training views played at 1/(1+max_speed)..1+max_speed times the speed (0: unchanged)
    zoom_out: float = 0.0  # training views also zoomed out, down to 1/(1+zoom_out) (the signer further away)
    dropout_prob: float = 0.2
    seed: int = 0


def fast_precision(requested: str) -> str:
    """Training's compute dtype for a --precision the user gave: "auto" is float32 for this recipe (FastConfig.precision
    says why); "float32" and "bfloat16" as given."""
    return "float32" if requested == "auto" else requested


def fast_epochs(num_views: int, batch_size: int, update: bool = False) -> int:
    """Epochs of about FAST_STEPS steps over num_views cached views (at least FAST_MIN_EPOCHS); of an update
    (starting from the previous model of a grown set) about FAST_UPDATE_STEPS (at least 1)."""
    steps = max(1, math.ceil(num_views / batch_size))
    if update:
        return max(1, round(FAST_UPDATE_STEPS / steps))
    return max(FAST_MIN_EPOCHS, math.ceil(FAST_STEPS / steps))


def fast_path(video_set: VideoSet, stamp: str, stream: str) -> Path:
    """model/<stamp>-<name><NNN>-<stream>-i3d-fast.keras"""
    return recipe_path(video_set, stamp, stream, "fast")


def fast_models(video_set: VideoSet, stream: str) -> list[Path]:
    """This set's fast-recipe models of `stream`, oldest first."""
    return recipe_models(video_set, stream, "fast")


def lower_layers(model: keras.Model, cut: str = FAST_CUT) -> list:
    """The layers of the frozen part: every layer the output of `cut` depends on."""
    import keras

    lower = keras.Model(model.input, model.get_layer(cut).output)
    return [layer for layer in lower.layers if layer.weights]


def adapted_layers(model: keras.Model) -> list:
    """The layers whose weights a run starts from: all but the new top's classifier (its shape is the class count's,
    its initial weights the seed's). The BatchNorm statistics of every layer, above the cut too, are the set's."""
    return [layer for layer in model.layers
            if layer.weights and (not layer.name.startswith(TOP_PREFIX) or "BatchNorm" in layer.name)]


def save_layers(layers: list, path: Path) -> None:
    """The layers' weights into an .npz ("<layer name>:<index>"), written atomically."""
    from signlang.safeio import atomic_write

    arrays = {f"{layer.name}:{i}": w for layer in layers for i, w in enumerate(layer.get_weights())}
    with atomic_write(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)


def load_layers(layers: list, path: Path) -> None:
    """The layers' weights from an .npz of save_layers."""
    with np.load(path) as saved:
        for layer in layers:
            layer.set_weights([saved[f"{layer.name}:{i}"] for i in range(len(layer.weights))])


def frozen_part(model: keras.Model, cut: str, whole_file: Path, lower_file: Path, batches, say=lambda: None):
    """The start weights of the set's fast runs: Kinetics, with every BatchNorm's statistics adapted to the set's
    training clips (AdaBN), kept per set and stream, so that the cached activations stay valid when the set grows
    and every run of the set starts from the same statistics.

    In two steps, so that the cache and the preview wait only for the first: the layers up to `cut` are adapted
    (`say()` first) and saved to lower_file, whose sha256 names the cached activations; the returned `finish()`
    then adapts the layers above from the lower part's outputs of the same batches and saves every adapted layer
    to whole_file. The statistics are those of one pass over the whole model (training-mode outputs do not
    depend on the layers above). A set with whole_file (every set adapted before 2026-12-07 has it alone) loads it.

    Args:
        batches: () -> a fresh generator of the training clips (the same batches every time; [i][0] the clips).

    Returns:
        (the file naming the cached activations, finish() or None when every layer is adapted already).
    """
    import keras

    layers = adapted_layers(model)
    below = {layer.name for layer in lower_layers(model, cut)}
    lower = [layer for layer in layers if layer.name in below]
    if whole_file.is_file():
        load_layers(layers, whole_file)
        return (lower_file if lower_file.is_file() else whole_file), None
    lower_model = keras.Model(model.input, model.get_layer(cut).output)
    outputs = None
    if lower_file.is_file():
        load_layers(lower, lower_file)
    else:
        say()
        outputs = adapt_batchnorm(lower_model, batches(), keep=True)
        save_layers(lower, lower_file)

    def finish() -> None:
        above = outputs
        if above is None:  # adapted by a run killed since: its outputs again, its statistics as they are
            above = adapt_batchnorm(lower_model, batches(), momentum=1.0, keep=True)
        adapt_batchnorm(keras.Model(model.get_layer(cut).output, model.output), [(x,) for x in above])
        save_layers(layers, whole_file)

    return lower_file, finish


def start_from(model: keras.Model, previous: Path, classes: list[str], clips: list[str],
               cut: str = FAST_CUT) -> list[str]:
    """Copies the trained layers above `cut` from the previous fast model of a set that grew since: its classes begin
    `classes` (new classes come last) and its training clips are some of `clips`, not all. The new classes' outputs
    of the top stay newly initialised. A model of the same clips is not started from (a rerun starts afresh).

    Returns:
        The classes it had (nothing copied when it does not fit: []).
    """
    try:
        info = modelinfo.read_model_info(previous)
    except (OSError, ValueError):
        return []
    old, old_clips = list(info.get("classes") or []), set(info.get("train_clips") or [])
    if (not old or len(old) > len(classes) or old != classes[:len(old)] or not old_clips
            or not old_clips < set(clips)):
        return []
    source = i3d.load_model(previous, compile=False)
    frozen = {layer.name for layer in lower_layers(model, cut)}
    for layer in model.layers:
        if layer.name in frozen or not layer.weights:
            continue
        try:
            weights = source.get_layer(layer.name).get_weights()
        except ValueError:
            continue
        mine = layer.get_weights()
        if [w.shape for w in weights] == [w.shape for w in mine]:
            layer.set_weights(weights)
        elif layer.name.startswith(TOP_PREFIX):  # the top's conv: the old classes' outputs are the first ones
            layer.set_weights([np.concatenate([w, m[..., w.shape[-1]:]], axis=-1) for w, m in zip(weights, mine)])
    return old


def same_fast_run(path: Path, config: FastConfig, classes: list[str], data: str) -> dict | None:
    """The record of the fast model `path` when it was trained by `config` on the clips whose signature is `data`
    with these classes; else None."""
    try:
        info = modelinfo.read_model_info(path)
    except (OSError, ValueError):
        return None
    recipe = {**asdict(FastConfig()), **(info.get("recipe") or {})}  # a setting added since: its default then
    kept = info.get("phase") == "fast" and recipe == asdict(config)
    return info if kept and info.get("data") == data and info.get("classes") == classes else None


def fast_optimizer(config: FastConfig, steps: int, update: bool = False):
    """Adam with a linear warmup over config.warmup of `steps` to config.learning_rate (an update:
    update_learning_rate), then a cosine decay to 0; with config.ema it keeps an exponential moving average of the
    weights with momentum 1 - 1 / (FAST_EMA_FRACTION * steps), i.e. over about the last tenth of the steps, which
    Keras' fit() puts into the model when it ends."""
    import keras

    steps = max(1, steps)
    warmup = min(steps - 1, round(config.warmup * steps))
    target = config.update_learning_rate if update else config.learning_rate
    rate = keras.optimizers.schedules.CosineDecay(0.0, decay_steps=max(1, steps - warmup),
                                                  warmup_target=target, warmup_steps=warmup)
    momentum = 1.0 - 1.0 / max(1.0, FAST_EMA_FRACTION * steps)
    return keras.optimizers.Adam(rate, use_ema=config.ema, ema_momentum=momentum)


def write_preview(video_set: VideoSet, config: FastConfig, model: keras.Model, x_train: list[np.ndarray],
                  train_labels, x_val: list[np.ndarray], val_labels, record: dict, stamp: str) -> dict:
    """Fits the preview (signlang/preview.py) to the cached training views x_train (per clip (views, ...)) and saves
    it with its record (`record` plus its phase and score) as the set's only preview of the stream.

    Returns:
        {"path", "weights", "bias", "val_logits": its logits of the held-out clips' centre views x_val (n, classes),
        "score": their top-1 (nan without any)}.
    """
    from signlang.training import save_model

    features = np.concatenate([preview.grid_pooled(x) for x in x_train])
    labels = np.repeat(np.asarray(train_labels), [len(x) for x in x_train])
    weights, bias = preview.fit_linear(features, labels, len(record["classes"]))
    val_logits = np.zeros((0, len(record["classes"])), np.float32)
    if x_val:
        val_logits = np.concatenate([preview.grid_pooled(x) for x in x_val]) @ weights + bias
    score = top1(val_logits, val_labels)
    path = preview.preview_path(video_set, stamp, config.stream)
    video_set.model_dir.mkdir(parents=True, exist_ok=True)
    modelinfo.write_model_info(path, {**record, "phase": "preview", "which": "last", "selected_on": None,
                                      "score": score})
    save_model(preview.preview_model(model, config.cut, weights, bias), path)
    for old in preview.preview_models(video_set, config.stream):
        if old != path:
            remove_model(old)
    return {"path": path, "weights": weights, "bias": bias, "val_logits": val_logits, "score": score}


def top1(scores: np.ndarray, labels) -> float:
    """The share of rows of scores (n, classes) whose highest column is the label; nan without rows."""
    return float(np.mean(np.argmax(scores, axis=1) == np.asarray(labels))) if len(scores) else float("nan")


def remove_model(path: Path) -> None:
    """Deletes a model file and its record (the record last: a model file never lacks its record)."""
    path.unlink(missing_ok=True)
    modelinfo.info_path(path).unlink(missing_ok=True)


def train_fast(video_set: VideoSet, config: FastConfig, fresh: bool = False, verbose: int = 2,
               callbacks=(), reuse: bool = True, grow: bool = True, keep_preview: bool = False) -> dict:
    """Trains a model by the fast recipe (above); returns {"model": path, "val_accuracy", "csv", "png", "seconds"}
    and, when it trained, "preview" (its path; None once deleted), "preview_accuracy" and "preview_seconds".

    Unless fresh: reuses the set's adapted weights and cached activations; returns the newest fast model of the set
    untrained when it was made by this recipe from the same training clips (a rerun of the pipeline; not with
    reuse=False: the benchmarks' repeated runs); starts from it when the set only grew since (its classes first;
    not with grow=False) and then trains an update (FAST_UPDATE_STEPS), else from the Kinetics weights.
    Before training it writes the preview model (write_preview), which livedemo.py takes until this model is saved;
    then it is deleted (unless keep_preview: the benchmarks measure it).
    """
    import keras

    from signlang import actcache
    from signlang.batches import FramesGenerator, shuffled_batches
    from signlang.i3d_weights import file_sha256
    from signlang.training import StopOnNonFiniteLoss, plot_curves, save_model, write_log

    if config.stream not in ("flow", "rgb"):
        raise ValueError(f"stream={config.stream!r}; the fast recipe trains an I3D stream: flow or rgb")
    if config.precision not in ("float32", "bfloat16"):
        raise ValueError(f"precision={config.precision!r}; the fast recipe trains in float32 or bfloat16")
    if config.precision == "bfloat16" and not precisions.cpu_has_amx_bf16():  # said before the minutes of the cache
        print("warning: this CPU has no AMX: bfloat16 training went NaN on such a CPU (AMD EPYC with AVX512_BF16, "
              "docs/training.md); if it does here, train with --precision float32 (the default)", file=sys.stderr)
    start = time.perf_counter()
    data_dir = video_set.stream_dir(config.stream)
    classes = VideoClasses(video_set.class_file)
    names = list(classes.classes)
    listed = {split: split_clips(video_set.video_dir, split) for split in ("train", "val")}
    common = dict(stream=config.stream, num_frames=video_set.num_frames, crop_px=video_set.crop_px, batch_size=8)
    train = FramesGenerator(data_dir / "train", classes, shuffle=False, augment=True, max_zoom=config.max_zoom,
                            max_speed=config.max_speed, zoom_out=config.zoom_out,
                            listed=listed["train"], **common)
    val = FramesGenerator(data_dir / "val", classes, shuffle=False, augment=False, listed=listed["val"], **common)
    # What the model is made of: the clips' files (names, sizes, times), both splits (the record holds val's score).
    data = actcache.cache_key(clips=[actcache.clip_signature(path) for path, _ in train.samples + val.samples])
    earlier = [] if fresh else fast_models(video_set, config.stream)
    same = reuse and earlier and same_fast_run(earlier[-1], config, names, data)
    if same:
        print(f"Fast recipe: {earlier[-1].name} was trained by this recipe on these clips; reusing it "
              "(--fresh trains anew)")
        log = video_set.log_dir / earlier[-1].stem
        return {"model": earlier[-1], "val_accuracy": same["score"], "csv": log.with_suffix(".csv"),
                "png": log.with_suffix(".png"), "seconds": time.perf_counter() - start}
    keras.utils.set_random_seed(config.seed)
    model = build_model(video_set, TrainConfig(stream=config.stream, weights=config.weights,
                                               dropout_prob=config.dropout_prob), len(names))
    lower_model = keras.Model(model.input, model.get_layer(config.cut).output)
    gib = len(train.samples) * config.views * math.prod(lower_model.output.shape[1:]) * 4 / 2 ** 30
    if gib > FAST_MAX_GIB:
        raise ValueError(f"The fast recipe holds the activations of all {len(train.samples) * config.views} training "
                         f"views in memory, {gib:.1f} GiB for this set and input size (at most {FAST_MAX_GIB} GiB); "
                         "train it with --recipe full")
    data_root = video_set.temp_dir
    whole_file = data_root / actcache.CACHE_FOLDER / f"{config.stream}-adapted.npz"
    lower_file = whole_file.with_name(f"{config.stream}-adapted-lower.npz")
    if fresh:
        whole_file.unlink(missing_ok=True)
        lower_file.unlink(missing_ok=True)
    key_file, adapt_above = frozen_part(
        model, config.cut, whole_file, lower_file,
        lambda: FramesGenerator(data_dir / "train", classes, shuffle=True, augment=False, listed=listed["train"],
                                **common),
        lambda: print(f"Adapting BatchNorm statistics to the {config.stream} clips (AdaBN) ..."))
    bfloat16 = precisions.resolve_precision(config.cache_precision) == "bfloat16"
    key = actcache.cache_key(lower=file_sha256(key_file), cut=config.cut, num_frames=video_set.num_frames,
                             crop_px=video_set.crop_px, views=config.views, max_zoom=config.max_zoom,
                             view_seed=FAST_VIEW_SEED, **({"max_speed": config.max_speed} if config.max_speed else {}),
                             **({"zoom_out": config.zoom_out} if config.zoom_out else {}),
                             **({"precision": "bfloat16"} if bfloat16 else {}))
    folder = actcache.cache_dir(data_root, config.stream, key)
    lower = tf_function(precisions.with_compute_dtype(lower_model) if bfloat16 else lower_model)  # after frozen_part's weights

    def first_rng(index: int) -> np.random.Generator:
        path = train.samples[index][0]  # seeded by the clip's name, not its index: its views stay when the set grows
        return np.random.default_rng([FAST_VIEW_SEED, zlib.crc32(f"{path.parent.name}/{path.name}".encode())])

    def next_views(index: int, rng: np.random.Generator, count: int) -> np.ndarray:
        return lower(np.stack([train.clip(index, rng) for _ in range(count)]), training=False).numpy()

    def centre(index: int) -> np.ndarray:
        return lower(val.clip(index)[None], training=False).numpy()

    previous = earlier[-1] if earlier and grow else None
    clips = [f"{p.parent.name}/{p.name}" for p, _ in train.samples]
    info = modelinfo.describe_run(video_set, config.stream, names,
                                  video_set.flow_dir if config.stream == "flow" else None)
    record = {**info, "recipe": asdict(config), "train_clips": clips, "data": data,
              "cache_precision": "bfloat16" if bfloat16 else "float32"}
    x_val, computed_val = actcache.cached_views(folder / "val", [p for p, _ in val.samples], centre,
                                                desc=f"{config.stream} activations, held out")
    early = {}  # the preview fitted to the first views, while the others are computed

    def early_preview(first_views: list[np.ndarray]) -> None:
        early.update(write_preview(video_set, config, model, first_views, train.labels, x_val, val.labels, record,
                                   time.strftime("%Y%m%d-%H%M%S")), seconds=time.perf_counter() - start)
        print(f"Preview model ready after {early['seconds']:.0f} s: val accuracy {early['score']:.3f} (a linear layer "
              f"on the frozen part's output for the first {len(first_views[0])} views of each clip, fitted again to "
              f"all {config.views} once they are computed; livedemo.py uses it until the trained model is saved), "
              f"{early['path'].resolve()}", flush=True)

    x_train, computed = actcache.cached_views_first_early(
        folder / "train", [p for p, _ in train.samples], first_rng, next_views, config.views,
        FAST_PREVIEW_VIEWS, early_preview, desc=f"{config.stream} activations")
    cached_s = time.perf_counter() - start
    print(f"Activations of the frozen part (up to {config.cut}): {computed + computed_val} clips computed, "
          f"{len(x_train) + len(x_val) - computed - computed_val} read from {folder.resolve()} ({cached_s:.0f} s)")

    if adapt_above is not None:  # the BatchNorm statistics above the cut, which only the training needs
        print(f"Adapting BatchNorm statistics above {config.cut} (AdaBN) ...")
        adapt_above()
    stamp = time.strftime("%Y%m%d-%H%M%S")  # not before the preview's: the trained model is never the older one
    path = fast_path(video_set, stamp, config.stream)
    fitted = write_preview(video_set, config, model, x_train, train.labels, x_val, val.labels, record, stamp)
    preview_s = early.get("seconds", time.perf_counter() - start)
    if early:
        print(f"Preview model fitted again to all {config.views} views: val accuracy {fitted['score']:.3f} (was "
              f"{early['score']:.3f}), {fitted['path'].resolve()}", flush=True)
    else:
        print(f"Preview model ready after {preview_s:.0f} s: val accuracy {fitted['score']:.3f} (a linear layer on "
              f"the frozen part's output; livedemo.py uses it until the trained model is saved), "
              f"{fitted['path'].resolve()}", flush=True)
    had = start_from(model, previous, names, clips, config.cut) if previous is not None else []
    epochs = config.epochs if config.epochs is not None else fast_epochs(len(train.samples) * config.views,
                                                                         config.batch_size, update=bool(had))
    upper = keras.Model(model.get_layer(config.cut).output, model.output)
    for layer in upper.layers:
        layer.trainable = not isinstance(layer, keras.layers.BatchNormalization)  # inference-mode BN (set_trainable)
    num_views = len(x_train) * config.views
    steps = math.ceil(num_views / config.batch_size)
    batches = shuffled_batches(np.concatenate(x_train).astype(np.float32),  # (clips * views, t, h, w, c)
                               keras.utils.to_categorical(np.repeat(train.labels, config.views), len(names)),
                               config.batch_size, config.seed, config.mixup)
    xv = np.concatenate(x_val).astype(np.float32)
    yv = keras.utils.to_categorical(val.labels, len(names))
    trainer = upper
    if config.precision == "bfloat16":  # a copy computing in bfloat16; its weights go back into `upper` after fit()
        trainer = precisions.with_compute_dtype(upper)
        for layer in trainer.layers:
            layer.trainable = not isinstance(layer, keras.layers.BatchNormalization)
    trainer.compile(optimizer=fast_optimizer(config, epochs * steps, update=bool(had)),
                    loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
                    metrics=["accuracy"])
    diverged = StopOnNonFiniteLoss(path.name, "nothing of this run was saved. " + (
        "Train with --precision float32 (the default): bfloat16 training diverged like this on a CPU without AMX"
        if config.precision == "bfloat16" else "Check the clips (frames and flow), or train with --recipe full"))
    print(f"Fast recipe: training the layers above {config.cut} on {num_views} cached views of {len(x_train)} clips, "
          f"{len(names)} classes, {epochs} epochs of {steps} steps"
          + (", computing in bfloat16" if config.precision == "bfloat16" else "")
          + (f", an update of {previous.name} ({len(had)} of its classes kept; Adam {config.update_learning_rate:g})"
             if had else ""))
    try:
        history = trainer.fit(batches, epochs=epochs, verbose=verbose, validation_data=(xv, yv) if len(xv) else None,
                              shuffle=False, callbacks=[diverged, *callbacks])  # the batches are shuffled already
    except ValueError:  # diverged (StopOnNonFiniteLoss): the preview goes too; the set's earlier model stays in use
        remove_model(fitted["path"])
        raise
    for layer in trainer.layers if trainer is not upper else []:
        if layer.weights:
            upper.get_layer(layer.name).set_weights(layer.get_weights())
    # With config.ema, fit() has put the averaged weights into the model (Optimizer.finalize_variable_values).
    trained_probs = upper.predict(xv, verbose=0) if len(xv) else np.zeros((0, len(names)), np.float32)
    trained_accuracy = top1(trained_probs, val.labels)
    delivered = keras.Model(model.input, model.output, name=model.name)
    val_accuracy = trained_accuracy
    if config.combine:  # log-probabilities differ from logits by a constant per clip: the same top-1
        delivered = preview.combined_model(model, config.cut, fitted["weights"], fitted["bias"],
                                           TOP_PREFIX + "Predictions")
        val_accuracy = top1(np.log(np.clip(trained_probs, 1e-12, 1.0)) + fitted["val_logits"], val.labels)
    video_set.model_dir.mkdir(parents=True, exist_ok=True)
    video_set.log_dir.mkdir(parents=True, exist_ok=True)
    # The record first: a model file (what the set's users look for) never lacks its record, even after a kill.
    modelinfo.write_model_info(path, {**record, "epochs": epochs, "phase": "fast", "which": "last",
                                      "selected_on": None, "score": val_accuracy,
                                      "started_from": previous.name if had else None,
                                      "trained_score": trained_accuracy, "preview_score": fitted["score"]})
    save_model(delivered, path)
    if not keep_preview:
        remove_model(fitted["path"])
    rows = [{"epoch": e, **{k: float(v[e]) for k, v in history.history.items()}, "phase": 1}
            for e in range(epochs)]
    csv_file = video_set.log_dir / f"{path.stem}.csv"
    if rows:
        write_log(csv_file, rows)
        plot_curves(csv_file, csv_file.with_suffix(".png"))
    parts = (f"; the trained layers alone {trained_accuracy:.3f}, the preview alone {fitted['score']:.3f}"
             if config.combine else "")
    print(f"Fast recipe done in {time.perf_counter() - start:.0f} s: val accuracy {val_accuracy:.3f} (the delivered "
          f"model, centre views{parts}; nothing selected on val), model {path.resolve()}")
    return {"model": path, "val_accuracy": val_accuracy, "csv": csv_file, "png": csv_file.with_suffix(".png"),
            "seconds": time.perf_counter() - start, "preview": fitted["path"] if keep_preview else None,
            "preview_accuracy": fitted["score"], "preview_seconds": preview_s, "trained_accuracy": trained_accuracy,
            "first_preview_accuracy": early.get("score", fitted["score"])}
