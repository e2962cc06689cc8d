"""A trained model ready to predict: finds a set's checkpoints, loads .keras/.onnx/.tflite, turns clips into probabilities.

With a flow and an RGB model the two streams are fused by averaging their log-probabilities, as DeepMind's
I3D does. Used by predict.py, livedemo.py and the benchmarks. TensorFlow and Keras are imported only when a
.keras model is loaded: an exported model runs with onnxruntime / ai-edge-litert alone.
"""
import time
from pathlib import Path

import numpy as np

from signlang import modelexport, modelinfo
from signlang.flow import SEED_FLOW_METHOD, frames_to_flows
from signlang.precision import PRECISIONS, compute_policies, resolve_precision, with_compute_dtype
from signlang.stemconv import load_model
from signlang.video import bgr_to_model_rgb, frames_crop, frames_downsample, video_to_frames
from signlang.videoset import STREAM_CHANNELS, VideoClasses, VideoSet


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


class Predictor:
    """One or two trained I3D models (flow, rgb) behind one call that returns fused class probabilities.

    Calls each model through a tf.function in inference mode: bench/i3d.py measured `predict()` ~100 ms
    slower per clip at the demo size, as it sets up a data pipeline for every call.
    """

    def __init__(self, model_paths, precision: str = "float32"):
        """Args:
            model_paths: one model per stream: a .keras checkpoint, or its .onnx / .tflite export
                (`--export`; run with onnxruntime / ai-edge-litert, TensorFlow is then not imported).
            precision: "float32", or "bfloat16" to compute in bfloat16 (with_compute_dtype); fast
                only where the CPU has it natively (precision.cpu_has_bf16), emulated and slower elsewhere.
                Exported models compute in float32 whatever is asked ("bfloat16" with one is refused).
        """
        self.paths = [Path(p) for p in model_paths]
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


def clip_inputs(frames: np.ndarray, streams, num_frames: int, crop_px: int, flow_method: str = SEED_FLOW_METHOD) -> dict:
    """Network inputs from resized video frames (n, h, w, 3) uint8 BGR, prepared exactly as for training:
    resample to num_frames, flow on those frames, center crop.

    Returns:
        stream -> (1, num_frames, crop_px, crop_px, channels) float32 in [-1, 1].
    """
    frames = frames_downsample(frames, num_frames)
    inputs = {}
    if "flow" in streams:
        flows = frames_to_flows(frames, method=flow_method)
        inputs["flow"] = frames_crop(flows, crop_px, crop_px)[None].astype(np.float32)
    if "rgb" in streams:
        rgb = bgr_to_model_rgb(frames_crop(frames, crop_px, crop_px))
        inputs["rgb"] = rgb[None].astype(np.float32)
    return inputs


def top_k(probs: np.ndarray, classes: VideoClasses, k: int = 3) -> list[tuple[str, str, float]]:
    """(label, description, probability) of the k most probable classes of one clip."""
    order = np.argsort(probs)[::-1][:k]
    return [(classes.classes[i], classes.description(int(i)), float(probs[i])) for i in order]


def predict_video(video_path, predictor: Predictor, video_set: VideoSet, classes: VideoClasses,
                  flow_method: str = SEED_FLOW_METHOD, k: int = 3) -> dict:
    """Read -> frames -> flow -> model for one video; returns top-k and the time of each step in seconds."""
    timing = {}
    start = time.perf_counter()
    frames = video_to_frames(video_path, min_dim_px=video_set.min_dim_px)
    timing["read_s"] = time.perf_counter() - start
    start = time.perf_counter()
    inputs = clip_inputs(frames, predictor.streams, predictor.num_frames, predictor.height, flow_method)
    timing["flow_s"] = time.perf_counter() - start
    start = time.perf_counter()
    probs = predictor(inputs)[0]
    timing["model_s"] = time.perf_counter() - start
    return {"video": str(video_path), "top": top_k(probs, classes, k), "timing": timing}
