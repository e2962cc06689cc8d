"""Compares train_i3d.py's recipes (fast and its variants, full) on the demo set and the two own-signs stand-ins.

    python -m bench.recipes                                  # the fast recipe x 3 seeds on demo, plain, hard
    python -m bench.recipes --variants fast "fast, no EMA" --sets plain --full-seeds 1   # variants; the full recipe
    python -m bench.recipes --grow --sets plain          # a sign added to a trained set: the update against a new run

Each set is prepared first (the demo set by prepare_demo.py; the stand-ins by bench.own_signs.write_set: 9 signs x
10 takes at 480x360, 30 fps, the newest 3 takes of each held out, in data-temp/bench_recipes/), then frames and
tvl1-lite flow at the size a folder set gets (16 frames, 128 px). Every accuracy is the top-1 on the set's held-out
clips of the model the recipe delivers: the fast recipe's averaged weights, the full recipe's last epoch (its best
epoch is chosen on those clips, so it is not reported), and for the fast recipe also that of the same model as
predict.py, livedemo.py and the pipeline run it (9 views per clip: predictor.VIEWS). The first seed of a variant may
fill the activation cache; its seconds are given apart ("first run s"). Headed and ended by the load average and
numpy's matmul speed.

--grow measures a vocabulary that grows (issue 21, section 3): per seed, a copy of the set without its last sign
(data-temp/bench_recipes/<set>-grow<seed>/001) is extracted and trained by the fast recipe, then the sign's takes are
copied in (the set grows as after `livedemo.py --collect`: the new sign gets its own held-out takes) and the update
runs (it starts from the first model: fastrecipe.FAST_UPDATE_STEPS steps). Its seconds are the whole update: the new
takes' frames, flow and activations, and the training. With --grow-baseline a new model is also trained on the grown
set from the Kinetics weights (the same frozen part and cache), the comparison for the update's accuracy.
"""
import argparse
import csv
import shutil
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

from bench import loadgen
from bench.own_signs import write_set
from signlang import demoset, fastrecipe, fullrecipe, modelinfo, steps, videoset
from signlang.evaluation import evaluate
from signlang.flow import DEFAULT_FLOW_METHOD, METHODS
from signlang.predictor import TEST_VIEWS, Predictor
from signlang.videoset import DEMO_SET, resolve_set

WORK = Path("data-temp/bench_recipes")
# The fast recipe's variants compared (issue 21 sections 1 and 2); each is FastConfig's defaults with these changes.
VARIANTS = {
    "fast": {},
    "fast, no EMA": {"ema": False},
    "fast, learning rate 3e-4": {"learning_rate": 3e-4},
    "fast, learning rate 5e-4": {"learning_rate": 5e-4},
    "fast, float32 cache": {"cache_precision": "float32"},
    "fast, bfloat16 cache": {"cache_precision": "bfloat16"},
    "fast, bfloat16 training": {"precision": "bfloat16"},  # for a CPU with AMX; NaN here (docs/training.md)
    "fast, label smoothing 0.1": {"label_smoothing": 0.1},
    "fast, mixup 0.2": {"mixup": 0.2},
    "fast, batches of 8 (about as many steps, half the views)": {"batch_size": 8},
    "fast, zoom up to 1.5x": {"max_zoom": 0.5},
    "fast, speed 0.8-1.25x": {"max_speed": 0.25},
    "fast, zoom 0.8-1.25x": {"zoom_out": 0.25},
    "fast, 16 views per clip": {"views": 16},
    "fast, half the steps": {"epochs": "half"},
    "fast, frozen up to Mixed_4c": {"cut": "Mixed_4c"},
    "fast, frozen up to Mixed_4e": {"cut": "Mixed_4e"},
    "fast, frozen up to Mixed_5a (the earlier preview)": {"cut": "MaxPool3d_5a_2x2"},
    "fast, rgb stream": {"stream": "rgb"},
}
DEFAULT_VARIANTS = ("fast",)


def prepared(name: str, flow: str = DEFAULT_FLOW_METHOD):
    """The VideoSet `name` ("demo", "plain", "hard") with its frames and `flow` extracted (another flow than the
    set's: in data-temp/<name>-<flow>/, the set's videos unchanged)."""
    if name == "demo":
        video_set = DEMO_SET
        demoset.ensure_demo_set(video_set, 2)
    else:
        folder = WORK / name / "001"
        if not (folder / "class.csv").is_file():
            write_set(folder, hard=name == "hard")
        video_set = resolve_set(str(folder))
    if flow != video_set.flow_method:
        video_set = replace(video_set, name=f"{video_set.name}-{flow}", flow_method=flow)
    return extracted(video_set)


def last_logged(csv_file: Path) -> float:
    """The last epoch's val_accuracy in a run's log: the fast recipe's own (not averaged) weights after its last step."""
    with open(csv_file, newline="") as f:
        return float(list(csv.DictReader(f))[-1]["val_accuracy"])


def averaged_score(video_set, model: Path, stream: str, views: int = TEST_VIEWS) -> float:
    """Held-out top-1 of `model` through the Predictor with `views` views per clip (predictor.VIEWS), as
    predict.py, livedemo.py and the pipeline's evaluation run it (predict.evaluate)."""
    return evaluate(video_set, Predictor([model], views=views), "val")["top1"]


def fast_row(video_set, variant: str, seeds) -> dict:
    """The variant's runs; with its preview model (signlang/preview.py: the same for every seed, so scored once)."""
    scores, raw, averaged, seconds, cache_s, preview = [], [], [], [], None, {}
    for seed in seeds:
        changes = dict(VARIANTS[variant])
        if changes.get("epochs") == "half":
            clips = len(videoset.split_clips(video_set.video_dir, "train"))
            changes["epochs"] = max(1, fastrecipe.fast_epochs(clips * fastrecipe.FAST_VIEWS, 16) // 2)
        config = replace(fastrecipe.FastConfig(), seed=seed, **changes)
        start = time.perf_counter()
        result = fastrecipe.train_fast(video_set, config, verbose=0, reuse=False, keep_preview=not preview)
        took = time.perf_counter() - start
        if not preview:
            preview = {"top1": result["preview_accuracy"], "s": result["preview_seconds"],
                       "first": result["first_preview_accuracy"],
                       "views": averaged_score(video_set, result["preview"], config.stream)}
            fastrecipe.remove_model(result["preview"])
        else:
            preview.setdefault("s_cached", result["preview_seconds"])
        scores.append(result["val_accuracy"])
        raw.append(last_logged(result["csv"]))
        averaged.append(averaged_score(video_set, result["model"], config.stream))
        if cache_s is None:
            cache_s = took
        else:
            seconds.append(took)
    return {"recipe": variant, "scores": scores, "raw": raw, "averaged": averaged,
            "s": statistics.median(seconds) if seconds else cache_s, "cache_s": cache_s, "preview": preview}


def extracted(video_set):
    """`video_set` with its frames and flow extracted (as pipeline_i3d.py does)."""
    steps.videos_dir_to_frames_dir(video_set.video_dir, video_set.image_dir, video_set.num_frames,
                                   video_set.min_dim_px, workers=2)
    steps.frames_dir_to_flows_dir(video_set.image_dir, video_set.flow_dir, video_set.flow_method, workers=2)
    return video_set


def grow_rows(name: str, flow: str, seeds, baseline: bool) -> list[dict]:
    """--grow (module docstring): rows of the first model, the update, and (baseline) a new model of the grown set."""
    source = prepared(name, flow)
    labels = sorted(p.name for p in (source.folder / "train").iterdir() if p.is_dir())
    rows = {"first": [], "update": [], "new": []}
    for seed in seeds:
        folder = WORK / f"{name}-grow{seed}" / "001"
        shutil.rmtree(folder.parent, ignore_errors=True)
        (folder / "train").mkdir(parents=True)
        for label in labels[:-1]:
            shutil.copytree(source.folder / "train" / label, folder / "train" / label)
        described = resolve_set(str(folder))
        shutil.rmtree(described.temp_dir, ignore_errors=True)  # an earlier run's frames, flow and cache
        for old in described.model_dir.glob(f"*-{described.tag}-*"):
            old.unlink()
        video_set = extracted(replace(resolve_set(str(folder)), flow_method=flow))
        config = replace(fastrecipe.FastConfig(), seed=seed)
        first = fastrecipe.train_fast(video_set, config, verbose=0, reuse=False)
        rows["first"].append((first["val_accuracy"], first["seconds"], averaged_score(video_set, first["model"], "flow")))
        shutil.copytree(source.folder / "train" / labels[-1], folder / "train" / labels[-1])
        start = time.perf_counter()
        grown = extracted(replace(resolve_set(str(folder)), flow_method=flow))
        update = fastrecipe.train_fast(grown, config, verbose=0, reuse=False)
        if modelinfo.read_model_info(update["model"])["started_from"] != first["model"].name:
            raise RuntimeError(f"the update {update['model']} did not start from {first['model']}")
        rows["update"].append((update["val_accuracy"], time.perf_counter() - start,
                               averaged_score(grown, update["model"], "flow")))
        if baseline:
            new = fastrecipe.train_fast(grown, config, verbose=0, reuse=False, grow=False)
            rows["new"].append((new["val_accuracy"], new["seconds"], averaged_score(grown, new["model"], "flow")))
    label = name if flow == DEFAULT_FLOW_METHOD else f"{name}, {flow} flow"
    titles = {"first": f"fast, without its last sign ({len(labels) - 1} signs)",
              "update": f"update: + {labels[-1]} ({fastrecipe.FAST_UPDATE_STEPS} steps, Adam "
                        f"{fastrecipe.FastConfig().update_learning_rate:g}, from the model above)",
              "new": f"new model of the {len(labels)} signs (fast, from Kinetics)"}
    return [{"set": label, "recipe": titles[kind], "scores": [run[0] for run in runs], "raw": [],
             "averaged": [run[2] for run in runs], "s": statistics.median(run[1] for run in runs), "cache_s": None}
            for kind, runs in rows.items() if runs]


def full_row(video_set, seeds) -> dict:
    scores, seconds = [], []
    for seed in seeds:
        config = fullrecipe.with_epochs(video_set, fullrecipe.TrainConfig(
            seed=seed, workers=2, precision=fullrecipe.resolve_train_precision("auto")))
        start = time.perf_counter()
        result = fullrecipe.train_i3d(video_set, config, fresh=True)
        seconds.append(time.perf_counter() - start)
        scores.append(result["last_val_accuracy"])
    return {"recipe": "full (last epoch)", "scores": scores, "raw": [], "averaged": [], "s": statistics.median(seconds),
            "cache_s": None}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--sets", nargs="+", choices=("demo", "plain", "hard"), default=("demo", "plain", "hard"))
    parser.add_argument("--seeds", type=int, default=3, help="seeds of every fast-recipe variant")
    parser.add_argument("--first-seed", type=int, default=0, help="the seeds are first-seed, first-seed + 1, ...")
    parser.add_argument("--variants", nargs="*", choices=tuple(VARIANTS), default=DEFAULT_VARIANTS)
    parser.add_argument("--full-seeds", type=int, default=0, help="runs of the full recipe per set (slow)")
    parser.add_argument("--flow", choices=METHODS, default=DEFAULT_FLOW_METHOD,
                        help="the flow every set is trained on (tvl1-steady: the camera's motion removed)")
    parser.add_argument("--grow", action="store_true",
                        help="instead of the variants: a sign added to a trained set, the update measured")
    parser.add_argument("--grow-baseline", action="store_true",
                        help="with --grow: also a new model of the grown set, for comparison")
    args = parser.parse_args(argv)
    if args.grow and "demo" in args.sets:
        parser.error("--grow takes --sets plain and/or hard (the stand-ins, whose folders it copies)")
    print(f"# {loadgen.machine_line()}", flush=True)
    rows = []
    for name in args.sets:
        if args.grow:
            rows += grow_rows(name, args.flow, range(args.first_seed, args.first_seed + args.seeds),
                              args.grow_baseline)
            continue
        video_set = prepared(name, args.flow)
        label = name if args.flow == DEFAULT_FLOW_METHOD else f"{name}, {args.flow} flow"
        for variant in args.variants:
            seeds = range(args.first_seed, args.first_seed + args.seeds)
            try:
                rows.append({"set": label, **fast_row(video_set, variant, seeds)})
            except ValueError as error:  # a run that diverged (e.g. bfloat16 training on a CPU without AMX)
                print(f"{label}, {variant}: no row: {error}", file=sys.stderr)
        if args.full_seeds:
            rows.append({"set": label, **full_row(video_set, range(args.full_seeds))})
    print(f"\n# {loadgen.machine_line()}")
    print("| set | recipe | held-out top-1 per seed | mean | spread (max-min) | without the averaging (the last step's "
          "weights) | 9 views per clip (predict.py, livedemo.py) | mean | train s (median) | first run s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        scores, averaged = row["scores"], row["averaged"]
        first = "" if row["cache_s"] is None else f"{row['cache_s']:.0f}"
        print(f"| {row['set']} | {row['recipe']} | {', '.join(f'{s:.1%}' for s in scores)} | "
              f"{statistics.mean(scores):.1%} | {max(scores) - min(scores):.1%} | "
              f"{', '.join(f'{s:.1%}' for s in row['raw'])} | {', '.join(f'{s:.1%}' for s in averaged)} | "
              f"{f'{statistics.mean(averaged):.1%}' if averaged else ''} | {row['s']:.0f} | {first} |")
    previews = [row for row in rows if row.get("preview")]
    if previews:
        print("\n| set | recipe | preview: held-out top-1, centre view | 9 views | ready after s (the first run: "
              f"AdaBN and the cache included) | its top-1 then (fitted to {fastrecipe.FAST_PREVIEW_VIEWS} views), "
              "centre view | ready after s (cache read) |")
        print("|---|---|---|---|---|---|---|")
    for row in previews:
        p = row["preview"]
        cached = f"{p['s_cached']:.0f}" if "s_cached" in p else ""
        print(f"| {row['set']} | {row['recipe']} | {p['top1']:.1%} | {p['views']:.1%} | {p['s']:.0f} | "
              f"{p['first']:.1%} | {cached} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
