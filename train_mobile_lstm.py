"""Train the LSTM (model_lstm.py) on per-frame CNN features (feature.py), and evaluate it.

    python train_mobile_lstm.py --set demo --stream both --weights none

Streams: rgb (features of the frames), flow (features of the optical-flow images) or both. "both"
concatenates the two feature vectors of each frame into one (1024 + 1024 = 2048 for MobileNet) and
trains ONE LSTM on it (early fusion; the seed trained two separate models). Writes
    model/<stamp>-<name><NNN>-<stream>-mobile-lstm-{best,last}.keras   (+ -state.json: the settings)
    log/<stamp>-<name><NNN>-<stream>-mobile-lstm.{csv,png}
    log/<stamp>-<name><NNN>-<stream>-mobile-lstm-val-{classes.csv,confusion.png}
The features must exist: `python pipeline_mobile_lstm.py` computes them, or `python feature.py`.
"""
from __future__ import annotations  # "keras.utils.PyDataset" in signatures without importing Keras

from signlang import tfquiet; tfquiet.install()  # before any TF import: holds back its benign start-up lines
import argparse
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

import feature
import model_lstm
import model_mobile
from signlang import modelinfo
from signlang.evaluation import classification_report, print_evaluation
from signlang.safeio import write_json_atomic
from signlang.videoset import VideoClasses, VideoSet, add_set_arguments, set_from_args

if TYPE_CHECKING:
    import keras

# Keras and the modules that import it (batches, training) are imported inside the functions that use them,
# so that `python train_mobile_lstm.py --help` starts at once (TensorFlow takes ~4 s to import).

STREAMS = ("rgb", "flow", "both")


@dataclass
class LstmConfig:
    """Settings of one training run; saved beside the checkpoints (-state.json)."""

    stream: str = "flow"  # rgb, flow, or both (per-frame concatenation of the two feature vectors)
    model: str = "mobilenet"  # which CNN made the features (model_mobile.FEATURE_MODELS)
    weights: str = "imagenet"  # which features: of the ImageNet CNN or of the random one ("none")
    epochs: int = 50  # the seed: 50
    batch_size: int = 16  # the seed: 16
    learning_rate: float = 1e-3  # the seed: 1e-3 for images (1e-2 for flow, which made our LSTM diverge)
    units: int = model_lstm.UNITS
    dropout: float = model_lstm.DROPOUT
    seed: int = 0
    best: dict = field(default_factory=dict)  # "lstm" -> best val_accuracy so far (AtomicCheckpoint)


def stream_parts(stream: str) -> tuple[str, ...]:
    """The feature streams a training stream reads: ("rgb",), ("flow",) or ("rgb", "flow")."""
    if stream not in STREAMS:
        raise ValueError(f"stream={stream!r}; choose one of {STREAMS}")
    return ("rgb", "flow") if stream == "both" else (stream,)


def feature_len(config: LstmConfig) -> int:
    """Features per frame the LSTM takes: the CNN's output length, twice for "both"."""
    return model_mobile.FEATURE_MODELS[config.model].feature_len * len(stream_parts(config.stream))


def run_prefix(video_set: VideoSet, stamp: str, stream: str) -> Path:
    """model/<stamp>-<name><NNN>-<stream>-mobile-lstm; checkpoints add -{best,last}.keras."""
    return video_set.model_dir / f"{stamp}-{video_set.tag}-{stream}-mobile-lstm"


def checkpoint_path(prefix: Path, which: str) -> Path:
    return prefix.with_name(f"{prefix.name}-{which}.keras")


def features_generator(video_set: VideoSet, config: LstmConfig, split: str, classes: VideoClasses,
                       shuffle: bool) -> keras.utils.PyDataset:
    """The generator over <feature dir>/<split> of the config's stream(s): (batch, num_frames, feature_len)."""
    from signlang.batches import ConcatFeaturesGenerator, FeaturesGenerator

    single = model_mobile.FEATURE_MODELS[config.model].feature_len
    generators = [
        FeaturesGenerator(feature.feature_dir(video_set, part, config.model, config.weights) / split, classes,
                          video_set.num_frames, single, config.batch_size, shuffle=False)
        for part in stream_parts(config.stream)
    ]
    return ConcatFeaturesGenerator(generators, config.batch_size, shuffle, config.seed)


def train_mobile_lstm(video_set: VideoSet, config: LstmConfig, verbose: int = 2) -> dict:
    """Trains one LSTM on the train split's features, validating on val after each epoch.

    Returns:
        dict with "best", "last" (checkpoint paths), "csv", "png", "state", "val_accuracy" (best epoch),
        "last_val_accuracy" and "seconds".
    """
    import keras

    from signlang.training import AtomicCheckpoint, plot_curves

    start = time.perf_counter()
    classes = VideoClasses(video_set.class_file)
    train = features_generator(video_set, config, "train", classes, shuffle=True)
    val = features_generator(video_set, config, "val", classes, shuffle=False)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    prefix = run_prefix(video_set, stamp, config.stream)
    video_set.model_dir.mkdir(parents=True, exist_ok=True)
    video_set.log_dir.mkdir(parents=True, exist_ok=True)
    csv_file = video_set.log_dir / f"{prefix.name}.csv"
    state_file = prefix.with_name(f"{prefix.name}-state.json")
    write_json_atomic(state_file, asdict(config))

    keras.utils.set_random_seed(config.seed)
    model = model_lstm.lstm_build(video_set.num_frames, feature_len(config), len(classes), config.units,
                                  config.dropout)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    print(f"Training {config.stream} LSTM on {config.model} ({config.weights}) features of {len(train.samples)} "
          f"clips, validating on {len(val.samples)}, {len(classes)} classes; run {prefix.resolve()}")
    callbacks = [
        AtomicCheckpoint(checkpoint_path(prefix, "last"), checkpoint_path(prefix, "best"), state_file, config, "lstm",
                         modelinfo.describe_run(video_set, config.stream, classes.classes,
                                                video_set.flow_dir)),
        keras.callbacks.CSVLogger(str(csv_file)),
    ]
    history = model.fit(train, validation_data=val, epochs=config.epochs, callbacks=callbacks, verbose=verbose)
    plot_curves(csv_file, csv_file.with_suffix(".png"))
    result = {"best": checkpoint_path(prefix, "best"), "last": checkpoint_path(prefix, "last"), "csv": csv_file,
              "png": csv_file.with_suffix(".png"), "state": state_file, "val_accuracy": config.best.get("lstm"),
              "last_val_accuracy": float(history.history["val_accuracy"][-1]),
              "seconds": time.perf_counter() - start}
    print(f"Done in {result['seconds']:.0f} s: best val accuracy {result['val_accuracy']:.3f}, "
          f"last {result['last_val_accuracy']:.3f}, model {result['best'].resolve()}")
    return result


def evaluate_mobile_lstm(model_path: Path, video_set: VideoSet, config: LstmConfig, split: str = "val",
                         out_prefix: Path | None = None) -> dict:
    """Evaluates a trained LSTM on the features of a split; see `classification_report` for the result."""
    classes = VideoClasses(video_set.class_file)
    model = model_lstm.lstm_load(model_path, video_set.num_frames, feature_len(config), len(classes))
    generator = features_generator(video_set, config, split, classes, shuffle=False)
    probs = np.concatenate([np.asarray(model(generator[i][0], training=False)) for i in range(len(generator))])
    return classification_report(probs, generator.labels, classes, out_prefix, split)


def main(argv=None):
    defaults = LstmConfig()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_set_arguments(parser)
    parser.add_argument("--stream", choices=STREAMS, default=defaults.stream,
                        help="rgb, flow (default), or both (one LSTM on the concatenated features)")
    parser.add_argument("--model", choices=sorted(model_mobile.FEATURE_MODELS), default=defaults.model,
                        help="the CNN whose features to train on")
    parser.add_argument("--weights", choices=model_mobile.WEIGHTS, default=defaults.weights,
                        help="features of the ImageNet CNN, or of the random one (none)")
    parser.add_argument("--epochs", type=int, default=defaults.epochs, help="training epochs")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size, help="clips per batch")
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate, help="Adam learning rate")
    parser.add_argument("--units", type=int, default=defaults.units, help="units of each LSTM")
    parser.add_argument("--dropout", type=float, default=defaults.dropout, help="dropout rate")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="initialisation and shuffling")
    args = parser.parse_args(argv)
    try:
        video_set = set_from_args(args)
        config = LstmConfig(stream=args.stream, model=args.model, weights=args.weights, epochs=args.epochs,
                            batch_size=args.batch_size, learning_rate=args.learning_rate, units=args.units,
                            dropout=args.dropout, seed=args.seed)
        trained = train_mobile_lstm(video_set, config)
        result = evaluate_mobile_lstm(trained["best"], video_set, config, "val",
                                      video_set.log_dir / trained["csv"].stem)
    except (FileNotFoundError, ValueError) as error:  # user errors: one line, exit 2
        print(f"error: {error}", file=sys.stderr)
        return 2
    print_evaluation(result, f"{config.stream} mobile-lstm")
    return 0


if __name__ == "__main__":
    sys.exit(main())
