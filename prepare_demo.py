"""Writes the built-in demo set: the videos demo_render.py draws, in the folder contract, resumably.

    python prepare_demo.py --classes 10 --per-class 16 --val-per-class 6 --out data-set/demo

Generates the built-in demo dataset: MJPG .avi videos drawn by demo_render.py, in exactly ChaLearn's
layout, so that `make demo` runs without downloads:

    <out>/<NNN>/class.csv                               ,sClass,sLong,sCat,sDetail
    <out>/<NNN>/{train,val}/<label>/s<signer>_<k>.avi   320x240, 25 fps, 2-5 s

Each video shows a cartoon signer whose hand draws one movement; only motion separates the classes
(demo_render.py says how).
Train and val use different signers (signer-independent, as ChaLearn's splits are): train s01-s06, val s07-s08.

Everything follows from --seed: the same seed gives byte-identical frames. A video is written to
a temporary name, decoded again and renamed into place only when complete, so a killed run or a full disk
is resumed by running it again (a rerun also renders again a video that does not decode to all its frames).
class.csv is written last: it marks a complete set.
Exit status: 0 done; 1 a video could not be written (disk full: free space and re-run); 2 user error.
"""
import argparse
import sys
from pathlib import Path

from signlang.demo_render import DEMO_CLASSES
from signlang.demoset import generate_demo_set
from signlang.folderstep import EXIT_FAILED, EXIT_USER_ERROR


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--classes", type=int, default=10, choices=range(2, len(DEMO_CLASSES) + 1), metavar="N",
                        help=f"number of classes, 2..{len(DEMO_CLASSES)}: the first N of DEMO_CLASSES (default 10)")
    parser.add_argument("--per-class", type=int, default=16, help="train videos per class (default 16)")
    parser.add_argument("--val-per-class", type=int, default=6, help="val videos per class (default 6)")
    parser.add_argument("--out", type=Path, default=Path("data-set/demo"),
                        help="dataset folder; the set goes to OUT/<NNN> (default data-set/demo)")
    parser.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same videos")
    parser.add_argument("--workers", type=int, default=2, help="rendering processes (default 2)")
    parser.add_argument("--overwrite", action="store_true", help="render existing videos again")
    args = parser.parse_args(argv)
    try:
        generate_demo_set(args.out, num_classes=args.classes, per_class=args.per_class,
                          val_per_class=args.val_per_class, seed=args.seed, workers=args.workers,
                          overwrite=args.overwrite)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as error:  # disk full, unwritable folder: the finished videos stay, a rerun does the rest
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main())
