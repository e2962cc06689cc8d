"""All steps of the I3D path, with the parameters at the top: demo data -> frames -> flow -> train -> evaluate.

    python pipeline_i3d.py                                   # the built-in demo set, the constants below
    python pipeline_i3d.py --set data-set/mine/005 [--size small|seed] [--fresh]   # any set folder
    python pipeline_i3d.py --set data-set/mine/005 --live   # live recognition on a preview while it trains
    python pipeline_i3d.py --set data-set/mine/005 --recipe full   # the two-phase fine-tune of every layer

`make demo` runs this on the built-in demo set. A set folder needs only <set>/train/<label>/<video>; its
description (videoset.json, class.csv, a held-out val split) is written on the first run (videoset.py).
Training is train_i3d's fast recipe (the I3D's lower part frozen, its activations cached, the rest trained) unless
--recipe full. Every step skips what is already done (a set's unchanged clips are not trained again), so an
interrupted pipeline continues where it stopped when run again.

With --live the fast recipe's run goes on in a second process (its output shown here, and kept in
log/<stamp>-<name><NNN>-pipeline.log) while livedemo.py starts as soon as the preview model is saved (a linear
layer on the frozen part, signlang/preview.py: seconds after the activation cache) and switches to the trained model
between two recordings once it is saved; when the demo ends before the training, the pipeline waits for it.
"""
import argparse
import codecs
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import hands
import livedemo
import predict
import train_i3d
from signlang.videoset import CHALEARN_020, CHALEARN_249, DEMO_SET, VIDEO_SETS, add_set_arguments, set_from_args  # noqa: F401
from signlang.flow import DEFAULT_FLOW_METHOD
from signlang.predictor import Predictor
from signlang import demoset, fastrecipe, fullrecipe, preview, steps

# ---- what to run -------------------------------------------------------
VIDEO_SET = DEMO_SET          # or CHALEARN_020 / CHALEARN_249 (prepare_chalearn.py first); see videoset.py
STREAMS = ("flow",)           # the seed trained on optical flow; ("flow", "rgb") trains both and fuses them
FLOW_METHOD = DEFAULT_FLOW_METHOD  # tvl1-lite: TV-L1 at 0.3x the seed's tvl1-fast cost, same demo accuracy
WEIGHTS = "rgb_kinetics400"   # Kinetics-400 RGB I3D; the flow stream starts from it by cross-modality init
EPOCHS_ABOVE = 1              # full recipe, phase 1: new top only (the seed: 3); frozen flow features carry little here
EPOCHS_ENTIRE = None          # full recipe, phase 2: everything, Adam 3e-4, warmup + cosine decay; None: from the set's size (demo: 22)
BATCH_SIZE = 4                # clips per step; fits 24 GiB RAM at 40x224x224 on CPU
PRECISION = "auto"            # training: bfloat16 on CPUs with AMX, else float32 (train_i3d); evaluation: as predict.py
RECIPE = "fast"               # fast: the I3D up to Mixed_4a frozen and cached, the rest trained (fastrecipe.train_fast);
                              # full: two phases, every layer (~5x the time); the table in docs/training.md chose fast
EPOCHS_FAST = None            # fast recipe: epochs over the cached views; None: ~360 steps (fastrecipe.fast_epochs)
LIVE_POLL_S = 0.25            # --live: how often the training's output and the preview model are looked for
CHILD_STOP_S = 10.0           # --live, Ctrl-C: how long the training may take to stop before it is killed
WORKERS = 2                   # processes for frame/flow extraction and the data generator (2-core laptop)
ENGINE, ADDRESS = "local", None  # frames/flow on this machine; "ray", "auto" runs them on a Ray cluster (docs/scale-out.md)
# ------------------------------------------------------------------------


def check_step(summary, step: str, source):
    """Stops the pipeline when a step produced nothing usable (a few failed videos only get reported)."""
    if summary.done + summary.skipped == 0:
        raise RuntimeError(f"The {step} step produced no output from {source}; see the failures listed above")


def run(video_set=VIDEO_SET, streams=STREAMS, fresh=False, epochs_above=EPOCHS_ABOVE,
        epochs_entire=EPOCHS_ENTIRE, precision=PRECISION, recipe=RECIPE, epochs_fast=EPOCHS_FAST) -> dict:
    """Runs every step; returns the evaluation of the val split and the time each step took (s)."""
    seconds = {}
    start = began = time.perf_counter()
    demoset.ensure_demo_set(video_set, WORKERS)
    seconds["demo data"] = time.perf_counter() - start

    start = time.perf_counter()
    summary = steps.videos_dir_to_frames_dir(video_set.video_dir, video_set.image_dir, video_set.num_frames,
                                             video_set.min_dim_px, workers=WORKERS, engine=ENGINE,
                                             address=ADDRESS)
    check_step(summary, "frames", video_set.video_dir)
    seconds["frames"] = time.perf_counter() - start

    start = time.perf_counter()
    flow_method = FLOW_METHOD if video_set.folder is None else video_set.flow_method  # a folder set: its own
    steps.check_pipeline_flow(video_set.flow_dir, flow_method, "pipeline_i3d.py")
    summary = steps.frames_dir_to_flows_dir(video_set.image_dir, video_set.flow_dir, flow_method,
                                                  workers=WORKERS, engine=ENGINE, address=ADDRESS)
    check_step(summary, "flow", video_set.image_dir)
    seconds["flow"] = time.perf_counter() - start

    if "hands" in streams:  # issue 22: the landmark step, then the hands network (its own recipe, handsnet.py)
        start = time.perf_counter()
        summary = hands.videos_to_landmarks(video_set, workers=WORKERS, engine=ENGINE, address=ADDRESS)
        check_step(summary, "hands", video_set.video_dir)
        seconds["hands"] = time.perf_counter() - start

    model_paths, last_paths = [], []  # each stream's entire-best and entire-last checkpoints (fast: its model twice)
    start = time.perf_counter()
    for stream in streams:
        if stream == "hands":
            trained = fullrecipe.train_i3d(video_set, fullrecipe.TrainConfig(stream="hands"), fresh=fresh)
            model_paths.append(trained["entire-best"])
            last_paths.append(trained["entire-last"])
            continue
        if recipe == "fast":
            at = time.perf_counter() - began
            trained = fastrecipe.train_fast(video_set, fastrecipe.FastConfig(
                stream=stream, weights=WEIGHTS, epochs=epochs_fast, precision=fastrecipe.fast_precision(precision)),
                fresh=fresh)
            if trained.get("preview_seconds") is not None:
                print(f"The {stream} preview model was ready {at + trained['preview_seconds']:.0f} s after the "
                      f"pipeline started (held-out top-1 {trained['first_preview_accuracy']:.1%}, centre view)")
            model_paths.append(trained["model"])
            last_paths.append(trained["model"])
            continue
        config = fullrecipe.with_epochs(video_set, fullrecipe.TrainConfig(
            stream=stream, weights=WEIGHTS, epochs_above=epochs_above, epochs_entire=epochs_entire,
            batch_size=BATCH_SIZE, workers=WORKERS, precision=fullrecipe.resolve_train_precision(precision)))
        done = None if fresh else fullrecipe.finished_run(video_set, config)
        if done:
            print(f"Training: {stream} model of run {done['stamp']} already finished, reusing "
                  f"{done['entire-best'].resolve()} (--fresh trains anew)")
            model_paths.append(done["entire-best"])
            last_paths.append(done["entire-last"])
            continue
        trained = fullrecipe.train_i3d(video_set, config, fresh=fresh)
        model_paths.append(trained["entire-best"])
        last_paths.append(trained["entire-last"])
    seconds["train"] = time.perf_counter() - start

    start = time.perf_counter()
    # The evaluation computes as predict.py and livedemo.py do by default (--precision auto: bfloat16 where the CPU
    # has it natively), so that its score is the live one: 14-16 s instead of 24-25 s for 27 clips of 9 views, the
    # same top-1 (the hard own-signs stand-in's fast model, AMD EPYC, 2026-12-07; docs/speed.md "bfloat16 inference").
    predictor = Predictor(model_paths, precision)
    stem = model_paths[0].name.split("-i3d-")[0].split("-net-")[0]  # "-net-": a hands run (handsnet.py)
    result = predict.evaluate(video_set, predictor, "val", video_set.log_dir / stem)
    if model_paths == last_paths:  # the fast recipe (and hands): one model per stream, nothing chosen on val
        predict.print_evaluation(result, "+".join(predictor.streams) + f", the delivered model, {predictor.views} "
                                 f"views per clip averaged (predictor.VIEWS), computing in {predictor.precision}: "
                                 "nothing chosen on these clips")
        result["top1_last"] = result["top1"]
    else:
        predict.print_evaluation(result, "+".join(predictor.streams) + ", best epoch: chosen on these clips")
        # The best epoch was chosen by its val accuracy, so that number is optimistic; the last epoch's model was
        # fixed before training (the epoch count), so its val accuracy is the honest one to report (docs/results.md).
        result["top1_last"] = predict.evaluate(video_set, Predictor(last_paths, precision), "val")["top1"]
        print(f"val: top-1 {result['top1_last']:.1%} with the last epoch's model (report this one)")
    seconds["evaluate"] = time.perf_counter() - start
    result["seconds"] = seconds
    result["models"] = model_paths
    result["flow_method"] = flow_method
    return result


def live_while_training(command: list[str], log_file: Path, ready, start_live, out=None,
                        poll_s: float = LIVE_POLL_S) -> int:
    """Runs `command` (the pipeline without --live) in a child process, its output going to log_file and shown on
    `out` (stdout), until ready() (a preview model of this run is saved) or the child's end; then start_live() in this
    process while the child goes on; then waits for the child, showing the rest of its output.

    The child runs in a session of its own, so that Ctrl-C at the terminal ends the live demo, not the training;
    Ctrl-C while this waits for the training stops it (SIGINT, as at a terminal) and raises KeyboardInterrupt.

    Returns:
        The child's exit status when it failed or was stopped, else start_live()'s (it runs after a child that ended
        before ready(): a rerun that reused its model, or a run too quick to see).
    """
    out = sys.stdout if out is None else out
    log_file.parent.mkdir(parents=True, exist_ok=True)
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    with open(log_file, "wb") as log, open(log_file, "rb") as shown:
        child = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                 env={**os.environ, "PYTHONUNBUFFERED": "1"})

        def show() -> None:
            out.write(decoder.decode(shown.read()))
            out.flush()

        try:
            while child.poll() is None and not ready():
                show()
                time.sleep(poll_s)
            show()
            if child.poll() is not None:  # ended before any preview: a failure, or nothing left to train
                return child.returncode or start_live()
            print(f"\nThe preview model is ready: live recognition starts on it while the training goes on (its "
                  f"output: {log_file.resolve()}); the trained model takes over between two recordings once it is "
                  "saved.", file=out, flush=True)
            status = start_live()
            if child.poll() is None:
                print(f"\nWaiting for the training to finish (its output below and in {log_file.resolve()}; "
                      "Ctrl-C stops it, the same command resumes it) ...", file=out, flush=True)
            while child.poll() is None:
                show()
                time.sleep(poll_s)
            show()
            return child.returncode or status
        except KeyboardInterrupt:
            child.send_signal(signal.SIGINT)
            try:
                child.wait(timeout=CHILD_STOP_S)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            show()
            raise


def livedemo_command(video_set, result) -> str:
    """The exact command that runs the live demo on the models just trained."""
    return (f"python livedemo.py --set {set_argument(video_set)} --model {' '.join(str(p) for p in result['models'])} "
            f"--flow-method {result['flow_method']}")


def set_argument(video_set) -> str:
    """What --set takes for this set: its folder, or the built-in set's name."""
    return str(video_set.video_dir) if video_set.folder is not None else _built_in_name(video_set)


def _built_in_name(video_set) -> str:

    for name, built_in in VIDEO_SETS.items():
        if (built_in.name, built_in.num_classes) == (video_set.name, video_set.num_classes):
            return name
    return video_set.name


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_set_arguments(parser, default=None)
    parser.add_argument("--fresh", action="store_true",
                        help="train anew instead of resuming an unfinished run or reusing a finished one (the fast "
                             "recipe: a new model, not an update of the previous one after the set grew)")
    parser.add_argument("--recipe", choices=train_i3d.RECIPES, default=RECIPE,
                        help="fast: the I3D up to Mixed_4a frozen, its activations cached, the rest trained; full: "
                             "two phases, every layer, ~5x the time (docs/training.md)")
    parser.add_argument("--epochs", type=int, nargs=2, metavar=("ABOVE", "ENTIRE"),
                        default=(EPOCHS_ABOVE, EPOCHS_ENTIRE), help="--recipe full: epochs of phase 1 (new top) and phase 2 (all); phase 2 None: from the training set's size")
    parser.add_argument("--fast-epochs", type=int, default=EPOCHS_FAST,
                        help="--recipe fast: epochs over the cached views; default: about 360 steps of 16 views")
    parser.add_argument("--precision", choices=("auto", "float32", "bfloat16"), default=PRECISION,
                        help="training's compute dtype: the full recipe's auto is bfloat16 on a CPU with AMX, else float32 (docs/speed.md); the fast recipe's auto is float32 (its cache: bfloat16 on a CPU with native bfloat16), bfloat16 only when asked. The evaluation computes as predict.py: auto = bfloat16 where the CPU has it natively")
    parser.add_argument("--live", action="store_true",
                        help="after training, start live recognition (livedemo.py) on the models just trained; "
                             "headless (JSON lines) where no display is open")
    args = parser.parse_args(argv)
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        video_set = VIDEO_SET if args.set is None and not any(
            (args.size, args.num_frames, args.min_dim, args.crop)) else set_from_args(
            argparse.Namespace(**{**vars(args), "set": args.set or "demo"}))
        if args.live and args.recipe == "fast" and "hands" not in STREAMS:
            return live_on_preview(video_set, [a for a in argv if a != "--live"], set_options(args))
        result = run(video_set, fresh=args.fresh, epochs_above=args.epochs[0], epochs_entire=args.epochs[1],
                     precision=args.precision, recipe=args.recipe, epochs_fast=args.fast_epochs)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    chosen = "" if args.recipe == "fast" else ", best epoch (chosen on val)"
    print(f"\n| set | recipe | streams | val clips | top-1, {'delivered model' if args.recipe == 'fast' else 'last epoch'} | "
          f"top-1 / top-5{chosen} | " + " | ".join(result["seconds"]) + " |")
    print("|---" * (6 + len(result["seconds"])) + "|")
    print(f"| {video_set.tag} | {args.recipe} | {'+'.join(STREAMS)} | {result['num_clips']} | {result['top1_last']:.1%} | "
          f"{result['top1']:.1%} / {result['top5']:.1%} | "
          + " | ".join(f"{s:.0f} s" for s in result["seconds"].values()) + " |")
    print(f"\nLive demo with this model:\n    {livedemo_command(video_set, result)}")
    sys.stdout.flush()
    if args.live:
        live = ["--set", str(video_set.video_dir) if video_set.folder is not None else _built_in_name(video_set),
                "--model", *(str(path) for path in result["models"]), "--flow-method", result["flow_method"]]
        live += ["--headless"] if livedemo.no_display() else []
        print(f"Starting it: python livedemo.py {' '.join(live)}", flush=True)
        return livedemo.main(live)
    return 0


def set_options(args) -> list[str]:
    """The input-size options given (--size, --num-frames, --min-dim, --crop), as livedemo.py takes them too."""
    given = {"--size": args.size, "--num-frames": args.num_frames, "--min-dim": args.min_dim, "--crop": args.crop}
    return [word for option, value in given.items() if value is not None for word in (option, str(value))]


def live_on_preview(video_set, argv: list[str], size: list[str]) -> int:
    """--live with the fast recipe: this pipeline without --live (argv) in a second process, livedemo.py on the set's
    newest models (the preview first, then the trained model) from when its preview is saved (live_while_training);
    size: the input-size options of the set, passed on to livedemo.py."""
    before = {stream: preview.preview_models(video_set, stream) for stream in STREAMS}
    live = (["--set", set_argument(video_set), *size, "--stream", *STREAMS]
            + (["--headless"] if livedemo.no_display() else []))

    def ready() -> bool:  # a preview of every stream, written by this run (a run replaces the set's older ones)
        return all(preview.preview_models(video_set, s)[-1:] not in ([], before[s][-1:]) for s in STREAMS)

    def start_live() -> int:
        print(f"Starting it: python livedemo.py {' '.join(live)}", flush=True)
        return livedemo.main(live)

    log_file = video_set.log_dir / f"{time.strftime('%Y%m%d-%H%M%S')}-{video_set.tag}-pipeline.log"
    try:
        return live_while_training([sys.executable, str(Path(__file__).resolve()), *argv], log_file, ready,
                                   start_live)
    except KeyboardInterrupt:
        print("pipeline_i3d.py: interrupted; the same command goes on where it stopped", file=sys.stderr)
        return 130
    except OSError as error:  # the training's log cannot be written (a full disk, a file where log/ should be)
        print(f"pipeline_i3d.py: cannot write the training's log {log_file}: {error}; free the disk or fix the "
              "folder, or run without --live", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
