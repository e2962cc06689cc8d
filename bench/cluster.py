"""Times the Ray engine of opticalflow.py with 1 and 2 Ray workers (CPUs) on this machine.

    python -m bench.cluster [--videos 4] [--frames 40] [--px 224] [--repeats 3] [--method tvl1-fast]

Writes --videos synthetic moving-blob clips of --frames frames at --px (the seed: 40 x 224), extracts their frames,
then for 1 and 2 workers starts a private local Ray instance with that many CPUs (start-up timed apart) and runs
the real `steps.frames_dir_to_flows_dir(..., engine="ray")` --repeats times (--overwrite), printing the
median wall seconds of the step, per video, and the speed-up; the load average is printed with it (this machine is
shared: compare the two rows measured side by side, not with other runs). The docs/scale-out.md projection
is computed from these per-video costs.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from signlang import engine, steps
from signlang.flow import DEFAULT_FLOW_METHOD, METHODS
from signlang.synthetic import DIRECTIONS, moving_blob_frames
from signlang.video import write_video


def write_clips(video_dir: Path, num_videos: int, num_frames: int, px: int) -> None:
    """num_videos moving-blob clips under video_dir/train/<label>/ (signlang/synthetic.py's blob)."""
    rng = np.random.default_rng(0)
    for n in range(num_videos):
        frames = moving_blob_frames(DIRECTIONS[n % 4], num_frames, px, rng)
        write_video(video_dir / "train" / f"d{n % 4}" / f"clip{n:03d}.avi", frames, 25)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--videos", type=int, default=4, help="clips to process")
    parser.add_argument("--frames", type=int, default=40, help="frames per clip (the seed: 40)")
    parser.add_argument("--px", type=int, default=224, help="clip height in pixels (the seed: 224)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of the step per worker count (median)")
    parser.add_argument("--method", default=DEFAULT_FLOW_METHOD, choices=METHODS, help="flow method")
    args = parser.parse_args(argv)
    import ray  # after the arguments: --help stays quick

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_clips(root / "video", args.videos, args.frames, args.px)
        steps.videos_dir_to_frames_dir(root / "video", root / "frames", num_frames=args.frames, min_dim_px=args.px)
        rows = []
        for workers in (1, 2):
            start = time.perf_counter()
            engine.connect(None, workers)
            start_s = time.perf_counter() - start
            try:
                walls = []
                for _ in range(args.repeats):
                    start = time.perf_counter()
                    steps.frames_dir_to_flows_dir(root / "frames", root / "flow", args.method, workers=workers,
                                                        overwrite=True, engine="ray")
                    walls.append(time.perf_counter() - start)
            finally:
                ray.shutdown()
            rows.append((workers, start_s, statistics.median(walls), os.getloadavg()))
    print(f"\nRay engine, {args.method} flow of {args.videos} clips x {args.frames} frames at {args.px} px, "
          f"median of {args.repeats} runs; {os.cpu_count()} cores")
    print("workers  ray start s  step s  s/video  speed-up  load average (1/5/15 min)")
    for workers, start_s, wall, load in rows:
        print(f"{workers:7d}  {start_s:11.1f}  {wall:6.1f}  {wall / args.videos:7.2f}  {rows[0][2] / wall:8.2f}  "
              f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
