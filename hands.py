"""Videos to hand landmarks: the folder step that writes one landmark array per video (operations in signlang/hands.py).

    python hands.py --set demo

Reads the set's videos (<set>/<split>/<label>/<video>.{avi,mp4,...}) and writes
data-temp/<name>/<NNN>-<frames>/hands/<split>/<label>/<video>.npy: (frames, 2, 21, 4) float32, the set's
--num-frames frames of each video (the sampling of frame.py, at the video's own resolution, at most 640 px),
each with the signer's left and right hand (21 points of x, y, z and a present flag; zeros and present 0 where a
hand was not found; docs/hands.md). Re-running skips finished videos; a killed run leaves no half-written file
(folderstep.py). Ends with the summary line and how many clips hold no hand at all ("no hands found in N of M
clips"), which says that a set's videos show no real hands (the generated demo set's cartoon hands are not).
`--download` fetches the hand model once (sha256-pinned, into ~/.keras/models; `make weights` runs it); the
step itself never downloads. Exit status: 0 all fine, 1 some videos failed, 2 user error.
"""
from signlang import tfquiet; tfquiet.install()  # before any TF import: MediaPipe imports TensorFlow
import argparse
import functools
import sys
from pathlib import Path

import numpy as np

from signlang.engine import add_step_arguments
from signlang.folderstep import (EXIT_HELP, EXIT_USER_ERROR, StepSummary, check_separate, check_settings,
                                 exit_status, prepare_output, remove_stale, run_step, threads_per_worker, visible)
from signlang.handmodel import HandModelError, download_task, require_task
from signlang.hands import MAX_SIDE_PX, video_landmarks
from signlang.safeio import atomic_write, clean_leftovers
from signlang.video import set_cv2_threads
from signlang.videoset import VideoSet, add_set_arguments, list_videos, set_from_args

# MediaPipe's own C++ start-up lines are left as they are: tfquiet holds back TensorFlow's only.


def landmark_video(video_path: Path, target: Path, num_frames: int | None, overwrite: bool) -> str:
    """One job of `videos_to_landmarks`: writes target (.npy); "done" or "skipped"."""
    if target.is_file() and not overwrite:  # written atomically: present means finished
        return "skipped"
    landmarks = video_landmarks(video_path, num_frames)
    with atomic_write(target) as tmp:
        np.save(tmp, landmarks)
    return "done"


def is_landmark_file(path: Path) -> bool:
    return path.is_file() and path.suffix == ".npy"


def landmark_files(hands_dir: Path) -> list[Path]:
    """The .npy files under hands_dir/<split>/<label>/ (hidden names skipped)."""
    return visible(p for p in Path(hands_dir).glob("*/*/*.npy") if not any(
        part.startswith(".") for part in p.relative_to(hands_dir).parts))


def count_handless(files) -> tuple[int, int]:
    """(clips in which no hand was found in any frame, clips) of landmark files."""
    files = list(files)
    empty = sum(1 for path in files if not np.load(path)[..., 3].any())
    return empty, len(files)


def videos_to_landmarks(video_set: VideoSet, workers: int = 1, overwrite: bool = False, engine: str = "local",
                        address: str | None = None, hands_dir: Path | None = None) -> StepSummary:
    """Writes <hands_dir>/<split>/<label>/<video>.npy for every video of the set (default hands_dir: the set's
    stream_dir("hands")); prints the summary line and "no hands found in N of M clips".

    Raises:
        FileNotFoundError: the set has no videos. HandModelError (a RuntimeError): the hand model is not cached.
        ValueError: hands_dir holds landmarks made with another frame count and overwrite is False.
    """
    video_dir = Path(video_set.video_dir)
    hands_dir = Path(hands_dir or video_set.stream_dir("hands"))
    require_task()  # before any work: one line when the model is missing
    listed, _ = list_videos(video_dir)
    if not listed:
        raise FileNotFoundError(f"No videos under {video_dir.resolve()}; expected <split>/<label>/<video>.mp4")
    check_separate(video_dir, hands_dir)
    jobs = [(path, hands_dir / split / label / f"{path.stem}.npy") for path, split, label in listed]
    prepare_output(hands_dir)
    check_settings(hands_dir, "hands", {"num_frames": video_set.num_frames, "max_side_px": MAX_SIDE_PX}, overwrite)
    remove_stale(hands_dir, [target for _, target in jobs], is_landmark_file, "hands")
    clean_leftovers(hands_dir)
    print(f"Finding hands in {len(jobs)} videos of {video_dir.resolve()} -> {hands_dir.resolve()} ...")
    summary = run_step(jobs, functools.partial(landmark_video, num_frames=video_set.num_frames, overwrite=overwrite),
                       workers=workers, desc="hands", verb="computed", initializer=set_cv2_threads,
                       initargs=(threads_per_worker(workers),), engine=engine, address=address)
    summary.write_failures(hands_dir, "hands")
    print(summary.line("hands"))
    written = [target for _, target in jobs if target.is_file()]
    empty, total = count_handless(written)
    if empty:
        print(f"hands: no hands found in {empty} of {total} clips"
              + (" (all of them: these videos show no real hands, so a hands model cannot learn from them)"
                 if empty == total else ""))
    return summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=EXIT_HELP,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_set_arguments(parser)
    add_step_arguments(parser, "recompute videos whose landmark file already exists")
    parser.add_argument("--download", action="store_true",
                        help="fetch the hand model once (mediapipe==0.10.21's wheel from PyPI, sha256-pinned) into "
                             "~/.keras/models and exit; instant when cached")
    parser.add_argument("--wheel", type=Path, help="with --download: build the model from this local wheel instead")
    args = parser.parse_args(argv)
    if args.wheel and not args.download:
        parser.error("--wheel goes with --download")
    if args.download:
        try:
            print(f"Hand model: {download_task(args.wheel).resolve()}")
        except (HandModelError, OSError) as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_USER_ERROR
        return 0
    return exit_status(lambda: videos_to_landmarks(set_from_args(args), workers=args.workers,
                                                   overwrite=args.overwrite, engine=args.engine, address=args.address),
                       user_errors=(FileNotFoundError, ValueError, OSError, HandModelError))


if __name__ == "__main__":
    sys.exit(main())
