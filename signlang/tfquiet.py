"""Holds back TensorFlow's known benign C++ start-up lines; every other line still reaches stderr.

Usage, at the top of a TensorFlow script, before its first (possibly lazy) TensorFlow/Keras import:

    from signlang import tfquiet; tfquiet.install()  # before any TF import: holds back its benign start-up lines

Why: TensorFlow 2.21 writes ~8 lines of C++ log per start straight to file descriptor 2 (absl/glog,
before Python sees them), twice per process, including `E0000 ... failed call to cuInit: ... UNKNOWN
ERROR (303)` on every CPU-only machine, which reads like a failure. `TF_CPP_MIN_LOG_LEVEL` and
`GLOG_minloglevel` do not silence them in 2.21 (absl::InitializeLog is not called yet when they are
printed). So `install()` puts a hook on `import tensorflow`: while TensorFlow's package runs and its
devices are listed (that is where cuInit is called), fd 2 points into a pipe; a thread reads it and
writes every line that is not in BENIGN to the real stderr at once. Afterwards fd 2 is restored and the
pipe drained, so nothing is lost when the import fails; lines still in the pipe are lost only when the
process dies by a signal inside the import. Outside the import window nothing is filtered, except inside
`with tfquiet.hold_back():`, which a caller puts around a later call that prints such lines: an export
(modelexport: the converter's SavedModel/MLIR lines, "Number of eligible GPUs"), and the first `fit()` on a
PyDataset (`generator_dataset_op.cc:213] Memory patch applied: M_TRIM_THRESHOLD=128 kb was set.`, printed once
per process when tf.data first runs a Python generator).

`TFQUIET=0` in the environment turns the hook off (to see everything). The CPU-only wheel
`tensorflow-cpu==2.21.*` prints only the absl banner and the CPU-feature line (no CUDA lines); the
filter works with either wheel (docs/scale-out.md, "Training on GPUs").
"""
import contextlib
import importlib.abc
import importlib.util
import os
import re
import select
import sys
import threading

# glog's prefix: severity + MMDD, time, thread id, file:line] (e.g. `I0000 00:00:1796.69    7752 x.cc:31] `).
_GLOG = rb"[IWE]\d{4} [\d:.]+\s+\d+ [\w.]+:\d+\] "

# The lines TensorFlow prints at every start that are not problems (seen with tensorflow and
# tensorflow-cpu 2.21 on CPU-only Linux; the cuDNN/cuFFT/cuBLAS "already registered" family on GPU
# wheels since TF 2.14). A line is held back only when it matches one of these in full.
BENIGN = tuple(re.compile(pattern) for pattern in (
    rb"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR",
    _GLOG + rb"Could not find cuda drivers on your machine, GPU will not be used\.",
    _GLOG + rb"This TensorFlow binary is optimized to use available CPU instructions in "
            rb"performance-critical operations\.",
    rb"To enable the following instructions: .*, in other operations, rebuild TensorFlow with the "
    rb"appropriate compiler flags\.",
    _GLOG + rb"failed call to cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR \(303\)",
    _GLOG + rb"oneDNN custom operations are on\..*",
    _GLOG + rb"Unable to register cu(DNN|FFT|BLAS) factory: Attempting to register factory for plugin "
            rb"cu(DNN|FFT|BLAS) when one has already been registered",
    _GLOG + rb"computation placer already registered\..*",
    # the first tf.data generator of a process (fit() on a PyDataset)
    _GLOG + rb"Memory patch applied: M_TRIM_THRESHOLD=\d+ kb was set\.",
    # model.export (ONNX and LiteRT): grappler, the TFLite converter reading its SavedModel, MLIR
    _GLOG + rb"Number of eligible GPUs \(core count >= \d+, compute capability >= [\d.]+\): \d+",
    _GLOG + rb"Starting new session",
    _GLOG + rb"Ignored (output_format|drop_control_dependency)\.",
    _GLOG + rb"Reading SavedModel from: .*",
    _GLOG + rb"Reading meta graph with tags \{ serve \}",
    _GLOG + rb"Reading SavedModel debug info \(if present\) from: .*",
    _GLOG + rb"MLIR V1 optimization pass is not enabled",
    _GLOG + rb"Restoring SavedModel bundle\.",
    _GLOG + rb"Running initialization op on SavedModel bundle at path: .*",
    _GLOG + rb"SavedModel load for tags \{ serve \}; Status: success: OK\. Took \d+ microseconds\.",
    _GLOG + rb"disabling MLIR crash reproducer, set env var `MLIR_CRASH_REPRODUCER_DIRECTORY` to enable\.",
    rb"INFO: Created TensorFlow Lite XNNPACK delegate for CPU\.",
))

_PARTIAL_WAIT_S = 0.2  # a line without its newline yet is passed on after this long (e.g. a prompt)


def is_benign(line: bytes) -> bool:
    """True when one line (without its newline) is one of TensorFlow's known benign start-up lines."""
    line = line.rstrip(b"\r")
    return any(pattern.fullmatch(line) for pattern in BENIGN)


def _forward(read_fd: int, out_fd: int) -> None:
    """Copies lines from read_fd to out_fd until EOF, leaving out the benign ones."""
    pending = b""
    while True:
        ready, _, _ = select.select([read_fd], [], [], _PARTIAL_WAIT_S if pending else None)
        if not ready:  # a partial line that has waited long enough: it is not a log line, pass it on
            os.write(out_fd, pending)
            pending = b""
            continue
        chunk = os.read(read_fd, 65536)
        if not chunk:
            break
        *lines, pending = (pending + chunk).split(b"\n")
        kept = b"".join(line + b"\n" for line in lines if not is_benign(line))
        if kept:
            os.write(out_fd, kept)
    if pending and not is_benign(pending):
        os.write(out_fd, pending)
    os.close(read_fd)


@contextlib.contextmanager
def hold_back():
    """Within the block, fd 2 goes through the filter: benign lines are dropped, all others forwarded.

    On exit (also by an exception) fd 2 is restored and every line written inside is forwarded first.
    """
    sys.stderr.flush()
    saved_fd = os.dup(2)
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    thread = threading.Thread(target=_forward, args=(read_fd, saved_fd), name="tfquiet", daemon=True)
    thread.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved_fd, 2)  # drops the pipe's last write end, unless a child process inherited it
        thread.join(timeout=5)
        if not thread.is_alive():
            os.close(saved_fd)


class _QuietLoader(importlib.abc.Loader):
    """Runs TensorFlow's own loader inside hold_back(), then lists devices there too (cuInit)."""

    def __init__(self, loader):
        self.loader = loader

    def __getattr__(self, name):  # get_resource_reader, is_package, ...: TensorFlow's own loader's
        return getattr(self.loader, name)

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        try:
            with hold_back():
                self.loader.exec_module(module)
                module.config.list_physical_devices()  # first CUDA call: its cuInit line comes here
        finally:
            module.__loader__ = module.__spec__.loader = self.loader


class _QuietFinder(importlib.abc.MetaPathFinder):
    """Meta-path hook that wraps the loader of the top-level `tensorflow` package, once."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        uninstall()
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


def install() -> None:
    """Holds back TensorFlow's benign start-up lines when it is first imported; idempotent and cheap."""
    if os.environ.get("TFQUIET") == "0" or "tensorflow" in sys.modules:
        return
    if not any(isinstance(finder, _QuietFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _QuietFinder())


def uninstall() -> None:
    """Removes the hook (a no-op when it is not installed)."""
    sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, _QuietFinder)]
