"""The preview model: a linear classifier on the fast recipe's cached activations, ready seconds after the cache.

    model/<stamp>-<name><NNN>-<stream>-i3d-preview.keras   (with its record, as every model here)

The fast recipe's training takes minutes; the preview lets livedemo.py start right after the cache is filled
(`pipeline_i3d.py --live`) and is replaced by the trained model when it is saved (livedemo switches between two
recordings). It is the frozen part of the I3D (Kinetics weights, BatchNorm adapted to the set, up to the recipe's
cut), its output averaged into a 2 x 2 grid per time step (where in the frame, in time order), and one softmax
layer fitted to the cached training views by gradient descent (numpy, ~2 s). The fast recipe's delivered model
averages it with the trained layers (combined_model), which scored better than either alone on the stand-ins. What
they scored: docs/training.md, "The preview".
"""
from __future__ import annotations  # "keras.Model" in signatures without importing Keras

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from signlang.fullrecipe import recipe_models, recipe_path
from signlang.videoset import VideoSet

if TYPE_CHECKING:
    import keras

PREVIEW_GRID = 2  # the map averaged into GRID x GRID cells per time step: 7680 features at the 16 x 128 clips' cut
# The fit: softmax regression on standardized features, full batches, mean cross-entropy + L2 / 2 * |W|^2. Chosen
# once on 2026-12-06 from the fast recipe's caches (docs/training.md, "The preview"): a mean over the whole map
# (480 features) or over each time step (1920) scored less on all three sets; the L2 weight (0.01-1) changed little.
PREVIEW_L2 = 0.1
PREVIEW_STEPS = 500
PREVIEW_RATE = 0.05


def preview_path(video_set: VideoSet, stamp: str, stream: str) -> Path:
    """model/<stamp>-<name><NNN>-<stream>-i3d-preview.keras"""
    return recipe_path(video_set, stamp, stream, "preview")


def preview_models(video_set: VideoSet, stream: str) -> list[Path]:
    """This set's preview models of `stream`, oldest first."""
    return recipe_models(video_set, stream, "preview")


def grid_pooled(x: np.ndarray, grid: int = PREVIEW_GRID) -> np.ndarray:
    """Activations (n, t, h, w, c) -> features (n, t * grid * grid * c) float32: each time step's map averaged over
    grid x grid cells of h // grid x w // grid (the rest of an odd side left out), as the preview model's
    AveragePooling3D((1, h // grid, w // grid)) and Flatten compute them."""
    n, t, h, w, c = x.shape
    ph, pw = h // grid, w // grid
    if ph == 0 or pw == 0:
        raise ValueError(f"An activation map of {h}x{w} is smaller than the preview's {grid}x{grid} grid")
    cells = np.asarray(x[:, :, :grid * ph, :grid * pw], np.float32).reshape(n, t, grid, ph, grid, pw, c)
    return cells.mean(axis=(3, 5)).reshape(n, -1)


def fit_linear(features: np.ndarray, labels: np.ndarray, num_classes: int, l2: float = PREVIEW_L2,
               steps: int = PREVIEW_STEPS, rate: float = PREVIEW_RATE) -> tuple[np.ndarray, np.ndarray]:
    """Softmax regression of labels (n,) int on features (n, d), on standardized features (each feature's training
    mean and deviation), by full-batch gradient descent from zero (deterministic).

    Returns:
        (weights (d, classes), bias (classes,)) float32 for the raw features: logits = features @ weights + bias.
    """
    x = np.asarray(features, np.float32)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-3
    x = (x - mean) / scale
    targets = np.eye(num_classes, dtype=np.float32)[labels]
    weights = np.zeros((x.shape[1], num_classes), np.float32)
    bias = np.zeros(num_classes, np.float32)
    for _ in range(steps):
        logits = x @ weights + bias
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        error = (probs - targets) / len(x)
        weights -= rate * (x.T @ error + l2 * weights)
        bias -= rate * error.sum(axis=0)
    raw = weights / scale[:, None]
    return raw, bias - mean @ raw


def linear_logits(model: keras.Model, cut: str, weights: np.ndarray, bias: np.ndarray, grid: int = PREVIEW_GRID):
    """The preview's logits on model's graph: the output of the layer `cut`, grid_pooled's pooling, then a linear
    layer of these weights ((batch, classes), float32)."""
    import keras

    features = model.get_layer(cut).output  # (batch, t, h, w, c)
    _, _, h, w, _ = features.shape
    x = keras.layers.AveragePooling3D((1, h // grid, w // grid), name="Preview__Pool")(features)
    x = keras.layers.Flatten(name="Preview__Flatten")(x)
    head = keras.layers.Dense(weights.shape[1], dtype="float32", name="Preview__Logits")
    logits = head(x)
    head.set_weights([weights, bias])
    return logits


def preview_model(model: keras.Model, cut: str, weights: np.ndarray, bias: np.ndarray,
                  grid: int = PREVIEW_GRID) -> keras.Model:
    """model's input up to the layer `cut` (its weights as they are), then the preview's linear layer and a softmax:
    (batch, frames, h, w, channels) -> (batch, classes) probabilities, as the trained models."""
    import keras

    probs = keras.layers.Activation("softmax", dtype="float32", name="Preview__Predictions")(
        linear_logits(model, cut, weights, bias, grid))
    return keras.Model(model.input, probs, name=f"{model.name}_preview")


def combined_model(model: keras.Model, cut: str, weights: np.ndarray, bias: np.ndarray, logits_of: str,
                   grid: int = PREVIEW_GRID) -> keras.Model:
    """The trained model and the preview as one: the softmax of the mean of their logits (those going into the
    layer `logits_of`, the trained model's softmax, and linear_logits'), i.e. their probabilities' geometric mean,
    normalised. What the fast recipe delivers (FastConfig.combine)."""
    import keras

    trained = model.get_layer(logits_of).input
    mean = keras.layers.Average(name="Combined__Average")([trained, linear_logits(model, cut, weights, bias, grid)])
    probs = keras.layers.Activation("softmax", dtype="float32", name="Combined__Predictions")(mean)
    return keras.Model(model.input, probs, name=model.name)
