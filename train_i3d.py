"""Fine-tune a Kinetics-pretrained I3D on a VideoSet: the fast recipe (the default) or the seed's two phases (full).

    python train_i3d.py --set demo --stream flow                  # fast: model/<stamp>-<name><NNN>-flow-i3d-fast.keras
    python train_i3d.py --set demo --stream flow --recipe full    # full: the two phases below

Fast (signlang/fastrecipe.py): the I3D up to Mixed_4a stays frozen, its activations for 8 augmented views of every clip are
computed once and cached in data-temp/ (a rerun, another seed or a grown set reads them back), and the layers above
train on them; the delivered weights are an average over the last steps. Full (signlang/fullrecipe.py): phase 1 ("above") trains
a new top on the frozen backbone, phase 2 ("entire") every layer, each clip decoded and augmented at every step. Writes
    model/<stamp>-<name><NNN>-<stream>-i3d-{above,entire}-{last,best}.keras
    log/<stamp>-<name><NNN>-<stream>-i3d.{csv,png}
An interrupted full run (even by kill -9) resumes after its last finished epoch: run the same command again
(`--fresh` starts anew); its state is in model/<run>-state.json and model/.resume-<run>/ (docs/training.md).
"""
from __future__ import annotations  # "keras.Model" in signatures without importing Keras

from signlang import tfquiet; tfquiet.install()  # before any TF import: holds back its benign start-up lines
import argparse
import os
import sys
from pathlib import Path

from signlang import i3d
from signlang.fastrecipe import FastConfig, fast_precision, train_fast
from signlang.fullrecipe import (AUTO_STEPS, MIN_AUTO_EPOCHS, TRAIN_POLICIES, TrainConfig, newest_run,
                                 resolve_train_precision, train_i3d)
from signlang.videoset import VideoSet, add_set_arguments, set_from_args

# --recipe: "fast" (the default: train_fast, the I3D's lower part frozen and cached) or "full" (train_i3d, two phases).
RECIPES = ("fast", "full")
FULL_ONLY = ("--epochs-above", "--epochs-entire", "--batch-size", "--workers", "--distribute",
             "--mixed-precision")  # train_i3d.py's options of the full recipe


def main(argv=None):
    defaults = TrainConfig()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_set_arguments(parser)
    parser.add_argument("--stream", choices=("flow", "rgb", "both", "hands"), default="flow",
                        help="flow (the seed's default), rgb, or both (two models, fused by predict.py); hands: the "
                             "small landmark network (hands.py's files, signlang/handsnet.py), not an I3D")
    parser.add_argument("--weights", default=defaults.weights,
                        help=f"pretrained weights: one of {', '.join(i3d.WEIGHTS)}, a .h5 path, or 'none'")
    parser.add_argument("--epochs-above", type=int, default=defaults.epochs_above, help="phase 1 epochs (new top)")
    parser.add_argument("--epochs-entire", type=int, default=defaults.epochs_entire,
                        help=f"phase 2 epochs (all layers); default None: from the training set's size, about "
                             f"{AUTO_STEPS} steps, a small set's clips several times per epoch (the demo set's 160 "
                             f"clips: {MIN_AUTO_EPOCHS} epochs)")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size, help="clips per batch")
    parser.add_argument("--workers", type=int, default=defaults.workers, help="data-generator worker processes")
    parser.add_argument("--distribute", choices=("none", "mirrored", "multiworker"), default="none",
                        help="mirrored: all GPUs of this machine; multiworker: the machines in TF_CONFIG")
    parser.add_argument("--precision", choices=("auto", *TRAIN_POLICIES), default="auto",
                        help="compute dtype (weights stay float32). The full recipe's auto: bfloat16 on a CPU with "
                             "AMX (0.44x the time, same demo top-1), float32 elsewhere (bfloat16 went NaN on a CPU "
                             "with only AVX512_BF16); float16 for GPUs. The fast recipe's auto: float32; bfloat16 "
                             "only when asked (not measured on an AMX CPU)")
    parser.add_argument("--mixed-precision", dest="precision", action="store_const", const="float16",
                        help="the same as --precision float16")
    parser.add_argument("--fresh", action="store_true",
                        help="start a new run instead of resuming an unfinished one (the fast recipe: a new model, not "
                             "an update of the previous one after the set grew)")
    parser.add_argument("--recipe", choices=RECIPES, default="fast",
                        help="fast: the I3D up to Mixed_4a frozen, its activations for 8 augmented views of each clip "
                             "cached, the layers above trained on them (one model, the averaged weights); full: the "
                             "two phases below, every layer, each clip decoded at every step (~5x the time)")
    args = parser.parse_args(argv)
    given = [arg.split("=")[0] for arg in (sys.argv[1:] if argv is None else argv) if arg in FULL_ONLY
             or arg.split("=")[0] in FULL_ONLY]
    if args.recipe == "fast" and given and args.stream != "hands":
        parser.error(f"{', '.join(given)} set{'s' if len(given) == 1 else ''} the full recipe's training; add "
                     "--recipe full (the default recipe, fast, has its own schedule: docs/training.md)")
    if args.recipe == "fast" and args.precision == "float16" and args.stream != "hands":
        parser.error("--precision float16 is for the full recipe on a GPU (--recipe full); the fast recipe trains "
                     "in float32 or bfloat16")
    streams = ("flow", "rgb") if args.stream == "both" else (args.stream,)
    video_set, stream = None, streams[0]
    stopper = stop_on_ctrl_c()
    try:
        video_set = set_from_args(args)
        for stream in streams:
            if args.recipe == "fast" and stream != "hands":
                weights = None if args.weights == "none" else args.weights
                config = FastConfig(stream=stream, weights=weights, precision=fast_precision(args.precision))
                train_fast(video_set, config, fresh=args.fresh, callbacks=(stopper,))
                continue
            config = TrainConfig(stream=stream, weights=None if args.weights == "none" else args.weights,
                                 epochs_above=args.epochs_above, epochs_entire=args.epochs_entire,
                                 batch_size=args.batch_size, workers=args.workers, distribute=args.distribute,
                                 precision=resolve_train_precision(args.precision))
            train_i3d(video_set, config, fresh=args.fresh, callbacks=(stopper,))
    except KeyboardInterrupt:  # Ctrl-C, as the README suggests for stopping: the committed epochs stay
        print(stopped_line(video_set, stream), file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # noqa: BLE001 -- sorted into user errors (one line) and bugs (re-raised)
        line, code = user_error(error)
        if line is None:
            raise
        print(f"error: {line}", file=sys.stderr)
        return code
    return 0


EXIT_INTERRUPTED = 130  # the shell's code for a process ended by SIGINT


def stop_on_ctrl_c():
    """A training.StopOnRequest callback that Ctrl-C (SIGINT) sets while fit() runs; outside fit() (or pressed
    twice) Ctrl-C raises KeyboardInterrupt at once, as usual."""
    import signal

    from signlang.training import StopOnRequest

    stopper = StopOnRequest()

    def on_sigint(signum, frame):
        if stopper.training and not stopper.requested:
            stopper.requested = True
            return
        # Also remembered: a KeyboardInterrupt raised here can land in a weakref callback, where Python prints and
        # ignores it (seen between the two phases); the next fit() then stops at its start (StopOnRequest).
        stopper.requested = True
        raise KeyboardInterrupt

    def unraisable(hook_args, default=sys.unraisablehook):
        if hook_args.exc_type is not KeyboardInterrupt:
            default(hook_args)  # a Ctrl-C lost in a weakref callback is not printed: it is remembered (above)

    signal.signal(signal.SIGINT, on_sigint)
    sys.unraisablehook = unraisable
    return stopper


def stopped_line(video_set: VideoSet | None, stream: str) -> str:
    """"stopped after epoch N; run the same command to resume", N the epochs the newest unfinished run committed."""
    try:
        resumed = newest_run(video_set, stream, finished=False) if video_set is not None else None
    except (OSError, ValueError):
        resumed = None
    epochs = (resumed[1].resume or {}).get("epochs", 0) if resumed else 0
    if not epochs:
        return "stopped before the first epoch ended; run the same command to start again"
    return f"stopped after epoch {epochs}; run the same command to resume"


def user_error(error: BaseException) -> tuple[str | None, int]:
    """(one line naming the file and the fix, exit code) for an error the user can fix; (None, 0) for a bug.

    FileNotFoundError and ValueError (their messages name the fix): 2. PermissionError: 2, naming the file. A full
    disk (ENOSPC/EDQUOT): 1 (nothing wrong with the input; free space and run again). An error raised while Keras
    reads a batch comes wrapped in TensorFlow's error, its Python message inside: read from there.
    """
    import errno

    if isinstance(error, (FileNotFoundError, ValueError)) and not type(error).__module__.startswith("tensorflow"):
        return str(error), 2
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        text = str(error)
        if "Disk full" not in text:
            where = f" while writing {error.filename}" if error.filename else ""
            text = f"Disk full{where}: free space and run the same command again (the committed epochs are kept)"
        return text, 1
    if isinstance(error, PermissionError):
        path = Path(error.filename) if error.filename else None
        if path is None:  # raised with a message of ours (e.g. video.files_to_frames): it names the file
            return str(error), 2
        verb = "writable" if not path.exists() or path.is_dir() else "readable"
        return f"permission denied: {path}; make it {verb} (chmod u+rw{'x' if path.is_dir() else ''}) and run again", 2
    message = getattr(error, "message", "")  # tf.errors.OpError: a Python error in a generator is in its text
    if type(error).__module__.startswith("tensorflow") and message:
        for kind, code in (("PermissionError", 2), ("FileNotFoundError", 2), ("ValueError", 2)):
            at = message.find(f"{kind}: ")
            if at >= 0:
                return message[at + len(kind) + 2:].splitlines()[0], code
        if "No space left on device" in message:
            return "Disk full during training: free space and run the same command again", 1
    return None, 0


if __name__ == "__main__":
    code = main()
    if code == EXIT_INTERRUPTED:
        # After Ctrl-C TensorFlow's data threads, torn down at interpreter exit, print "FAILED_PRECONDITION: Python
        # interpreter state is not initialized"; the state is committed (atomic writes), so leave at once.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
