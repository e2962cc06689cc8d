"""Evaluate trained I3D models on a split, predict the sign in one video, or classify a video into Kinetics-400.

    python predict.py --set demo --split val
    python predict.py --set demo --video data-set/demo/010/val/circle_cw/s07_0000.avi
    python predict.py --kinetics ../shared/data/kinetics-i3d/v_CricketShot_g04_c01_rgb.gif
    python predict.py --set demo --export onnx        (or litert; then --model X.onnx runs it)
    python predict.py --set data-set/mine/009 --stream flow hands   (the hands network fused with the flow I3D)

Models are the .keras files train_i3d.py saved (default: each stream's newest model of the set, the fast recipe's
or the `entire-best` of the newest *finished* full run: a newer unfinished run is skipped with a note), or their .onnx / .tflite exports (`--export`, modelexport.py: written beside the .keras file with a
copy of its .keras.json record, run with onnxruntime / ai-edge-litert instead of TensorFlow). With a flow and an RGB model the two streams are fused by averaging their logits, as DeepMind's I3D
does. Every model is checked against the set first (its .keras.json record: classes, input size, flow; a
mismatch is refused, a model without a record runs only with --no-record-check). Evaluation says which
checkpoint it evaluated (a full run's entire-best: the epoch chosen on the val clips, so optimistic there), writes a
per-class accuracy CSV and a confusion-matrix PNG named after that checkpoint
(log/<checkpoint>-<split>-{classes.csv,confusion.png}; the pipeline's own are log/<run>-<split>-...) and lists
the most frequent confusions. `--kinetics` classifies any video into the 400 Kinetics
classes with DeepMind's RGB I3D (their evaluate_sample.py preprocessing) and prints their names from
kinetics400_labels.txt (shipped here; `--label-map` gives another file); DeepMind's sample clip
v_CricketShot_g04_c01_rgb.gif (deepmind/kinetics-i3d's data/ folder) is kept in ../shared/data/kinetics-i3d/
beside this checkout.
"""
from signlang import tfquiet; tfquiet.install()  # before any TF import: holds back its benign start-up lines
import argparse
import sys
from pathlib import Path

import numpy as np

from signlang import i3d, modelexport
from signlang.flow import METHODS
from signlang.evaluation import evaluate, print_evaluation
from signlang.precision import PRECISIONS, PRECISION_HELP, warn_precision
from signlang.predictor import (I3D_STREAMS, NO_RECORD_FLAG, Predictor, add_model_arguments, check_record, find_models,
                                predict_video)
from signlang.video import bgr_to_model_rgb, frames_crop, frames_downsample, frames_resize_min_side, video_to_frames
from signlang.videoset import VideoClasses, add_set_arguments, set_from_args

# Keras, TensorFlow, pandas and the data generator are imported inside the functions that use them, so
# that `python predict.py --help` starts at once (TensorFlow takes ~5 s to import).


# ---- Kinetics-400 classification of any video --------------------------------------------------------

def read_label_map(path: Path = i3d.KINETICS_LABEL_FILE) -> list[str]:
    """Class names, one per line, in model output order (default: the shipped Kinetics-400 names, in the
    order of DeepMind's label_map.txt)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Label map {path.resolve()} not found; give a file of the 400 Kinetics class "
                                "names, one per line (DeepMind's label_map.txt order)")
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def kinetics_frames(video_path: Path, crop_px: int = 224) -> np.ndarray:
    """A video as I3D RGB input: all frames, smaller side resized to 256 (unless it is already `crop_px`),
    center crop, BGR -> RGB, scaled to [-1, 1] (DeepMind's preprocessing). Returns (n, crop, crop, 3) float32."""
    frames = video_to_frames(Path(video_path), min_dim_px=None)  # (n, h, w, 3) uint8 BGR
    if min(frames.shape[1:3]) != crop_px:
        frames = frames_resize_min_side(frames, 256)
    frames = frames_crop(frames, crop_px, crop_px)
    return bgr_to_model_rgb(frames)


def kinetics_top_k(video_path, k: int = 5, weights: str = "rgb_kinetics400", label_map=None,
                   num_frames: int | None = None) -> list[tuple[str, float, float]]:
    """The k most likely Kinetics-400 classes of a video (or GIF) with DeepMind's RGB I3D.

    Args:
        video_path: any video OpenCV reads.
        k: how many classes.
        weights: RGB weights with the 400-class top (a WEIGHTS name or a file).
        label_map: path to the 400 class names, one per line; None: the shipped kinetics400_labels.txt.
        num_frames: resample to this many evenly spaced frames; None: all frames (DeepMind used 79 for
            their sample; a long video costs time and memory in proportion).

    Returns:
        [(label, probability, logit)], most likely first.
    """
    frames = kinetics_frames(video_path)
    if num_frames is not None:
        frames = frames_downsample(frames, num_frames)
    if len(frames) < i3d.MIN_FRAMES:
        raise ValueError(f"{Path(video_path).resolve()} has {len(frames)} frames; I3D needs at least {i3d.MIN_FRAMES}")
    label_map = i3d.KINETICS_LABEL_FILE if label_map is None else Path(label_map)
    labels = read_label_map(label_map)
    if len(labels) != i3d.NUM_KINETICS_CLASSES:
        raise ValueError(f"Label map {label_map.resolve()} has {len(labels)} names; Kinetics-400 needs "
                         f"{i3d.NUM_KINETICS_CLASSES}, one per line")
    model = i3d.Inception_Inflated3d(include_top=True, weights=weights, input_shape=frames.shape, endpoint_logit=True)
    logits = np.asarray(model(frames[None], training=False))[0].astype(np.float64)
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    order = np.argsort(-logits)[:k]
    return [(labels[i], float(probs[i]), float(logits[i])) for i in order]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_set_arguments(parser, default=None)  # None: not given (an export then checks no set); "demo" below
    add_model_arguments(parser, "hands: the landmark network (python hands.py, train_i3d.py --stream hands)")
    parser.add_argument("--split", default="val", help="split folder to evaluate (train, val, test)")
    parser.add_argument("--video", type=Path, help="predict this one video instead of evaluating a split")
    parser.add_argument("--flow-method", choices=METHODS,
                        help="flow method for --video (default: the one the model was trained with, from its "
                             ".keras.json record; another one is refused)")
    parser.add_argument("--precision", choices=("auto", *PRECISIONS), default="auto",
                        help=PRECISION_HELP)
    parser.add_argument("--export", choices=tuple(modelexport.FORMATS),
                        help="write the .keras model(s) as <name>.onnx (onnxruntime) or <name>.tflite (litert) "
                             "beside them, with their .json record, checked against Keras on a random clip")
    parser.add_argument("--kinetics", type=Path, metavar="VIDEO",
                        help="print the top-5 Kinetics-400 classes of VIDEO with DeepMind's RGB I3D")
    parser.add_argument("--label-map", type=Path,
                        help="with --kinetics: a file of the 400 class names, one per line, in the model's output "
                             "order (default: kinetics400_labels.txt shipped here, DeepMind's order)")
    parser.add_argument(NO_RECORD_FLAG, action="store_true",
                        help="run (or export) a model that has no .keras.json record beside it: its classes, flow and "
                             "input size are then assumed, not checked (a warning says what is assumed)")
    args = parser.parse_args(argv)
    try:
        _run(args)
    except (FileNotFoundError, ValueError, OSError) as error:  # user errors: one line, exit 2
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def _check_video(path: Path) -> None:
    if not path.exists():
        raise FileNotFoundError(f"Video {path.resolve()} not found; give an existing video file")
    if not path.is_file():
        raise ValueError(f"{path.resolve()} is a folder, not a video; give one video file (or --set to evaluate a split)")


def _run(args) -> None:
    if args.kinetics:
        _check_video(args.kinetics)
        for label, prob, logit in kinetics_top_k(args.kinetics, k=5, label_map=args.label_map):
            print(f"{prob:.6f} {logit:10.4f} {label}")
        return
    if args.video:
        _check_video(args.video)
    explicit_set = args.set is not None
    if not explicit_set:
        args.set = "demo"
    video_set = set_from_args(args)
    if args.export:
        # An explicit --model is checked against the set only when --set is given too (exporting needs no set).
        against = explicit_set or not args.model
        classes = VideoClasses(video_set.class_file) if against else None

        def check(checkpoint: Path, info: dict | None) -> None:
            check_record(checkpoint, info, video_set if against else None, classes, ("num_frames", "min_dim_px", "crop_px"),
                         allow_no_record=args.no_record_check)

        for checkpoint in args.model or find_models(video_set, streams=args.stream or I3D_STREAMS):
            target, difference = modelexport.export_checkpoint(checkpoint, args.export, check=check)
            print(f"Exported {target.resolve()} (max |p - Keras p| {difference:.1e} on a random clip); "
                  f"predict.py and livedemo.py run it with --model {target}")
        return
    warn_precision(args.precision)
    predictor = Predictor(args.model or find_models(video_set, streams=args.stream or I3D_STREAMS), args.precision,
                          args.views)
    if any(path.suffix == ".keras" for path in predictor.paths):
        computing = f"computing in {predictor.precision}; --precision sets it"
    else:
        computing = "exported: computes in float32 (--precision applies to .keras models only)"
    print(f"Models: {', '.join(str(p.resolve()) for p in predictor.paths)} ({computing})")
    classes = VideoClasses(video_set.class_file)
    if args.video:
        predictor.check_set(video_set, classes, split=False, allow_no_record=args.no_record_check)
        result = predict_video(args.video, predictor, video_set, classes, predictor.flow_method(args.flow_method))
        for label, description, prob in result["top"]:
            print(f"{prob:7.1%}  {label:<20} {description}")
        print("  " + ", ".join(f"{k[:-2]} {v * 1000:.0f} ms" for k, v in result["timing"].items()))
        return
    print(f"Evaluating {predictor.describe()} on split {args.split} of {video_set.video_dir}")
    result = evaluate(video_set, predictor, args.split, video_set.log_dir / evaluation_name(predictor),
                      allow_no_record=args.no_record_check)
    print_evaluation(result, "+".join(predictor.streams))


def evaluation_name(predictor: Predictor) -> str:
    """The file name stem of predict.py's evaluation outputs: the checkpoint's own name
    (`<stamp>-demo010-flow-i3d-entire-best`, `...-entire-best-onnx` for an export, `...-flow+rgb-i3d-...` for
    two streams), so that it never overwrites the pipeline's `log/<stamp>-demo010-flow-<split>-...` files."""
    path = predictor.paths[0]
    name = path.stem if path.suffix == ".keras" else f"{path.stem}-{path.suffix[1:]}"
    if len(predictor.streams) > 1:
        name = name.replace(f"-{predictor.streams[0]}-i3d-", f"-{'+'.join(predictor.streams)}-i3d-")
    return name


if __name__ == "__main__":
    sys.exit(main())
