"""Evaluate trained I3D models on a split, predict the sign in one video, or classify a video into Kinetics-400.

    python predict.py --set demo --split val
    python predict.py --set demo --video data-set/demo/010/val/circle_cw/s07_0000.avi
    python predict.py --kinetics VIDEO
    python predict.py --set demo --export onnx        (or litert; then --model X.onnx runs it)

Models are the .keras files train_i3d.py saved (default: the newest `entire-best` of each stream for the
set), or their .onnx / .tflite exports (`--export`, modelexport.py: written beside the .keras file with a
copy of its .keras.json record, run with onnxruntime / ai-edge-litert instead of TensorFlow). With a flow and an RGB model the two streams are fused by averaging their logits, as DeepMind's I3D
does. Evaluation writes a per-class accuracy CSV, a confusion-matrix PNG and lists the most frequent
confusions, next to the training log in log/. `--kinetics` classifies any video into the 400 Kinetics
classes with DeepMind's RGB I3D (their evaluate_sample.py preprocessing) and prints their names from
kinetics400_labels.txt (shipped here; `--label-map` gives another file).
"""
import tfquiet; tfquiet.install()  # before any TF import: holds back its benign start-up lines
import argparse
import re
import sys
import time
from pathlib import Path

import numpy as np

import frame
import model_i3d
import modelexport
import modelinfo
import opticalflow
from safeio import atomic_write
from videoset import STREAM_CHANNELS, VideoClasses, VideoSet, add_set_arguments, set_from_args, split_clips

# Keras, TensorFlow, pandas and the data generator are imported inside the functions that use them, so
# that `python predict.py --help` starts at once (TensorFlow takes ~5 s to import).


def model_stream(model) -> str:
    """'flow' for 2 input channels, 'rgb' for 3."""
    channels = model.input_shape[-1]
    if channels not in (2, 3):
        raise ValueError(f"Model {model.name} takes {channels} input channels; an I3D here takes 2 (flow) or 3 (rgb)")
    return "flow" if channels == 2 else "rgb"


def find_models(video_set: VideoSet, which: str = "entire-best") -> list[Path]:
    """The newest `<which>` checkpoint of each stream trained on this set."""
    found = []
    for stream in ("flow", "rgb"):
        candidates = sorted(video_set.model_dir.glob(f"*-{video_set.tag}-{stream}-i3d-{which}.keras"))
        if candidates:
            found.append(candidates[-1])
    if not found:
        raise FileNotFoundError(
            f"No trained model for {video_set.tag} in {video_set.model_dir.resolve()} "
            f"(looked for *-{video_set.tag}-{{flow,rgb}}-i3d-{which}.keras); "
            "run `make demo` or `python train_i3d.py` first"
        )
    return found


# --precision -> the Keras dtype policy the network computes in (its weights stay float32).
PRECISIONS = {"float32": "float32", "bfloat16": "mixed_bfloat16"}
PRECISION_HELP = ("compute dtype of the network: auto = bfloat16 where the CPU has it natively (AVX512_BF16/AMX; "
                  "same demo top-1, ~0.55x the time), float32 elsewhere; python bench_i3d.py --precision compares "
                  "both here")


class Predictor:
    """One or two trained I3D models (flow, rgb) behind one call that returns fused class probabilities.

    Calls each model through a tf.function in inference mode: bench_i3d.py measured `predict()` ~100 ms
    slower per clip at the demo size, as it sets up a data pipeline for every call.
    """

    def __init__(self, model_paths, precision: str = "float32"):
        """Args:
            model_paths: one model per stream: a .keras checkpoint, or its .onnx / .tflite export
                (`--export`; run with onnxruntime / ai-edge-litert, TensorFlow is then not imported).
            precision: "float32", or "bfloat16" to compute in bfloat16 (model_i3d.with_compute_dtype); fast
                only where the CPU has it natively (model_i3d.cpu_has_bf16), emulated and slower elsewhere.
                Exported models compute in float32 whatever is asked ("bfloat16" with one is refused).
        """
        self.paths = [Path(p) for p in model_paths]
        suffixes = [modelexport.check_model_suffix(path) for path in self.paths]  # an unknown one is refused first
        exported = [path for path, suffix in zip(self.paths, suffixes) if suffix != ".keras"]
        if exported and precision == "bfloat16":
            raise ValueError(f"{exported[0]} is an exported model and computes in float32; --precision bfloat16 "
                             "applies to .keras models only (leave --precision at auto or float32)")
        if ".keras" in suffixes:
            precision = model_i3d.resolve_precision(precision)
        elif precision == "auto":
            precision = "float32"
        if precision not in PRECISIONS:
            raise ValueError(f"precision={precision!r}; choose one of {', '.join(PRECISIONS)}")

        self.precision = precision  # "float32" or "bfloat16", "auto" resolved
        self.models = {}  # stream -> a Keras model, or a modelexport runtime (same input/output shapes)
        self.infos = {}  # stream -> the checkpoint's modelinfo record ({} when it has none)
        self._forward = {}  # stream -> (batch, t, h, w, c) float32 -> probabilities as numpy
        for path, suffix in zip(self.paths, suffixes):
            if not path.is_file():
                raise FileNotFoundError(f"Model file {path} not found; train one with `python train_i3d.py`")
            if suffix == ".keras":
                model, forward = self._load_keras(path, precision)
            else:
                model = modelexport.load_exported(path)
                forward = model
            stream = model_stream(model)
            try:
                self.infos[stream] = modelinfo.read_model_info(path)
            except FileNotFoundError:  # trained before models recorded a description: nothing to check
                self.infos[stream] = {}
            if stream in self.models:
                raise ValueError(f"Two {stream} models given ({path}); give at most one per stream")
            self.models[stream] = model
            self._forward[stream] = forward
        shapes = {tuple(m.input_shape[1:4]) for m in self.models.values()}
        classes = {m.output_shape[-1] for m in self.models.values()}
        if len(shapes) > 1 or len(classes) > 1:
            raise ValueError(f"The models {[str(p) for p in self.paths]} differ in input size or class count; "
                             "fuse only models trained on the same VideoSet")
        self.num_frames, self.height, self.width = shapes.pop()
        self.num_classes = classes.pop()

    @staticmethod
    def _load_keras(path: Path, precision: str):
        """A .keras checkpoint computing in `precision`, and its forward: a tf.function in inference mode."""
        import tensorflow as tf  # see the note below the imports

        try:
            model = model_i3d.load_model(path, compile=False)
        except Exception as error:  # zipfile/h5py/json errors, and Keras' "File not found" for a bad zip
            raise ValueError(f"Model file {path.resolve()} is not a readable Keras model ({type(error).__name__}; "
                             "truncated, empty or not a .keras file); give a .keras file that train_i3d.py "
                             "saved, or train again") from error
        model_stream(model)  # 2 or 3 channels, before any copy is made
        if model_i3d.compute_policies(model) != {PRECISIONS[precision]}:  # e.g. trained with --precision bfloat16
            model = model_i3d.with_compute_dtype(model, PRECISIONS[precision])
        call = tf.function(model, reduce_retracing=True)

        def forward(x):
            return call(x, training=False).numpy()

        return model, forward

    @property
    def streams(self) -> tuple[str, ...]:
        return tuple(self.models)

    def blank_inputs(self) -> dict:
        """stream -> a batch of one all-zero clip of the models' input shape (to warm up or time a call)."""
        return {s: np.zeros((1, self.num_frames, self.height, self.width, STREAM_CHANNELS[s]), np.float32)
                for s in self.streams}

    def flow_method(self, requested: str | None = None) -> str:
        """The flow to compute for this model: the one it was trained on (its modelinfo record).

        Args:
            requested: a --flow-method the user gave; None takes the recorded one (tvl1-fast, the seed's,
                for a model without a record).

        Raises:
            ValueError: `requested` differs from the recorded method (the model would see flow it never saw).
        """
        if "flow" not in self.models:
            return requested or "tvl1-fast"  # no flow stream: nothing computes flow
        recorded = self.infos["flow"].get("flow_method")
        if requested is None:
            return recorded or "tvl1-fast"
        modelinfo.check_flow_method(self.infos["flow"], requested, self.paths[self.streams.index("flow")])
        return requested

    def __call__(self, inputs: dict) -> np.ndarray:
        """Class probabilities (batch, num_classes), fused over streams.

        Args:
            inputs: stream -> (batch, num_frames, h, w, channels) float32 in [-1, 1].
        """
        log_probs = []
        for stream in self.models:
            probs = np.asarray(self._forward[stream](inputs[stream]), np.float64)
            # Averaging log-probabilities equals averaging logits up to a per-model constant, which the
            # softmax below cancels: the fusion DeepMind uses for two-stream I3D.
            log_probs.append(np.log(np.clip(probs, 1e-12, 1.0)))
        fused = np.mean(log_probs, axis=0)
        fused = np.exp(fused - fused.max(axis=-1, keepdims=True))
        return fused / fused.sum(axis=-1, keepdims=True)


def clip_inputs(frames: np.ndarray, streams, num_frames: int, crop_px: int, flow_method: str = "tvl1-fast") -> dict:
    """Network inputs from resized video frames (n, h, w, 3) uint8 BGR, prepared exactly as for training:
    resample to num_frames, flow on those frames, center crop.

    Returns:
        stream -> (1, num_frames, crop_px, crop_px, channels) float32 in [-1, 1].
    """
    frames = frame.frames_downsample(frames, num_frames)
    inputs = {}
    if "flow" in streams:
        flows = opticalflow.frames_to_flows(frames, method=flow_method)
        inputs["flow"] = frame.frames_crop(flows, crop_px, crop_px)[None].astype(np.float32)
    if "rgb" in streams:
        rgb = frame.bgr_to_model_rgb(frame.frames_crop(frames, crop_px, crop_px))
        inputs["rgb"] = rgb[None].astype(np.float32)
    return inputs


def top_k(probs: np.ndarray, classes: VideoClasses, k: int = 3) -> list[tuple[str, str, float]]:
    """(label, description, probability) of the k most probable classes of one clip."""
    order = np.argsort(probs)[::-1][:k]
    return [(classes.classes[i], classes.description(int(i)), float(probs[i])) for i in order]


def predict_video(video_path, predictor: Predictor, video_set: VideoSet, classes: VideoClasses,
                  flow_method: str = "tvl1-fast", k: int = 3) -> dict:
    """Read -> frames -> flow -> model for one video; returns top-k and the time of each step in seconds."""
    timing = {}
    start = time.perf_counter()
    frames = frame.video_to_frames(video_path, min_dim_px=video_set.min_dim_px)
    timing["read_s"] = time.perf_counter() - start
    start = time.perf_counter()
    inputs = clip_inputs(frames, predictor.streams, predictor.num_frames, predictor.height, flow_method)
    timing["flow_s"] = time.perf_counter() - start
    start = time.perf_counter()
    probs = predictor(inputs)[0]
    timing["model_s"] = time.perf_counter() - start
    return {"video": str(video_path), "top": top_k(probs, classes, k), "timing": timing}


def evaluate(video_set: VideoSet, predictor: Predictor, split: str = "val", out_prefix: Path | None = None,
             batch_size: int = 4) -> dict:
    """Top-1/top-5 accuracy on a split; writes <out_prefix>-<split>-{classes.csv,confusion.png}.

    Returns:
        dict with top1, top5, num_clips, per_class (DataFrame), confusions (list of (true, predicted, count)),
        csv and png paths, predictions (n,) and labels (n,).
    """
    from batches import FramesGenerator  # see the note below the imports

    classes = VideoClasses(video_set.class_file)
    if len(classes) != predictor.num_classes:
        raise ValueError(f"{video_set.class_file} lists {len(classes)} classes but the model predicts "
                         f"{predictor.num_classes}; evaluate with the VideoSet the model was trained on")
    generators = {}
    listed = split_clips(video_set.video_dir, split)  # folders of videos gone from the set stay out
    for stream in predictor.streams:
        data_dir = (video_set.flow_dir if stream == "flow" else video_set.image_dir) / split
        generators[stream] = FramesGenerator(data_dir, classes, stream, predictor.num_frames, predictor.height,
                                             batch_size, shuffle=False, augment=False, listed=listed)
    first = generators[predictor.streams[0]]
    relative = [p.relative_to(p.parents[1]) for p, _ in first.samples]
    for stream, generator in generators.items():
        if [p.relative_to(p.parents[1]) for p, _ in generator.samples] != relative:
            raise ValueError(f"The {stream} folders of split {split} hold other videos than the "
                             f"{predictor.streams[0]} folders; re-run frame.py and opticalflow.py")
    probs = np.concatenate([predictor({s: g[i][0] for s, g in generators.items()}) for i in range(len(first))])
    return classification_report(probs, first.labels, classes, out_prefix, split)


def classification_report(probs: np.ndarray, labels: np.ndarray, classes: VideoClasses,
                          out_prefix: Path | None = None, split: str = "val") -> dict:
    """Top-1/top-5, confusion matrix and per-class accuracy of predicted probabilities (n, num_classes).

    Writes <out_prefix>-<split>-{classes.csv,confusion.png} when out_prefix is given.

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
        run = re.sub(r"^\d{8}-\d{6}-", "", out_prefix.name)  # the title fits without the time stamp
        plot_confusion(confusion, classes.classes, result["png"], f"{run} {split}: top-1 {result['top1']:.1%}")
    return result


def plot_confusion(confusion: np.ndarray, names, png_file: Path, title: str):
    """Confusion matrix (rows true, columns predicted) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    size = max(5.0, 0.35 * len(names) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(confusion, cmap="Blues")
    if len(names) <= 40:
        ax.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
        ax.set_yticks(range(len(names)), names, fontsize=7)
        for (t, p), count in np.ndenumerate(confusion):
            if count:
                ax.text(p, t, str(count), ha="center", va="center", fontsize=6,
                        color="white" if count > confusion.max() / 2 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
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


# ---- Kinetics-400 classification of any video --------------------------------------------------------

def read_label_map(path: Path = model_i3d.KINETICS_LABEL_FILE) -> list[str]:
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
    frames = frame.video_to_frames(Path(video_path), min_dim_px=None)  # (n, h, w, 3) uint8 BGR
    if min(frames.shape[1:3]) != crop_px:
        frames = frame.frames_resize_min_side(frames, 256)
    frames = frame.frames_crop(frames, crop_px, crop_px)
    return frame.bgr_to_model_rgb(frames)


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
        frames = frame.frames_downsample(frames, num_frames)
    if len(frames) < model_i3d.MIN_FRAMES:
        raise ValueError(f"{Path(video_path).resolve()} has {len(frames)} frames; I3D needs at least {model_i3d.MIN_FRAMES}")
    label_map = model_i3d.KINETICS_LABEL_FILE if label_map is None else Path(label_map)
    labels = read_label_map(label_map)
    if len(labels) != model_i3d.NUM_KINETICS_CLASSES:
        raise ValueError(f"Label map {label_map.resolve()} has {len(labels)} names; Kinetics-400 needs "
                         f"{model_i3d.NUM_KINETICS_CLASSES}, one per line")
    model = model_i3d.Inception_Inflated3d(include_top=True, weights=weights, input_shape=frames.shape, endpoint_logit=True)
    logits = np.asarray(model(frames[None], training=False))[0].astype(np.float64)
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    order = np.argsort(-logits)[:k]
    return [(labels[i], float(probs[i]), float(logits[i])) for i in order]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_set_arguments(parser)
    parser.add_argument("--model", type=Path, nargs="+",
                        help="trained model(s), one per stream: .keras, or an .onnx / .tflite export of one; "
                             "default the newest entire-best .keras of each")
    parser.add_argument("--split", default="val", help="split folder to evaluate (train, val, test)")
    parser.add_argument("--video", type=Path, help="predict this one video instead of evaluating a split")
    parser.add_argument("--flow-method", choices=opticalflow.METHODS,
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
    video_set = set_from_args(args)
    if args.export:
        for checkpoint in args.model or find_models(video_set):
            target, difference = modelexport.export_checkpoint(checkpoint, args.export)
            print(f"Exported {target.resolve()} (max |p - Keras p| {difference:.1e} on a random clip); "
                  f"predict.py and livedemo.py run it with --model {target}")
        return
    model_i3d.warn_precision(args.precision)
    predictor = Predictor(args.model or find_models(video_set), args.precision)
    print(f"Models: {', '.join(str(p.resolve()) for p in predictor.paths)} (computing in {predictor.precision}; "
          "--precision sets it)")
    classes = VideoClasses(video_set.class_file)
    if args.video:
        result = predict_video(args.video, predictor, video_set, classes, predictor.flow_method(args.flow_method))
        for label, description, prob in result["top"]:
            print(f"{prob:7.1%}  {label:<20} {description}")
        print("  " + ", ".join(f"{k[:-2]} {v * 1000:.0f} ms" for k, v in result["timing"].items()))
        return
    stem = predictor.paths[0].name.split("-i3d-")[0]
    result = evaluate(video_set, predictor, args.split, video_set.log_dir / stem)
    print_evaluation(result, "+".join(predictor.streams))


if __name__ == "__main__":
    sys.exit(main())
