"""Videos to frames: the folder step that extracts every video of a set (operations in signlang/video.py).

    python frame.py data-set/demo/010 data-temp/demo/010-16/image --num-frames 16 --min-dim 128

Reads VIDEO_DIR/<split>/<label>/<video>.{avi,mp4,...} and writes
FRAME_DIR/<split>/<label>/<video>/frame0000.jpg ... : each video resized so that its smaller side is
--min-dim pixels, resampled to --num-frames evenly spaced frames (`frame_indices`), optionally
center-cropped. Re-running skips finished videos; a killed run leaves no half-written folder
(folderstep.py). Corrupt videos are listed in FRAME_DIR/failed-frames.txt and the others go on.
Source videos are only read, never modified; FRAME_DIR must lie outside VIDEO_DIR. Only files with a
VIDEO_EXTENSIONS extension are videos; other files are reported once as ignored, and videos outside
the <split>/<label>/ layout or broken/looping links are reported as failures.
Exit status: 0 all fine, 1 some videos failed, 2 user error (folderstep.EXIT_HELP).
"""
import argparse
import errno
import functools
import os
import sys
from pathlib import Path

from signlang.engine import add_step_arguments
from signlang.folderstep import (EXIT_HELP, StepSummary, check_separate, check_settings, exit_status, is_complete,
                                 is_jpg_folder, prepare_output, remove_stale, run_step, threads_per_worker)
from signlang.safeio import atomic_dir, clean_leftovers
from signlang.video import (VIDEO_EXTENSIONS, frames_crop, frames_downsample, frames_to_files, jpg_files,
                            set_cv2_threads, video_to_frames)
from signlang.videoset import list_videos


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
    check_settings(frame_dir, "frames", {"num_frames": num_frames, "min_dim_px": min_dim_px, "crop_px": crop_px}, overwrite)
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=EXIT_HELP,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video_dir", type=Path, help="folder holding <split>/<label>/<video>.{avi,mp4,...}")
    parser.add_argument("frame_dir", type=Path, help="output folder; gets <split>/<label>/<video>/frame0000.jpg ...")
    parser.add_argument("--num-frames", type=int, default=40, help="frames per video after even resampling (default 40, the seed)")
    parser.add_argument("--min-dim", type=int, default=240, help="smaller side in pixels after resizing (default 240, the seed)")
    parser.add_argument("--crop", type=int, default=None, metavar="PX", help="square center crop in pixels after resizing (default: none)")
    add_step_arguments(parser, "re-extract videos whose frame folder is already complete")
    args = parser.parse_args(argv)
    return exit_status(lambda: videos_dir_to_frames_dir(
        args.video_dir, args.frame_dir, num_frames=args.num_frames, min_dim_px=args.min_dim, crop_px=args.crop,
        workers=args.workers, overwrite=args.overwrite, engine=args.engine, address=args.address))


if __name__ == "__main__":
    sys.exit(main())
