"""Frames (or optical-flow images) to one feature vector per frame with a 2D CNN (model_mobile.py).

    python feature.py data-temp/demo/010-16/image data-temp/demo/010-16/feature-mobilenet-image --input-px 128

Reads FRAME_DIR/<split>/<label>/<video>/*.jpg (frame.py's frames or opticalflow.py's flow images) and
writes FEATURE_DIR/<split>/<label>/<video>.npy of shape (num_frames, feature_len) float32, the input of
model_lstm.py. Each image is center-cropped to a square, resized to the network's input and passed through
the app's preprocess_input; flow images go in as the 3-channel JPEGs they are stored as (x, y and a
zero-flow channel), as the seed did.

The extractor is saved as FEATURE_DIR/extractor.keras (+ extractor.json with its settings): a re-run, and
anyone who later turns a new clip into features (live prediction), uses exactly the same network even
with --weights none, whose random network is calibrated on frames of the train split. Re-running skips
finished videos, a killed run leaves no half-written file (folderstep.py), unreadable videos are listed
in FEATURE_DIR/failed-features.txt and counted.
"""
import argparse
import functools
import json
import sys
from pathlib import Path

import numpy as np

import model_mobile  # its tables only: Keras is imported inside the functions that build a network
from signlang.folderstep import (EXIT_HELP, USER_ERRORS, StepSummary, check_separate, exit_status,
                        prepare_output, remove_stale, run_step, visible)
from signlang.engine import add_engine_arguments
from signlang.safeio import atomic_write, clean_leftovers
from signlang.videoset import STREAM_FOLDERS, VideoSet
from signlang.video import files_to_frames, frame_indices, frames_crop, frames_downsample, frames_resize_min_side, jpg_files

STREAMS = ("rgb", "flow")
EXTRACTOR_FILE = "extractor.keras"
EXTRACTOR_INFO = "extractor.json"
# weights "none": BatchNorm statistics from this many train frames (32 videos x 4 frames)
CALIBRATION_VIDEOS = 32
CALIBRATION_FRAMES_PER_VIDEO = 4


def feature_dir(video_set: VideoSet, stream: str, model_name: str = "mobilenet", weights: str = "imagenet") -> Path:
    """data-temp/<name>/<NNN>-<frames>/feature-<model>[-untrained]-{image,oflow}: the features of one stream.

    Features of a random network (weights "none") live in their own folder, so they never mix with ImageNet ones.
    """
    if stream not in STREAMS:
        raise ValueError(f"stream={stream!r}; choose one of {STREAMS}")
    tag = model_name if weights == "imagenet" else f"{model_name}-untrained"
    return video_set.temp_dir / f"feature-{tag}-{STREAM_FOLDERS[stream]}"


def detect_stream(frame_dir: Path) -> str:
    """'flow' when the first video folder under frame_dir holds flow000.jpg-style files, else 'rgb'."""
    for folder in video_folders(frame_dir):
        files = jpg_files(folder)
        if files:
            return "flow" if files[0].name.startswith("flow") else "rgb"
    raise FileNotFoundError(f"No .jpg files under {Path(frame_dir).resolve()}/<split>/<label>/<video>/; "
                            "run `python frame.py` (and `python opticalflow.py`) first")


def video_folders(frame_dir: Path) -> list[Path]:
    """All frame_dir/<split>/<label>/<video>/ folders, sorted; hidden names (.tmp-*) are left out."""
    frame_dir = Path(frame_dir)
    if not frame_dir.is_dir():
        return []
    return [
        video
        for split in visible(frame_dir.iterdir()) if split.is_dir()
        for label in visible(split.iterdir()) if label.is_dir()
        for video in visible(label.iterdir()) if video.is_dir()
    ]


def load_images(folder: Path, stream: str, input_px: int, num_frames: int | None = None,
                crop_px: int | None = None) -> np.ndarray:
    """One video's images as the CNN sees them: (n, input_px, input_px, 3) uint8.

    rgb: the frames converted BGR -> RGB. flow: the stored flow JPEG bytes unchanged (x, y, zero-flow 128).
    Resampled to num_frames (None: all), center-cropped to crop_px (None: the square of the smaller side),
    resized to input_px.
    """
    if stream not in STREAMS:
        raise ValueError(f"stream={stream!r}; choose one of {STREAMS}")
    images = files_to_frames(folder)  # (n, h, w, 3) uint8: BGR frames, or (x, y, 128) flow bytes
    if stream == "rgb":
        images = images[..., ::-1]
    if num_frames is not None:
        images = frames_downsample(images, num_frames)
    side = crop_px or min(images.shape[1:3])
    images = frames_crop(images, side, side)
    if side != input_px:
        images = frames_resize_min_side(images, input_px)
    return np.ascontiguousarray(images)


def images_features(images: np.ndarray, extractor, model_name: str, batch_size: int = 32) -> np.ndarray:
    """(n, px, px, 3) uint8 -> (n, feature_len) float32 via model_mobile.preprocess and the extractor."""
    inputs = model_mobile.preprocess(images, model_name)
    # predict_on_batch runs a compiled graph: ~2x faster than an eager call for a 16-frame clip on CPU
    outputs = [extractor.predict_on_batch(inputs[i:i + batch_size]) for i in range(0, len(inputs), batch_size)]
    return np.concatenate(outputs).astype(np.float32)


def calibration_images(frame_dir: Path, stream: str, input_px: int, num_frames: int | None,
                       crop_px: int | None) -> np.ndarray:
    """Up to 128 images from up to 32 evenly chosen videos of the train split (all splits if there is none)."""
    frame_dir = Path(frame_dir)
    folders = video_folders(frame_dir)
    train = [f for f in folders if f.relative_to(frame_dir).parts[0] == "train"]
    folders = train or folders
    if not folders:
        raise FileNotFoundError(f"No video folders under {frame_dir.resolve()} to calibrate the extractor on")
    chosen = [folders[i] for i in frame_indices(len(folders), min(CALIBRATION_VIDEOS, len(folders)))]
    images = []
    for folder in dict.fromkeys(chosen):
        try:
            video = load_images(folder, stream, input_px, num_frames, crop_px)
        except (OSError, ValueError):  # a bad video is reported by the feature step itself
            continue
        images.append(video[frame_indices(len(video), CALIBRATION_FRAMES_PER_VIDEO)])
    if not images:
        raise ValueError(f"No readable video under {frame_dir.resolve()} to calibrate the extractor on")
    return np.concatenate(images)


def load_extractor(feature_dir: Path):
    """The extractor saved beside a feature folder and its settings: (keras.Model, dict).

    Raises:
        FileNotFoundError: no FEATURE_DIR/extractor.keras (the features were not made by feature.py).
    """
    import keras

    feature_dir = Path(feature_dir)
    path, info_path = feature_dir / EXTRACTOR_FILE, feature_dir / EXTRACTOR_INFO
    if not path.is_file() or not info_path.is_file():
        raise FileNotFoundError(f"No {EXTRACTOR_FILE} + {EXTRACTOR_INFO} in {feature_dir.resolve()}; "
                                "compute the features with `python feature.py` first")
    return keras.models.load_model(path, compile=False), json.loads(info_path.read_text())


def open_extractor(frame_dir: Path, feature_dir: Path, settings: dict, overwrite: bool = False):
    """The extractor for `settings` (model, weights, stream, input_px, crop_px, num_frames, seed): the one saved
    in feature_dir when its settings match, else a new one (built, calibrated for weights "none", saved).

    Raises:
        ValueError: feature_dir holds features of an extractor with other settings (and not overwrite).
        model_mobile.WeightsUnavailableError: ImageNet weights requested but not downloadable.
    """
    feature_dir = Path(feature_dir)
    info_path = feature_dir / EXTRACTOR_INFO
    if not overwrite and info_path.is_file() and (feature_dir / EXTRACTOR_FILE).is_file():
        saved = json.loads(info_path.read_text())
        different = {k: (saved.get(k), v) for k, v in settings.items() if saved.get(k) != v}
        if different:
            changes = ", ".join(f"{k}: {old!r} there, {new!r} now" for k, (old, new) in different.items())
            raise ValueError(f"{feature_dir.resolve()} holds features of another extractor ({changes}); "
                             "use --overwrite to recompute them all, or write to another FEATURE_DIR")
        return load_extractor(feature_dir)[0]
    extractor = model_mobile.feature_extractor(settings["model"], settings["weights"], settings["input_px"],
                                               seed=settings["seed"])
    if settings["weights"] == "none":
        images = calibration_images(frame_dir, settings["stream"], settings["input_px"], settings["num_frames"],
                                    settings["crop_px"])
        model_mobile.calibrate_batchnorm(extractor, model_mobile.preprocess(images, settings["model"]))
    with atomic_write(feature_dir / EXTRACTOR_FILE) as tmp:
        extractor.save(tmp)
    with atomic_write(info_path) as tmp:
        tmp.write_text(json.dumps({**settings, "feature_len": int(extractor.output_shape[-1])}, indent=2) + "\n")
    return extractor


def is_complete_npy(path: Path, shape: tuple) -> bool:
    """True when `path` is a readable .npy of exactly `shape`."""
    if not path.is_file():
        return False
    try:
        return tuple(np.load(path, mmap_mode="r").shape) == tuple(shape)
    except (OSError, ValueError):
        return False


def feature_video(folder: Path, target: Path, extractor, model_name: str, stream: str, input_px: int,
                  num_frames: int | None, crop_px: int | None, batch_size: int, overwrite: bool) -> str:
    """One job of `frames_dir_to_features_dir`: writes target (.npy) for one video folder; "done" or "skipped"."""
    expected = num_frames or len(jpg_files(folder))
    if expected == 0:
        raise FileNotFoundError(f"No .jpg files in {folder}; re-run `python frame.py` / `python opticalflow.py`")
    if not overwrite and is_complete_npy(target, (expected, extractor.output_shape[-1])):
        return "skipped"
    images = load_images(folder, stream, input_px, num_frames, crop_px)
    features = images_features(images, extractor, model_name, batch_size)  # (n, feature_len) float32
    with atomic_write(target) as tmp:
        np.save(tmp, features)
    return "done"


_worker_extractors: dict = {}  # in a Ray worker: (extractor file, mtime) -> the loaded keras.Model


def feature_video_saved(folder: Path, target: Path, feature_dir: Path, **settings) -> str:
    """feature_video with the extractor saved in feature_dir (the Ray engine's job: a worker loads the model once,
    instead of receiving it with every task)."""
    path = Path(feature_dir) / EXTRACTOR_FILE
    key = (str(path.resolve()), path.stat().st_mtime_ns)
    if key not in _worker_extractors:
        _worker_extractors.clear()
        _worker_extractors[key] = load_extractor(feature_dir)[0]
    return feature_video(folder, target, _worker_extractors[key], **settings)


def frames_dir_to_features_dir(
    frame_dir: Path,
    feature_dir: Path,
    model_name: str = "mobilenet",
    weights: str = "imagenet",
    stream: str | None = None,
    num_frames: int | None = None,
    crop_px: int | None = None,
    input_px: int | None = None,
    batch_size: int = 32,
    seed: int = 0,
    overwrite: bool = False,
    engine: str = "local",
    address: str | None = None,
) -> StepSummary:
    """Writes feature_dir/<split>/<label>/<video>.npy (num_frames, feature_len) for each video folder of frame_dir.

    Args:
        stream: "rgb" or "flow"; None detects it from the file names (flow000.jpg / frame0000.jpg).
        num_frames: frames per video after resampling; None keeps what the folder holds.
        crop_px: square center crop before resizing; None: the square of the smaller side.
        input_px: network input size; None: the network's default (224 MobileNet, 299 InceptionV3).
        batch_size: frames per forward pass.
        seed: initialisation of the random network for weights "none".
        overwrite: recompute existing feature files (and the extractor).
        engine, address: "local" (this process) or "ray": one Ray task per video (folderstep.run_step, engine.py),
            each worker loading the saved extractor once.

    Returns:
        StepSummary; failures are also listed in feature_dir/failed-features.txt.

    Raises:
        FileNotFoundError: no frame folders under frame_dir.
        ValueError: bad settings, or feature_dir made by an extractor with other settings.
        model_mobile.WeightsUnavailableError: ImageNet weights requested but not downloadable.
    """
    frame_dir, feature_dir = Path(frame_dir), Path(feature_dir)
    check_separate(frame_dir, feature_dir)
    if weights not in model_mobile.WEIGHTS:
        raise ValueError(f"weights={weights!r}; choose one of {model_mobile.WEIGHTS}")
    if model_name not in model_mobile.FEATURE_MODELS:
        raise ValueError(f"Unknown feature model {model_name!r}; choose one of {sorted(model_mobile.FEATURE_MODELS)}")
    folders = video_folders(frame_dir)
    if not folders:
        raise FileNotFoundError(
            f"No frame folders under {frame_dir.resolve()} (expected <split>/<label>/<video>/*.jpg); "
            "run `python frame.py` (and `python opticalflow.py` for flow) first"
        )
    stream = stream or detect_stream(frame_dir)
    if stream not in STREAMS:
        raise ValueError(f"stream={stream!r}; choose one of {STREAMS}")
    input_px = input_px or model_mobile.FEATURE_MODELS[model_name].default_px
    model_mobile.check_input_px(model_name, input_px)
    settings = dict(model=model_name, weights=weights, stream=stream, input_px=input_px, crop_px=crop_px,
                    num_frames=num_frames, seed=seed)
    prepare_output(feature_dir)
    clean_leftovers(feature_dir)
    extractor = open_extractor(frame_dir, feature_dir, settings, overwrite)
    # <video>.npy beside the label: append the suffix, do not replace one (video names may contain dots)
    jobs = [(folder, feature_dir / folder.parent.relative_to(frame_dir) / f"{folder.name}.npy") for folder in folders]
    remove_stale(feature_dir, [target for _, target in jobs], lambda path: path.is_file() and path.suffix == ".npy",
                 "features")
    job_settings = dict(model_name=model_name, stream=stream, input_px=input_px, num_frames=num_frames, crop_px=crop_px,
                        batch_size=batch_size, overwrite=overwrite)
    if engine == "ray":
        job = functools.partial(feature_video_saved, feature_dir=feature_dir.resolve(), **job_settings)
    else:
        job = functools.partial(feature_video, extractor=extractor, **job_settings)
    print(f"Computing {model_name} ({weights}) features of {len(folders)} {stream} folders in {frame_dir.resolve()} "
          f"to {feature_dir.resolve()} ...")
    summary = run_step(jobs, job, workers=1, desc=f"features {stream}", verb="computed", engine=engine, address=address)
    summary.write_failures(feature_dir, "features")
    print(summary.line("features"))
    return summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=EXIT_HELP,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("frame_dir", type=Path,
                        help="folder holding <split>/<label>/<video>/*.jpg (frame.py frames or opticalflow.py flows)")
    parser.add_argument("feature_dir", type=Path, help="output folder; gets <split>/<label>/<video>.npy")
    parser.add_argument("--model", choices=tuple(model_mobile.FEATURE_MODELS), default="mobilenet",
                        help="feature network (default mobilenet: 1024 features; inception: 2048)")
    parser.add_argument("--weights", choices=model_mobile.WEIGHTS, default="imagenet",
                        help="imagenet (downloaded once into ~/.keras/models) or none (random network)")
    parser.add_argument("--stream", choices=("auto",) + STREAMS, default="auto",
                        help="what FRAME_DIR holds; auto tells frames from flow by the file names")
    parser.add_argument("--num-frames", type=int, default=None, help="resample every video to this many frames "
                        "(default: keep what the folders hold)")
    parser.add_argument("--crop", type=int, default=None, metavar="PX",
                        help="square center crop before resizing (default: the square of the smaller side)")
    parser.add_argument("--input-px", type=int, default=None,
                        help="network input size (default 224 mobilenet, 299 inception; e.g. 128 for the demo set)")
    parser.add_argument("--batch", type=int, default=32, help="frames per forward pass (default 32)")
    parser.add_argument("--seed", type=int, default=0, help="random network of --weights none (default 0)")
    parser.add_argument("--overwrite", action="store_true", help="recompute existing feature files")
    add_engine_arguments(parser)
    args = parser.parse_args(argv)
    return exit_status(lambda: frames_dir_to_features_dir(
        args.frame_dir, args.feature_dir, args.model, args.weights, None if args.stream == "auto" else args.stream,
        args.num_frames, args.crop, args.input_px, args.batch, args.seed, args.overwrite, engine=args.engine,
        address=args.address), (model_mobile.WeightsUnavailableError, *USER_ERRORS))


if __name__ == "__main__":
    sys.exit(main())
