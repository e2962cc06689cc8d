"""Shared helpers of the training scripts: checkpoints and resume state written crash-safe, the CSV log and its curves.

Used by train_i3d.py and train_mobile_lstm.py; every checkpoint gets its recorded description (modelinfo).

Imports Keras.
"""
import math
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import keras
import numpy as np

from signlang import modelinfo
from signlang.safeio import atomic_write, write_json_atomic


def save_model(model, path: Path, with_optimizer: bool = False):
    """Saves `model` to a .keras file atomically (temp name, then rename). Without the optimizer by default:
    the model for inference needs only the weights (an I3D's Adam state doubles the file to ~142 MB)."""
    if not with_optimizer and getattr(model, "optimizer", None) is not None:
        # Same layers, nothing compiled. model.input/output keep the structure the model was built with (one
        # tensor); model.inputs is a list, and a model saved with a list of one input warned at every call of the
        # loaded model ("The structure of `inputs` doesn't match the expected structure": make demo-lstm).
        model = keras.Model(model.input, model.output, name=model.name)
    with atomic_write(path) as tmp:
        model.save(tmp)


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Ends training with a ValueError at the first batch whose loss is NaN or infinite.

    Every later step would be wasted and every later checkpoint useless; raised before the epoch's end, so the
    epochs committed before stay the run's last state. `hint` says what was kept and what to do (it ends the message).
    """

    def __init__(self, run: str, hint: str):
        super().__init__()
        self.run, self.hint, self.epoch = run, hint, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise ValueError(f"Training of {self.run} diverged: loss {float(loss)} at batch {batch + 1} of epoch "
                             f"{self.epoch + 1}; {self.hint}")


class StopOnRequest(keras.callbacks.Callback):
    """Ends training with KeyboardInterrupt at the first batch or epoch end after `requested` was set (by a SIGINT
    handler: Ctrl-C). Python raises a signal's KeyboardInterrupt wherever it happens to be, also inside a weakref
    callback, where it is printed and ignored (training went on); raised here it always ends fit(), after the
    epoch callbacks before this one (the commit of AtomicCheckpoint) have run.

    `training`: whether fit() is running (outside it the handler may raise at once).
    """

    def __init__(self):
        super().__init__()
        self.requested = self.training = False

    def on_train_begin(self, logs=None):
        self.training = True
        self._check()  # requested before this fit() began, and the KeyboardInterrupt raised then was lost

    def on_train_end(self, logs=None):
        self.training = False

    def _check(self, *args, **kwargs):
        if self.requested:
            self.training = False
            raise KeyboardInterrupt

    on_train_batch_end = on_test_batch_end = on_epoch_end = _check


class AtomicCheckpoint(keras.callbacks.Callback):
    """Saves `<last>` after every epoch and `<best>` when the monitored score improves (weights, no
    optimizer), each under a temp name, then renamed, and commits the epoch in the run's state file.

    Each checkpoint gets its description (modelinfo.write_model_info) right after it: `info` plus the epochs
    trained into it, the phase, last/best and the metric best was selected on.

    With `resume_dir`, every epoch also saves the whole training state (model + optimizer) as
    `<resume_dir>/<phase>-epoch<N>.keras`, then records in the state file (the commit point, one atomic
    rename) the epoch, that file and the epoch's log row; then it rewrites `log_file` from the recorded
    rows and deletes older state files. A kill at any moment leaves the state file naming a complete
    file and the rows of exactly the epochs committed, so a resumed run redoes at most the epoch that was
    interrupted and the log never has an epoch twice or a gap.

    Args:
        last, best: checkpoint paths.
        state_file: the run's settings, rewritten (atomically) after every epoch; holds config.best.
        config: a dataclass with a `best` dict (phase -> best score so far); with resume_dir also
            `resume` (dict: phase, epochs trained over the run, file, rng), `history` (list of log rows) and `phases_done` (list).
        phase: key into config.best ("above", "entire", "lstm").
        info: the run's model description (stream, sizes, classes, set, flow method), or None.
        resume_dir, log_file: see above; `row` is added to every log row (e.g. {"phase": 2});
        last_epoch: the phase's last epoch number (0-based, counted over the run); when it is committed the
            phase is added to config.phases_done in the same write.
        write: False on the non-chief workers of a multi-worker run: `config` is kept in step, nothing is written.
    """

    def __init__(self, last: Path, best: Path, state_file: Path, config, phase: str, info: dict | None = None,
                 resume_dir: Path | None = None, log_file: Path | None = None, row: dict | None = None,
                 last_epoch: int | None = None, write: bool = True):
        super().__init__()
        self.last, self.best, self.state_file, self.config, self.phase = last, best, state_file, config, phase
        self.info, self.resume_dir, self.log_file, self.row, self.last_epoch = info, resume_dir, log_file, row, last_epoch
        self.write = write

    def _save(self, path: Path, which: str, epochs: int, metric: str, score: float):
        if not self.write:
            return
        save_model(self.model, path)
        if self.info is not None:
            modelinfo.write_model_info(path, {**self.info, "epochs": epochs, "phase": self.phase, "which": which,
                                              "selected_on": metric if which == "best" else None,
                                              "score": score})

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        metric = "val_accuracy" if "val_accuracy" in logs else "accuracy"
        score = float(logs.get(metric, 0.0))
        if self.resume_dir is not None:
            state = self.resume_dir / f"{self.phase}-epoch{epoch + 1:04d}.keras"
            if self.write:
                self.resume_dir.mkdir(parents=True, exist_ok=True)
                save_model(self.model, state, with_optimizer=True)
        self._save(self.last, "last", epoch + 1, metric, score)
        if score > self.config.best.get(self.phase, -1.0):
            self.config.best[self.phase] = score
            self._save(self.best, "best", epoch + 1, metric, score)
        if self.resume_dir is not None:
            self.config.resume = {"phase": self.phase, "epochs": epoch + 1, "file": state.name,
                                  "rng": rng_state(self.model)}
            self.config.history.append({"epoch": epoch, **{k: float(v) for k, v in logs.items()}, **(self.row or {})})
            if epoch == self.last_epoch:
                self.config.phases_done.append(self.phase)
        if not self.write:
            return
        write_json_atomic(self.state_file, asdict(self.config))  # the commit
        if self.resume_dir is not None:
            if self.log_file is not None:
                write_log(self.log_file, self.config.history)
            for old in self.resume_dir.glob("*.keras"):
                if old != state:
                    old.unlink()


def _seed_states(model) -> dict:
    """{"<layer name>/<n>": variable} of every random-number state (Dropout's seed generators). Keyed by layer
    name: the variables' own paths are numbered per process (seed_generator_2/...), so they differ on reload."""
    states = {}
    for layer in model._flatten_layers(include_self=False):
        for n, generator in enumerate(getattr(layer, "_seed_generators", [])):
            states[f"{layer.name}/{n}"] = generator.state
    return states


def rng_state(model) -> dict:
    """The model's random-number states as lists. Keras saves them in a .keras file but gives a loaded model
    fresh ones (Keras 3.15), so a resumed run would drop out other units than an uninterrupted one;
    `restore_rng_state` puts them back."""
    return {key: np.asarray(v).tolist() for key, v in _seed_states(model).items()}


def restore_rng_state(model, states: dict):
    for key, variable in _seed_states(model).items():
        if key in states:
            variable.assign(np.asarray(states[key], dtype=variable.dtype))


def write_log(csv_file: Path, rows: list[dict]):
    """The per-epoch log as CSV (epoch first, then the other columns sorted), written atomically."""
    import csv

    columns = ["epoch"] + sorted({key for row in rows for key in row} - {"epoch"})
    with atomic_write(csv_file) as tmp, open(tmp, "w", newline="") as out:
        writer = csv.DictWriter(out, columns)
        writer.writeheader()
        writer.writerows(rows)


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
