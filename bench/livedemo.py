"""Live-demo latency: the seed's order (record, then flow, then predict) against flow computed while recording.

    python -m bench.livedemo --repeats 5
    python -m bench.livedemo --sets chalearn020 demo --loads 0 1 2 --repeats 3   # docs/speed.md's table
    python -m bench.livedemo --sets demo --loads 0 1 2 --continuous 30          # livedemo --continuous

Replays one clip as a paced 25 fps camera (FileSource) and, per repetition, records it twice:
  (a) seed order: keep the frames; after the recording sample them (frame_indices), resize,
      compute the flow of all sampled frames, crop, predict;
  (b) ours: liveinput.ClipRecorder computes each sampled frame's flow in a worker thread during the
      recording; after it only the last flow(s) and the network are left.
Post-recording latency = the last recorded frame's arrival -> class probabilities available. Prints the
median of each over the repetitions, their ratio, and how fluent the capture stayed while flow ran
(frames per second delivered, frames dropped, flow backlog at the end of the recording).

Default: the seed's size, a 40-frame flow I3D at 224 px (CHALEARN_020 frames, min side 240) on 5 s of a
640x480 clip rendered by demo_render.py; the I3D is untrained (latency does not depend on weights).
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from bench import loadgen
from signlang import liveinput
from signlang.flow import METHODS
from signlang.overlay import RED, draw_box, preview_image
from signlang.predictor import Predictor, clip_inputs
from signlang.sources import FileSource
from signlang.video import frames_downsample, frames_resize_min_side, image_resize_min_side, write_video
from signlang.videoset import CHALEARN_020, DEFAULT_FLOW_METHOD, DEMO_SET

# ---- what to measure -----------------------------------------------------
SETS = {"chalearn020": CHALEARN_020, "demo": DEMO_SET}  # input sizes: 40x224x224 (seed) and 16x128x128
SIZES = {"640x480": (640, 480), "320x240": (320, 240)}  # source video sizes (webcam, ChaLearn)
SECONDS = 5.0      # the seed recorded 5 s
FPS = 25.0         # replay rate: a typical webcam
REPEATS = 5
# --------------------------------------------------------------------------


def render_clip(path: Path, width: int, height: int, fps: float) -> Path:
    """A demo-set video (a cartoon signer) at width x height, written as MJPG .avi; replayed looping."""
    from signlang import demo_render

    frames = demo_render.render_video(demo_render.LABELS[0], 7, rng_seed=1, width=width, height=height, fps=fps)
    return write_video(path, frames, fps)


def build_predictor(video_set, stream: str, model_paths, tmp_dir: Path, precision: str = "auto"):
    """Predictor on the given models, or on an untrained I3D for the set's input size."""
    from signlang import i3d

    if not model_paths:
        channels = 2 if stream == "flow" else 3
        base = i3d.Inception_Inflated3d(
            include_top=False, weights=None,
            input_shape=(video_set.num_frames, video_set.crop_px, video_set.crop_px, channels))
        model = i3d.add_i3d_top(base, video_set.num_classes)
        model_paths = [tmp_dir / f"bench-{video_set.tag}-{stream}-i3d-entire-best.keras"]
        model.save(model_paths[0])
    predictor = Predictor(model_paths, precision)
    predictor(predictor.blank_inputs())  # the first call traces the model
    return predictor


def preview(image: np.ndarray, text: str) -> None:
    """The display work of the demo's capture loop (mirror, scale, overlay), without a window."""
    draw_box(preview_image(image), text, RED)


def record_seed_order(source, predictor, video_set, num_in: int, flow_method: str) -> dict:
    """(a) record all frames, then sample + resize + flow + crop + predict."""

    frames, t_start = [], None
    while True:
        image = source.read()
        t_end = time.perf_counter()
        t_start = t_start or t_end
        frames.append(image)
        if len(frames) == num_in:
            break
        preview(image, "Recording")
    sampled = frames_downsample(np.stack(frames), predictor.num_frames)
    resized = frames_resize_min_side(sampled, video_set.min_dim_px)
    inputs = clip_inputs(resized, predictor.streams, predictor.num_frames, flow_method)
    t_flow = time.perf_counter()
    predictor(inputs)
    t_done = time.perf_counter()
    return {"latency_s": t_done - t_end, "flow_s": t_flow - t_end, "model_s": t_done - t_flow,
            "capture_fps": (num_in - 1) / (t_end - t_start)}


def record_ours(source, predictor, video_set, num_in: int, flow_method: str) -> dict:
    """(b) flow of the sampled frames in a worker thread during the recording; then predict."""
    recorder = liveinput.ClipRecorder(num_in, predictor.num_frames, video_set.min_dim_px, None,
                                         predictor.streams, flow_method)
    try:
        while True:
            image = source.read()
            if recorder.add(image):
                break
            preview(image, "Recording")
        backlog = recorder.backlog
        inputs = recorder.inputs()
        t_flow = time.perf_counter()
        predictor(inputs)
        t_done = time.perf_counter()
    finally:
        recorder.close()
    return {"latency_s": t_done - recorder.t_end, "flow_s": t_flow - recorder.t_end, "model_s": t_done - t_flow,
            "capture_fps": (num_in - 1) / (recorder.t_end - recorder.t_start), "backlog": backlog,
            "flow_per_frame_s": recorder.seconds_busy / recorder.num_done}


def forward_s(predictor, repeats: int = 5) -> float:
    """Median seconds of one bare network call (batch 1, zeros) with the predictor's streams: the floor of
    any post-recording latency."""
    inputs = predictor.blank_inputs()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        predictor(inputs)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench(clip: Path, fps: float, predictor, video_set, seconds: float, flow_method: str, repeats: int) -> dict:
    """Both orders `repeats` times on `clip`; the median of every figure per order, and the bare forward."""
    num_in = liveinput.clip_length(seconds, fps)
    runs = {"seed": [], "ours": []}
    for repeat in range(repeats):
        for order, record in (("seed", record_seed_order), ("ours", record_ours)):
            with FileSource(clip, pace=True, on_end="loop") as source:
                result = record(source, predictor, video_set, num_in, flow_method)
                result["dropped"] = source.num_dropped
            runs[order].append(result)
            extra = (f", flow backlog at end {result['backlog']}, {result['flow_per_frame_s'] * 1000:.0f} ms/flow"
                     if order == "ours" else "")
            print(f"  {repeat + 1}/{repeats} {order:4s}: latency {result['latency_s']:.3f} s "
                  f"(flow {result['flow_s']:.3f} + model {result['model_s']:.3f}); capture "
                  f"{result['capture_fps']:.1f} fps, {result['dropped']} dropped{extra}", flush=True)
    medians = {order: {key: statistics.median(r[key] for r in results) for key in results[0]}
               for order, results in runs.items()}
    medians["forward_s"] = forward_s(predictor)
    return medians


def bench_continuous(clip: Path, fps: float, predictor, video_set, seconds: float, flow_method: str,
                     duration_s: float, hop_s: float = liveinput.DEFAULT_HOP_S) -> dict:
    """livedemo --continuous's capture loop on `clip` (paced, looping) for duration_s: how steadily it predicts.

    As the demo does, the flow and the network run in liveinput.SlidingWindows' worker thread while this
    thread captures and previews every frame; a window the worker reaches late (more than a hop behind) is
    skipped, so the shown prediction stays current. Returns the prediction count, the windows skipped, the
    median and largest gap between two predictions (s, wall clock), the median latency after a window's last
    frame, the capture rate and the preview frames dropped by the paced source.
    """
    stride, window, hop = liveinput.window_geometry(predictor.num_frames, seconds, fps, hop_s)
    done = []

    def on_window(inputs, t_last, end_frame):  # the worker thread, as in livedemo.py's continuous mode
        predictor(inputs)
        now = time.perf_counter()
        done.append((now, now - t_last))

    windows = liveinput.SlidingWindows(predictor.num_frames, stride, hop, video_set.min_dim_px, None,
                                       on_window, predictor.streams, flow_method, skip_late=True)
    with FileSource(clip, pace=True, on_end="loop") as source:
        try:
            start = time.perf_counter()
            while time.perf_counter() - start < duration_s:
                image = source.read()
                windows.add(image)
                preview(image, "live")
                if windows.error is not None:
                    raise windows.error
            elapsed = time.perf_counter() - start
        finally:
            windows.close()
        dropped, read = source.num_dropped, source.num_read
    times = [t for t, _ in done]
    gaps = np.diff(times) if len(times) > 1 else np.array([np.nan])
    return {"window_s": window / fps, "hop_s": hop / fps, "predictions": len(done),
            "skipped": windows.num_skipped, "gap_median_s": float(np.median(gaps)), "gap_max_s": float(np.max(gaps)),
            "latency_s": statistics.median(l for _, l in done) if done else float("nan"),
            "capture_fps": read / elapsed, "dropped": dropped, "duration_s": elapsed}


def print_continuous(rows) -> None:
    print("\n--continuous: predictions in the run, windows skipped (the worker was late), gap between two "
          "predictions (median / largest), latency after a window's last frame (median), capture rate, preview "
          "frames dropped")
    print(f"{'set':12s} {'load':>4s} {'window s':>8s} {'hop s':>5s} {'run s':>5s} {'preds':>5s} {'skipped':>7s} "
          f"{'gap med':>7s} {'gap max':>7s} {'latency':>7s} {'fps':>5s} {'dropped':>7s}  machine at the start")
    for name, load, machine, r in rows:
        print(f"{name:12s} {load:4d} {r['window_s']:8.2f} {r['hop_s']:5.2f} {r['duration_s']:5.1f} "
              f"{r['predictions']:5d} {r['skipped']:7d} {r['gap_median_s']:7.2f} {r['gap_max_s']:7.2f} "
              f"{r['latency_s']:7.2f} {r['capture_fps']:5.1f} {r['dropped']:7d}  {machine}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", choices=sorted(SETS), default=["chalearn020"],
                        help="input sizes: chalearn020 = 40x224x224 from 240 px (seed), demo = 16x128x128 from "
                             "128 px (default: chalearn020)")
    parser.add_argument("--source", type=Path, help="clip to replay (default: a rendered demo clip at --size)")
    parser.add_argument("--size", choices=sorted(SIZES), default="640x480", help="size of the rendered clip")
    parser.add_argument("--model", type=Path, nargs="+",
                        help="trained .keras model(s) (default: an untrained I3D per --sets; with --model, one set)")
    parser.add_argument("--stream", choices=("flow", "rgb"), default="flow", help="stream of the untrained I3D")
    parser.add_argument("--precision", choices=("auto", "float32", "bfloat16"), default="auto",
                        help="the network's compute dtype, as livedemo.py's --precision (auto: bfloat16 where native)")
    parser.add_argument("--seconds", type=float,
                        help=f"recording length (default {SECONDS}); with --continuous the window (default: the "
                             "set's duration, as livedemo.py)")
    parser.add_argument("--flow-method", choices=METHODS, default=DEFAULT_FLOW_METHOD, help="optical flow")
    parser.add_argument("--repeats", type=int, default=REPEATS, help=f"recordings per order (default {REPEATS})")
    parser.add_argument("--loads", type=int, nargs="+", default=[0], metavar="N",
                        help="measure once per number of CPU-bound competing processes (loadgen.py), e.g. "
                             "--loads 0 1 2 (default 0)")
    parser.add_argument("--continuous", type=float, metavar="SECONDS",
                        help="measure livedemo --continuous instead, for SECONDS of replay per load: predictions "
                             f"made, windows skipped, gaps between predictions (every {liveinput.DEFAULT_HOP_S} s wanted), "
                             "preview frames dropped")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    if min(args.loads) < 0:
        parser.error("--loads must be >= 0")
    if args.continuous is not None and not args.continuous > 0:
        parser.error("--continuous SECONDS must be > 0")
    if args.model and len(args.sets) > 1:
        parser.error("--model fixes the input size: give one of --sets")

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clip = args.source or render_clip(tmp / "clip.avi", *SIZES[args.size], FPS)
        with FileSource(clip, pace=True, on_end="loop", fps=None if args.source else FPS) as probe:
            height, width = probe.read().shape[:2]
            fps = probe.fps
        for name in args.sets:
            video_set = SETS[name]
            predictor = build_predictor(video_set, args.stream, args.model, tmp, args.precision)
            resized = image_resize_min_side(np.zeros((height, width, 1), np.uint8), video_set.min_dim_px).shape
            seconds = args.seconds or (video_set.duration_s if args.continuous else SECONDS)
            for load in args.loads:
                with loadgen.cpu_load(load):
                    time.sleep(1.0 if load else 0.0)  # let the competitors get going
                    machine = loadgen.machine_line()
                    print(f"\n=== {name}, load {load} (competing processes): {machine} ===\nClip {clip} "
                          f"{width}x{height} at {fps:g} fps; "
                          f"{'window' if args.continuous else 'record'} {seconds:g} s; {predictor.num_frames} "
                          f"sampled frames resized to {resized[1]}x{resized[0]}, {args.flow_method} flow, crop "
                          f"{predictor.height}; model {'+'.join(predictor.streams)} "
                          f"{'(untrained I3D)' if not args.model else ''} in {predictor.precision}; cv2 threads {cv2.getNumThreads()}, "
                          f"{os.cpu_count()} CPUs", flush=True)
                    if args.continuous:
                        result = bench_continuous(clip, fps, predictor, video_set, seconds, args.flow_method,
                                                  args.continuous)
                    else:
                        result = bench(clip, fps, predictor, video_set, seconds, args.flow_method, args.repeats)
                rows.append((name, load, machine, result))
    if args.continuous:
        print_continuous(rows)
        return 0

    print(f"\nMedians over {args.repeats} recordings per order; latency = last recorded frame -> probabilities; "
          "forward = a bare network call (batch 1) in the same run")
    print(f"{'set':12s} {'load':>4s} {'seed s':>8s} {'ours s':>8s} {'forward s':>9s} {'ours/fwd':>8s} "
          f"{'seed/ours':>9s} {'backlog':>7s} {'ms/flow':>7s} {'fps':>5s} {'dropped':>7s}  machine at the start")
    for name, load, machine, r in rows:
        seed, ours = r["seed"], r["ours"]
        print(f"{name:12s} {load:4d} {seed['latency_s']:8.3f} {ours['latency_s']:8.3f} {r['forward_s']:9.3f} "
              f"{ours['latency_s'] / r['forward_s']:8.2f} {seed['latency_s'] / ours['latency_s']:9.1f} "
              f"{ours['backlog']:7.0f} {ours['flow_per_frame_s'] * 1000:7.0f} {ours['capture_fps']:5.1f} "
              f"{ours['dropped']:7.0f}  {machine}")
    if any(r["ours"]["backlog"] > 0 for *_, r in rows):
        print("Where the backlog is > 0, flow fell behind the capture: the demo keeps capturing and previewing at "
              "full rate and computes flow only on the sampled frames, so the wait after recording is the backlog "
              "times the time per flow")
    return 0


if __name__ == "__main__":
    sys.exit(main())
