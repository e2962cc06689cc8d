"""The preprocessing steps' work: videos to frame folders, frame folders to flow folders (frame.py, opticalflow.py).

Both are folder steps (signlang/folderstep.py): resumable, crash-safe, run on this machine's processes or a Ray
cluster (signlang/engine.py). frame.py and opticalflow.py are their command lines; the pipelines and the
benchmarks call these functions.
"""
import errno
import functools
import json
import os
import warnings
from pathlib import Path

from signlang.flow import BOUND_PX, DEFAULT_FLOW_METHOD, check_method, flows_to_files, frames_to_flows
from signlang.folderstep import (StepSummary, check_separate, check_settings, is_complete, is_jpg_folder,
                                 prepare_output, remove_stale, run_step, threads_per_worker, visible)
from signlang.safeio import atomic_dir, clean_leftovers
from signlang.video import (VIDEO_EXTENSIONS, files_to_frames, frames_crop, frames_downsample, frames_to_files,
                            jpg_files, set_cv2_threads, video_to_frames)
from signlang.videoset import list_videos


def frame_settings(num_frames: int | None, min_dim_px: int | None, crop_px: int | None = None) -> dict:
    """What frame_dir/frames-settings.json records of the frames (check_settings refuses to mix others)."""
    return {"num_frames": num_frames, "min_dim_px": min_dim_px, "crop_px": crop_px}


def flow_settings(method: str) -> dict:
    """What flow_dir/flows-settings.json records of the flow."""
    return {"method": method, "bound_px": BOUND_PX}


def extract_video(
    video_path: Path, target_dir: Path, num_frames: int | None, min_dim_px: int | None, crop_px: int | None, overwrite: bool
) -> str:
    """One job of `videos_dir_to_frames_dir`: writes the frames of one video; "done" or "skipped"."""
    if not overwrite:
        if num_frames is not None and is_complete(target_dir, "*.jpg", num_frames):
            return "skipped"
        if num_frames is None and target_dir.is_dir() and jpg_files(target_dir):  # atomic: present means finished
            return "skipped"
    frames = video_to_frames(video_path, min_dim_px)
    if num_frames is not None:
        frames = frames_downsample(frames, num_frames)
    if crop_px is not None:
        frames = frames_crop(frames, crop_px, crop_px)
    with atomic_dir(target_dir) as tmp:
        frames_to_files(frames, tmp)
    return "done"


def scan_videos(video_dir: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """The videos of video_dir/<split>/<label>/ (videoset.list_videos) and the files that cannot be used.

    Prints one line for files that are not videos (ignored). Returns (videos, problems): problems are
    (path, reason) for videos outside the <split>/<label>/ layout and for broken or looping links, which
    the step reports as failures instead of skipping them silently.
    """
    video_dir = Path(video_dir)
    listed, ignored = list_videos(video_dir)
    if ignored:
        print(f"Ignoring {len(ignored)} files that are not videos ({', '.join(VIDEO_EXTENSIONS)}) in "
              f"{video_dir.resolve()}, e.g. {ignored[0]}")
    problems = []
    for folder, dirs, files in os.walk(video_dir):  # does not follow folder links: no endless loops
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        depth = len(Path(folder).relative_to(video_dir).parts)
        for name in sorted(f for f in files if not f.startswith(".")):
            path = Path(folder) / name
            if path.is_symlink() and not path.exists():
                try:
                    os.stat(path)
                    reason = "a link that cannot be followed"
                except OSError as error:
                    reason = "a symbolic link loop" if error.errno == errno.ELOOP else "a broken link (its target is gone)"
                problems.append((path, f"VideoError: {path} is {reason}; fix or delete the link"))
            elif depth != 2 and path.suffix.lower() in VIDEO_EXTENSIONS:
                problems.append((path, f"VideoError: misplaced video {path}: videos must lie in "
                                       f"{video_dir}/<split>/<label>/<video>; move it there"))
    return [path for path, _, _ in listed], problems


def videos_dir_to_frames_dir(
    video_dir: Path,
    frame_dir: Path,
    num_frames: int | None = 40,
    min_dim_px: int | None = 240,
    crop_px: int | None = None,
    workers: int = 1,
    overwrite: bool = False,
    engine: str = "local",
    address: str | None = None,
) -> StepSummary:
    """Extracts video_dir/<split>/<label>/<video>.* to frame_dir/<split>/<label>/<video.stem>/frame0000.jpg ...

    Args:
        num_frames: frames per video after resampling (`frame_indices`); None keeps all.
        min_dim_px: smaller side after resizing; None keeps the original size.
        crop_px: square center crop after resizing; None: no crop.
        workers: processes; 1 runs serially.
        overwrite: redo videos whose folder is already complete.
        engine, address: where the jobs run, "local" or "ray" (folderstep.run_step, engine.py).

    Returns:
        StepSummary; failures (corrupt videos, ...) are also listed in frame_dir/failed-frames.txt.

    Raises:
        FileNotFoundError: video_dir is missing or holds no <split>/<label>/<video> files.
        ValueError: inconsistent sizes (crop larger than min_dim_px) or counts, or frame_dir holds frames
            made with other settings (frame_dir/frames-settings.json) and overwrite is False.
    """
    video_dir, frame_dir = Path(video_dir), Path(frame_dir)
    if num_frames is not None and num_frames < 1:
        raise ValueError(f"num_frames={num_frames}; must be >= 1 (or None to keep all frames)")
    if crop_px is not None and min_dim_px is not None and crop_px > min_dim_px:
        raise ValueError(f"crop_px={crop_px} is larger than min_dim_px={min_dim_px}; the crop must fit the resized frame")
    if not video_dir.is_dir():
        raise FileNotFoundError(f"Video folder {video_dir.resolve()} does not exist")
    check_separate(video_dir, frame_dir)
    videos, problems = scan_videos(video_dir)
    if not videos:
        raise FileNotFoundError(
            f"No videos under {video_dir.resolve()}; expected the layout "
            f"{video_dir}/<split>/<label>/<video>.avi|mp4, e.g. {video_dir}/train/hello/clip01.mp4"
        )

    jobs, duplicates = [], list(problems)
    seen: dict[Path, Path] = {}
    split_of = {path: split for path, split, _ in list_videos(video_dir)[0]}  # effective: held-out takes -> val
    for video in videos:
        target = frame_dir / split_of.get(video, video.parent.parent.name) / video.parent.name / video.stem
        if target in seen:
            duplicates.append((video, f"VideoError: {seen[target].name} already extracts to {target}; rename one"))
            continue
        seen[target] = video
        jobs.append((video, target))

    prepare_output(frame_dir)
    check_settings(frame_dir, "frames", frame_settings(num_frames, min_dim_px, crop_px), overwrite)
    remove_stale(frame_dir, seen, is_jpg_folder, "frames")
    clean_leftovers(frame_dir)
    extract = functools.partial(
        extract_video, num_frames=num_frames, min_dim_px=min_dim_px, crop_px=crop_px, overwrite=overwrite
    )
    print(f"Extracting frames of {len(videos)} videos in {video_dir.resolve()} to {frame_dir.resolve()} ...")
    summary = run_step(
        jobs,
        extract,
        workers=workers,
        desc="frames",
        verb="extracted",
        initializer=set_cv2_threads,
        initargs=(threads_per_worker(workers),),
        engine=engine,
        address=address,
    )
    summary.failed = sorted(summary.failed + duplicates, key=lambda item: str(item[0]))
    summary.write_failures(frame_dir, "frames")
    print(summary.line("frames"))
    return summary


def check_pipeline_flow(flow_dir: Path, method: str, script: str) -> None:
    """Before a pipeline's flow step: flow_dir may hold flow of another method (e.g. the seed's tvl1-fast from
    before tvl1-lite became the default). The pipelines have no --overwrite, so say what to do instead.

    Raises:
        ValueError: flow_dir/flows-settings.json names another method.
    """
    path = Path(flow_dir) / "flows-settings.json"
    try:
        recorded = json.loads(path.read_text()).get("method")
    except (OSError, ValueError, AttributeError):
        return  # none yet (or unreadable: frames_dir_to_flows_dir replaces it)
    if recorded and recorded != method:
        raise ValueError(
            f"{Path(flow_dir).resolve()} holds {recorded} flow but this run computes {method} (FLOW_METHOD at the "
            f"top of {script}, or a folder set's videoset.json). Delete that folder to compute {method} flow "
            f"(models trained on {recorded} keep working: the live demo computes each model's own flow), or set "
            f"FLOW_METHOD = \"{recorded}\" at the top of {script}")


def flow_video(frame_folder: Path, target_dir: Path, method: str, overwrite: bool) -> str:
    """One job of `frames_dir_to_flows_dir`: writes the flow of one frame folder; "done" or "skipped"."""
    num_frames = len(jpg_files(frame_folder))
    if num_frames == 0:
        raise FileNotFoundError(f"No .jpg frames in {frame_folder}; re-run `python frame.py`")
    if not overwrite and is_complete(target_dir, "*.jpg", num_frames):
        return "skipped"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 'dis' was already warned about once, in the main process
        flows = frames_to_flows(files_to_frames(frame_folder), method)
    with atomic_dir(target_dir) as tmp:
        flows_to_files(flows, tmp)
    return "done"


def frames_dir_to_flows_dir(
    frame_dir: Path, flow_dir: Path, method: str = DEFAULT_FLOW_METHOD, workers: int = 1, overwrite: bool = False,
    engine: str = "local", address: str | None = None,
) -> StepSummary:
    """Computes flow_dir/<split>/<label>/<video>/flow000.jpg ... for every frame_dir/<split>/<label>/<video>/.

    A video is skipped when its flow folder already holds as many flow files as it has frames
    (unless overwrite). Failures are listed in flow_dir/failed-flows.txt. engine, address: where the jobs
    run, "local" (`workers` processes) or "ray" (folderstep.run_step, engine.py).

    Raises:
        ValueError: unknown method, or flow_dir holds flow of another method (flow_dir/flows-settings.json)
            and overwrite is False.
        FileNotFoundError: no frame folders under frame_dir.
    """
    check_method(method)
    frame_dir, flow_dir = Path(frame_dir), Path(flow_dir)
    check_separate(frame_dir, flow_dir)
    folders = [
        folder
        for split in (visible(frame_dir.iterdir()) if frame_dir.is_dir() else [])
        if split.is_dir()
        for label in visible(split.iterdir())
        if label.is_dir()
        for folder in visible(label.iterdir())
        if folder.is_dir()
    ]
    if not folders:
        raise FileNotFoundError(
            f"No frame folders under {frame_dir.resolve()} (expected <split>/<label>/<video>/frame0000.jpg); "
            "run `python frame.py` first"
        )
    jobs = [(folder, flow_dir / folder.relative_to(frame_dir)) for folder in folders]
    prepare_output(flow_dir)
    check_settings(flow_dir, "flows", flow_settings(method), overwrite)
    remove_stale(flow_dir, [target for _, target in jobs], is_jpg_folder, "flows")
    clean_leftovers(flow_dir)
    print(f"Computing {method} flow of {len(folders)} frame folders in {frame_dir.resolve()} to {flow_dir.resolve()} ...")
    summary = run_step(
        jobs,
        functools.partial(flow_video, method=method, overwrite=overwrite),
        workers=workers,
        desc=f"flow {method}",
        verb="computed",
        initializer=set_cv2_threads,
        initargs=(threads_per_worker(workers),),
        engine=engine,
        address=address,
    )
    summary.write_failures(flow_dir, "flows")
    print(summary.line("flows"))
    return summary
