"""Compute precision: which dtype this CPU runs fast, and a model recast to another dtype policy.

bfloat16 is fast only where the CPU has it natively (AVX512_BF16 / AMX-BF16); emulated it is ~20x slower
(docs/results.md). Training sets its own policy (train_i3d --precision); inference recasts a trained model.
"""
import sys
from pathlib import Path

from signlang.stemconv import use_space_to_depth

# --precision -> the Keras dtype policy the network computes in (its weights stay float32).
PRECISIONS = {"float32": "float32", "bfloat16": "mixed_bfloat16"}
PRECISION_HELP = ("compute dtype of the network: auto = bfloat16 where the CPU has it natively (AVX512_BF16/AMX; "
                  "same demo top-1, ~0.55x the time), float32 elsewhere; python -m bench.i3d --precision compares "
                  "both here")


def _cpu_flags() -> set[str]:
    """The CPU feature flags Linux lists in /proc/cpuinfo (empty elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    return {flag for line in text.splitlines() if line.startswith("flags") for flag in line.split(":", 1)[1].split()}


def cpu_has_bf16() -> bool:
    """True when this machine's CPU computes bfloat16 natively (x86 AVX512_BF16 or AMX-BF16; Linux's
    /proc/cpuinfo flags). Elsewhere bfloat16 is emulated by oneDNN and usually slower than float32."""
    return bool(_cpu_flags() & {"avx512_bf16", "amx_bf16"})


def cpu_has_amx_bf16() -> bool:
    """True when this machine's CPU has AMX tiles for bfloat16 (Intel Sapphire Rapids and later)."""
    return "amx_bf16" in _cpu_flags()


def resolve_precision(precision: str) -> str:
    """"auto" -> "bfloat16" on a CPU-only machine whose CPU has native bfloat16, else "float32"; others as given.

    Why: on such a CPU (2026-12-02, AMD EPYC with AVX512_BF16) bfloat16 inference took 0.54x float32's time at
    40x224x224x2 and 0.63x at the demo size, with the same demo val top-1 (98.3 %); emulated it is ~20x slower.
    GPUs are left at float32: not measured here.
    """
    if precision != "auto":
        return precision
    if not cpu_has_bf16():
        return "float32"
    import tensorflow as tf  # the device list needs TensorFlow; callers have imported it already

    return "float32" if tf.config.list_physical_devices("GPU") else "bfloat16"


def warn_precision(precision: str) -> None:
    """Says so on stderr when bfloat16 was asked for on a CPU that only emulates it (and no GPU is used)."""
    if precision == "bfloat16" and not cpu_has_bf16():
        import tensorflow as tf  # only when bfloat16 was asked for: the check needs TensorFlow's device list

        if not tf.config.list_physical_devices("GPU"):
            print("warning: this CPU has no native bfloat16 (AVX512_BF16 / AMX): --precision bfloat16 is emulated "
                  "and likely slower than float32", file=sys.stderr)


def compute_policies(model) -> set[str]:
    """The dtype policies of a model's layers but its output layer (which with_compute_dtype keeps float32)."""
    outputs = {tensor._keras_history.operation.name for tensor in model.outputs}
    return {layer.dtype_policy.name for layer in model.layers
            if layer.name not in outputs and type(layer).__name__ != "InputLayer"}


def with_compute_dtype(model, policy: str = "mixed_bfloat16"):
    """The same network computing in another dtype policy: every layer gets `policy` ("mixed_bfloat16":
    bfloat16 maths, float32 weights), the output layer stays float32 so that probabilities are exact-ish;
    weights are copied. Any Keras model (functional or Sequential). For inference (Predictor);
    training sets the policy itself (train_i3d --precision)."""
    import keras

    output_names = {tensor._keras_history.operation.name for tensor in model.outputs}

    def recast(layer):
        config = layer.get_config()
        config["dtype"] = "float32" if layer.name in output_names else policy
        return layer.__class__.from_config(config)

    clone = keras.models.clone_model(model, clone_function=recast)
    clone.set_weights(model.get_weights())
    use_space_to_depth(clone)
    return clone
