"""Trained I3D checkpoints as ONNX or LiteRT files, and the runtimes that run those files in place of Keras.

Users: `python predict.py --export onnx|litert` exports, Predictor runs the files.

The hands stream's network (handsnet.py) exports the same way: nothing here is specific to an I3D but the
LiteRT pooling swap below, which finds no 3-D pooling to swap in it.

`export_checkpoint` writes `<name>.onnx` or `<name>.tflite` beside `<name>.keras` with Keras' own
`model.export`, crash-safe (temporary name, checked, then renamed; safeio), and beside it a copy of the
checkpoint's modelinfo record (written *before* the export is renamed into place, so that a kill at any moment
never leaves an exported model without its record; at worst a record whose model is not there yet), `<name>.onnx.json` / `<name>.tflite.json`, with `exported_from` and
`export_format` added: an exported file and its record travel together (to a machine without the .keras
file), and Predictor reads the record of any model file the same way (stream, flow method, input
size). Every export is checked before it is renamed into place: its probabilities on a random clip must
match the Keras model's within EXPORT_TOLERANCE. A rerun removes what a killed export left: its
`.tmp-<pid>-<name>.onnx/.json` beside the target and what the exporters put in $TMPDIR (LiteRT's converter a
whole SavedModel, ~100 MB at the seed size; TensorFlow's autograph and tf2onnx small files), which an export
keeps in `$TMPDIR/.tmp-<pid>-export/` (EXPORT_TMP) instead of anonymous `$TMPDIR/tmpXXXX` names so that it can
be told apart (safeio.is_leftover: only folders of dead processes). TensorFlow's C++ log lines of an
export (converter and MLIR chatter) are held back (tfquiet.hold_back; other lines still pass).

The exported graph computes in float32 (Keras exports only float32 policies). ONNX runs with onnxruntime;
LiteRT with ai-edge-litert's interpreter, which has only TFLite's built-in ops (no Flex delegate): those
have no 3-D pooling and no 8-D transpose, so for LiteRT the pooling layers compute as 2-D poolings
(`pool_as_2d`, exact: max and mean over a box are separable) and the stem its stock strided convolution
(stemconv.use_stock_convolution) while the graph is traced. The Keras model is left as it was.

Importable without TensorFlow, onnxruntime or ai-edge-litert (each is imported where it is used).
"""
import contextlib
import functools
import importlib
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from signlang import modelinfo, stemconv, tfquiet
from signlang.precision import compute_policies, with_compute_dtype
from signlang.safeio import TMP_PREFIX, atomic_write, is_leftover, tmp_sibling

FORMATS = {"onnx": ".onnx", "litert": ".tflite"}  # --export -> the suffix of the file written
RUNTIMES = {".onnx": "onnxruntime", ".tflite": "ai-edge-litert"}  # what runs each exported suffix
MODEL_SUFFIXES = (".keras", *RUNTIMES)

# Largest |exported - Keras| probability on a random clip that passes an export. float32 either way, but
# TF (oneDNN), onnxruntime (MLAS) and LiteRT (XNNPACK) sum in other orders: ~1e-7 relative per layer, ~1e-6
# after I3D's ~60 layers (measured 1e-8..1e-6 on small models). 1e-4 stays far above that and far below
# what a wrong graph gives (~1e-1) or any top-1 margin worth trusting.
EXPORT_TOLERANCE = 1e-4
EXPORT_TMP = "export"  # $TMPDIR/.tmp-<pid>-export/: the exporters' temporary files (LiteRT's SavedModel, ...)


def export_path(checkpoint: Path, fmt: str) -> Path:
    """Where `fmt` ("onnx" or "litert") of a checkpoint goes: model/x-best.keras -> model/x-best.onnx."""
    return Path(checkpoint).with_suffix(FORMATS[fmt])


def check_model_suffix(path: Path) -> str:
    """The suffix of a model file Predictor can run (.keras, .onnx, .tflite).

    Raises:
        ValueError: another suffix (the file and the choices named).
    """
    suffix = Path(path).suffix.lower()
    if suffix not in MODEL_SUFFIXES:
        raise ValueError(f"Model file {path} is not a .keras, .onnx or .tflite file; give a checkpoint train_i3d.py "
                         "saved, or an export of one (`python predict.py --export onnx --model X.keras`)")
    return suffix


def check_readable(path: Path) -> None:
    """Raises PermissionError naming `path` when this user may not read it (chmod 000: Keras would call the file
    "not a readable Keras model", which sends the user to retrain)."""
    path = Path(path)
    if path.is_file() and not os.access(path, os.R_OK):
        raise PermissionError(f"Model file {path.resolve()}: permission denied (this user may not read it); "
                              f"`chmod u+r {path}` or run as its owner")


# ---- export ----------------------------------------------------------------------------------------------

def remove_leftovers(target: Path) -> int:
    """Removes what killed exports left (of processes now gone): `.tmp-<pid>-<target name>` and its record's
    temporary beside `target`, and the exporters' folders in $TMPDIR (EXPORT_TMP); returns how many."""
    target = Path(target)
    found = [*target.parent.glob(f"{TMP_PREFIX}*-{target.name}"), *target.parent.glob(f"{TMP_PREFIX}*-{target.name}.json"),
             *Path(tempfile.gettempdir()).glob(f"{TMP_PREFIX}*-{EXPORT_TMP}")]
    removed = 0
    for path in found:
        if not is_leftover(path):  # a running export's, or a user's file that merely looks like one
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed += 1
    return removed


def export_checkpoint(checkpoint: Path, fmt: str,
                      check: Callable[[Path, dict | None], None] | None = None) -> tuple[Path, float]:
    """Exports a .keras checkpoint to `export_path(checkpoint, fmt)` with its modelinfo record beside it.

    Args:
        checkpoint: a .keras file train_i3d.py saved.
        fmt: "onnx" or "litert".
        check: called as check(checkpoint, record or None) before anything is loaded or written; raises to
            refuse (predict.py: predictor.check_record against the set, and a missing record without
            --no-record-check).

    Returns:
        (the exported file, the largest |exported - Keras| probability on the random check clip).

    Raises:
        FileNotFoundError: no such checkpoint. ValueError: not a .keras file, unreadable, or the export
        failed its check (then nothing is written).
    """
    import keras  # see the module docstring

    checkpoint = Path(checkpoint)
    if fmt not in FORMATS:
        raise ValueError(f"Export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if check_model_suffix(checkpoint) != ".keras":
        raise ValueError(f"{checkpoint} is already an exported model; export from the .keras checkpoint it came from")
    if not checkpoint.is_file():
        raise FileNotFoundError(f"Model file {checkpoint} not found; train one with `python train_i3d.py`")
    check_readable(checkpoint)
    try:
        info = modelinfo.read_model_info(checkpoint)
    except FileNotFoundError:  # trained before checkpoints recorded one (check decides whether that is allowed)
        info = None
    if check is not None:
        check(checkpoint, info)
    target = export_path(checkpoint, fmt)
    remove_leftovers(target)
    try:
        # plain Keras: the stock stem, which both formats take (export_model swaps what LiteRT needs)
        model = keras.models.load_model(checkpoint, compile=False)
    except Exception as error:  # as Predictor: zip/h5/json errors of a broken file
        raise ValueError(f"Model file {checkpoint.resolve()} is not a readable Keras model ({type(error).__name__}); "
                         "give a .keras file that train_i3d.py saved") from error
    if compute_policies(model) != {"float32"}:  # trained with --precision bfloat16 / float16
        model = with_compute_dtype(model, "float32")
    with atomic_write(target) as tmp:
        difference = _export_checked(model, tmp, fmt, target.name)
        # The record first, the model's rename last (when this block ends): a kill in between leaves a record
        # without its model (harmless), never the model without its record.
        if info is None:
            modelinfo.info_path(target).unlink(missing_ok=True)  # an older export's record would not describe it
        else:
            modelinfo.write_model_info(target, {**info, "exported_from": checkpoint.name, "export_format": fmt})
    return target, difference


def export_model(model, path: Path, fmt: str, clip: np.ndarray | None = None) -> float:
    """Writes `model` (a float32 Keras I3D, stock or space-to-depth stem) as `fmt` to `path`, crash-safe and checked.

    Args:
        model: the Keras model; left as it was.
        path: the file to write (.onnx, or .tflite for LiteRT: Keras insists on that suffix).
        fmt: "onnx" or "litert".
        clip: the check input (batch, t, h, w, c) float32; None: one uniform random clip in [-1, 1].

    Returns:
        The largest |exported - Keras| output on `clip`.

    Raises:
        ValueError: an unknown format, or the exported file's outputs differ by more than EXPORT_TOLERANCE
        (nothing written).
    """
    if fmt not in FORMATS:
        raise ValueError(f"Export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    path = Path(path)
    with atomic_write(path) as tmp:
        return _export_checked(model, tmp, fmt, path.name, clip)


def _export_checked(model, tmp: Path, fmt: str, name: str, clip: np.ndarray | None = None) -> float:
    """export_model's work on the temporary path `tmp` (the caller renames it); returns the check's difference."""
    if clip is None:
        clip = np.random.default_rng(0).uniform(-1, 1, (1, *model.input_shape[1:])).astype(np.float32)
    with tfquiet.hold_back(), export_tempdir(), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # Keras' tf2onnx patch touches np.object
        # a functional model named its input "video" and is called with a bare array: harmless
        warnings.filterwarnings("ignore", "The structure of `inputs` doesn't match", UserWarning)
        reference = np.asarray(model(clip, training=False), np.float32)  # also marks it called (export needs it)
        if fmt == "onnx":
            model.export(str(tmp), format="onnx", verbose=False)
        else:
            import tensorflow as tf

            with litert_graph(model):
                # built-in ops only: a Flex op fails here, not later in an interpreter that cannot run it
                model.export(str(tmp), format="litert", verbose=False,
                             target_spec={"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS]})
        difference = float(np.max(np.abs(load_exported(tmp)(clip) - reference)))
    if not difference <= EXPORT_TOLERANCE:
        raise ValueError(f"The {fmt} export of {name} differs from the Keras model by {difference:.3g} "
                         f"(more than {EXPORT_TOLERANCE}) on a random clip; nothing written")
    return difference


@contextlib.contextmanager
def export_tempdir():
    """Within the block, Python's temporary files and folders (Keras' LiteRT export writes a whole SavedModel
    there, autograph and tf2onnx small files) go to $TMPDIR/.tmp-<pid>-export/, removed at the end and by the
    next export when a kill left it (remove_leftovers)."""
    folder = tmp_sibling(Path(tempfile.gettempdir()) / EXPORT_TMP)
    folder.mkdir(exist_ok=True)
    saved = tempfile.tempdir
    tempfile.tempdir = str(folder)
    try:
        yield folder
    finally:
        tempfile.tempdir = saved
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def litert_graph(model):
    """Within the block, `model` computes with ops TFLite has built in: 3-D poolings as 2-D ones, the stock stem."""
    import keras

    pools = [layer for layer in model._flatten_layers()
             if isinstance(layer, (keras.layers.MaxPooling3D, keras.layers.AveragePooling3D))]
    had_space_to_depth = stemconv.use_stock_convolution(model) > 0
    for layer in pools:
        layer.call = functools.partial(pool_as_2d, layer)
    try:
        yield model
    finally:
        for layer in pools:
            del layer.call
        if had_space_to_depth:
            stemconv.use_space_to_depth(model)


def pool_as_2d(layer, inputs):
    """What a MaxPooling3D / AveragePooling3D layer (channels last) computes, as a 2-D pooling over (h, w) of
    every frame, then a 2-D pooling over (t, 1). Exact for max and for 'valid' mean (a box is separable); a
    'same' mean would count the padding differently, so it is refused (I3D's only mean pool is 'valid')."""
    from keras import ops

    if layer.data_format != "channels_last" or (layer.pool_mode == "average" and layer.padding != "valid"):
        raise ValueError(f"pool_as_2d takes channels-last max pools and 'valid' mean pools; {layer.name} is "
                         f"{layer.pool_mode} {layer.padding} {layer.data_format}")
    pool = ops.max_pool if layer.pool_mode == "max" else ops.average_pool
    (kt, kh, kw), (st, sh, sw) = layer.pool_size, layer.strides
    _, t, h, w, c = inputs.shape  # (batch, t, h, w, c); batch may be None
    x = ops.reshape(inputs, (-1, h, w, c))  # frames as images
    if (kh, kw, sh, sw) != (1, 1, 1, 1):
        x = pool(x, (kh, kw), (sh, sw), padding=layer.padding)
    h, w = x.shape[1:3]
    x = ops.reshape(x, (-1, t, h * w, c))  # time as the image's height
    if (kt, st) != (1, 1):
        x = pool(x, (kt, 1), (st, 1), padding=layer.padding)
    return ops.reshape(x, (-1, x.shape[1], h, w, c))


# ---- runtimes --------------------------------------------------------------------------------------------

def load_exported(path: Path):
    """An exported model (.onnx or .tflite) as a callable (batch, t, h, w, c) float32 -> probabilities (batch, classes).

    Raises:
        ValueError: another suffix, an unreadable file, or its runtime not installed (each names the fix).
    """
    path = Path(path)
    suffix = check_model_suffix(path)
    if suffix == ".keras":
        raise ValueError(f"{path} is a Keras checkpoint; load it with signlang.i3d.load_model")
    return OnnxModel(path) if suffix == ".onnx" else LiteRTModel(path)


def _import_runtime(suffix: str, module: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ValueError(f"Running a {suffix} model needs {RUNTIMES[suffix]}, which is not installed; "
                         "`pip install -r requirements.txt`") from None


def _shape(dims) -> tuple:
    """A runtime's input/output shape as Keras writes it: None for a free dimension."""
    return tuple(int(d) if isinstance(d, (int, np.integer)) and d >= 0 else None for d in dims)


class OnnxModel:
    """An .onnx export run by onnxruntime (its CPU provider, or the best it has), with Keras' shape attributes."""

    def __init__(self, path: Path):
        ort = _import_runtime(".onnx", "onnxruntime")
        self.path, self.name = Path(path), Path(path).name
        try:
            self.session = ort.InferenceSession(str(self.path), providers=ort.get_available_providers())
        except Exception as error:  # onnxruntime's InvalidProtobuf, Fail, ...
            raise ValueError(f"Model file {self.path.resolve()} is not a readable ONNX model ({type(error).__name__}); "
                             "export it again with `python predict.py --export onnx`") from error
        self._input = self.session.get_inputs()[0].name
        self.input_shape = _shape(self.session.get_inputs()[0].shape)  # (None, t, h, w, c)
        self.output_shape = _shape(self.session.get_outputs()[0].shape)  # (None, classes)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self._input: np.ascontiguousarray(x, np.float32)})[0]


class LiteRTModel:
    """A .tflite export run by ai-edge-litert's interpreter (XNNPACK on the CPU), with Keras' shape attributes.

    Not safe to call from two threads at once (one interpreter); Predictor calls it from one.
    """

    def __init__(self, path: Path, num_threads: int | None = None):
        litert = _import_runtime(".tflite", "ai_edge_litert.interpreter")
        self.path, self.name = Path(path), Path(path).name
        try:
            self.interpreter = litert.Interpreter(model_path=str(self.path), num_threads=num_threads or os.cpu_count())
            self.interpreter.allocate_tensors()
        except Exception as error:  # ValueError "model identifier", RuntimeError of an op it lacks
            raise ValueError(f"Model file {self.path.resolve()} is not a runnable LiteRT model "
                             f"({type(error).__name__}: {str(error).splitlines()[0][:120]}); export it again with "
                             "`python predict.py --export litert`") from error
        self._input = self.interpreter.get_input_details()[0]
        self._output = self.interpreter.get_output_details()[0]
        self.input_shape = _shape(self._input["shape_signature"])  # -1 (free batch) -> None
        self.output_shape = _shape(self._output["shape_signature"])

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, np.float32)
        index = self._input["index"]
        if tuple(self.interpreter.get_input_details()[0]["shape"]) != x.shape:  # another batch size
            self.interpreter.resize_tensor_input(index, x.shape)
            self.interpreter.allocate_tensors()
        self.interpreter.set_tensor(index, x)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self._output["index"]).copy()
