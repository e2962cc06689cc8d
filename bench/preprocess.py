"""Times frame extraction and every optical-flow method, serially and with worker processes.

    python -m bench.preprocess --video-dir data-set/demo/010 --videos 8 [--load N | --loads 0 1 2]

For each input size (224: the seed's 40 frames, resized to 240, cropped to 224; 128: the demo set's
16 frames at 128 px) it runs the real steps of frame.py and opticalflow.py on the same videos and
prints the median seconds per video, the milliseconds per frame pair (flow computation alone), and
the wall time of the whole set serially and with --workers processes. When --video-dir does not
exist (no demo set yet), it writes synthetic moving-blob videos into a temporary folder instead.
With --load N (or --loads 0 1 2: one table per load) N CPU-bound competing processes run during the
measurement (loadgen.py); each table is headed by the load average and numpy's matmul GFLOP/s.
"""
import argparse
import math
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import cv2
import numpy as np

from bench import loadgen
from signlang.flow import METHODS, flows_to_files, frames_to_flows
from signlang.folderstep import visible
from signlang.safeio import atomic_dir
from signlang.synthetic import write_blob_video
from signlang.video import files_to_frames
from signlang.videoset import CHALEARN_020, DEMO_SET
from signlang import steps

SIZES = {
    224: CHALEARN_020,  # the seed: 40 frames, smaller side 240, crop 224
    128: DEMO_SET,  # the demo set: 16 frames at 128 px
}


def synthetic_video_dir(root: Path, num_videos: int) -> Path:
    """num_videos synthetic 320x240, 3 s, 25 fps blob videos in root/train/<label>/<video>.avi."""
    rng = np.random.default_rng(1)
    for i in range(num_videos):
        angle = rng.uniform(0, 2 * math.pi)
        step = (2.5 * math.cos(angle), 2.5 * math.sin(angle))
        write_blob_video(root / "train" / f"blob{i % 4}" / f"clip{i:02d}.avi", 75, 240, 320, step)
    return root


def pick_videos(video_dir: Path, num_videos: int, into: Path) -> Path:
    """Links num_videos videos spread evenly over video_dir/<split>/<label>/* into into/<split>/<label>/."""
    videos = [path for path in visible(video_dir.glob("*/*/*")) if path.is_file()]
    if not videos:
        raise FileNotFoundError(f"No videos under {video_dir}; expected <split>/<label>/<video>.avi|mp4")
    chosen = [videos[i] for i in np.linspace(0, len(videos) - 1, min(num_videos, len(videos))).round().astype(int)]
    for video in dict.fromkeys(chosen):
        link = into / video.parent.parent.name / video.parent.name / video.name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(video.resolve())
    return into


def bench_size(video_dir: Path, size_px: int, methods, workers: int, work: Path) -> list[tuple]:
    """Rows (step, median s/video, median ms/frame pair or None, serial wall s, parallel wall s) for one size."""
    video_set = SIZES[size_px]
    rows = []
    videos = [path for path in visible(video_dir.glob("*/*/*")) if path.is_file()]
    serial_frames, parallel_frames = work / f"image-{size_px}-serial", work / f"image-{size_px}-workers"

    per_video = []
    start = time.perf_counter()
    for video in videos:
        t0 = time.perf_counter()
        steps.extract_video(
            video, serial_frames / video.parent.parent.name / video.parent.name / video.stem,
            video_set.num_frames, video_set.min_dim_px, video_set.crop_px, overwrite=True,
        )
        per_video.append(time.perf_counter() - t0)
    serial_wall = time.perf_counter() - start
    start = time.perf_counter()
    steps.videos_dir_to_frames_dir(
        video_dir, parallel_frames, video_set.num_frames, video_set.min_dim_px, video_set.crop_px, workers=workers
    )
    rows.append(("frames", statistics.median(per_video), None, serial_wall, time.perf_counter() - start))

    folders = [p for p in visible(serial_frames.glob("*/*/*")) if p.is_dir()]
    for method in methods:
        per_video, per_pair = [], []
        start = time.perf_counter()
        for folder in folders:
            t0 = time.perf_counter()
            frames = files_to_frames(folder)
            t1 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                flows = frames_to_flows(frames, method)
            t2 = time.perf_counter()
            with atomic_dir(work / f"oflow-{size_px}-{method}-serial" / folder.relative_to(serial_frames)) as tmp:
                flows_to_files(flows, tmp)
            per_video.append(time.perf_counter() - t0)
            per_pair.append((t2 - t1) / max(1, len(frames) - 1))
        serial_wall = time.perf_counter() - start
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            steps.frames_dir_to_flows_dir(serial_frames, work / f"oflow-{size_px}-{method}-workers", method, workers=workers)
        parallel_wall = time.perf_counter() - start
        rows.append((method, statistics.median(per_video), 1000 * statistics.median(per_pair), serial_wall, parallel_wall))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video-dir", type=Path, default=DEMO_SET.video_dir, help="folder of <split>/<label>/<video> files (default: the demo set)")
    parser.add_argument("--videos", type=int, default=8, help="how many videos to time (default 8)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[224, 128], choices=sorted(SIZES), help="input sizes to time (default: 224 128)")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS, help="flow methods to time (default: all)")
    parser.add_argument("--workers", type=int, default=2, help="processes for the parallel run (default 2)")
    loads = parser.add_mutually_exclusive_group()
    loads.add_argument("--load", type=int, default=0, metavar="N", help="CPU-bound competing processes during the measurement (default 0)")
    loads.add_argument("--loads", type=int, nargs="+", metavar="N", help="measure once per load, e.g. --loads 0 1 2 (default: --load)")
    args = parser.parse_args(argv)
    if args.videos < 1 or args.workers < 1:
        parser.error("--videos and --workers must be >= 1")
    load_levels = args.loads if args.loads is not None else [args.load]
    if min(load_levels) < 0:
        parser.error("--load/--loads must be >= 0")

    work = Path(tempfile.mkdtemp(prefix="bench_preprocess-"))
    try:
        if args.video_dir.is_dir():
            source = f"{args.video_dir.resolve()}"
            video_dir = pick_videos(args.video_dir, args.videos, work / "videos")
        else:
            source = f"synthetic 320x240 blob videos ({args.video_dir} does not exist)"
            video_dir = synthetic_video_dir(work / "videos", args.videos)
        num_videos = len([p for p in video_dir.glob("*/*/*")])
        print(f"OpenCV {cv2.__version__}, {cv2.getNumThreads()} threads; {num_videos} videos from {source}")
        report = []
        for load in load_levels:
            with loadgen.cpu_load(load):
                time.sleep(1.0 if load else 0.0)  # let the competitors get going
                report.append(f"\n=== load {load} (competing processes): {loadgen.machine_line()} ===")
                for size_px in args.sizes:
                    video_set = SIZES[size_px]
                    rows = bench_size(video_dir, size_px, args.methods, args.workers, work / f"load{load}")
                    report.append(f"\n{size_px}x{size_px}: {video_set.num_frames} frames, resized to {video_set.min_dim_px}, "
                                  f"crop {video_set.crop_px}; load {load}")
                    report.append(f"{'step':14s} {'s/video':>9s} {'ms/pair':>9s} {'serial s':>9s} {f'workers={args.workers} s':>12s}")
                    for step, s_video, ms_pair, serial_s, parallel_s in rows:
                        pair = f"{ms_pair:9.1f}" if ms_pair is not None else f"{'-':>9s}"
                        report.append(f"{step:14s} {s_video:9.3f} {pair} {serial_s:9.2f} {parallel_s:12.2f}")
                report.append(f"after load {load}: {loadgen.machine_line()}")
            print("\n".join(report), flush=True)  # each load's table as soon as it is measured
            report = []
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
