"""The hand-landmark model bundle: assembled once from a pinned MediaPipe wheel, cached with a checksum.

MediaPipe's HandLandmarker (the `mediapipe` package, requirements.txt) needs a `hand_landmarker.task` file: a zip
of `hand_detector.tflite` (palm detection) and `hand_landmarks_detector.tflite` (21 points per hand). No pip or
npm package ships that file, but the `mediapipe==0.10.21` wheel on PyPI (Apache-2.0) holds both networks as
`mediapipe/modules/{palm_detection,hand_landmark}/*_full.tflite`. `python hands.py --download` (part of `make
weights`) fetches that wheel with `pip download --no-deps` (sha256-pinned: one fixed file, whatever this machine
is), checks both members' sha256, zips them under the names the Tasks API wants and writes the bundle into the
Keras cache folder beside the I3D weights (i3d_weights.cache_dir), atomically, with a `<file>.sha256` sidecar
checked on every use. Nothing is downloaded at run time: a missing bundle is one line saying the command.

Importable without TensorFlow or MediaPipe.
"""
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from signlang.i3d_weights import cache_damage, cache_dir, file_sha256, record_checksum
from signlang.safeio import atomic_write

TASK_NAME = "hand_landmarker.task"
WHEEL_REQUIREMENT = "mediapipe==0.10.21"
# One wheel for every machine (the .tflite members are the same in each platform's wheel): pip is told this
# platform and Python, so the pinned hash always matches. sha256 read from PyPI's file on 2026-12-06.
WHEEL_FILE = "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl"
WHEEL_SHA256 = "05dc4a9e593655a79558d05d6227d31018c2537a4bd3362b51e230cf22aecfe3"
WHEEL_PLATFORM = ("--platform", "manylinux_2_28_x86_64", "--python-version", "3.11", "--implementation", "cp",
                  "--abi", "cp311")
# bundle member name -> (member of the wheel, its sha256)
MEMBERS = {
    "hand_detector.tflite": ("mediapipe/modules/palm_detection/palm_detection_full.tflite",
                             "1b14e9422c6ad006cde6581a46c8b90dd573c07ab7f3934b5589e7cea3f89a54"),
    "hand_landmarks_detector.tflite": ("mediapipe/modules/hand_landmark/hand_landmark_full.tflite",
                                       "11c272b891e1a99ab034208e23937a8008388cf11ed2a9d776ed3d01d0ba00e3"),
}
DOWNLOAD_COMMAND = "python hands.py --download"
ALIGN_BYTES = 64  # where each network starts in the bundle (see build_task)
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # a fixed member date: the same wheel always gives the same bundle, byte for byte


class HandModelError(RuntimeError):
    """The hand model bundle is missing or damaged, or cannot be fetched; the message is one line with the fix."""


def task_path() -> Path:
    """Where the bundle lives: KERAS_HOME/models/hand_landmarker.task (default ~/.keras/models)."""
    return cache_dir() / TASK_NAME


def build_task(wheel: Path, out_path: Path, wheel_sha256: str | None = WHEEL_SHA256, members: dict = MEMBERS) -> Path:
    """Checks `wheel` (sha256) and its two networks (sha256 each), zips them into `out_path` atomically and records
    the bundle's sha256 beside it; returns out_path.

    Args:
        members: {name in the bundle: (member of the wheel, sha256 or None)}; the pinned MEMBERS by default.

    Raises:
        HandModelError: a hash differs, the wheel is no zip, or a member is missing (names the file).
    """
    wheel, out_path = Path(wheel), Path(out_path)
    if wheel_sha256 and file_sha256(wheel) != wheel_sha256:
        raise HandModelError(f"{wheel.resolve()} has sha256 {file_sha256(wheel)[:16]}..., not the pinned "
                             f"{wheel_sha256[:16]}... of {WHEEL_FILE}; delete it and run `{DOWNLOAD_COMMAND}`")
    contents = {}
    try:
        with zipfile.ZipFile(wheel) as archive:
            for name, (member, sha256) in members.items():
                data = archive.read(member)
                if sha256 and hashlib.sha256(data).hexdigest() != sha256:
                    raise HandModelError(f"{member} in {wheel.resolve()} differs from the pinned sha256; "
                                         f"delete the wheel and run `{DOWNLOAD_COMMAND}`")
                contents[name] = data
    except (zipfile.BadZipFile, KeyError) as error:
        raise HandModelError(f"{wheel.resolve()} is not the {WHEEL_REQUIREMENT} wheel with its hand models "
                             f"({error}); delete it and run `{DOWNLOAD_COMMAND}`") from None
    with atomic_write(out_path) as tmp:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as bundle:
            for name, data in contents.items():
                info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
                # Pad the local header so that the network starts on an ALIGN_BYTES boundary: TFLite then maps it
                # in place instead of copying it with a warning ("unaligned buffer") at every start.
                start = bundle.fp.tell() + 30 + len(name.encode()) + 4  # 30: the local header; 4: the extra's own
                info.extra = (0xD935).to_bytes(2, "little") + (-start % ALIGN_BYTES).to_bytes(2, "little") \
                    + bytes(-start % ALIGN_BYTES)
                bundle.writestr(info, data)
    record_checksum(out_path)
    return out_path


def fetch_wheel(folder: Path) -> Path:
    """Downloads the pinned wheel with pip (hash-checked; pip's cache serves a repeat) into `folder`.

    Raises:
        HandModelError: pip failed (offline); one line with pip's last words and the fix.
    """
    folder = Path(folder)
    requirement = folder / "requirements.txt"
    requirement.write_text(f"{WHEEL_REQUIREMENT} --hash=sha256:{WHEEL_SHA256}\n")
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", *WHEEL_PLATFORM,
               "--require-hashes", "-r", str(requirement), "-d", str(folder / "wheel")]
    result = subprocess.run(command, capture_output=True, text=True)
    wheels = sorted((folder / "wheel").glob("*.whl"))
    if result.returncode != 0 or len(wheels) != 1:
        last = " ".join(((result.stderr or result.stdout).strip().splitlines() or ["no output"])[-1].split())
        raise HandModelError(
            f"Could not download {WHEEL_REQUIREMENT} (the hand model's source) with pip (exit {result.returncode}: "
            f"{last[:200]}); where PyPI is reachable run `pip download --no-deps {WHEEL_REQUIREMENT} "
            f"--only-binary :all: {' '.join(WHEEL_PLATFORM)} -d DIR`, then `{DOWNLOAD_COMMAND} --wheel DIR/{WHEEL_FILE}`")
    return wheels[0]


def download_task(wheel: Path | None = None) -> Path:
    """The bundle, checked against its recorded sha256; built (again) when missing or damaged, from `wheel` when
    given, else from a wheel fetched with pip. Prints one line when it builds.

    Raises:
        HandModelError: see fetch_wheel and build_task.
    """
    target = task_path()
    damage = cache_damage(target)
    if damage is None and wheel is None:
        return target
    if damage not in (None, "missing"):
        print(f"Hand model: {target} is damaged ({damage}); building it again ...")
    if wheel is not None:
        return build_task(wheel, target)
    print(f"Hand model: building {target} once from {WHEEL_REQUIREMENT} (PyPI) ...")
    with tempfile.TemporaryDirectory() as tmp:
        return build_task(fetch_wheel(Path(tmp)), target)


def require_task() -> Path:
    """The cached bundle for a run: never downloads.

    Raises:
        HandModelError: missing or damaged; the message names the file and `python hands.py --download`.
    """
    target = task_path()
    damage = cache_damage(target)
    if damage is not None:
        raise HandModelError(f"Hand model {target} is {damage if damage == 'missing' else 'damaged (' + damage + ')'}; "
                             f"run `{DOWNLOAD_COMMAND}` (or `make weights`) once")
    return target
