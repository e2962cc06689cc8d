"""Times the README's "Your own signs" road end to end: a replayed signer collected with --collect, then trained.

    python -m bench.own_signs                       # 6 signs x 8 takes, one signer, 480x360 at 30 fps
    python -m bench.own_signs --signs 4 --takes 5   # smaller

There is no webcam here, so the "camera" is a video of one demo_render.py signer (default 5, a left-handed
signer) performing, round after round, the signs in the order `livedemo.py --collect` asks for them: each take
is the set's 3 s (a new set's default), the rendered movement fitted into it (evenly resampled when longer,
held still at both ends when shorter). The default signs are the six of DEMO_CLASSES that the built-in demo
set does not use, so nothing of this vocabulary was seen while the demo recipe was tuned. Then the README's
commands run as a user would type them, in a fresh folder (`--work`, default data-temp/bench_own_signs):

    python livedemo.py --collect SIGN ... --takes N --out data-set/own --source camera.mp4 --headless --no-pace
    python pipeline_i3d.py --set data-set/own/<NNN>

(plus `--precision` when given) and the script prints their wall times, the held-out split and the accuracies pipeline_i3d and train_i3d
printed (the last epoch's val accuracy is the one to quote; the best epoch's was chosen on those same takes),
headed by the load average and numpy's matmul speed. `--keep` reuses a finished work folder's collected takes.
"""
import argparse
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from bench import loadgen
from signlang.demo_render import DEMO_CLASSES, expected_num_frames, render_video
from signlang.video import write_video

REPO = Path(__file__).resolve().parents[1]
NEW_SIGNS = tuple(c.label for c in DEMO_CLASSES[10:])  # prepare_demo's default set uses the first 10
TAKE_S = 3.0  # collect.py's duration for a new set


def take_frames(label: str, signer: int, seed, width: int, height: int, fps: float, num: int) -> np.ndarray:
    """One take: the rendered movement as exactly `num` frames ((num, h, w, 3) uint8 BGR)."""
    rendered = expected_num_frames(seed, fps)
    frames = render_video(label, signer, seed, width, height, fps, num_samples=min(rendered, num))
    before = (num - len(frames)) // 2
    after = num - len(frames) - before
    return np.concatenate([frames[:1].repeat(before, 0), frames, frames[-1:].repeat(after, 0)])


def write_camera(path: Path, signs, takes: int, signer: int, width: int, height: int, fps: float) -> Path:
    """The replayed webcam: `takes` rounds of every sign in order, one take each (collect's round order)."""
    num = int(round(TAKE_S * fps))
    clips = [take_frames(label, signer, (signer, take, index), width, height, fps, num)
             for take in range(takes) for index, label in enumerate(signs)]
    return write_video(path, np.concatenate(clips), fps)


def timed(command: list[str], cwd: Path) -> tuple[float, str]:
    """Runs one command as the user would (output shown as it comes); returns (wall s, its stdout+stderr)."""
    print("$ " + " ".join(command), flush=True)
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, str(REPO / command[1]), *command[2:]], cwd=cwd, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in process.stdout:
        sys.stdout.write(line)
        lines.append(line)
    if process.wait() != 0:
        raise SystemExit(f"{command[1]} exited with {process.returncode}")
    return time.perf_counter() - start, "".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--signs", type=int, default=len(NEW_SIGNS), choices=range(2, len(DEMO_CLASSES) + 1),
                        metavar="N", help="how many signs: the demo set's unused ones first, then the others")
    parser.add_argument("--takes", type=int, default=8, help="takes of each sign")
    parser.add_argument("--signer", type=int, default=5, choices=range(1, 9), help="demo_render signer preset")
    parser.add_argument("--size", type=int, nargs=2, default=(480, 360), metavar=("W", "H"), help="camera px")
    parser.add_argument("--fps", type=float, default=30.0, help="camera frame rate")
    parser.add_argument("--work", type=Path, default=Path("data-temp/bench_own_signs"),
                        help="fresh working folder (deleted first unless --keep)")
    parser.add_argument("--keep", action="store_true", help="reuse the collected takes of an earlier run")
    parser.add_argument("--precision", choices=("auto", "float32", "bfloat16"),
                        help="passed on to pipeline_i3d.py (default: its own)")
    args = parser.parse_args(argv)

    labels = [c.label for c in DEMO_CLASSES]
    signs = (list(NEW_SIGNS) + [l for l in labels if l not in NEW_SIGNS])[:args.signs]
    work = args.work.resolve()
    if not args.keep and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    print(f"# {loadgen.machine_line()}")
    camera = work / "camera.mp4"
    if not camera.exists():
        start = time.perf_counter()
        write_camera(camera, signs, args.takes, args.signer, *args.size, args.fps)
        print(f"camera: {camera} ({len(signs)} signs x {args.takes} takes, {args.size[0]}x{args.size[1]} at "
              f"{args.fps:g} fps) rendered in {time.perf_counter() - start:.0f} s")

    seconds = {}
    seconds["collect"], out = timed(["python", "livedemo.py", "--collect", *signs, "--takes", str(args.takes),
                                     "--out", "data-set/own", "--source", str(camera), "--headless", "--no-pace"],
                                    work)
    pipeline = out.strip().splitlines()[-1].split()
    if pipeline[:3] != ["python", "pipeline_i3d.py", "--set"]:
        raise SystemExit(f"--collect did not end with the pipeline command: {pipeline}")
    if args.precision:
        pipeline += ["--precision", args.precision]
    seconds["pipeline"], out = timed(pipeline, work)

    last = re.search(r"val accuracy of the last epoch ([0-9.]+)", out)
    table = [line for line in out.splitlines() if line.startswith("|")]
    print(f"\n# {loadgen.machine_line()}")
    print(f"{len(signs)} signs x {args.takes} takes of signer {args.signer} ({', '.join(signs)})")
    for line in out.splitlines():
        if line.startswith(("Phase 2:", "Done:", "val:")):
            print(line)
    print("\n".join(table))
    live = next((line for line in out.splitlines() if "python livedemo.py" in line), None)
    if live:  # the pipeline ran in the work folder: its paths, made absolute, work from the repository root too
        command = [str(work / word) if (work / word).exists() else word
                   for word in live[live.index("python livedemo.py"):].split()]
        print("Live demo with this model (from the repository root): " + " ".join(command))
    print(f"collect {seconds['collect']:.0f} s; pipeline_i3d {seconds['pipeline']:.0f} s "
          f"({seconds['pipeline'] / 60:.1f} min); last-epoch val accuracy "
          f"{float(last.group(1)):.1%}" if last else "(no last-epoch line)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
