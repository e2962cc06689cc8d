"""Guided recording of a vocabulary of signs into a set folder: label, countdown, take, look back, keep or redo.

Users: `python livedemo.py --collect hello thanks yes no --takes 10 --out data-set/mine` runs it.

The takes go to <out>/<NNN>/train/<label>/take_NNNN.mp4 (NNN: the number of labels, or --set-number), the
folder contract of videoset.py, so that `python pipeline_i3d.py --set <out>/<NNN>` trains on them as they
are. Labels are visited in rounds (each round one take of every label still short of --takes), so that
stopping early leaves the labels balanced. A take is kept only when it is complete: written through
write_numbered_video (verified to decode to every frame, then linked to the next free number, never
over an existing take); a take with far too few frames or a failed write is reported and redone. Run again,
it counts the takes that exist and records only what is missing. class.csv lists the labels that have
takes, written atomically (videoset.write_class_table). No TensorFlow: collecting needs no model.

The window and its keys are livedemo.py's (draw_box, draw_lines, flow_strip, ScriptedKeys): SPACE keeps a
take and goes on, r redoes it, q stops with what was kept. Headless, each take is one JSON line on stdout
and is kept at once unless --keys scripts the answer.
"""
import json
import math
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from signlang import liveinput, safeio
from signlang.overlay import (COUNTDOWN_S, DISPLAY_WIDTH_PX, GREEN, KEYS, ORANGE, QUIT_KEYS, RED, ScriptedKeys,
                              WINDOW_NAME, draw_box, draw_lines, flow_strip, preview_image)
from signlang.sources import CameraError, open_source
from signlang.video import VideoError, write_numbered_video
from signlang.videoset import (DEFAULT_FLOW_METHOD, DEMO_SET, DESCRIPTION_FILE, SIZES, check_label, class_file_of,
                               list_videos, read_class_table, read_description, write_class_table)

# ---- how a collection behaves ------------------------------------------
TAKE_PREFIX = "take_"            # take_0000.mp4, take_0001.mp4, ...
TAKE_SUFFIXES = (".mp4", ".avi")  # mp4v .mp4 (a tenth of MJPG's size); MJPG .avi where mp4v does not write
DEFAULT_DURATION_S = DEMO_SET.duration_s  # --size small is the demo's size, and its takes are 3 s
MAX_FAILURES = 3                 # takes failed in a row (too few frames, not written) before collecting stops
# ------------------------------------------------------------------------
EXIT_INCOMPLETE = 1  # stopped by failures, or the source ended, before every take was recorded
EXIT_USER_ERROR = 2


class CollectError(ValueError):
    """A user error before anything is recorded (bad labels, a folder described otherwise)."""


def set_folder(out_dir: Path, labels, set_number=None) -> Path:
    """<out_dir>/<NNN>: NNN is set_number, or the number of labels (the folder contract's <NNN>)."""
    number = len(labels) if set_number is None else int(set_number)
    return Path(out_dir) / f"{number:03d}"


def take_counts(folder: Path, labels) -> dict[str, int]:
    """label -> the videos of that label in the set folder now (any split; videoset.list_videos)."""
    counts = {label: 0 for label in labels}
    if Path(folder).is_dir():
        for _, _, label in list_videos(folder, effective=False)[0]:
            if label in counts:
                counts[label] += 1
    return counts


def take_settings(folder: Path, labels) -> dict:
    """What a take must be for this folder: duration_s, num_frames (the fewest frames kept), and their source.

    A described folder (videoset.json) gives its own; else the defaults of `--size small` (the demo's 3 s,
    16 frames).

    Raises:
        CollectError: the description cannot be read, or it lists other labels (the pipeline would refuse).
    """
    path = Path(folder) / DESCRIPTION_FILE
    if not path.is_file():
        return {"duration_s": DEFAULT_DURATION_S, "num_frames": SIZES["small"][0], "min_dim_px": SIZES["small"][1],
                "crop_px": SIZES["small"][2], "flow_method": DEFAULT_FLOW_METHOD, "from": "--size small"}
    try:
        description = read_description(path)
    except ValueError as error:
        raise CollectError(str(error)) from None
    new = sorted(set(labels) - set(description["labels"]))
    if new:
        raise CollectError(f"{path} describes the set with labels {description['labels']}; adding {new} would "
                           "change it: collect them into another --set-number, or delete that file (and the set's "
                           "data-temp/ folders) to describe the set anew")
    return {key: description[key] for key in ("duration_s", "num_frames", "min_dim_px", "crop_px", "flow_method")
            } | {"from": str(path)}


def write_take(folder: Path, label: str, frames, fps: float) -> Path:
    """Writes one take as folder/train/<label>/take_NNNN.mp4 (else .avi), complete and never over another.

    Raises:
        OSError: neither container could be written completely (nothing is left under a take_ name).
    """
    errors = []
    for suffix in TAKE_SUFFIXES:
        try:
            return write_numbered_video(Path(folder) / "train" / label, TAKE_PREFIX, frames, fps, suffix)
        except OSError as error:
            errors.append(f"{suffix}: {error}")
    raise OSError("; ".join(errors))


def add_to_class_table(folder: Path, label: str) -> None:
    """Adds `label` to folder/class.csv (sLong = the label) unless listed; rows already there stay as they are."""
    class_file = class_file_of(folder)
    rows = []
    if class_file.is_file():
        table = read_class_table(class_file)
        if label in table.index:
            return
        rows = table.values.tolist()
    write_class_table(class_file, rows + [(label, label, "", "")])


class Collector:
    """Records takes of `labels` from an open Source until each has `takes` (or q, or the source ends).

    Args:
        folder: the set folder (<out>/<NNN>).
        labels: the signs, in the order they are asked for.
        takes: takes wanted per label (existing ones count).
        settings: take_settings(folder, labels).
        seconds: take length (default settings["duration_s"]).
        headless: no window; JSON lines; keep each take unless `keys` scripts another answer.
        countdown_s: seconds between the label and the recording (with a window).
        keys: ScriptedKeys.
        mirror: mirror the preview (display only; takes are written as captured).
        out: where the JSON lines go.
    """

    def __init__(self, folder: Path, labels, takes: int, settings: dict, seconds: float | None = None,
                 headless: bool = False, countdown_s: float = COUNTDOWN_S, keys=None, mirror: bool = True,
                 out=None):
        if takes < 1:
            raise CollectError(f"--takes {takes}: must be at least 1")
        self.folder, self.labels, self.takes, self.settings = Path(folder), list(labels), takes, settings
        self.seconds = seconds or settings["duration_s"]
        if not self.seconds > 0:
            raise CollectError(f"--seconds {self.seconds}: must be > 0")
        self.headless, self.countdown_s, self.mirror = headless, countdown_s, mirror
        self.keys = keys or ScriptedKeys(gui=not headless)
        self.out = out or sys.stdout
        self.counts = take_counts(self.folder, self.labels)
        self.kept: list[Path] = []
        self.failures = 0           # in a row
        self.stop_reason = None     # "q", "source ended", "failures"; None when every take was recorded
        self.message = ""           # the last problem, shown with the next countdown

    # ---- what to record next ----
    def next_label(self) -> str | None:
        """The label with the fewest takes among those still short (first in order on a tie), or None."""
        short = [label for label in self.labels if self.counts[label] < self.takes]
        return min(short, key=lambda label: self.counts[label]) if short else None

    @property
    def missing(self) -> int:
        return sum(max(0, self.takes - count) for count in self.counts.values())

    def _emit(self, label: str, status: str, **extra) -> None:
        if self.headless:
            print(json.dumps({"label": label, "status": status, **extra}), file=self.out, flush=True)

    # ---- the loop ----
    def run(self, source) -> int:
        """Records until done; returns 0 (all takes, or stopped with q) or EXIT_INCOMPLETE."""
        if not self.headless:
            cv2.namedWindow(WINDOW_NAME, cv2.WINDOW_AUTOSIZE | cv2.WINDOW_GUI_NORMAL)
        try:
            started = self.headless
            while (label := self.next_label()) is not None:
                if not started:
                    started = self._prompt(source, label)
                    if not started:
                        break
                if not self.headless and not self._prompt(source, label, self.countdown_s):
                    break
                frames, fps, strip = self._record(source, label)
                if frames is None:
                    break
                if not self._check_frames(label, frames, fps):
                    if self.failures >= MAX_FAILURES:
                        self.stop_reason = "failures"
                        break
                    continue
                answer = self._review(source, label, frames, fps, strip)
                if answer == "redo":
                    self._emit(label, "redo", frames=len(frames))
                    continue
                if answer == "stop":
                    self._emit(label, "not kept", frames=len(frames))
                    self.stop_reason = "q"
                    break
                if not self._keep(label, frames, fps) and self.failures >= MAX_FAILURES:
                    self.stop_reason = "failures"
                    break
        finally:
            if not self.headless:
                cv2.destroyAllWindows()
                cv2.waitKey(1)
        if self.next_label() is None or self.stop_reason == "q":
            return 0
        return EXIT_INCOMPLETE

    def _show(self, display: np.ndarray) -> int:
        cv2.imshow(WINDOW_NAME, display)
        return self.keys.poll(1)

    def _status_lines(self, label: str) -> list[str]:
        return [self.message, f"'{label}': take {self.counts[label] + 1} of {self.takes}   "
                              f"({self.missing} takes to go, q stops)"]

    def _prompt(self, source, label: str, countdown_s: float | None = None) -> bool:
        """With a window: the preview and the label, until SPACE (countdown_s None) or for countdown_s seconds.

        Returns False on q or at the end of the source (stop_reason says which).
        """
        end = None if countdown_s is None else time.perf_counter() + countdown_s
        while end is None or time.perf_counter() < end:
            image = source.read()
            if image is None:
                self.stop_reason = "source ended"
                return False
            display = preview_image(image, self.mirror)
            if end is None:
                draw_box(display, f"SPACE: start with '{label}'", GREEN)
            else:
                draw_box(display, f"'{label}' in {math.ceil(end - time.perf_counter())}", ORANGE)
            draw_lines(display, self._status_lines(label))
            key = self._show(display)
            if key in QUIT_KEYS:
                self.stop_reason = "q"
                return False
            if end is None and key == KEYS["space"]:
                return True
        return True

    def _record(self, source, label: str):
        """One take of self.seconds: (frames, fps, flow strip or None), or (None, ...) on q / the source's end.

        With a window the take's flow is computed while recording (liveinput.ClipRecorder, as the demo
        does), to show it back; headless nothing is shown, so no flow is computed.
        """
        fps = source.fps
        num_in = liveinput.clip_length(self.seconds, fps)
        recorder = None
        if not self.headless:
            recorder = liveinput.ClipRecorder(num_in, self.settings["num_frames"], self.settings["min_dim_px"],
                                              self.settings["crop_px"], ("flow",), self.settings["flow_method"])
        frames = []  # (h, w, 3) uint8 BGR, as captured
        try:
            while len(frames) < num_in:
                image = source.read()
                if image is None:
                    self.stop_reason = "source ended"
                    print(f"collect: {source.name} ended after {len(frames)} of the {num_in} frames of a take of "
                          f"'{label}': not kept", file=sys.stderr)
                    self._emit(label, "source ended", frames=len(frames))
                    return None, fps, None
                frames.append(image)
                if recorder is not None:
                    recorder.add(image)
                if self.headless:
                    key = self.keys.poll(1)
                else:
                    display = preview_image(image, self.mirror)
                    draw_box(display, f"Recording '{label}' {len(frames) / fps:.1f} s", RED)
                    key = self._show(display)
                if key in QUIT_KEYS:
                    self.stop_reason = "q"
                    self._emit(label, "not kept", frames=len(frames))
                    return None, fps, None
            strip = None
            if recorder is not None:
                strip = flow_strip(recorder.inputs()["flow"][0], DISPLAY_WIDTH_PX)
                recorder = None
            return frames, fps, strip
        finally:
            if recorder is not None:
                recorder.close()

    def _check_frames(self, label: str, frames, fps: float) -> bool:
        """A take needs at least the num_frames the model samples; fewer: reported, counted as a failure."""
        if len(frames) >= self.settings["num_frames"]:
            return True
        self.failures += 1
        self.message = (f"take of '{label}' NOT kept: {len(frames)} frames ({len(frames) / fps:.1f} s at {fps:.0f} "
                        f"fps), fewer than the {self.settings['num_frames']} the model samples; recording it again")
        print(f"collect: {self.message} (--seconds longer, or more light for the camera)", file=sys.stderr)
        self._emit(label, "too few frames", frames=len(frames))
        return False

    def _review(self, source, label: str, frames, fps: float, strip) -> str:
        """Shows the take back (looped, with its flow strip); "keep", "redo" or "stop".

        Headless the answer is the next scripted key, or "keep" when the script has none left.
        """
        self.keys.result_shown()
        answers = {KEYS["space"]: "keep", ord("r"): "redo", **{key: "stop" for key in QUIT_KEYS}}
        start = time.perf_counter()
        while True:
            if self.headless:
                if not self.keys.items:
                    return "keep"
                key = self.keys.poll(1)
                if key == -1:
                    time.sleep(0.005)
            else:
                if getattr(source, "pace", True):
                    source.read()  # a camera keeps delivering: its buffer stays fresh for the next take
                display = preview_image(frames[int((time.perf_counter() - start) * fps) % len(frames)], self.mirror)
                if strip is not None:
                    piece = strip[: display.shape[0], : display.shape[1]]
                    display[: piece.shape[0], : piece.shape[1]] = piece
                draw_lines(display, [f"'{label}': take {self.counts[label] + 1} of {self.takes}, played back",
                                     "SPACE keeps it and goes on, r records it again, q stops"])
                key = self._show(display)
            if key in answers:
                return answers[key]

    def _keep(self, label: str, frames, fps: float) -> bool:
        try:
            path = write_take(self.folder, label, frames, fps)
        except OSError as error:
            self.failures += 1
            self.message = f"take of '{label}' NOT kept: it could not be written; recording it again"
            print(f"collect: take of '{label}' NOT kept: {error}", file=sys.stderr)
            self._emit(label, "not written", frames=len(frames), error=str(error))
            return False
        add_to_class_table(self.folder, label)
        self.failures, self.message = 0, ""
        self.counts[label] += 1
        self.kept.append(path)
        print(f"Kept {path} ({len(frames)} frames)", file=sys.stderr)
        self._emit(label, "kept", take=str(path), frames=len(frames), fps=fps)
        return True


def collect(labels, takes: int, out_dir: Path, set_number=None, source=None, camera: int = 0, pace: bool = True,
            on_end: str = "stop", seconds: float | None = None, headless: bool = False,
            countdown_s: float = COUNTDOWN_S, keys=None, mirror: bool = True) -> int:
    """`livedemo.py --collect`: checks the labels and the folder, records, prints what was kept and what next.

    Returns:
        0 (every take recorded, or stopped with q), EXIT_INCOMPLETE, or EXIT_USER_ERROR (one line said why).
    """
    try:
        labels = [check_label(label, "--collect") for label in labels]
        duplicates = sorted({label for label in labels if labels.count(label) > 1})
        if duplicates:
            raise CollectError(f"--collect names {duplicates} more than once; name each sign once")
        if len(labels) < 2 and set_number is None:
            raise CollectError("--collect needs at least 2 signs for a classifier; name them all, or add signs "
                               "to an existing set with --set-number NNN")
        folder = set_folder(out_dir, labels, set_number)
        settings = take_settings(folder, labels)
        if class_file_of(folder).is_file():
            read_class_table(class_file_of(folder))  # a damaged class.csv is said now, not after a take
        removed = safeio.clean_leftovers(folder)  # what a killed run left (temporary names only)
        collector = Collector(folder, labels, takes, settings, seconds=seconds, headless=headless,
                              countdown_s=countdown_s, keys=keys, mirror=mirror)
    except (CollectError, ValueError) as error:
        print(f"livedemo: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    before = ", ".join(f"{label} {collector.counts[label]}" for label in labels)
    print(f"Collecting {takes} takes of {len(labels)} signs into {folder} ({collector.missing} to record; "
          f"have: {before}); takes of {collector.seconds:g} s ({'--seconds' if seconds else settings['from']})"
          + (f"; removed {removed} leftovers of a killed run" if removed else ""), file=sys.stderr)
    if collector.missing and settings["from"] != "--size small":
        print(f"Note: {settings['from']} chose the held-out val takes before these: new takes all train; delete it "
              "(and the set's data-temp/ folders) to choose them anew", file=sys.stderr)
    if collector.missing == 0:
        code = 0
    else:
        try:
            with open_source(source, camera, fps=DEMO_SET.fps, pace=pace, on_end=on_end) as stream:
                code = collector.run(stream)
        except (CameraError, FileNotFoundError, VideoError) as error:
            print(f"livedemo: {error}", file=sys.stderr)
            return EXIT_USER_ERROR
        except KeyboardInterrupt:
            print("livedemo: interrupted; run the same command again to go on (kept takes stay)", file=sys.stderr)
            return 130
    have = ", ".join(f"{label} {collector.counts[label]}" for label in labels)
    print(f"Kept {len(collector.kept)} new takes; {folder} now has: {have}", file=sys.stderr)
    if collector.missing:
        why = {"q": "stopped with q", "source ended": "the source ended", "failures":
               f"{MAX_FAILURES} takes in a row failed (see above)"}.get(collector.stop_reason, "stopped")
        print(f"{why}: {collector.missing} takes still to record; run the same command again to go on",
              file=sys.stderr)
    if any(collector.counts.values()):
        print(f"python pipeline_i3d.py --set {folder}")
    return code
