"""A 2D CNN that turns one frame into one feature vector: MobileNet (1024) or InceptionV3 (2048), pooled.

    python model_mobile.py --model mobilenet --weights imagenet --input-px 224

Run as a script it builds the extractor, prints its input and output shapes and the milliseconds per frame.
The lighter path of this project (the seed's "mobile-lstm"): feature.py runs this network on every RGB frame
and every optical-flow image of a clip, model_lstm.py classifies the sequence of feature vectors.

Weights: "imagenet" downloads Keras' ImageNet weights once into ~/.keras/models (keras.utils.get_file);
"none" starts from a random network whose BatchNorm statistics `calibrate_batchnorm` sets from sample
frames, so that its features are normalised random projections rather than numbers of order 1e-19.
"""
from __future__ import annotations  # "keras.Model" in signatures without importing Keras

from signlang import tfquiet; tfquiet.install()  # before any TF import: holds back its benign start-up lines
import argparse
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Keras is imported inside the functions that use it (FEATURE_MODELS names the networks, a property fetches
# them), so that `python model_mobile.py --help` starts at once (TensorFlow takes ~4 s to import).

WEIGHTS = ("imagenet", "none")
KERAS_WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications"


@dataclass(frozen=True)
class FeatureModel:
    """One keras.applications network used as a frame feature extractor.

    Args:
        application_name: the keras.applications builder (`application`), e.g. "MobileNet".
        module_name: its keras.applications module, whose preprocess_input is `preprocess`
            (uint8 RGB 0..255 -> the range it was trained on), e.g. "mobilenet".
        default_px: the input size ImageNet weights were trained at.
        min_px: the smallest input the architecture accepts (keras.applications' own limits).
        feature_len: length of the average-pooled output.
    """

    application_name: str
    module_name: str
    default_px: int
    min_px: int
    feature_len: int

    @property
    def application(self):
        """The keras.applications builder (imports Keras)."""
        import keras

        return getattr(keras.applications, self.application_name)

    @property
    def preprocess(self):
        """The application's preprocess_input (imports Keras)."""
        import keras

        return getattr(keras.applications, self.module_name).preprocess_input


FEATURE_MODELS = {
    "mobilenet": FeatureModel("MobileNet", "mobilenet", default_px=224, min_px=32, feature_len=1024),
    "inception": FeatureModel("InceptionV3", "inception_v3", default_px=299, min_px=75, feature_len=2048),
}
# Keras publishes MobileNet (alpha 1.0) weights for these input sizes; other sizes load the 224 ones (as Keras does).
MOBILENET_WEIGHT_PX = (128, 160, 192, 224)


class WeightsUnavailableError(RuntimeError):
    """The pretrained weights could not be fetched (offline, blocked host, bad download)."""


def imagenet_weights_source(model_name: str, input_px: int) -> tuple[str, str, str | None]:
    """(file name, URL, md5 or None) of the no-top ImageNet weights, as keras.applications names them."""
    if model_name == "mobilenet":
        rows = input_px if input_px in MOBILENET_WEIGHT_PX else 224
        file_name = f"mobilenet_1_0_{rows}_tf_no_top.h5"
        return file_name, f"{KERAS_WEIGHTS_URL}/mobilenet/{file_name}", None
    if model_name == "inception":
        file_name = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
        return file_name, f"{KERAS_WEIGHTS_URL}/inception_v3/{file_name}", "bcbd6486424b2319ff4ef7d526e38f63"
    raise ValueError(f"Unknown feature model {model_name!r}; choose one of {sorted(FEATURE_MODELS)}")


def fetch_imagenet_weights(model_name: str, input_px: int) -> Path:
    """Path of the ImageNet weight file in ~/.keras/models, downloading it the first time.

    Raises:
        WeightsUnavailableError: the download failed; says which file and what to do instead.
    """
    import keras

    file_name, url, file_hash = imagenet_weights_source(model_name, input_px)
    try:
        return Path(keras.utils.get_file(file_name, url, cache_subdir="models", file_hash=file_hash))
    except Exception as error:  # keras raises a bare Exception("URL fetch failure ...") when offline
        cache = Path(os.environ.get("KERAS_HOME", "~/.keras")).expanduser() / "models"  # where get_file looks
        raise WeightsUnavailableError(
            f"Could not download the ImageNet weights of {model_name} ({file_name}) from {url}: {error}. "
            f"Either use `--weights none` (a randomly initialised {model_name}; its features are far weaker), "
            f"or download {file_name} on a machine that is online and place it in {cache}/"
        ) from error


def check_input_px(model_name: str, input_px: int) -> None:
    """Raises ValueError for an unknown model or an input size the architecture cannot take."""
    if model_name not in FEATURE_MODELS:
        raise ValueError(f"Unknown feature model {model_name!r}; choose one of {sorted(FEATURE_MODELS)}")
    spec = FEATURE_MODELS[model_name]
    if input_px < spec.min_px:
        raise ValueError(f"input_px={input_px} is too small for {model_name}; it needs at least {spec.min_px} px "
                         f"(default {spec.default_px})")


def feature_extractor(model_name: str = "mobilenet", weights: str | None = "imagenet", input_px: int | None = None,
                      seed: int = 0) -> keras.Model:
    """The CNN without top, global-average-pooled: (batch, input_px, input_px, 3) -> (batch, feature_len).

    Args:
        model_name: "mobilenet" (1024 features) or "inception" (InceptionV3, 2048 features).
        weights: "imagenet" (downloaded once by Keras), "none"/None (random, initialised from `seed`),
            or the path of a weight file (.h5 / .weights.h5) of the same no-top architecture.
        input_px: square input size; default the network's own (224 / 299). Smaller inputs (e.g. 128 for
            the demo set) are faster; MobileNet has ImageNet weights for 128, 160, 192 and 224.
        seed: initialisation of the random network (weights "none"): the same seed gives the same network.

    Raises:
        ValueError: unknown model or weights, input too small.
        WeightsUnavailableError: the ImageNet weights could not be downloaded.
    """
    import keras

    if model_name not in FEATURE_MODELS:
        raise ValueError(f"Unknown feature model {model_name!r}; choose one of {sorted(FEATURE_MODELS)}")
    spec = FEATURE_MODELS[model_name]
    input_px = spec.default_px if input_px is None else int(input_px)
    check_input_px(model_name, input_px)
    if weights == "none":
        weights = None
    if weights is not None and weights != "imagenet" and not Path(weights).is_file():
        raise ValueError(f"weights={weights!r}: neither 'imagenet', 'none' nor an existing weight file")
    weight_file = fetch_imagenet_weights(model_name, input_px) if weights == "imagenet" else weights

    keras.utils.set_random_seed(seed)  # weights "none": the same random network on every run
    base = spec.application(include_top=False, weights=None, input_shape=(input_px, input_px, 3), pooling="avg")
    if weight_file is not None:
        base.load_weights(str(weight_file))
    model = keras.Model(base.input, base.output, name=f"{model_name}_features")

    # check input & output shapes, as the seed did: a wrong shape here would silently garble every feature file
    if tuple(model.input_shape[1:]) != (input_px, input_px, 3):
        raise ValueError(f"{model_name} takes {model.input_shape[1:]}, expected ({input_px}, {input_px}, 3)")
    if tuple(model.output_shape[1:]) != (spec.feature_len,):
        raise ValueError(f"{model_name} gives {model.output_shape[1:]}, expected ({spec.feature_len},)")
    return model


def preprocess(images: np.ndarray, model_name: str = "mobilenet") -> np.ndarray:
    """(n, h, w, 3) uint8 RGB (or flow image bytes) 0..255 -> float32 network input via the app's preprocess_input."""
    if images.dtype != np.uint8:
        raise ValueError(f"preprocess expects uint8 images 0..255, got {images.dtype}")
    return FEATURE_MODELS[model_name].preprocess(images.astype(np.float32))


def calibrate_batchnorm(model: keras.Model, inputs: np.ndarray) -> None:
    """Sets every BatchNormalization's moving mean/variance to the statistics of `inputs` (preprocessed frames).

    One forward pass in training mode with momentum 0: each layer normalises with the batch statistics and
    stores them, and because every layer upstream is already normalised the same way, the stored values are
    exactly what inference will see. Used for weights "none": a randomly initialised MobileNet otherwise
    shrinks its activations layer by layer to ~1e-19. Random convolutional features that are normalised
    carry real information (Saxe et al., "On random weights and unsupervised feature learning", ICML 2011).
    """
    import keras

    layers = [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.BatchNormalization)]
    if not layers:
        return
    momenta = [layer.momentum for layer in layers]
    try:
        for layer in layers:
            layer.momentum = 0.0
        model(inputs, training=True)
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=sorted(FEATURE_MODELS), default="mobilenet", help="feature network")
    parser.add_argument("--weights", choices=WEIGHTS, default="imagenet",
                        help="imagenet (downloaded once into ~/.keras/models) or none (random network)")
    parser.add_argument("--input-px", type=int, default=None, help="square input size (default 224 / 299)")
    parser.add_argument("--frames", type=int, default=16, help="frames in the timed batch")
    args = parser.parse_args(argv)
    model = feature_extractor(args.model, args.weights, args.input_px)
    px = model.input_shape[1]
    images = np.random.default_rng(0).integers(0, 256, (args.frames, px, px, 3), dtype=np.uint8)
    inputs = preprocess(images, args.model)
    if args.weights == "none":
        calibrate_batchnorm(model, inputs)
    model(inputs, training=False)  # warm-up: the first call builds the graph
    start = time.perf_counter()
    model(inputs, training=False)
    ms = (time.perf_counter() - start) * 1000 / args.frames
    print(f"{model.name}: input {model.input_shape[1:]}, output {model.output_shape[1:]}, "
          f"{model.count_params():,} parameters, {ms:.1f} ms per frame on this machine")


if __name__ == "__main__":
    main()
