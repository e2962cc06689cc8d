"""How many clips per second the data generator delivers from a split folder of frames or flow.

    python datagenerator.py data-temp/demo/010-16/oflow/train --class-file data-set/demo/010/class.csv

The clips are listed and loaded by signlang/clips.py and batched by signlang/batches.py (FramesGenerator,
with its augmentation), exactly as training reads them.
"""
from signlang import tfquiet; tfquiet.install()  # before any TF import: holds back its benign start-up lines
import argparse
from pathlib import Path

from signlang.videoset import VideoClasses


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path, help="split folder of frames or flows, e.g. data-temp/demo/010-16/oflow/train")
    parser.add_argument("--class-file", type=Path, required=True, help="class.csv of the set")
    parser.add_argument("--stream", choices=("flow", "rgb"), default="flow", help="what the folders hold")
    parser.add_argument("--num-frames", type=int, default=16, help="frames per clip")
    parser.add_argument("--crop", type=int, default=128, help="crop size in pixels")
    parser.add_argument("--batch-size", type=int, default=4, help="clips per batch")
    parser.add_argument("--workers", type=int, default=1, help="PyDataset workers")
    args = parser.parse_args(argv)
    from signlang.batches import FramesGenerator, measure_throughput  # lazy: Keras loads after the arguments (a quick --help)

    generator = FramesGenerator(args.data_dir, VideoClasses(args.class_file), args.stream, args.num_frames, args.crop,
                                args.batch_size, augment=True, workers=args.workers,
                                use_multiprocessing=args.workers > 1)
    print(f"{len(generator.samples)} clips in {args.data_dir.resolve()}: "
          f"{measure_throughput(generator):.1f} clips/s with {args.workers} worker(s)")


if __name__ == "__main__":
    main()
