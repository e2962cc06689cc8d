"""A trained model ready to predict: finds a set's checkpoints, loads .keras/.onnx/.tflite, turns clips into probabilities.

With a flow and an RGB model the two streams are fused by averaging their log-probabilities, as DeepMind's
I3D does; a hands model (signlang/handsnet.py: landmark sequences in, the same classes out) joins that average
with the same weight, one stream among equals. Used by predict.py, livedemo.py and the benchmarks. TensorFlow and Keras are imported only when a
.keras model is loaded: an exported model runs with onnxruntime / ai-edge-litert alone.

Wherever a model meets a set or a video (predict.py --split/--video/--export, livedemo.py, the pipeline's
evaluation through predict.evaluate) it is checked against that set in one place, `check_record` (through
`Predictor.check_set`): the classes of its modelinfo record (names, order, count) against the set's class.csv,
its input size and, for precomputed flow, its flow method against the set's. A mismatch is refused in one line
naming both. A model without a record (or a record without classes) is refused too, unless the caller passes
allow_no_record (the scripts' --no-record-check, NO_RECORD_FLAG): then it runs with a warning that says what is
assumed. Loading (Predictor) itself checks nothing against a set: the benchmarks run bare untrained models.
"""
import sys
import time
from pathlib import Path

import numpy as np

from signlang import handsnet, modelexport, modelinfo, preview
from signlang.clips import temporal_jitter
from signlang.flow import SEED_FLOW_METHOD, frames_to_flows
from signlang.fullrecipe import recipe_models
from signlang.hands import hand_features, video_landmarks
from signlang.precision import PRECISIONS, compute_policies, resolve_precision, with_compute_dtype
from signlang.stemconv import load_model
from signlang.video import bgr_to_model_rgb, frames_crop, frames_downsample, video_to_frames
from signlang.videoset import STREAM_CHANNELS, VideoClasses, VideoSet


STREAMS = ("flow", "rgb", "hands")  # every stream a model can be trained on
I3D_STREAMS = ("flow", "rgb")  # find_models' default: the streams predict.py and livedemo.py fused before hands


def model_stream(model) -> str:
    """'flow' for 2 input channels, 'rgb' for 3; 'hands' for a sequence of landmark features (batch, frames, f)."""
    if len(model.input_shape) == 3:
        return "hands"
    channels = model.input_shape[-1]
    if channels not in (2, 3):
        raise ValueError(f"Model {model.name} takes {channels} input channels; an I3D here takes 2 (flow) or 3 (rgb)")
    return "flow" if channels == 2 else "rgb"


# Test-time averaging: each I3D stream sees several views of a clip and their log-probabilities are averaged. A view
# is one of 3 crops across the resized frame (at the start, centre and end of its longer side) shifted in time by
# -1, 0 or +1 frame (the edge frame repeated, as training's temporal jitter does). On the fast recipe's models of
# 2026-12-06 (Adam 3e-4, held-out clips, 3 seeds each; docs/training.md, "Test-time averaging") the hard own-signs
# stand-in scored 59.3 % with one view, 70.4 % with the 3 time shifts and 72.8 % with all 9; on tvl1-steady flow
# 65.4, 75.3 and 85.2 %; the plain stand-in 88.9, 96.3 and 96.3 %. The scripts' --views chooses.
TIME_SHIFTS = (-1, 0, 1)
VIEWS = {1: ((0,), 1), 3: (TIME_SHIFTS, 1), 9: (TIME_SHIFTS, 3)}  # views per clip -> (time shifts, crops)
TEST_VIEWS = 9
STAMP_CHARS = len("20261206-120000")  # a model's name starts with its run's time stamp
SINGLE_VIEW = 1
NO_RECORD_FLAG = "--no-record-check"  # the scripts' option that runs a model without its record (allow_no_record)


def _run_progress(state: dict) -> str:
    """How far an unfinished run got, from its state file: "unfinished: 5 of 24 epochs, phases done: above"."""
    total = (state.get("epochs_above") or 0) + (state.get("epochs_entire") or 0)
    done = (state.get("resume") or {}).get("epochs", 0)
    return (f"unfinished: {done} of {total or '?'} epochs trained, phases done: "
            f"{', '.join(state.get('phases_done') or ()) or 'none'}")


def add_model_arguments(parser, stream_note: str) -> None:
    """--model and --stream, as predict.py and livedemo.py take them; `stream_note` ends --stream's help."""
    parser.add_argument("--model", type=Path, nargs="+", metavar="MODEL",
                        help="one model per stream (flow, rgb, hands): .keras, or an .onnx / .tflite export of one "
                             "(predict.py --export); default the newest finished model of each stream of --set")
    parser.add_argument("--stream", nargs="+", choices=STREAMS, default=None,
                        help="without --model: the streams whose newest models to use, fused by averaging "
                             f"log-probabilities (default flow and rgb, those trained); {stream_note}")
    parser.add_argument("--views", type=int, choices=sorted(VIEWS), default=TEST_VIEWS,
                        help="forward passes per clip whose predictions are averaged: 9 = 3 crops across the frame x "
                             "the clip shifted by -1, 0, +1 frame; 3 = the shifts of the centre crop; 1 = the centre "
                             "crop once (9x less network time than 9, less accurate)")


def crop_offsets(height: int, width: int, crop_h: int, crop_w: int, crops: int) -> list[tuple[int, int]]:
    """Top-left corners (y, x) of the crops a clip of height x width is seen through: the centre crop, and with
    crops=3 also the crops at both ends of the side with more room (the other side centred). A frame no larger
    than the crop has one."""
    if crops not in (1, 3):
        raise ValueError(f"crops={crops}; choose 1 or 3")
    if crop_h > height or crop_w > width:
        raise ValueError(f"A clip of {height}x{width} px is smaller than the model's {crop_h}x{crop_w} input; give "
                         "clips resized to the set's size (frame.py, the set's --min-dim)")
    cy, cx = (height - crop_h) // 2, (width - crop_w) // 2
    if crops == 1:
        return [(cy, cx)]
    ends = [(cy, 0), (cy, width - crop_w)] if width - crop_w >= height - crop_h else [(0, cx), (height - crop_h, cx)]
    return list(dict.fromkeys([ends[0], (cy, cx), ends[1]]))


def shifted(x: np.ndarray, shift: int) -> np.ndarray:
    """Clips (batch, frames, ...) shifted in time by `shift` frames, the edge frame repeated (training's
    temporal_jitter, clip by clip)."""
    return x if shift == 0 else np.stack([temporal_jitter(clip, shift) for clip in x])


def find_models(video_set: VideoSet, which: str = "entire-best", out=None, streams=I3D_STREAMS) -> list[Path]:
    """The `<which>` checkpoint of the newest *finished* run of each of `streams` trained on this set.

    A model of the fast recipe (train_i3d.py's default, model/<stamp>-<tag>-<stream>-i3d-fast.keras) newer than that
    run is taken instead: whichever recipe trained last wins.
    A preview model (signlang/preview.py) newer than either is taken while its run trains, with a note on `out`.
    A run is finished when its state file (model/<run>-state.json, train_i3d.py) lists both phases as done; a
    checkpoint without a state file (copied, or trained before runs kept one) counts as finished. A newer
    unfinished run (stopped with Ctrl-C, or still training) is skipped with a note on `out` (stderr); when a
    stream has no finished run, its newest unfinished one is used with a warning saying so and why.
    """
    out = sys.stderr if out is None else out
    found = []
    for stream in streams:
        if stream == "hands":
            hands = handsnet.find_checkpoint(video_set, which.split("-")[-1])
            if hands is not None and not hands[1]:
                print(f"warning: using {hands[0].resolve()} of an UNFINISHED hands run because none of "
                      f"{video_set.tag} has finished; run the training command again to finish it, or give --model",
                      file=out)
            found += [hands[0]] if hands is not None else []
            continue
        candidates = sorted(video_set.model_dir.glob(f"*-{video_set.tag}-{stream}-i3d-{which}.keras"), reverse=True)
        chosen, unfinished = None, []
        for path in candidates:
            try:
                state = modelinfo.run_state(path)
            except ValueError as error:  # a damaged state file: not known to be finished
                unfinished.append((path, str(error)))
                continue
            if state is None or modelinfo.run_finished(state):
                chosen = path
                break
            unfinished.append((path, _run_progress(state)))
        fast = recipe_models(video_set, stream, "fast")
        if fast and which.startswith("entire") and (chosen is None or fast[-1].name > chosen.name):
            chosen, unfinished = fast[-1], []  # the fast recipe's model, newer than any finished full run
        previews = preview.preview_models(video_set, stream) if which.startswith("entire") else []
        if previews and (chosen is None or previews[-1].name[:STAMP_CHARS] > chosen.name[:STAMP_CHARS]):
            chosen, unfinished = previews[-1], []
            print(f"note: using the preview model {chosen.name} (a linear layer on the I3D's frozen part, fitted in "
                  "seconds): the fast recipe's trained model of this run is not saved yet (still training, or "
                  "stopped); livedemo.py switches to it when it is", file=out)
        if chosen is None and unfinished:
            chosen, why = unfinished[0]
            print(f"warning: using {chosen.resolve()} of an UNFINISHED run ({why}) because no {stream} run of "
                  f"{video_set.tag} has finished; its accuracy is that of a run stopped early: run the training "
                  "command again to finish it, or give --model", file=out)
        elif unfinished:
            print(f"note: skipped the newer unfinished {stream} run{'s' if len(unfinished) > 1 else ''} "
                  f"{', '.join(path.name.split('-i3d-')[0] for path, _ in unfinished)} ({unfinished[0][1]}); "
                  f"using the newest finished run, {chosen.name} (--model picks another)", file=out)
        if chosen is not None:
            found.append(chosen)
    if not found:
        names = [f"*-{video_set.tag}-{s}-{'net' if s == 'hands' else 'i3d'}-{which}.keras" for s in streams]
        raise FileNotFoundError(
            f"No trained model for {video_set.tag} in {video_set.model_dir.resolve()} "
            f"(looked for {', '.join(names)}); "
            "run `make demo` or `python train_i3d.py" + (" --stream hands" if "hands" in streams else "") + "` first"
        )
    return found


def _names(classes: list[str], limit: int = 8) -> str:
    shown = ", ".join(classes[:limit])
    return f"{shown}, ... ({len(classes)} in all)" if len(classes) > limit else shown


def check_record(path: Path, info: dict | None, video_set: VideoSet | None = None, classes: VideoClasses | None = None,
                 sizes=("num_frames", "min_dim_px", "crop_px"), data_flow_method: str | None = None,
                 allow_no_record: bool = False, out=None) -> None:
    """Refuses a model whose record does not fit the set it is used with (one line naming both).

    Compares the record's classes (names, order, count) with `classes` (the set's class.csv), the record's
    `sizes` (num_frames, min_dim_px, crop_px) with `video_set`'s, and for a flow model the recorded flow method
    with `data_flow_method` (the method of precomputed flow it will read; None: the flow is computed for it).

    Args:
        path: the model file (named in messages).
        info: its modelinfo record; None or {} when it has none.
        video_set, classes: the set it meets; None checks only that a record exists (export without --set).
        allow_no_record: run a model without a record (or one without classes) with a warning on `out` (stderr)
            instead of refusing it (the scripts' --no-record-check).

    Raises:
        ValueError: no record (without allow_no_record), or a mismatch.
    """
    path = Path(path)
    record = modelinfo.info_path(path)
    against = f" against {classes.class_file}" if classes is not None else ""
    if not info or "classes" not in info:
        what = f"{record} lacks the classes" if info else f"{path.name} has no record {record.name} beside it"
        if not allow_no_record:
            raise ValueError(f"{what}, so its classes, flow and input size cannot be checked{against}; copy the "
                             f"record beside it (train_i3d.py writes one with every checkpoint), retrain, or pass "
                             f"{NO_RECORD_FLAG} to run it unchecked")
        flow = (info or {}).get("flow_method") or SEED_FLOW_METHOD
        print(f"warning: {what}; running it unchecked ({NO_RECORD_FLAG}): its outputs are taken to be the classes "
              f"of {classes.class_file if classes is not None else 'class.csv'} in sorted order"
              + (f", its flow {flow} (--flow-method sets it)" if (info or {}).get("stream", "flow") != "rgb" else ""),
              file=sys.stderr if out is None else out)
        return
    if classes is not None:
        recorded, listed = [str(c) for c in info["classes"]], list(classes.classes)
        if recorded != listed:
            added, missing = sorted(set(listed) - set(recorded)), sorted(set(recorded) - set(listed))
            detail = "; ".join(part for part in (f"class.csv adds {added}" if added else "",
                                                 f"class.csv lacks {missing}" if missing else "") if part) \
                or "the same names in another order"
            trained_on = (info.get("set") or {}).get("video_dir")
            raise ValueError(f"{path.name} was trained on {len(recorded)} classes ({_names(recorded)}) but "
                             f"{classes.class_file} lists {len(listed)} ({_names(listed)}): {detail}; use the set it "
                             f"was trained on" + (f" (--set {trained_on})" if trained_on else "")
                             + " or retrain on this one")
    if video_set is not None:
        differ = [f"{key} {info[key]} (set: {getattr(video_set, key)})" for key in sizes
                  if key in info and info[key] != getattr(video_set, key)]
        if differ:
            raise ValueError(f"{path.name} was trained on other clips than set {video_set.tag} "
                             f"({video_set.video_dir}) gives: {', '.join(differ)}; give the set's size options "
                             "(--num-frames, --min-dim, --crop, --size) as trained, or retrain")
    trained = info.get("flow_method")
    if data_flow_method and trained and info.get("stream") in ("flow", "both") and trained != data_flow_method:
        raise ValueError(f"{path.name} was trained on {trained} flow but the set's flow folder holds "
                         f"{data_flow_method} flow; recompute it with `python opticalflow.py --method {trained}` "
                         "or retrain on this flow")


class Predictor:
    """One or two trained I3D models (flow, rgb) behind one call that returns fused class probabilities.

    Calls each model through a tf.function in inference mode: bench/i3d.py measured `predict()` ~100 ms
    slower per clip at the demo size, as it sets up a data pipeline for every call.
    """

    def __init__(self, model_paths, precision: str = "float32", views: int = TEST_VIEWS):
        """Args:
            model_paths: one model per stream: a .keras checkpoint, or its .onnx / .tflite export
                (`--export`; run with onnxruntime / ai-edge-litert, TensorFlow is then not imported).
            views: how many views of a clip each I3D stream averages (VIEWS: 9, 3 or 1); a hands model sees the
                clip once. The crops across the frame need the whole resized clip (a centre-cropped one has one).
            precision: "float32", or "bfloat16" to compute in bfloat16 (with_compute_dtype); fast
                only where the CPU has it natively (precision.cpu_has_bf16), emulated and slower elsewhere.
                Exported models compute in float32 whatever is asked ("bfloat16" with one is refused).
        """
        self.paths = [Path(p) for p in model_paths]
        if views not in VIEWS:
            raise ValueError(f"views={views!r}; choose one of {', '.join(map(str, sorted(VIEWS)))}")
        self.views = views
        self.shifts, self.crops = VIEWS[views]
        suffixes = [modelexport.check_model_suffix(path) for path in self.paths]  # an unknown one is refused first
        exported = [path for path, suffix in zip(self.paths, suffixes) if suffix != ".keras"]
        if exported and precision == "bfloat16":
            raise ValueError(f"{exported[0]} is an exported model and computes in float32; --precision bfloat16 "
                             "applies to .keras models only (leave --precision at auto or float32)")
        if ".keras" in suffixes:
            precision = resolve_precision(precision)
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
            modelexport.check_readable(path)
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
        # A hands model takes (frames, features): it must agree on the frames, the I3Ds on the whole clip size.
        frames = {m.input_shape[1] for m in self.models.values()}
        shapes = {tuple(m.input_shape[1:4]) for s, m in self.models.items() if s != "hands"}
        classes = {m.output_shape[-1] for m in self.models.values()}
        if len(frames) > 1 or len(shapes) > 1 or len(classes) > 1:
            raise ValueError(f"The models {[str(p) for p in self.paths]} differ in input size or class count; "
                             "fuse only models trained on the same VideoSet")
        self.num_frames, self.height, self.width = shapes.pop() if shapes else (frames.pop(), None, None)
        self.num_classes = classes.pop()

    @staticmethod
    def _load_keras(path: Path, precision: str):
        """A .keras checkpoint computing in `precision`, and its forward: a tf.function in inference mode."""
        import tensorflow as tf  # see the note below the imports

        try:
            model = load_model(path, compile=False)
        except Exception as error:  # zipfile/h5py/json errors, and Keras' "File not found" for a bad zip
            raise ValueError(f"Model file {path.resolve()} is not a readable Keras model ({type(error).__name__}; "
                             "truncated, empty or not a .keras file); give a .keras file that train_i3d.py "
                             "saved, or train again") from error
        model_stream(model)  # 2 or 3 channels, before any copy is made
        if compute_policies(model) != {PRECISIONS[precision]}:  # e.g. trained with --precision bfloat16
            model = with_compute_dtype(model, PRECISIONS[precision])
        call = tf.function(model, reduce_retracing=True)

        def forward(x):
            return call(x, training=False).numpy()

        return model, forward

    def check_set(self, video_set: VideoSet, classes: VideoClasses, split: bool = False,
                  allow_no_record: bool = False, out=None) -> None:
        """Refuses models that do not fit `video_set` and its `classes` (check_record, per model; one line).

        Args:
            split: True when the models read the set's precomputed clips (evaluation): then every input size and
                the flow folder's method must match; False for a video or camera (only the resize, min_dim_px:
                frames and flow are made for the model).
            allow_no_record: see check_record.

        Raises:
            ValueError: the class count differs from class.csv (checked even without a record), or check_record's.
        """
        data_flow = None
        if split and "flow" in self.models:
            data_flow = modelinfo.flow_method_of(modelinfo.read_flow_settings(video_set.flow_dir))
        for stream, path in zip(self.streams, self.paths):  # the records first: they name what differs
            if stream == "hands":  # landmarks are found at the video's own size: only the frames count
                sizes = ("num_frames",) if split else ()
            else:
                sizes = ("num_frames", "min_dim_px", "crop_px") if split else ("min_dim_px",)
            check_record(path, self.infos[stream], video_set, classes, sizes,
                         data_flow if stream == "flow" else None, allow_no_record, out)
        if self.num_classes != len(classes):
            raise ValueError(f"{self.paths[0].name} predicts {self.num_classes} classes but {classes.class_file} "
                             f"lists {len(classes)}; use the set the model was trained on (or its class.csv as it was)")
        if split and (self.num_frames, self.height or video_set.crop_px) != (video_set.num_frames, video_set.crop_px):
            raise ValueError(f"{self.paths[0].name} takes {self.num_frames} frames x {self.height} px but set "
                             f"{video_set.tag} has clips of {video_set.num_frames} x {video_set.crop_px}; give the "
                             "size options it was trained with (--num-frames, --crop, --size)")

    def describe(self) -> str:
        """Which checkpoint(s) these are, from their records: "x-entire-best.keras (best epoch 12 of 23, chosen
        on val_accuracy: optimistic on the clips it was chosen on)"."""
        parts = []
        for stream, path in zip(self.streams, self.paths):
            info = self.infos[stream]
            if info.get("which") == "best":
                what = (f"the best epoch, {info.get('epochs', '?')}, chosen on {info.get('selected_on') or 'val'}: "
                        "optimistic on the clips it was chosen on; the last epoch's -entire-last is the one to report")
            elif info.get("which") == "last":
                what = f"the last epoch, {info.get('epochs', '?')}"
            else:
                what = "no record of its epoch"
            parts.append(f"{path.name} ({what})")
        return "; ".join(parts)

    @property
    def streams(self) -> tuple[str, ...]:
        return tuple(self.models)

    def blank_inputs(self) -> dict:
        """stream -> a batch of one all-zero clip of the models' input shape (to warm up or time a call)."""
        return {s: np.zeros((1, *self.models[s].input_shape[1:]) if s == "hands" else
                            (1, self.num_frames, self.height, self.width, STREAM_CHANNELS[s]), np.float32)
                for s in self.streams}

    def flow_method(self, requested: str | None = None) -> str:
        """The flow to compute for this model: the one it was trained on (its modelinfo record).

        Args:
            requested: a --flow-method the user gave; None takes the recorded one (SEED_FLOW_METHOD, the seed's
                tvl1-fast, for a model without a record).

        Raises:
            ValueError: `requested` differs from the recorded method (the model would see flow it never saw).
        """
        if "flow" not in self.models:
            return requested or SEED_FLOW_METHOD  # no flow stream: nothing computes flow
        recorded = self.infos["flow"].get("flow_method")
        if requested is None:
            return recorded or SEED_FLOW_METHOD
        modelinfo.check_flow_method(self.infos["flow"], requested, self.paths[self.streams.index("flow")])
        return requested

    def __call__(self, inputs: dict) -> np.ndarray:
        """Class probabilities (batch, num_classes), fused over streams and each I3D stream's views (self.views).

        Args:
            inputs: stream -> (batch, num_frames, h, w, channels) float32 in [-1, 1], h and w at least the models'
                input (the whole resized clip: the views' crops are taken here); "hands": (batch, num_frames,
                features), hands.hand_features of the clip's landmarks.
        """
        log_probs = []
        for stream in self.models:
            views = self.view_clips(inputs[stream]) if stream in I3D_STREAMS else [inputs[stream]]
            # all views in one call: 0.78 s against 0.89 s for 9 calls (16 x 128 x 171 flow, AMD EPYC, 2026-12-06)
            probs = np.asarray(self._forward[stream](np.concatenate(views)), np.float64)
            probs = probs.reshape(len(views), -1, probs.shape[-1])  # (views, batch, classes)
            # Averaging log-probabilities equals averaging logits up to a per-model constant, which the
            # softmax below cancels: the fusion DeepMind uses for two-stream I3D (and here for the views).
            log_probs.append(np.log(np.clip(probs, 1e-12, 1.0)).mean(axis=0))
        fused = np.mean(log_probs, axis=0)
        fused = np.exp(fused - fused.max(axis=-1, keepdims=True))
        return fused / fused.sum(axis=-1, keepdims=True)

    def view_clips(self, x: np.ndarray) -> list[np.ndarray]:
        """The views of clips (batch, frames, h, w, c) an I3D stream sees: each crop (crop_offsets) at each time
        shift."""
        offsets = crop_offsets(x.shape[2], x.shape[3], self.height, self.width, self.crops)
        return [shifted(frames_crop(x, self.height, self.width, offset), shift)
                for offset in offsets for shift in self.shifts]


PROB_DIGITS = 4  # probabilities as printed: 0.9731


def clip_inputs(frames: np.ndarray, streams, num_frames: int, flow_method: str = SEED_FLOW_METHOD) -> dict:
    """Network inputs from resized video frames (n, h, w, 3) uint8 BGR, prepared as for training: resample to
    num_frames, flow on those frames; not cropped (the Predictor takes its views' crops).

    Returns:
        stream -> (1, num_frames, h, w, channels) float32 in [-1, 1].
    """
    frames = frames_downsample(frames, num_frames)
    inputs = {}
    if "flow" in streams:
        inputs["flow"] = frames_to_flows(frames, method=flow_method)[None].astype(np.float32)
    if "rgb" in streams:
        inputs["rgb"] = bgr_to_model_rgb(frames)[None].astype(np.float32)
    return inputs


def top_k(probs: np.ndarray, classes: VideoClasses, k: int = 3) -> list[tuple[str, str, float]]:
    """(label, description, probability) of the k most probable classes of one clip; probabilities rounded to
    PROB_DIGITS (the JSON lines livedemo prints: 17 digits said nothing more)."""
    order = np.argsort(probs)[::-1][:k]
    return [(classes.classes[i], classes.description(int(i)), round(float(probs[i]), PROB_DIGITS)) for i in order]


def predict_video(video_path, predictor: Predictor, video_set: VideoSet, classes: VideoClasses,
                  flow_method: str = SEED_FLOW_METHOD, k: int = 3) -> dict:
    """Read -> frames -> flow -> model for one video; returns top-k and the time of each step in seconds."""
    timing = {}
    start = time.perf_counter()
    frames = video_to_frames(video_path, min_dim_px=video_set.min_dim_px)
    timing["read_s"] = time.perf_counter() - start
    start = time.perf_counter()
    inputs = clip_inputs(frames, [s for s in predictor.streams if s != "hands"], predictor.num_frames, flow_method)
    timing["flow_s"] = time.perf_counter() - start
    if "hands" in predictor.streams:  # landmarks at the video's own size (hands.py's rule), not the network's
        start = time.perf_counter()
        inputs["hands"] = hand_features(video_landmarks(video_path, predictor.num_frames))[None]
        timing["hands_s"] = time.perf_counter() - start
    start = time.perf_counter()
    probs = predictor(inputs)[0]
    timing["model_s"] = time.perf_counter() - start
    return {"video": str(video_path), "top": top_k(probs, classes, k), "timing": timing}
