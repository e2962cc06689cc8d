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
records only the takes still missing. It ends by printing the `python pipeline_i3d.py --set` command.
"""
import argparse
import contextlib
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

import frame
import liveinput
import opticalflow
import videocapture
from videoset import add_set_arguments, check_label, set_from_args

# ---- how the demo behaves ----------------------------------------------
COUNTDOWN_S = 3.0      # the seed's countdown before recording
HOP_S = 0.5            # --continuous: a prediction about every half second
EMA_ALPHA = 0.5        # --continuous: weight of the newest window in the smoothed probabilities
THRESHOLD = 0.5        # show the (--continuous: smoothed) top-1 as an answer only above this probability
TOP_K = 3
WINDOW_NAME = "Sign language live demo"
DISPLAY_WIDTH_PX = 640  # preview width; small test clips are scaled up to it
# BGR colours of the centred box: ready, countdown / working, recording.
GREEN, ORANGE, RED, WHITE = (0, 200, 0), (0, 140, 255), (0, 0, 230), (255, 255, 255)
FONT = cv2.FONT_HERSHEY_SIMPLEX  # Hershey fonts are built into OpenCV: no font files needed
CLIP_PREFIX = "live_"  # --save-clips names: live_0000.avi, live_0001.avi, ...
EXIT_SAVE_FAILED = 1  # exit status when a --save-clips recording could not be written
# ------------------------------------------------------------------------
KEYS = {"space": 32, "q": ord("q"), "esc": 27, "enter": 13}
QUIT_KEYS = (ord("q"), 27)


def preview_image(image: np.ndarray, mirror: bool = True, width_px: int = DISPLAY_WIDTH_PX) -> np.ndarray:
    """A display copy of a frame: scaled to width_px wide and mirrored like a bathroom mirror (as the seed's
    preview). Only the display is mirrored: the frames given to the model stay as captured."""
    height, width = image.shape[:2]
    if width != width_px:
        image = cv2.resize(image, (width_px, max(1, round(height * width_px / width))), interpolation=cv2.INTER_LINEAR)
    return cv2.flip(image, 1) if mirror else image.copy()


def draw_box(image: np.ndarray, text: str, color) -> np.ndarray:
    """Draws a centred box with `text` (white on a box of `color`) into image, in place; returns it."""
    height, width = image.shape[:2]
    scale = width / 640.0
    thickness = max(1, round(2 * scale))
    (text_w, text_h), baseline = cv2.getTextSize(text, FONT, 1.0 * scale, thickness)
    pad = round(16 * scale)
    x0, y0 = (width - text_w) // 2 - pad, (height - text_h) // 2 - pad
    x1, y1 = (width + text_w) // 2 + pad, (height + text_h) // 2 + pad + baseline
    cv2.rectangle(image, (x0, y0), (x1, y1), color, cv2.FILLED)
    cv2.rectangle(image, (x0, y0), (x1, y1), WHITE, thickness)
    cv2.putText(image, text, ((width - text_w) // 2, (height + text_h) // 2), FONT, 1.0 * scale, WHITE,
                thickness, cv2.LINE_AA)
    return image


def draw_lines(image: np.ndarray, lines) -> tuple[int, int]:
    """Draws text lines (white on an opaque dark band) at the bottom of image, in place.

    Returns:
        (y0, y1): the rows of the band, so that tests can find it on screen.
    """
    lines = [line for line in lines if line]
    if not lines:
        return (image.shape[0], image.shape[0])
    height, width = image.shape[:2]
    scale = 0.6 * width / 640.0
    thickness = max(1, round(width / 640.0))
    line_h = round(28 * width / 640.0)
    y0 = height - line_h * len(lines) - round(8 * width / 640.0)
    cv2.rectangle(image, (0, y0), (width - 1, height - 1), (30, 30, 30), cv2.FILLED)
    for i, line in enumerate(lines):
        y = y0 + line_h * (i + 1) - round(6 * width / 640.0)
        cv2.putText(image, line, (round(10 * width / 640.0), y), FONT, scale, WHITE, thickness, cv2.LINE_AA)
    return (y0, height)


def flow_mosaic(flows: np.ndarray, num_tiles: int = 4) -> np.ndarray:
    """(n, h, w, 2) flows in [-1, 1] -> (h, num_tiles * w, 3) uint8 BGR: evenly spaced flows side by side as colour.

    The first flow of a clip is zeros by definition and is left out. Brightness: one scale for all tiles,
    the 99th percentile of the clip's flow magnitude, so a few outliers do not leave the rest dark.
    """
    flows = np.asarray(flows, dtype=np.float32)
    if len(flows) > 1:
        flows = flows[1:]
    picks = frame.frame_indices(len(flows), min(num_tiles, len(flows)))
    magnitude = np.hypot(flows[..., 0], flows[..., 1])
    scale = float(np.percentile(magnitude, 99))
    colours = opticalflow.flows_to_color_images(flows[picks], max_magnitude=scale if scale > 0 else None)
    return np.concatenate(list(colours), axis=1)


def flow_strip(flows: np.ndarray, display_width_px: int) -> np.ndarray:
    """A recording's flow_mosaic (4 flows side by side) scaled to half the display's width, for its top-left corner."""
    mosaic = flow_mosaic(flows)
    width_px = display_width_px // 2
    return cv2.resize(mosaic, (width_px, round(mosaic.shape[0] * width_px / mosaic.shape[1])),
                      interpolation=cv2.INTER_NEAREST)


def load_predictor(video_set, model_paths=None, precision: str = "float32"):
    """predict.Predictor for `model_paths` (default the newest entire-best per stream of the set), warmed up.

    The first call of a Keras model traces it (seconds); warming up keeps that out of the first latency.

    Raises:
        FileNotFoundError: no trained model ("run `make demo` or `python train_i3d.py` first").
    """
    import model_i3d
    import predict

    model_i3d.warn_precision(precision)
    predictor = predict.Predictor(model_paths or predict.find_models(video_set), precision)
    predictor(predictor.blank_inputs())
    return predictor


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

    Written by frame.write_numbered_video (complete, verified to decode to every frame, or not at all, then
    linked to the next free number): an existing clip is never overwritten, and a full disk or a killed run
    never leaves a broken clip under a real name.

    Raises:
        ValueError: a label that is not a plain folder name.
        OSError: the clip could not be written completely (nothing is left under a live_NNNN name).
    """
    check_label(label, "--save-clips")
    return frame.write_numbered_video(Path(clip_dir) / "train" / label, CLIP_PREFIX, frames, fps)


class ScriptedKeys:
    """Key input: the window's keys (cv2.waitKey) plus an optional script, for tests and unattended demos.

    Script: comma-separated `WHEN:KEY` items, fired in order. WHEN is seconds after the previous item (the
    first: after the first poll), or `result+S`: S seconds after the next result is shown. KEY is a name
    (space, q, esc, enter) or one character. Example: "1:space,result+2:q".
    """

    def __init__(self, script: str | None = None, gui: bool = True):
        self.gui = gui
        self.items = []
        for item in (script or "").split(","):
            if not item.strip():
                continue
            when, _, key = item.strip().rpartition(":")
            name = key.strip().lower()
            if name not in KEYS and len(key.strip()) != 1:
                raise ValueError(f"--keys item {item!r}: key must be one of {sorted(KEYS)} or one character")
            code = KEYS.get(name, ord(key.strip()[:1] or " "))
            try:
                if when.startswith("result+"):
                    self.items.append(("result", float(when[len("result+"):]), code))
                else:
                    self.items.append(("after", float(when), code))
            except ValueError:
                raise ValueError(f"--keys item {item!r}: write SECONDS:KEY or result+SECONDS:KEY, "
                                 "e.g. 1:space,result+2:q") from None
        self._reference = None   # when the previous item fired
        self._result_at = None   # when a result was shown after that

    def result_shown(self) -> None:
        if self._result_at is None:
            self._result_at = time.perf_counter()

    def poll(self, wait_ms: int = 1) -> int:
        """The key pressed or scripted now (a code as from cv2.waitKey & 0xFF), or -1."""
        key = (cv2.waitKey(wait_ms) & 0xFF) if self.gui else 255
        now = time.perf_counter()
        if self._reference is None:
            self._reference = now
        if key != 255:
            return key
        if self.items:
            kind, delay, code = self.items[0]
            start = self._reference if kind == "after" else self._result_at
            if start is not None and now >= start + delay:
                self.items.pop(0)
                self._reference, self._result_at = now, None
                return code
        return -1


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
    """The demo loop over an open videocapture.Source; `run(source)` returns the prediction records.

    Args:
        predictor: predict.Predictor (streams, num_frames, height; callable on inputs).
        classes: datagenerator.VideoClasses of the models' set.
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

    def __init__(self, predictor, classes, min_dim_px: int, seconds: float, flow_method: str = "tvl1-fast",
                 headless: bool = False, continuous: bool = False, once: bool = False, threshold: float = THRESHOLD,
                 hop_s: float = HOP_S, ema_alpha: float = EMA_ALPHA, countdown_s: float = COUNTDOWN_S, keys=None,
                 save_clips=None, mirror: bool = True, out=None, record_at_once: bool = False):
        if predictor.height > min_dim_px:
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
        self.lines: list[str] = []
        self.flow_strip: np.ndarray | None = None  # the last recording's flow as colour, shown with its result
        self.warned: list[str] = []  # input far from the training clips, said once each

    # ---- shared ----
    def _record(self, probs: np.ndarray, latency_s: float, stream_s: float, **extra) -> dict:
        import predict

        top = predict.top_k(probs, self.classes, TOP_K)
        record = {"time": datetime.now().isoformat(timespec="milliseconds"), "stream_s": round(stream_s, 3),
                  "top": [[label, description, prob] for label, description, prob in top],
                  "latency_s": latency_s, **extra}
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
        return liveinput.ClipRecorder(num_in, self.predictor.num_frames, self.min_dim_px, self.predictor.height,
                                         self.predictor.streams, self.flow_method,
                                         keep_frames=self.save_clips is not None)

    def _finish_clip(self, recorder, source, display=None) -> dict:
        """Waits for the last flows, (with a window: shows them as colour), predicts, prints; returns the record."""
        inputs = recorder.inputs()
        if display is not None and "flow" in inputs:
            self.flow_strip = flow_strip(inputs["flow"][0], display.shape[1])
            self._draw_flow(display)
            draw_box(display, "Working ...", ORANGE)
            self._show(display)
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

    def _draw_flow(self, display: np.ndarray) -> None:
        """The last recording's flow strip in the top-left corner (direction as hue, speed as brightness)."""
        if self.flow_strip is not None:
            strip = self.flow_strip[: display.shape[0], : display.shape[1]]
            display[: strip.shape[0], : strip.shape[1]] = strip

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
                    self.lines = result_lines(record["top"], record["latency_s"], record["not_sure"])
                    self.keys.result_shown()
                    if self.once:
                        break
                    if not self.headless:
                        state = "ready"
                        continue
                if self.headless:
                    continue
                if state == "ready":
                    draw_box(display, "Press SPACE to start", GREEN)
                elif state == "countdown":
                    draw_box(display, f"Sign in {math.ceil(countdown_end - now)}", ORANGE)
                else:
                    draw_box(display, f"Recording {recorder.elapsed_s:.1f} s", RED)
                if state == "ready":
                    self._draw_flow(display)
                draw_lines(display, self.lines)
                key = self._show(display)
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

        windows = liveinput.SlidingWindows(self.predictor.num_frames, stride, hop, self.min_dim_px,
                                           self.predictor.height, on_window, self.predictor.streams,
                                           self.flow_method, skip_late=getattr(source, "pace", True))
        print(f"Continuous: windows of {window} frames ({window / source.fps:.2f} s, every {stride}th frame), "
              f"a prediction every {hop} frames ({hop / source.fps:.2f} s)", file=sys.stderr)
        smoother = Smoother(self.ema_alpha, self.threshold)
        start_frame = source.num_read_total

        def drain():
            while not done.empty():
                probs, latency_s, end_frame = done.get()
                top = smoother.update(probs)
                shown = None
                if top is not None:
                    shown = [self.classes.classes[top[0]], self.classes.description(top[0]), top[1]]
                record = self._record(probs, latency_s, (start_frame + end_frame) / source.fps, smoothed=shown)
                label = f"{shown[0]} {shown[2]:.0%}  {shown[1]}" if shown else "..."
                self.lines = [label, f"latency {latency_s:.2f} s after the window"]
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
    parser.add_argument("--model", type=Path, nargs="+", metavar="MODEL",
                        help="one or two models (flow and/or rgb): .keras, or an .onnx / .tflite export of one "
                             "(predict.py --export); default the newest entire-best .keras of --set")
    parser.add_argument("--class-file", type=Path, help="class.csv of the models' labels (default: the set's)")
    parser.add_argument("--source", type=Path, help="video file or folder of .jpg frames instead of the webcam")
    parser.add_argument("--camera", type=int, default=0, help="webcam index (default 0; falls back to the built-in 0)")
    parser.add_argument("--no-pace", action="store_true", help="read --source as fast as possible, not at its fps")
    parser.add_argument("--at-end", choices=videocapture.ON_END, default="stop",
                        help="what --source does at its end: stop the demo or loop (default stop)")
    parser.add_argument("--seconds", type=float,
                        help="recording / window length (default: the set's duration_s; with a --source file "
                             "and without --continuous, the whole file)")
    parser.add_argument("--flow-method", choices=opticalflow.METHODS,
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
                        help="--collect: the takes go to OUT/<NNN>/train/<label>/ (default data-set/mine)")
    parser.add_argument("--set-number", type=int, metavar="NNN",
                        help="--collect: the <NNN> folder (default: the number of signs)")
    args = parser.parse_args(argv)
    if args.model and len(args.model) > 2:
        parser.error("--model takes one or two paths (a flow and/or an rgb model)")

    if not args.headless and no_display():
        print("livedemo: no display (neither DISPLAY nor WAYLAND_DISPLAY is set), so no window can open; "
              "use --headless", file=sys.stderr)
        return 2
    if args.collect:
        import collect  # no TensorFlow: collecting needs no model

        try:
            keys = ScriptedKeys(args.keys, gui=not args.headless)
        except ValueError as error:
            parser.error(str(error))
        return collect.collect(args.collect, args.takes, args.out, args.set_number, source=args.source,
                               camera=args.camera, pace=not args.no_pace, on_end=args.at_end, seconds=args.seconds,
                               headless=args.headless, countdown_s=args.countdown, keys=keys,
                               mirror=not args.no_mirror)
    from datagenerator import VideoClasses

    with contextlib.ExitStack() as stack:
        try:
            video_set = set_from_args(args)
            # The source first: a missing camera or file is reported before the model takes seconds to load.
            source = stack.enter_context(videocapture.open_source(
                args.source, args.camera, fps=video_set.fps, pace=not args.no_pace, on_end=args.at_end))
            predictor = load_predictor(video_set, args.model, args.precision)
            classes = VideoClasses(args.class_file or video_set.class_file)
            flow_method = predictor.flow_method(args.flow_method)  # the model's own; another is refused
        except (videocapture.CameraError, FileNotFoundError, ValueError) as error:  # user errors: one line, exit 2
            print(f"livedemo: {error}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("livedemo: interrupted", file=sys.stderr)
            return 130
        print(f"Models: {', '.join(str(p.resolve()) for p in predictor.paths)} ({'+'.join(predictor.streams)}, "
              f"{predictor.num_frames} frames of {predictor.height} px); source {source.name}", file=sys.stderr)
        seconds = args.seconds or video_set.duration_s
        if args.seconds is None and not args.continuous and isinstance(source, videocapture.FileSource):
            # A replayed file is one sign, as a training video is: record all of it.
            seconds = source.num_frames / source.fps
        demo = LiveDemo(predictor, classes, video_set.min_dim_px, seconds,
                        flow_method=flow_method, headless=args.headless, continuous=args.continuous,
                        once=args.once, threshold=args.threshold, hop_s=args.hop, countdown_s=args.countdown,
                        keys=ScriptedKeys(args.keys, gui=not args.headless), save_clips=args.save_clips,
                        mirror=not args.no_mirror,
                        record_at_once=isinstance(source, videocapture.FileSource) and args.at_end == "stop")
        try:
            demo.run(source)
        except (videocapture.CameraError, FileNotFoundError) as error:  # e.g. the camera went away during the run
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
