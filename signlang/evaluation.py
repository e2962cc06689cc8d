"""Accuracy of models on a split: top-1/top-5, per-class accuracy (CSV), confusion matrix (PNG).

Used by predict.py (--split), the pipelines and the benchmarks. pandas and matplotlib are imported inside the
functions that use them.
"""
import re
from pathlib import Path

import numpy as np

from signlang.clips import list_samples, load_clip
from signlang.hands import hand_features
from signlang.handsnet import load_split
from signlang.predictor import Predictor
from signlang.safeio import atomic_write
from signlang.videoset import VideoClasses, VideoSet, split_clips


def evaluate(video_set: VideoSet, predictor: Predictor, split: str = "val", out_prefix: Path | None = None,
             allow_no_record: bool = False) -> dict:
    """Top-1/top-5 accuracy on a split; writes <out_prefix>-<split>-{classes.csv,confusion.png}, the PNG titled
    with the checkpoint's name.

    The models are checked against the set first (Predictor.check_set: classes, clip size, the flow folder's
    method; allow_no_record runs a model without its record, with a warning). Each clip is given whole (its frames
    as resized, not cropped) and one at a time, so that the Predictor takes its views as it does for a video.

    Returns:
        dict with top1, top5, num_clips, per_class (DataFrame), confusions (list of (true, predicted, count)),
        csv and png paths, predictions (n,) and labels (n,).
    """

    classes = VideoClasses(video_set.class_file)
    predictor.check_set(video_set, classes, split=True, allow_no_record=allow_no_record)
    clips = {}  # stream -> (["<label>/<video>", ...], labels, clip i -> model input (1, ...))
    listed = split_clips(video_set.video_dir, split)  # folders of videos gone from the set stay out
    for stream in predictor.streams:
        data_dir = video_set.stream_dir(stream) / split
        if stream == "hands":  # one landmark file per clip (hands.py), all in memory: a few kB each
            landmarks, labels, files = load_split(data_dir, classes, listed)
            features = hand_features(landmarks)
            clips[stream] = ([f"{f.parent.name}/{f.stem}" for f in files], labels, lambda i, x=features: x[i:i + 1])
            continue
        samples = list_samples(data_dir, classes, listed)
        clips[stream] = ([f"{p.parent.name}/{p.name}" for p, _ in samples], np.array([c for _, c in samples]),
                         lambda i, s=samples, stream=stream: load_clip(s[i][0], stream, predictor.num_frames)[None])
    names, labels, _ = clips[predictor.streams[0]]
    for stream, (other, _, _) in clips.items():
        if other != names:
            raise ValueError(f"The {stream} files of split {split} hold other videos than the "
                             f"{predictor.streams[0]} ones; re-run frame.py, opticalflow.py and hands.py")
    probs = np.concatenate([predictor({s: clip(i) for s, (_, _, clip) in clips.items()}) for i in range(len(names))])
    checkpoints = " + ".join(re.sub(r"^\d{8}-\d{6}-", "", path.name) for path in predictor.paths)
    return classification_report(probs, labels, classes, out_prefix, split, checkpoints)


def classification_report(probs: np.ndarray, labels: np.ndarray, classes: VideoClasses,
                          out_prefix: Path | None = None, split: str = "val", title: str | None = None) -> dict:
    """Top-1/top-5, confusion matrix and per-class accuracy of predicted probabilities (n, num_classes).

    Writes <out_prefix>-<split>-{classes.csv,confusion.png} when out_prefix is given; the PNG's title starts with
    `title` (the checkpoint evaluated), else with out_prefix's name.

    Returns:
        dict with top1, top5, num_clips, per_class (DataFrame), confusions (list of (true, predicted, count)),
        confusion (matrix, rows true), csv and png paths, predictions (n,) and labels (n,).
    """
    import pandas as pd  # see the note below the imports

    predictions = probs.argmax(axis=1)
    top5 = np.argsort(probs, axis=1)[:, ::-1][:, :5]
    confusion = np.zeros((len(classes), len(classes)), dtype=int)
    np.add.at(confusion, (labels, predictions), 1)
    per_class = pd.DataFrame({
        "sClass": classes.classes,
        "sLong": [classes.description(i) for i in range(len(classes))],
        "clips": confusion.sum(axis=1),
        "correct": np.diag(confusion),
    })
    per_class["accuracy"] = per_class["correct"] / per_class["clips"].replace(0, np.nan)
    off_diagonal = [(classes.classes[t], classes.classes[p], int(confusion[t, p]))
                    for t, p in zip(*np.nonzero(confusion)) if t != p]
    result = {
        "split": split, "num_clips": len(labels), "predictions": predictions, "labels": labels,
        "top1": float(np.mean(predictions == labels)),
        "top5": float(np.mean([label in row for label, row in zip(labels, top5)])),
        "per_class": per_class, "confusion": confusion,
        "confusions": sorted(off_diagonal, key=lambda row: -row[2])[:10],
    }
    if out_prefix is not None:
        out_prefix = Path(out_prefix)
        out_prefix.parent.mkdir(parents=True, exist_ok=True)
        result["csv"] = out_prefix.with_name(f"{out_prefix.name}-{split}-classes.csv")
        result["png"] = out_prefix.with_name(f"{out_prefix.name}-{split}-confusion.png")
        with atomic_write(result["csv"]) as tmp:
            per_class.to_csv(tmp, index=False)
        run = title or re.sub(r"^\d{8}-\d{6}-", "", out_prefix.name)  # the title fits without the time stamp
        plot_confusion(confusion, classes.classes, result["png"], f"{run}\n{split}: top-1 {result['top1']:.1%}")
    return result


def plot_confusion(confusion: np.ndarray, names, png_file: Path, title: str):
    """Confusion matrix (rows true, columns predicted) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    size = max(6.0, 0.45 * len(names) + 2.5)
    # Cell numbers as large as a cell allows (a cell is ~0.45 in; 13 pt fills it), the names a little smaller.
    cell_pt, name_pt = (13, 10) if len(names) <= 20 else (9, 8)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(confusion, cmap="Blues")
    if len(names) <= 40:
        ax.set_xticks(range(len(names)), names, rotation=90, fontsize=name_pt)
        ax.set_yticks(range(len(names)), names, fontsize=name_pt)
        for (t, p), count in np.ndenumerate(confusion):
            if count:
                ax.text(p, t, str(count), ha="center", va="center", fontsize=cell_pt, fontweight="bold",
                        color="white" if count > confusion.max() / 2 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    with atomic_write(png_file) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def print_evaluation(result: dict, model_name: str):
    """The evaluation in a few lines: accuracy, the most frequent confusions, where the files are."""
    print(f"{result['split']}: {result['num_clips']} clips, top-1 {result['top1']:.1%}, top-5 {result['top5']:.1%} "
          f"({model_name})")
    for true, predicted, count in result["confusions"][:5]:
        print(f"  {count} x {true} taken for {predicted}")
    if "csv" in result:
        print(f"  per-class accuracy: {result['csv'].resolve()}\n  confusion matrix: {result['png'].resolve()}")
