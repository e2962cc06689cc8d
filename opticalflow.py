"""Frames to optical flow: the folder step that computes the flow of every frame folder (its work: signlang/steps.py).

    python opticalflow.py data-temp/demo/010-16/image data-temp/demo/010-16/oflow --method tvl1-lite

Reads FRAME_DIR/<split>/<label>/<video>/frame0000.jpg ... (written by `python frame.py`) and writes
FLOW_DIR/<split>/<label>/<video>/flow000.jpg ...: one flow image per frame, the first all zeros.
Re-running skips finished videos; a killed run leaves no half-written folder (folderstep.py).

Encoding, as DeepMind's I3D flow stream expects (kinetics-i3d README): TV-L1 flow on grayscale
frames, in pixels, clipped to [-20, 20] and scaled to [-1, 1]. On disk (the seed's format): a
3-channel JPEG, x in channel 0, y in channel 1, a zero-flow third channel, byte = round((f + 1) * 127.5).
FLOW_DIR must lie outside FRAME_DIR. Exit status: 0 all fine, 1 some videos failed, 2 user error.
"""
import argparse
import sys
from pathlib import Path

from signlang.engine import add_step_arguments
from signlang.flow import DEFAULT_FLOW_METHOD, DIS_WARNING, METHODS, METHOD_HELP
from signlang.folderstep import EXIT_HELP, exit_status
from signlang.steps import frames_dir_to_flows_dir


def main(argv=None) -> int:
    method_lines = "\n".join(f"  {name:13s} {text}" for name, text in METHOD_HELP.items())
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=f"methods:\n{method_lines}\n\n{DIS_WARNING}\n\n{EXIT_HELP}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("frame_dir", type=Path, help="folder holding <split>/<label>/<video>/frame0000.jpg ... (frame.py)")
    parser.add_argument("flow_dir", type=Path, help="output folder; gets <split>/<label>/<video>/flow000.jpg ...")
    parser.add_argument(
        "--method", default=DEFAULT_FLOW_METHOD, choices=METHODS,
        help=f"flow algorithm (default {DEFAULT_FLOW_METHOD}); 'dis' is fast but NOT TV-L1, see below",
    )
    add_step_arguments(parser, "recompute videos whose flow folder is already complete")
    args = parser.parse_args(argv)
    return exit_status(lambda: frames_dir_to_flows_dir(
        args.frame_dir, args.flow_dir, method=args.method, workers=args.workers, overwrite=args.overwrite,
        engine=args.engine, address=args.address))


if __name__ == "__main__":
    sys.exit(main())
