"""Shared helpers of the training scripts (train_i3d.py, train_mobile_lstm.py): checkpoints with their
recorded description, and the curves of a CSV log.

    (library only; imports Keras)
"""
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import keras
import numpy as np

import modelinfo
from safeio import atomic_write, write_json_atomic


class AtomicCheckpoint(keras.callbacks.Callback):
    """Saves `<last>` after every epoch and `<best>` when the monitored score improves; temp name, then rename.

    Each checkpoint gets its description (modelinfo.write_model_info) right after it: `info` plus the epochs
    trained into it, the phase, last/best and the metric best was selected on.

    Args:
        last, best: checkpoint paths.
        state_file: the run's settings, rewritten (atomically) after every epoch; holds config.best.
        config: a dataclass with a `best` dict (phase -> best score so far).
        phase: key into config.best ("above", "entire", "lstm").
        info: the run's model description (stream, sizes, classes, set, flow method), or None.
    """

    def __init__(self, last: Path, best: Path, state_file: Path, config, phase: str, info: dict | None = None):
        super().__init__()
        self.last, self.best, self.state_file, self.config, self.phase = last, best, state_file, config, phase
        self.info = info

    def _save(self, path: Path, which: str, epochs: int, metric: str, score: float):
        with atomic_write(path) as tmp:
            self.model.save(tmp)
        if self.info is not None:
            modelinfo.write_model_info(path, {**self.info, "epochs": epochs, "phase": self.phase, "which": which,
                                              "selected_on": metric if which == "best" else None,
                                              "score": score})

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        metric = "val_accuracy" if "val_accuracy" in logs else "accuracy"
        score = float(logs.get(metric, 0.0))
        self._save(self.last, "last", epoch + 1, metric, score)
        if score > self.config.best.get(self.phase, -1.0):
            self.config.best[self.phase] = score
            self._save(self.best, "best", epoch + 1, metric, score)
        write_json_atomic(self.state_file, asdict(self.config))


@contextmanager
def precision_policy(name: str | None):
    """Sets Keras' global dtype policy (e.g. "mixed_float16") inside the block and restores the old one after;
    None leaves the policy as it is."""
    previous = keras.mixed_precision.global_policy()
    if name is not None:
        keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def plot_curves(csv_file: Path, png_file: Path):
    """Accuracy and loss per epoch, train and val, with a line where phase 2 starts."""
    import matplotlib  # imported here: only the end of a run draws

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    log = pd.read_csv(csv_file)
    log["n"] = np.arange(1, len(log) + 1)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric in zip(axes, ("accuracy", "loss")):
        for column in (metric, f"val_{metric}"):
            if column in log:
                ax.plot(log["n"], log[column], marker="o", label=column)
        if "phase" in log and (log["phase"] == 2).any():
            ax.axvline(log["n"][log["phase"] == 2].iloc[0] - 0.5, color="gray", linestyle="--", label="entire")
        ax.set_xlabel("epoch")
        ax.set_title(metric)
        ax.legend()
    fig.suptitle(csv_file.stem)
    fig.tight_layout()
    with atomic_write(png_file) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
