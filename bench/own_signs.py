"""Times the README's "Your own signs" road end to end: a replayed signer collected with --collect, then trained.

    python -m bench.own_signs                       # 6 signs x 8 takes, one signer, 480x360 at 30 fps
    python -m bench.own_signs --signs 4 --takes 5   # smaller
    python -m bench.own_signs --hard                # 9 signs x 10 takes filmed like real recordings, 3 sessions
    python -m bench.own_signs --hard --difficulty   # no training: how hard each stand-in is, plain vs hard

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

`--hard` makes the stand-in resemble one person's real recordings (signlang/standin.py): the same signer in
front of blurred, shifted, scaled frames of a real webcam clip (../shared/data/real/signing_clip.mp4, read at run
time; without it --hard stops with exit 2), recorded in `--sessions` sessions (default 3), each with its own
clothes, light and white balance, background, camera distance and position, noise and JPEG-level compression;
every take at 0.8-1.25x speed, starting at a random moment, from a hand-held camera (drift and tremor). The
last session holds exactly the takes the set holds out (the newest 30 %), as for a user who records more later.
Its default vocabulary is 9 signs with two near-duplicate pairs: square_cw/square_ccw (the same square walked
the other way) and zigzag/zigzag_reversed (the same path from its end). `write_set` writes either stand-in
straight into a set folder, without the camera and collect step, for benchmarks that want several seeds.
`--difficulty` trains nothing: it writes both stand-ins (each `--seed`) and prints cheap measures of how hard
they are (`difficulty`: the share of the flow that is camera motion, and a nearest-neighbour classifier's held-out
accuracy). `--seed` other than 0 renders other takes of the same vocabulary (seed 0: the plain camera as ever).
"""
import argparse
import math
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from bench import loadgen
from signlang import standin
from signlang.demo_render import DEMO_CLASSES, expected_num_frames, render_video
from signlang.flow import BOUND_PX, DEFAULT_FLOW_METHOD, frames_to_flows
from signlang.video import frames_downsample, video_to_frames, write_video
from signlang.videoset import VAL_FRACTION, class_file_of, holdout_split, list_videos, write_class_table

REPO = Path(__file__).resolve().parents[1]
NEW_SIGNS = tuple(c.label for c in DEMO_CLASSES[10:])  # prepare_demo's default set uses the first 10
# --hard: the 6 new signs, a sign and its path backwards (a second near-duplicate pair besides the squares), one more
HARD_SIGNS = NEW_SIGNS + ("zigzag", "zigzag" + standin.REVERSED_SUFFIX, "figure_eight")
TAKE_S = 3.0  # collect.py's duration for a new set
TAKES = {False: 8, True: 10}   # default takes per sign: plain, --hard (the users: 7 train + 3 held out)
SESSIONS = 3                   # --hard: recording sessions; the last one holds the held-out takes
DIFFICULTY_FRAMES, DIFFICULTY_PX = 16, 128  # --difficulty looks at what --size small sees: 16 frames, 128 px


def take_frames(label: str, signer: int, seed, width: int, height: int, fps: float, num: int) -> np.ndarray:
    """One take: the rendered movement as exactly `num` frames ((num, h, w, 3) uint8 BGR)."""
    rendered = expected_num_frames(seed, fps)
    frames = render_video(label, signer, seed, width, height, fps, num_samples=min(rendered, num))
    before = (num - len(frames)) // 2
    after = num - len(frames) - before
    return np.concatenate([frames[:1].repeat(before, 0), frames, frames[-1:].repeat(after, 0)])


def sign_list(hard: bool, num_signs: int) -> list[str]:
    """The first num_signs signs of a stand-in: plain NEW_SIGNS, hard HARD_SIGNS, then the other demo classes."""
    first = HARD_SIGNS if hard else NEW_SIGNS
    rest = [label for label in (standin.standin_labels() if hard else [c.label for c in DEMO_CLASSES])
            if label not in first]
    return (list(first) + rest)[:num_signs]


def held_out_takes(takes: int) -> int:
    """How many of a label's takes videoset.holdout_split holds out (the newest ones)."""
    return min(takes - 1, max(1, math.ceil(VAL_FRACTION * takes)))


class StandIn:
    """The takes of one stand-in: `take(label_index, take)` gives its frames (num, h, w, 3) uint8 BGR.

    Plain: take_frames, seeded (signer, take, index) as ever (seed 0) or (seed, signer, take, index). Hard:
    signlang/standin.py's hard_take, the take's session by sessions_of_takes (the held-out ones the last).
    """

    def __init__(self, signs, takes: int, hard: bool, seed: int = 0, signer: int = 5, width: int = 480,
                 height: int = 360, fps: float = 30.0, sessions: int = SESSIONS):
        if takes < 2:
            raise ValueError(f"takes={takes}: a set needs at least 2 takes of each sign (1 to train, 1 held out)")
        known = standin.standin_labels() if hard else [c.label for c in DEMO_CLASSES]
        unknown = [label for label in signs if label not in known]
        if unknown:
            raise ValueError(f"Unknown sign(s) {', '.join(unknown)} for the {'hard' if hard else 'plain'} stand-in; "
                             f"choose from {', '.join(known)}")
        self.signs, self.takes, self.hard, self.seed, self.signer = list(signs), takes, hard, seed, signer
        self.width, self.height, self.fps = width, height, fps
        self.num_frames = int(round(TAKE_S * fps))
        if hard:
            self.real = standin.real_frames()
            self.session_of = standin.sessions_of_takes(takes, sessions, held_out_takes(takes))
            self.sessions = [standin.draw_session(np.random.default_rng([seed, 0, s]), len(self.real))
                             for s in range(sessions)]

    def render_seed(self, index: int, take: int) -> tuple:
        return (self.signer, take, index) if self.seed == 0 else (self.seed, self.signer, take, index)

    def take(self, index: int, take: int) -> np.ndarray:
        label, seed = self.signs[index], self.render_seed(index, take)
        if not self.hard:
            return take_frames(label, self.signer, seed, self.width, self.height, self.fps, self.num_frames)
        draws = standin.draw_take(np.random.default_rng([self.seed, 1, take, index]), self.num_frames, self.fps)
        return standin.hard_take(label, self.signer, seed, self.sessions[self.session_of[take]], draws,
                                 self.width, self.height, self.fps, self.num_frames, self.real)


def write_set(folder: Path, hard: bool = True, signs=None, takes: int | None = None, seed: int = 0, signer: int = 5,
              size: tuple = (480, 360), fps: float = 30.0, sessions: int = SESSIONS) -> Path:
    """Writes a stand-in straight into a set folder: folder/train/<label>/take_NNNN.mp4 and folder/class.csv.

    Takes are numbered in recording order (take_0000 first), so that the pipeline holds out the newest (for
    --hard: the last session). A take already there is kept (each is written complete or not at all), so a
    killed run goes on. signs: labels (default: the first 9 hard / 6 plain of sign_list); takes: per sign
    (default TAKES). Returns the folder. Raises FileNotFoundError (hard, no real clip), ValueError (bad sign).
    """
    folder = Path(folder)
    signs = list(signs) if signs is not None else sign_list(hard, len(HARD_SIGNS if hard else NEW_SIGNS))
    takes = TAKES[hard] if takes is None else takes
    stand_in = StandIn(signs, takes, hard, seed, signer, *size, fps, sessions)
    write_class_table(class_file_of(folder), [(label, label, "", "") for label in signs])
    for take in range(takes):
        for index, label in enumerate(signs):
            path = folder / "train" / label / f"take_{take:04d}.mp4"
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                write_video(path, stand_in.take(index, take), fps)
    return folder


def write_camera(path: Path, signs, takes: int, signer: int, width: int, height: int, fps: float,
                 hard: bool = False, seed: int = 0, sessions: int = SESSIONS) -> Path:
    """The replayed webcam: `takes` rounds of every sign in order, one take each (collect's round order).

    The frames wait in a memory-mapped .npy beside `path` (deleted after): a hard camera is ~4 GB of frames."""
    stand_in = StandIn(signs, takes, hard, seed, signer, width, height, fps, sessions)
    num = stand_in.num_frames
    scratch = path.with_name(path.stem + "-frames.npy")
    frames = np.lib.format.open_memmap(scratch, "w+", np.uint8, (takes * len(signs) * num, height, width, 3))
    try:
        for take in range(takes):
            for index in range(len(signs)):
                start = (take * len(signs) + index) * num
                frames[start:start + num] = stand_in.take(index, take)
        return write_video(path, frames, fps)
    finally:
        del frames
        scratch.unlink(missing_ok=True)


def take_descriptor(flows_px: np.ndarray) -> np.ndarray:
    """A clip's motion in a few numbers: each flow frame (h, w, 2) px averaged over a 4x4 grid, all frames in a
    row, scaled to unit length; (15 * 4 * 4 * 2,) float32 for 16 frames."""
    grid = np.stack([cv2.resize(flow, (4, 4), interpolation=cv2.INTER_AREA) for flow in flows_px[1:]])
    vector = grid.reshape(-1).astype(np.float32)
    return vector / max(float(np.linalg.norm(vector)), 1e-6)


def difficulty(folder: Path, method: str = DEFAULT_FLOW_METHOD) -> dict:
    """How hard a written set is, without training, from the flow the network would see (16 frames, 128 px):

    camera_share: of the mean flow magnitude, the share the whole frame's motion explains (per take the
        median flow vector's mean length over the mean length of all vectors, averaged): ~0 when only the
        hand moves, 1 when the camera moves everything;
    camera_px, other_px: the whole frame's motion (median vector) and the rest (each vector less the median),
        mean px per flow frame at 128 px;
    nn_accuracy: the held-out takes (videoset.holdout_split) classified by their nearest training take
        (cosine of take_descriptor), a classifier that knows only where and which way things move;
    chance: 1 / the number of signs.
    """
    folder = Path(folder)
    held = {take for takes in holdout_split(folder).values() for take in takes}
    train, test, shares, moves = [], [], [], []
    for path, _, label in list_videos(folder, effective=False)[0]:
        frames = frames_downsample(video_to_frames(path, DIFFICULTY_PX), DIFFICULTY_FRAMES)
        flows = frames_to_flows(frames, method) * BOUND_PX                # (16, h, w, 2) px, flow 0 is zeros
        vectors = flows[1:].reshape(len(flows) - 1, -1, 2)
        median = np.median(vectors, axis=1, keepdims=True)                   # (15, 1, 2): the whole frame's motion
        magnitude = np.linalg.norm(vectors, axis=-1).mean()
        camera = np.linalg.norm(median, axis=-1).mean()
        moves.append((camera, np.linalg.norm(vectors - median, axis=-1).mean()))
        shares.append(float(camera / max(magnitude, 1e-6)))
        take = path.relative_to(folder).as_posix()
        (test if take in held else train).append((take_descriptor(flows), label))
    train_x = np.stack([x for x, _ in train])
    nearest = [train[int(np.argmax(train_x @ x))][1] for x, _ in test]
    labels = {label for _, label in train + test}
    return {"takes": len(train) + len(test), "held_out": len(test), "signs": len(labels),
            "camera_share": float(np.mean(shares)), "camera_px": float(np.mean([m[0] for m in moves])),
            "other_px": float(np.mean([m[1] for m in moves])),
            "nn_accuracy": float(np.mean([guess == label for guess, (_, label) in zip(nearest, test)])),
            "chance": 1.0 / len(labels)}


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


def print_difficulty(work: Path, args) -> None:
    """--difficulty: writes each stand-in (plain, hard) for each seed into work/<kind>-<seed> and prints a
    markdown table of `difficulty`."""
    print("| stand-in | seed | signs x takes | held out | camera share of flow | camera px | other px "
          "| 1-NN held-out top-1 | chance | written in | measured in |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for hard in (False, True):
        signs = sign_list(hard, args.signs or len(HARD_SIGNS if hard else NEW_SIGNS))
        takes = args.takes or TAKES[hard]
        for seed in args.seed:
            start = time.perf_counter()
            folder = write_set(work / f"{'hard' if hard else 'plain'}-{seed}", hard, signs, takes, seed, args.signer,
                               tuple(args.size), args.fps, args.sessions)
            written = time.perf_counter() - start
            found = difficulty(folder)
            print(f"| {'hard' if hard else 'plain'} | {seed} | {len(signs)} x {takes} | {found['held_out']} | "
                  f"{found['camera_share']:.2f} | {found['camera_px']:.2f} | {found['other_px']:.2f} | "
                  f"{found['nn_accuracy']:.1%} | {found['chance']:.1%} | "
                  f"{written:.0f} s | {time.perf_counter() - start - written:.0f} s |", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--hard", action="store_true",
                        help="film the signer like real recordings (signlang/standin.py; needs the real clip)")
    parser.add_argument("--signs", type=int, choices=range(2, len(standin.standin_labels()) + 1), metavar="N",
                        help=f"how many signs (default {len(NEW_SIGNS)}, --hard {len(HARD_SIGNS)}): the demo set's "
                             "unused ones first (--hard: HARD_SIGNS), then the others")
    parser.add_argument("--takes", type=int, help=f"takes of each sign (default {TAKES[False]}, --hard {TAKES[True]})")
    parser.add_argument("--sessions", type=int, default=SESSIONS, choices=range(1, 7),
                        help="--hard: recording sessions (clothes, light, background, camera placement each)")
    parser.add_argument("--seed", type=int, nargs="+", default=[0],
                        help="stand-in seed(s); 0 is the plain stand-in as it always was. The training run uses the "
                             "first; --difficulty measures each")
    parser.add_argument("--difficulty", action="store_true",
                        help="no training: write both stand-ins into --work and print how hard each is (difficulty)")
    parser.add_argument("--signer", type=int, default=5, choices=range(1, 9), help="demo_render signer preset")
    parser.add_argument("--size", type=int, nargs=2, default=(480, 360), metavar=("W", "H"), help="camera px")
    parser.add_argument("--fps", type=float, default=30.0, help="camera frame rate")
    parser.add_argument("--work", type=Path, help="fresh working folder (deleted first unless --keep; default "
                        "data-temp/bench_own_signs, --hard data-temp/bench_own_signs_hard, --difficulty "
                        "data-temp/bench_own_signs_difficulty)")
    parser.add_argument("--keep", action="store_true", help="reuse the collected takes of an earlier run")
    parser.add_argument("--precision", choices=("auto", "float32", "bfloat16"),
                        help="passed on to pipeline_i3d.py (default: its own)")
    args = parser.parse_args(argv)
    if not args.hard and not args.difficulty and args.signs and args.signs > len(DEMO_CLASSES):
        parser.error(f"argument --signs: the plain stand-in has {len(DEMO_CLASSES)} signs; use --hard for more")
    if args.takes is not None and args.takes < 2:
        parser.error(f"argument --takes: {args.takes}; a set needs at least 2 takes of each sign")
    if args.hard or args.difficulty:
        try:
            standin.real_frames()
        except FileNotFoundError as error:
            print(f"{parser.prog}: error: {error}", file=sys.stderr)
            return 2
    suffix = "_difficulty" if args.difficulty else "_hard" if args.hard else ""
    work = (args.work or Path(f"data-temp/bench_own_signs{suffix}")).resolve()
    if not args.keep and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    print(f"# {loadgen.machine_line()}")
    if args.difficulty:
        print_difficulty(work, args)
        return 0

    signs = sign_list(args.hard, args.signs or len(HARD_SIGNS if args.hard else NEW_SIGNS))
    takes = args.takes or TAKES[args.hard]
    camera = work / "camera.mp4"
    if not camera.exists():
        start = time.perf_counter()
        write_camera(camera, signs, takes, args.signer, *args.size, args.fps, args.hard, args.seed[0], args.sessions)
        print(f"camera: {camera} ({'hard, ' if args.hard else ''}{len(signs)} signs x {takes} takes, "
              f"{args.size[0]}x{args.size[1]} at {args.fps:g} fps) rendered in {time.perf_counter() - start:.0f} s")

    seconds = {}
    seconds["collect"], out = timed(["python", "livedemo.py", "--collect", *signs, "--takes", str(takes),
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
    print(f"{'hard stand-in, ' if args.hard else ''}{len(signs)} signs x {takes} takes of signer {args.signer} "
          f"({', '.join(signs)})")
    for line in out.splitlines():
        if line.startswith(("Phase 2:", "Done:", "val:", "The flow preview model was ready")):
            print(line)
    print("\n".join(table))
    live = next((line for line in out.splitlines() if "python livedemo.py" in line), None)
    if live:  # the pipeline ran in the work folder: its paths, made absolute, work from the repository root too
        command = [str(work / word) if (work / word).exists() else word
                   for word in live[live.index("python livedemo.py"):].split()]
        print("Live demo with this model (from the repository root): " + " ".join(command))
    # The full recipe prints its last epoch's val accuracy; the fast recipe's is the "val:" line above.
    print(f"collect {seconds['collect']:.0f} s; pipeline_i3d {seconds['pipeline']:.0f} s "
          f"({seconds['pipeline'] / 60:.1f} min)" + (f"; last-epoch val accuracy {float(last.group(1)):.1%}"
                                                     if last else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
