"""The hands stream's speed: landmarks per frame at 640x480, training on 9 signs x 7 takes, live latency, export size.

    python -m bench.hands [--repeats 3] [--clip ../shared/data/real/signing_clip.mp4]

1. Landmarks: MediaPipe's hand landmarker (hands.Landmarker, video mode) on the real signer's 58 frames, each
   scaled to 480 px high and centred on a 640x480 grey canvas (the hand is then as large as in a 640x480
   webcam frame); the median ms per frame over all repeats, the first pass (start-up) left out.
2. Training: `train_hands` with the default recipe (HandsConfig) on handsynth's 9 signs x 7 takes (3 val takes
   each), from the set's files to the finished run (the Keras import not counted); its last epoch's val top-1.
3. Live latency after the last frame: liveinput.ClipRecorder fed the 640x480 frames at the clip's fps (as a
   camera), then Predictor on the trained model (warmed up), as livedemo.py measures its `latency_s`.
4. The trained model exported as ONNX and LiteRT (predict.py --export's code): file sizes.
Prints medians with the load and numpy matmul GFLOP/s (loadgen.machine_line); nothing is asserted.
"""
from signlang import tfquiet; tfquiet.install()  # before any TF import: MediaPipe and Keras import TensorFlow
import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from bench.loadgen import machine_line
from signlang import liveinput, modelexport
from signlang.hands import Landmarker
from signlang.handsnet import HandsConfig, train_hands
from signlang.handsynth import write_sign_set
from signlang.predictor import Predictor
from signlang.video import video_info, video_to_frames

REPO = Path(__file__).resolve().parents[1]
CLIP = REPO.parent / "shared" / "data" / "real" / "signing_clip.mp4"


def on_canvas(frames: np.ndarray, width: int = 640, height: int = 480) -> np.ndarray:
    """Each frame scaled to `height` px high, centred on a grey width x height canvas: (n, height, width, 3)."""
    out = np.full((len(frames), height, width, 3), 127, np.uint8)
    for i, frame in enumerate(frames):
        scaled = cv2.resize(frame, (round(frame.shape[1] * height / frame.shape[0]), height),
                            interpolation=cv2.INTER_AREA)[:, :width]
        left = (width - scaled.shape[1]) // 2
        out[i, :, left:left + scaled.shape[1]] = scaled
    return out


def landmark_ms(frames: np.ndarray, fps: float, repeats: int) -> tuple[float, int]:
    """(median ms per frame, frames with a hand) over `repeats` passes after one warm-up pass."""
    times, found = [], 0
    for repeat in range(repeats + 1):
        with Landmarker() as landmarker:
            for i, frame in enumerate(frames):
                start = time.perf_counter()
                landmarker.add(frame, round(i * 1000 / fps))
                if repeat:
                    times.append(time.perf_counter() - start)
            found = int(landmarker.result()[..., 0, 3].any(axis=1).sum())
    return 1000 * float(np.median(times)), found


def live_latency_s(frames: np.ndarray, fps: float, model: Path, repeats: int) -> float:
    """Median seconds from the last captured frame to the probabilities (ClipRecorder + Predictor), paced."""
    predictor = Predictor([model])
    predictor(predictor.blank_inputs())
    latencies = []
    for _ in range(repeats):
        recorder = liveinput.ClipRecorder(len(frames), predictor.num_frames, 128, None, ("hands",), fps=fps)
        try:
            start = time.perf_counter()
            for i, frame in enumerate(frames):
                time.sleep(max(0.0, start + i / fps - time.perf_counter()))
                recorder.add(frame)
            predictor(recorder.inputs())
            latencies.append(time.perf_counter() - recorder.t_end)
        finally:
            recorder.close()
    return float(np.median(latencies))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed passes of each measurement (default 3)")
    parser.add_argument("--clip", type=Path, default=CLIP, help="a video of a signer (default: the shared real clip)")
    args = parser.parse_args(argv)
    if not args.clip.is_file():
        print(f"error: {args.clip} not found; give --clip VIDEO", file=sys.stderr)
        return 2
    import keras  # noqa: F401 -- imported before the training is timed

    frames = on_canvas(video_to_frames(args.clip, min_dim_px=None))
    fps = video_info(args.clip)[1]
    print(machine_line())
    ms, found = landmark_ms(frames, fps, args.repeats)
    print(f"landmarks: {ms:.1f} ms per 640x480 frame (median of {args.repeats} x {len(frames)} frames; "
          f"a hand in {found} of {len(frames)})")
    with tempfile.TemporaryDirectory() as tmp:
        video_set = write_sign_set(Path(tmp), takes=(7, 3))
        result = train_hands(video_set, HandsConfig(), verbose=0)
        print(f"training: {result['seconds']:.1f} s for 9 signs x 7 takes ({HandsConfig().epochs} epochs), last "
              f"epoch's val top-1 {result['last_val_accuracy']:.1%}")
        latency = live_latency_s(frames, fps, result["entire-last"], args.repeats)
        print(f"live: {1000 * latency:.0f} ms from the last frame to the probabilities (median of {args.repeats})")
        for fmt in ("onnx", "litert"):
            target, _ = modelexport.export_checkpoint(result["entire-last"], fmt)
            print(f"export: {target.suffix} {target.stat().st_size / 1e6:.2f} MB "
                  f"(.keras {result['entire-last'].stat().st_size / 1e6:.2f} MB)")
    print(machine_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
