"""Live sign-language recognition: press SPACE, sign, read the predicted sign (the seed's laptop demo).

    python livedemo.py --set demo

Live preview -> SPACE -> 3-second countdown -> record --seconds (default the set's duration_s) -> the
flow as colour -> the top-3 signs with probabilities, descriptions and the latency -> again; q quits.
The optical flow is computed WHILE recording (liveinput.ClipRecorder), on exactly the frames and in
the way training prepared them, so after the recording only the network runs.

    python livedemo.py --source data-set/demo/010/val/circle_cw/s07_0000.avi --headless --once
    python livedemo.py --source my_signs.mp4 --continuous --threshold 0.6

--source replays a video (or a folder of frames) as if it were the camera. --headless prints one JSON
line per prediction and records without SPACE (back to back, or --once). --continuous slides a window
over the stream and predicts about every 0.5 s; the smoothed top-1 is shown above --threshold.
--save-clips DIR LABEL keeps each recording as DIR/train/LABEL/live_NNNN.avi, to collect and retrain
your own signs. Models: the newest entire-best checkpoints of train_i3d.py for --set (or --model).

    python livedemo.py --collect hello thanks yes no --takes 10 --out data-set/mine

--collect records a vocabulary (collect.py, no model needed): for each sign the label, a countdown, one
take of the set's duration, the take played back with its flow; SPACE keeps it, r redoes it, q stops. Takes
go to OUT/<NNN>/train/<label>/take_NNNN.mp4 (NNN: the number of signs, or --set-number); run again, it
records only the takes still missing. An existing set folder as --out adds signs or takes to it. It ends by
printing the `python pipeline_i3d.py --set` command and, at a terminal, offering to run it with --live (training,
with recognition on a preview model while it trains); --train runs it without asking, --no-train never.
"""
import argparse
import contextlib
import io
import json
import math
import os
import queue
import sys
import time
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np

from signlang import collect, liveinput
from signlang.flow import METHODS, SEED_FLOW_METHOD
from signlang.overlay import (COUNTDOWN_S, GREEN, KEYS, ORANGE, QUIT_KEYS, RED, ScriptedKeys, WINDOW_NAME, draw_box,
                              draw_hands, draw_lines, flow_strip, preview_image, with_strip)
from signlang.precision import warn_precision
from signlang.predictor import (I3D_STREAMS, NO_RECORD_FLAG, STREAMS, TEST_VIEWS, Predictor, add_model_arguments,
                                find_models, top_k)
from signlang.sources import CameraError, FileSource, ON_END, open_source
from signlang.video import write_numbered_video
from signlang.videoset import VideoClasses, add_set_arguments, check_label, set_from_args

# ---- how the demo behaves ----------------------------------------------
HOP_S = liveinput.DEFAULT_HOP_S  # --continuous: seconds between predictions (0.5)
EMA_ALPHA = 0.5        # --continuous: weight of the newest window in the smoothed probabilities
FIND_ATTEMPTS = 3  # the set's newest models looked for again when one vanished before it was loaded (load_predictor)
NEWER_MODEL_S = 5.0    # --continuous without --model: how often to look for a newer model of the set (a preview's
                       # trained model, pipeline_i3d.py --live); one recording at a time looks after each recording
THRESHOLD = 0.5        # show the (--continuous: smoothed) top-1 as an answer only above this probability
TOP_K = 3
CLIP_PREFIX = "live_"  # --save-clips names: live_0000.avi, live_0001.avi, ...
EXIT_SAVE_FAILED = 1  # exit status when a --save-clips recording could not be written
PROB_DIGITS = 4  # the smoothed probability in the JSON lines, as predictor.top_k rounds the others
# ------------------------------------------------------------------------


def load_predictor(video_set, model_paths=None, precision: str = "float32", streams=I3D_STREAMS,
                   views: int = TEST_VIEWS):
    """Predictor for `model_paths` (default the newest entire-best of each of `streams` of the set), warmed up.

    The first call of a Keras model traces it (seconds); warming up keeps that out of the first latency.

    Raises:
        FileNotFoundError: no trained model ("run `make demo` or `python train_i3d.py` first").
    """

    warn_precision(precision)
    for attempt in range(FIND_ATTEMPTS):
        paths = model_paths or find_models(video_set, streams=streams)
        try:
            predictor = Predictor(paths, precision, views)
            break
        except (OSError, ValueError):
            # A model found a moment ago and gone now was replaced meanwhile (a preview by a newer preview or by
            # the trained model, pipeline_i3d.py --live): look again. Anything else is the error it says.
            if model_paths or attempt == FIND_ATTEMPTS - 1 or all(Path(p).is_file() for p in paths):
                raise
    predictor(predictor.blank_inputs())
    return predictor


def newer_model_check(video_set, predictor, classes, streams, precision: str = "float32"):
    """For LiveDemo(newer_model=...): a function returning a Predictor on the set's newest models when they are
    other files than `predictor`'s (find_models' choice: a run that finished after the model in use) and fit
    the set; else None. Says on stderr which model it switched to."""
    current = [Path(p).resolve() for p in predictor.paths]

    def check():
        nonlocal current
        try:
            paths = find_models(video_set, streams=streams, out=io.StringIO())  # its notes: not at every clip
        except (FileNotFoundError, ValueError, OSError):
            return None
        if [p.resolve() for p in paths] == current:
            return None
        try:
            newer = load_predictor(video_set, paths, precision, streams, getattr(predictor, "views", TEST_VIEWS))
            newer.check_set(video_set, classes)
        except (FileNotFoundError, ValueError, OSError) as error:  # e.g. a model of the set before it grew
            print(f"livedemo: not switching to {', '.join(p.name for p in paths)}: {error}", file=sys.stderr)
            current = [p.resolve() for p in paths]
            return None
        current = [p.resolve() for p in paths]
        print(f"livedemo: switched to the newer model {', '.join(str(p) for p in current)}", file=sys.stderr)
        return newer

    return check


PREVIEW_LINE = "preview model: the trained one takes over when it is saved"


def on_preview(predictor) -> bool:
    """True when `predictor` runs a preview model (signlang/preview.py: the fast recipe's linear layer, ready before
    the training ends), from the models' records."""
    return any(info.get("phase") == "preview" for info in getattr(predictor, "infos", {}).values())


def result_lines(top, latency_s: float, not_sure: bool = False) -> list[str]:
    """The text the window shows for a prediction: top-k lines (under "not sure" below the threshold), latency."""
    lines = ["not sure:"] if not_sure else []
    for rank, (label, description, prob) in enumerate(top, start=1):
        detail = f"  {description}" if description and description != label else ""
        lines.append(f"{rank}. {label} {prob:.0%}{detail}")
    lines.append(f"latency {latency_s:.2f} s after recording")
    return lines


def save_clip(frames, fps: float, clip_dir: Path, label: str) -> Path:
    """Writes frames (list of (h, w, 3) uint8 BGR) to clip_dir/train/<label>/live_NNNN.avi (MJPG).

    Written by write_numbered_video (complete, verified to decode to every frame, or not at all, then
    linked to the next free number): an existing clip is never overwritten, and a full disk or a killed run
    never leaves a broken clip under a real name.

    Raises:
        ValueError: a label that is not a plain folder name.
        OSError: the clip could not be written completely (nothing is left under a live_NNNN name).
    """
    check_label(label, "--save-clips")
    return write_numbered_video(Path(clip_dir) / "train" / label, CLIP_PREFIX, frames, fps)


class Smoother:
    """Exponential moving average of class probabilities, and the top-1 shown only above a threshold.

    `update(probs)` folds in the newest window: smoothed = alpha * probs + (1 - alpha) * smoothed (the first
    window is taken as it is) and returns (index, probability) of the smoothed top-1, or None when that
    probability is below `threshold` ("not sure"). Used from one thread only (the demo loop).
    """

    def __init__(self, alpha: float = EMA_ALPHA, threshold: float = THRESHOLD):
        if not 0 < alpha <= 1:
            raise ValueError(f"alpha={alpha}; must be in (0, 1]")
        self.alpha, self.threshold = alpha, threshold
        self.probs: np.ndarray | None = None  # (num_classes,) the smoothed probabilities so far

    def update(self, probs) -> tuple[int, float] | None:
        probs = np.asarray(probs, dtype=np.float64)
        self.probs = probs if self.probs is None else self.alpha * probs + (1 - self.alpha) * self.probs
        best = int(np.argmax(self.probs))
        return (best, float(self.probs[best])) if self.probs[best] >= self.threshold else None


class LiveDemo:
    """The demo loop over an open Source; `run(source)` returns the prediction records.

    Args:
        predictor: Predictor (streams, num_frames, height; callable on inputs).
        classes: VideoClasses of the models' set.
        min_dim_px: smaller side after resizing, as in training (VideoSet.min_dim_px).
        seconds: recording length (window length with continuous).
        flow_method: the flow the model was trained on.
        headless: no window; record without SPACE.
        continuous: sliding windows instead of recordings.
        once: stop after the first prediction.
        threshold, hop_s, ema_alpha: continuous mode (see the constants at the top).
        countdown_s: seconds between SPACE and recording.
        keys: ScriptedKeys (default: the window's keys only).
        save_clips: (DIR, LABEL) to keep each recording, or None.
        mirror: mirror the preview (display only).
        out: where the JSON lines go.
        record_at_once: start the first recording without SPACE and countdown (a replayed file, which
            would otherwise end during the countdown).
    """

    def __init__(self, predictor, classes, min_dim_px: int, seconds: float, flow_method: str = SEED_FLOW_METHOD,
                 headless: bool = False, continuous: bool = False, once: bool = False, threshold: float = THRESHOLD,
                 hop_s: float = HOP_S, ema_alpha: float = EMA_ALPHA, countdown_s: float = COUNTDOWN_S, keys=None,
                 save_clips=None, mirror: bool = True, out=None, record_at_once: bool = False, newer_model=None):
        if predictor.height is not None and predictor.height > min_dim_px:  # None: hands only, no crop
            raise ValueError(f"The model takes {predictor.height} px crops but frames are resized to {min_dim_px} px; "
                             "use the --set (or --min-dim) the model was trained with")
        if len(classes) != predictor.num_classes:
            raise ValueError(f"{classes.class_file} lists {len(classes)} classes but the model predicts "
                             f"{predictor.num_classes}; use the class file of the set the model was trained on")
        if save_clips is not None and continuous:
            raise ValueError("--save-clips keeps recordings; it does not work with --continuous")
        if not seconds > 0:
            raise ValueError(f"--seconds {seconds}: must be > 0")
        self.predictor, self.classes = predictor, classes
        self.min_dim_px, self.seconds, self.flow_method = min_dim_px, seconds, flow_method
        self.headless, self.continuous, self.once = headless, continuous, once
        self.threshold, self.hop_s, self.ema_alpha, self.countdown_s = threshold, hop_s, ema_alpha, countdown_s
        self.keys = keys or ScriptedKeys(gui=not headless)
        self.save_clips, self.mirror = save_clips, mirror
        self.record_at_once = record_at_once or headless
        self.out = out or sys.stdout
        self.records: list[dict] = []
        self.saved: list[Path] = []
        self.failed_saves = 0  # --save-clips recordings that could not be written
        self.lines: list[str] = [PREVIEW_LINE] if on_preview(predictor) else []  # the window's text lines
        self.flow_strip: np.ndarray | None = None  # the last recording's flow as colour, shown with its result
        self.warned: list[str] = []  # input far from the training clips, said once each
        # () -> a Predictor to use from the next recording on, or None: a model trained while the demo runs (the set
        # grew, pipeline_i3d.py ran again) takes over
        self.newer_model = newer_model

    # ---- shared ----
    def _record(self, probs: np.ndarray, latency_s: float, stream_s: float, **extra) -> dict:

        top = top_k(probs, self.classes, TOP_K)
        record = {"time": datetime.now().isoformat(timespec="milliseconds"), "stream_s": round(stream_s, 3),
                  "top": [[label, description, prob] for label, description, prob in top],
                  "latency_s": round(latency_s, 4), "preview": on_preview(self.predictor), **extra}  # 0.1 ms
        self.records.append(record)
        print(json.dumps(record), file=self.out, flush=True)
        return record

    def _show(self, display: np.ndarray) -> int:
        cv2.imshow(WINDOW_NAME, display)
        return self.keys.poll(1)

    def run(self, source) -> list[dict]:
        """Runs until q, the end of the source, or the first prediction with once; returns the records."""
        if not self.headless:
            cv2.namedWindow(WINDOW_NAME, cv2.WINDOW_AUTOSIZE | cv2.WINDOW_GUI_NORMAL)
        try:
            if self.continuous:
                self._run_continuous(source)
            else:
                self._run_clips(source)
        finally:
            if not self.headless:
                cv2.destroyAllWindows()
                cv2.waitKey(1)
        return self.records

    # ---- one recording at a time ----
    def _warn(self, message: str) -> None:
        if message not in self.warned:
            self.warned.append(message)
            print(f"livedemo: warning: {message}", file=sys.stderr)

    def _check_input(self, image: np.ndarray, num_in: int) -> None:
        """Warns when the input is far from what the model was trained on (its answer means little then)."""
        if min(image.shape[:2]) < self.min_dim_px:
            self._warn(f"the input is {image.shape[1]}x{image.shape[0]} px, below the {self.min_dim_px} px smaller "
                       "side the model was trained on: frames are scaled up and the prediction may be meaningless")
        if num_in < self.predictor.num_frames / 2:
            self._warn(f"a recording of {num_in} frames is far fewer than the {self.predictor.num_frames} the model "
                       "samples: frames are repeated and the prediction may be meaningless")

    def _new_recorder(self, source) -> liveinput.ClipRecorder:
        num_in = liveinput.clip_length(self.seconds, source.fps)
        return liveinput.ClipRecorder(num_in, self.predictor.num_frames, self.min_dim_px, None,
                                         self.predictor.streams, self.flow_method,
                                         keep_frames=self.save_clips is not None, fps=source.fps)

    def _finish_clip(self, recorder, source, display=None) -> dict:
        """Waits for the last flows, (with a window: shows them as colour), predicts, prints; returns the record."""
        inputs = recorder.inputs()
        if display is not None and "flow" in inputs:
            self.flow_strip = flow_strip(inputs["flow"][0], display.shape[1])
            draw_box(display, "Working ...", ORANGE)
            self._show(with_strip(display, self.flow_strip))
        probs = self.predictor(inputs)[0]
        latency_s = time.perf_counter() - recorder.t_end
        record = self._record(probs, latency_s, source.num_read_total / source.fps, frames=recorder.num_in,
                              not_sure=bool(probs.max() < self.threshold))
        if self.save_clips is not None:
            try:
                path = save_clip(recorder.frames, source.fps, *self.save_clips)
            except OSError as error:
                self.failed_saves += 1
                print(f"livedemo: clip NOT saved: {error}", file=sys.stderr)
            else:
                self.saved.append(path)
                print(f"Saved {path.resolve()}", file=sys.stderr)
        return record

    def _say_why_nothing(self, source, recorder) -> None:
        """One line on stderr when the source ended before a first prediction (never end silently)."""
        if recorder is not None:
            print(f"livedemo: {source.name} ended after {recorder.num_recorded} of the {recorder.num_in} frames "
                  f"of a recording ({self.seconds:g} s); give a shorter --seconds or --at-end loop", file=sys.stderr)
        else:
            print(f"livedemo: {source.name} ended before a recording started (it ends during the countdown); "
                  "use --at-end loop, or --headless to record at once", file=sys.stderr)

    def _run_clips(self, source) -> None:
        state, recorder, countdown_end = ("recording" if self.record_at_once else "ready"), None, 0.0
        try:
            while True:
                image = source.read()  # (h, w, 3) uint8 BGR
                if image is None:
                    if not self.records:
                        self._say_why_nothing(source, recorder)
                    break
                now = time.perf_counter()
                if state == "countdown" and now >= countdown_end:
                    state = "recording"
                if state == "recording" and recorder is None:
                    recorder = self._new_recorder(source)
                    self._check_input(image, recorder.num_in)
                display = None if self.headless else preview_image(image, self.mirror)
                if state == "recording" and recorder.add(image):
                    record = self._finish_clip(recorder, source, display)
                    recorder = None
                    if self.newer_model is not None:
                        self.predictor = self.newer_model() or self.predictor
                    self.lines = result_lines(record["top"], record["latency_s"], record["not_sure"])
                    self.lines += [PREVIEW_LINE] if record["preview"] else []
                    self.keys.result_shown()
                    if self.once:
                        break
                    if not self.headless:
                        state = "ready"
                        continue
                if self.headless:
                    continue
                if state == "recording" and recorder.latest_hands is not None:  # the newest sampled frame's hands
                    draw_hands(display, *recorder.latest_hands, mirror=self.mirror)
                if state == "ready":
                    draw_box(display, "Press SPACE to start", GREEN)
                elif state == "countdown":
                    draw_box(display, f"Sign in {math.ceil(countdown_end - now)}", ORANGE)
                else:
                    left_s = (recorder.num_in - recorder.num_recorded) / source.fps
                    draw_box(display, f"Recording: {left_s:.1f} s left", RED,
                             progress=recorder.num_recorded / recorder.num_in)
                draw_lines(display, self.lines)
                # the last recording's flow below the preview (direction as hue, speed as brightness)
                key = self._show(with_strip(display, self.flow_strip if state == "ready" else None))
                if key in QUIT_KEYS:
                    break
                if key == KEYS["space"] and state == "ready":
                    state, countdown_end, self.flow_strip = "countdown", now + self.countdown_s, None
        finally:
            if recorder is not None:
                recorder.close()

    # ---- sliding windows ----
    def _run_continuous(self, source) -> None:
        stride, window, hop = liveinput.window_geometry(self.predictor.num_frames, self.seconds, source.fps,
                                                        self.hop_s)
        done: queue.Queue = queue.Queue()

        def on_window(inputs, t_last, end_frame):  # runs in the flow worker thread
            probs = self.predictor(inputs)[0]
            done.put((probs, time.perf_counter() - t_last, end_frame))

        windows = liveinput.SlidingWindows(self.predictor.num_frames, stride, hop, self.min_dim_px, None, on_window,
                                           self.predictor.streams, self.flow_method, skip_late=getattr(source, "pace", True),
                                           fps=source.fps)
        print(f"Continuous: windows of {window} frames ({window / source.fps:.2f} s, every {stride}th frame), "
              f"a prediction every {hop} frames ({hop / source.fps:.2f} s)", file=sys.stderr)
        smoother = Smoother(self.ema_alpha, self.threshold)
        start_frame = source.num_read_total
        look_again = 0.0  # when to look for a newer model next (perf_counter); the windows read self.predictor

        def drain():
            while not done.empty():
                probs, latency_s, end_frame = done.get()
                top = smoother.update(probs)
                shown = None
                if top is not None:
                    shown = [self.classes.classes[top[0]], self.classes.description(top[0]),
                             round(float(top[1]), PROB_DIGITS)]
                record = self._record(probs, latency_s, (start_frame + end_frame) / source.fps, smoothed=shown)
                label = f"{shown[0]} {shown[2]:.0%}  {shown[1]}" if shown else "..."
                self.lines = [label, f"latency {latency_s:.2f} s after the window"]
                self.lines += [PREVIEW_LINE] if record["preview"] else []
                self.keys.result_shown()
                if self.once:
                    return True
            return False

        try:
            while True:
                image = source.read()
                if image is None:
                    windows.finish()
                    drain()
                    break
                windows.add(image)
                if drain():
                    break
                if self.newer_model is not None and time.perf_counter() >= look_again:
                    self.predictor = self.newer_model() or self.predictor
                    look_again = time.perf_counter() + NEWER_MODEL_S
                if windows.error is not None:
                    raise windows.error
                if self.headless:
                    continue
                display = preview_image(image, self.mirror)
                cv2.circle(display, (20, 20), 8, RED, cv2.FILLED)  # "live" mark
                draw_lines(display, self.lines)
                if self._show(display) in QUIT_KEYS:
                    break
        finally:
            windows.close()


def no_display(environ=None) -> bool:
    """True on Linux without an X11 or Wayland display (OpenCV's Qt window would abort the process)."""
    environ = os.environ if environ is None else environ
    if not sys.platform.startswith("linux") or environ.get("QT_QPA_PLATFORM", "").startswith("offscreen"):
        return False
    return not (environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    add_set_arguments(parser)
    add_model_arguments(parser, "hands: the landmark network, its landmarks found while recording and drawn on "
                                "the preview")
    parser.add_argument("--class-file", type=Path, help="class.csv of the models' labels (default: the set's)")
    parser.add_argument("--source", type=Path, help="video file or folder of .jpg frames instead of the webcam")
    parser.add_argument("--camera", type=int, default=0, help="webcam index (default 0; falls back to the built-in 0)")
    parser.add_argument("--no-pace", action="store_true", help="read --source as fast as possible, not at its fps")
    parser.add_argument("--at-end", choices=ON_END, default="stop",
                        help="what --source does at its end: stop the demo or loop (default stop)")
    parser.add_argument("--seconds", type=float,
                        help="recording / window length (default: the set's duration_s; with a --source file "
                             "and without --continuous, the whole file)")
    parser.add_argument(NO_RECORD_FLAG, action="store_true",
                        help="run a model that has no .keras.json record beside it (its classes and flow are then "
                             "assumed, not checked; a warning says what is assumed)")
    parser.add_argument("--flow-method", choices=METHODS,
                        help="optical flow method (default: the one the model was trained with, from its "
                             ".keras.json record; another one is refused)")
    parser.add_argument("--precision", choices=("auto", "float32", "bfloat16"), default="auto",
                        help="compute dtype of the network: auto = bfloat16 where the CPU has it natively "
                             "(AVX512_BF16/AMX; same demo top-1, ~0.55x the time), float32 elsewhere")
    parser.add_argument("--continuous", action="store_true", help="sliding window, a prediction every --hop seconds")
    parser.add_argument("--hop", type=float, default=HOP_S, help=f"--continuous: seconds between predictions ({HOP_S})")
    parser.add_argument("--threshold", type=float, default=THRESHOLD,
                        help=f"below this top-1 probability the answer is 'not sure' (--continuous: smoothed) ({THRESHOLD})")
    parser.add_argument("--headless", action="store_true", help="no window; one JSON line per prediction on stdout")
    parser.add_argument("--once", action="store_true", help="stop after the first prediction")
    parser.add_argument("--countdown", type=float, default=COUNTDOWN_S, help=f"seconds before recording ({COUNTDOWN_S})")
    parser.add_argument("--keys", help="scripted keys WHEN:KEY,... e.g. '1:space,result+2:q' (see ScriptedKeys)")
    parser.add_argument("--save-clips", nargs=2, metavar=("DIR", "LABEL"),
                        help="keep each recording as DIR/train/LABEL/live_NNNN.avi (MJPG) to retrain on")
    parser.add_argument("--no-mirror", action="store_true", help="show the preview as captured, not mirrored")
    parser.add_argument("--collect", nargs="+", metavar="LABEL",
                        help="record takes of these signs into --out instead of recognising (collect.py)")
    parser.add_argument("--takes", type=int, default=10, help="--collect: takes per sign, existing ones count (10)")
    parser.add_argument("--out", type=Path, default=Path("data-set/mine"),
                        help="--collect: the takes go to OUT/<NNN>/train/<label>/, or to OUT/train/<label>/ when OUT "
                             "is an existing set folder (adds signs or takes to it) (default data-set/mine)")
    parser.add_argument("--set-number", type=int, metavar="NNN",
                        help="--collect: the <NNN> folder (default: the number of signs)")
    parser.add_argument("--train", action=argparse.BooleanOptionalAction, default=None,
                        help="--collect: when every take is recorded, train on the set and start recognising "
                             "(pipeline_i3d.py --set <folder> --live); default: ask at a terminal, else only print "
                             "the command")
    args = parser.parse_args(argv)
    if args.model and len(args.model) > len(STREAMS):
        parser.error("--model takes one path per stream (a flow, an rgb and/or a hands model)")
    if args.train is not None and not args.collect:
        parser.error("--train/--no-train go with --collect (train on the takes just recorded)")

    if not args.headless and no_display():
        print("livedemo: no display (neither DISPLAY nor WAYLAND_DISPLAY is set), so no window can open; "
              "use --headless", file=sys.stderr)
        return 2
    if args.collect:

        try:
            keys = ScriptedKeys(args.keys, gui=not args.headless)
        except ValueError as error:
            parser.error(str(error))
        return collect.collect(args.collect, args.takes, args.out, args.set_number, source=args.source,
                               camera=args.camera, pace=not args.no_pace, on_end=args.at_end, seconds=args.seconds,
                               headless=args.headless, countdown_s=args.countdown, keys=keys,
                               mirror=not args.no_mirror, train=args.train)

    with contextlib.ExitStack() as stack:
        try:
            if args.save_clips:
                check_label(args.save_clips[1], "--save-clips")  # before anything is recorded, as --collect does
            video_set = set_from_args(args)
            # The source first: a missing camera or file is reported before the model takes seconds to load.
            source = stack.enter_context(open_source(
                args.source, args.camera, fps=video_set.fps, pace=not args.no_pace, on_end=args.at_end))
            predictor = load_predictor(video_set, args.model, args.precision, args.stream or I3D_STREAMS,
                                       args.views)
            classes = VideoClasses(args.class_file or video_set.class_file)
            # the model's record against the set (classes, resize): a mismatch is refused in one line
            predictor.check_set(video_set, classes, allow_no_record=args.no_record_check)
            flow_method = predictor.flow_method(args.flow_method)  # the model's own; another is refused
        except (CameraError, FileNotFoundError, ValueError) as error:  # user errors: one line, exit 2
            print(f"livedemo: {error}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("livedemo: interrupted", file=sys.stderr)
            return 130
        print(f"Models: {', '.join(str(p.resolve()) for p in predictor.paths)} ({'+'.join(predictor.streams)}, "
              f"{predictor.num_frames} frames of {predictor.height} px); source {source.name}", file=sys.stderr)
        seconds = args.seconds or video_set.duration_s
        if args.seconds is None and not args.continuous and isinstance(source, FileSource):
            # A replayed file is one sign, as a training video is: record all of it.
            seconds = source.num_frames / source.fps
        demo = LiveDemo(predictor, classes, video_set.min_dim_px, seconds,
                        flow_method=flow_method, headless=args.headless, continuous=args.continuous,
                        once=args.once, threshold=args.threshold, hop_s=args.hop, countdown_s=args.countdown,
                        keys=ScriptedKeys(args.keys, gui=not args.headless), save_clips=args.save_clips,
                        mirror=not args.no_mirror,
                        record_at_once=isinstance(source, FileSource) and args.at_end == "stop",
                        newer_model=None if args.model else newer_model_check(
                            video_set, predictor, classes, args.stream or I3D_STREAMS, args.precision))
        try:
            demo.run(source)
        except (CameraError, FileNotFoundError) as error:  # e.g. the camera went away during the run
            print(f"livedemo: {error}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("livedemo: interrupted", file=sys.stderr)
            return 130
    latencies = [r["latency_s"] for r in demo.records]
    summary = f"{len(demo.records)} predictions"
    if latencies:
        summary += f", median latency {float(np.median(latencies)):.2f} s"
    if demo.saved:
        summary += f", {len(demo.saved)} clips saved in {demo.saved[0].parent.resolve()}"
    if demo.failed_saves:
        summary += f", {demo.failed_saves} clips NOT saved (see above)"
    print(summary, file=sys.stderr)
    return EXIT_SAVE_FAILED if demo.failed_saves else 0


if __name__ == "__main__":
    sys.exit(main())
