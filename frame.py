"""Videos to frames: the folder step that extracts every video of a set (its work: signlang/steps.py).

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
import sys
from pathlib import Path

from signlang.engine import add_step_arguments
from signlang.folderstep import EXIT_HELP, exit_status
from signlang.steps import videos_dir_to_frames_dir


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
