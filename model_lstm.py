"""An LSTM that classifies a sequence of per-frame feature vectors (the seed's "mobile-lstm" classifier).

    python model_lstm.py --num-frames 16 --feature-len 1024 --classes 10

Run as a script it builds the model and prints its summary. Input: (num_frames, feature_len) from
feature.py (1024 per frame for MobileNet; 2048 when RGB and flow features are concatenated); output:
softmax over the classes.
"""
from __future__ import annotations  # "keras.Model" in signatures without importing Keras

from signlang import tfquiet; tfquiet.install()  # before any TF import: holds back its benign start-up lines
import argparse
from pathlib import Path

# Keras is imported inside the functions that use it, so that `python model_lstm.py --help` starts at once
# (TensorFlow takes ~4 s to import).

# The seed used two LSTMs as wide as the features (1024 units, ~16 M weights) with dropout 0.5; with a few
# hundred clips per class that mostly memorises the training signers, so the default here is 256 units.
UNITS = 256
DROPOUT = 0.5


def lstm_build(num_frames: int, feature_len: int, num_classes: int, units: int = UNITS,
               dropout: float = DROPOUT) -> keras.Model:
    """Two stacked LSTMs, dropout, softmax: (batch, num_frames, feature_len) -> (batch, num_classes).

    Dropout acts on the LSTM inputs (as in the seed) and once more before the classifier.
    """
    import keras

    for name, value in (("num_frames", num_frames), ("feature_len", feature_len), ("units", units)):
        if value < 1:
            raise ValueError(f"lstm_build: {name}={value}; must be >= 1")
    if num_classes < 2:
        raise ValueError(f"lstm_build: num_classes={num_classes}; a classifier needs at least 2")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"lstm_build: dropout={dropout}; must be in [0, 1)")
    inputs = keras.Input((num_frames, feature_len), name="features")
    x = keras.layers.LSTM(units, return_sequences=True, dropout=dropout, name="lstm_1")(inputs)
    x = keras.layers.LSTM(units, dropout=dropout, name="lstm_2")(x)
    x = keras.layers.Dropout(dropout, name="dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="mobile_lstm")


def lstm_load(path, num_frames: int, feature_len: int, num_classes: int) -> keras.Model:
    """A trained LSTM from a .keras file, checked against the features and classes it will be given.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not a model of this shape (other frames, features or classes).
    """
    import keras

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"LSTM model {path} not found; train one with `python train_mobile_lstm.py`")
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as error:  # keras raises assorted types for a file that is not a .keras model
        raise ValueError(f"Cannot load {path} as a Keras model ({type(error).__name__}: {error}); "
                         "retrain it with `python train_mobile_lstm.py`") from error
    if isinstance(model.input, list) and len(model.input) == 1:
        # saved with a list of one input (before 2026-12-06): called with one tensor, Keras warned at every call
        model = keras.Model(model.input[0], model.output, name=model.name)
    input_shape = tuple(model.input_shape[1:]) if not isinstance(model.input_shape, list) else None
    output_shape = tuple(model.output_shape[1:]) if not isinstance(model.output_shape, list) else None
    if input_shape != (num_frames, feature_len):
        raise ValueError(
            f"{path} takes input (frames, features) = {input_shape}, but the features here are "
            f"({num_frames}, {feature_len}); it was trained on other features (another --model, stream or "
            "VideoSet). Use the model trained on these features, or retrain with `python train_mobile_lstm.py`"
        )
    if output_shape != (num_classes,):
        raise ValueError(
            f"{path} predicts {output_shape[0] if output_shape else output_shape} classes, but the class file lists "
            f"{num_classes}; use the model trained on this VideoSet, or retrain with `python train_mobile_lstm.py`"
        )
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num-frames", type=int, default=16, help="frames per clip (demo set: 16; the seed: 40)")
    parser.add_argument("--feature-len", type=int, default=1024, help="features per frame (MobileNet: 1024)")
    parser.add_argument("--classes", type=int, default=10, help="number of classes")
    parser.add_argument("--units", type=int, default=UNITS, help=f"units of each LSTM (default {UNITS})")
    parser.add_argument("--dropout", type=float, default=DROPOUT, help=f"dropout rate (default {DROPOUT})")
    args = parser.parse_args(argv)
    lstm_build(args.num_frames, args.feature_len, args.classes, args.units, args.dropout).summary()


if __name__ == "__main__":
    main()
