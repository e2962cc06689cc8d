"""Guided recording of a vocabulary of signs into a set folder: label, countdown, take, look back, keep or redo.

Users: `python livedemo.py --collect hello thanks yes no --takes 10 --out data-set/mine` runs it.

The takes go to <out>/<NNN>/train/<label>/take_NNNN.mp4 (NNN: the number of labels, or --set-number), the
folder contract of videoset.py, so that `python pipeline_i3d.py --set <out>/<NNN>` trains on them as they
are. An existing set folder as --out (`--collect newsign --takes 8 --out data-set/mine/004`) takes the new signs
and takes itself: its description grows at the next run (videoset.grow_description), nothing to delete. At the
end it offers (or with --train runs) `python pipeline_i3d.py --set <folder> --live`: training, and live
recognition on a preview model while it trains (offer_training). Labels are visited in rounds (each round one take of every label still short of --takes), so that
stopping early leaves the labels balanced. A take is kept only when it is complete: written through
write_numbered_video (verified to decode to every frame, then linked to the next free number, never
over an existing take); a take with far too few frames or a failed write is reported and redone. Run again,
it counts the takes that exist and records only what is missing. class.csv lists the labels that have
takes, written atomically (videoset.write_class_table) before the take itself, so that a killed run never
leaves a take of an unlisted label (and a rerun lists any it finds). A video file as the source is resumed at
the frame where the kept takes ended (RESUME_FILE), so that a replayed file never records a sign under
another label. No TensorFlow: collecting needs no model.

The window and its keys are livedemo.py's (draw_box, draw_lines, flow_strip, ScriptedKeys): SPACE keeps a
take and goes on, r redoes it, q stops with what was kept. Headless, each take is one JSON line on stdout
and is kept at once unless --keys scripts the answer.
"""
import errno
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from signlang import liveinput, safeio
from signlang.overlay import (COUNTDOWN_S, DISPLAY_WIDTH_PX, GREEN, KEYS, ORANGE, QUIT_KEYS, RED, ScriptedKeys,
                              WINDOW_NAME, draw_box, draw_lines, flow_strip, preview_image, with_strip)
from signlang.sources import CameraError, open_source
from signlang.takeprep import TakePrep
from signlang.video import VideoError, write_numbered_video
from signlang.videoset import (NEW_SET_FLOW_METHOD, DEMO_SET, DESCRIPTION_FILE, SIZES, append_class_rows, check_label,
                               class_file_of, is_set_folder, label_folders, list_videos, read_class_table,
                               read_description, write_class_table)

# ---- how a collection behaves ------------------------------------------
TAKE_PREFIX = "take_"            # take_0000.mp4, take_0001.mp4, ...
TAKE_SUFFIXES = (".mp4", ".avi")  # mp4v .mp4 (a tenth of MJPG's size); MJPG .avi where mp4v does not write
DEFAULT_DURATION_S = DEMO_SET.duration_s  # --size small is the demo's size, and its takes are 3 s
MAX_FAILURES = 3                 # takes failed in a row (too few frames, not written) before collecting stops
RESUME_FILE = ".collect-source.json"  # in the set folder: a file source's frame where the kept takes end
# The step a collection leads to: run (never imported: nothing imports a pipeline) by offer_training.
PIPELINE_SCRIPT = Path(__file__).resolve().parents[1] / "pipeline_i3d.py"
# ------------------------------------------------------------------------
EXIT_INCOMPLETE = 1  # stopped by failures, or the source ended, before every take was recorded
EXIT_USER_ERROR = 2


class CollectError(ValueError):
    """A user error before anything is recorded (bad labels, a folder described otherwise)."""


def set_folder(out_dir: Path, labels, set_number=None) -> Path:
    """<out_dir>/<NNN>: NNN is set_number, or the number of labels (the folder contract's <NNN>); out_dir itself
    when it is a set folder already (videoset.is_set_folder: signs or takes added to an existing set).

    Raises:
        CollectError: out_dir is a set folder and set_number is given too.
    """
    if is_set_folder(out_dir):
        if set_number is not None:
            raise CollectError(f"--out {out_dir} is a set folder itself (it has train/): the takes go there; drop "
                               f"--set-number {set_number}, or give the folder above it as --out")
        return Path(out_dir)
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

    A described folder (videoset.json) gives its own, also for signs it does not list yet (the pipeline adds
    them to it); else the defaults of `--size small` (the demo's 3 s, 16 frames).

    Raises:
        CollectError: the description cannot be read.
    """
    path = Path(folder) / DESCRIPTION_FILE
    if not path.is_file():
        return {"duration_s": DEFAULT_DURATION_S, "num_frames": SIZES["small"][0], "min_dim_px": SIZES["small"][1],
                "crop_px": SIZES["small"][2], "flow_method": NEW_SET_FLOW_METHOD, "from": "--size small"}
    try:
        description = read_description(path)
    except ValueError as error:
        raise CollectError(str(error)) from None
    return {key: description[key] for key in ("duration_s", "num_frames", "min_dim_px", "crop_px", "flow_method")
            } | {"number": description.get("number", description["num_classes"]), "from": str(path)}


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
            if is_disk_full(error):  # the other container would not fit either; its codec hint would mislead
                raise
            errors.append(f"{suffix}: {error}")
    raise OSError("; ".join(errors))


def is_disk_full(error: OSError) -> bool:
    return getattr(error, "errno", None) in (errno.ENOSPC, errno.EDQUOT)


def check_writable(folder: Path, labels) -> None:
    """Raises CollectError when a take or class.csv could not be written into `folder` (checked before the
    first take, so that no take is recorded for nothing); creates folder/train/."""
    where = Path(folder)
    try:
        for where in (Path(folder), Path(folder) / "train",
                      *[Path(folder) / "train" / label for label in labels if (Path(folder) / "train" / label).is_dir()]):
            where.mkdir(parents=True, exist_ok=True)
            probe = safeio.tmp_sibling(where / "write-check")
            probe.write_bytes(b"")
            probe.unlink()
    except OSError as error:
        if is_disk_full(error):
            raise CollectError(str(safeio.disk_full_hint(error, where))) from None
        raise CollectError(f"Cannot write into {where} ({error.strerror or error}): make it writable "
                           "(chmod u+w) or collect into another --out") from None


def add_to_class_table(folder: Path, label: str) -> bool:
    """Adds `label` to folder/class.csv (sLong = the label) unless listed; rows already there stay as they are.
    Returns whether it added the row."""
    return bool(append_class_rows(folder, [label]))


def drop_last_class_row(folder: Path, label: str) -> None:
    """Takes back the row add_to_class_table just added for `label` (its take was not written): only when it is
    still the last row and the label has no take on disk, so no other label's index moves."""
    class_file = class_file_of(folder)
    table = read_class_table(class_file)
    if len(table) and table.index[-1] == label and not take_counts(folder, [label])[label]:
        if len(table) == 1:
            class_file.unlink()  # a class.csv without rows does not read
        else:
            write_class_table(class_file, table.values.tolist()[:-1])


def sync_class_table(folder: Path) -> list[str]:
    """Appends to folder/class.csv every label that has takes on disk but no row (a run before the row was
    written first, or a hand-copied take); returns them. Rows already there stay, in their order."""
    if not Path(folder).is_dir():
        return []
    return append_class_rows(folder, sorted({label for _, _, label in list_videos(folder, effective=False)[0]}))


def source_identity(source) -> dict | None:
    """{"path", "size", "mtime_ns"} of a file source (a video file or a folder of frames), None for a camera."""
    if not hasattr(source, "seek"):
        return None
    path = Path(source.path).resolve()
    stat = path.stat()
    return {"path": str(path), "size": stat.st_size if path.is_file() else source.num_frames,
            "mtime_ns": stat.st_mtime_ns}


def resume_position(folder: Path, labels, counts: dict, source) -> int:
    """The frame of a file source where this collection goes on.

    The file that recorded the set's takes so far (RESUME_FILE names it, written before each take): where its
    kept takes ended. Another file (or none recorded): its start, as a new recording of the takes still missing.
    A camera: 0 (it is live).

    Raises:
        CollectError: the file is the one that recorded the takes, but the takes on disk are not those it recorded
            (added or deleted by hand, another label list): from no frame of it would the next take surely hold
            the sign asked for.
    """
    identity = source_identity(source)
    if identity is None or not any(counts.values()):
        return 0
    record_file = Path(folder) / RESUME_FILE
    try:
        record = json.loads(record_file.read_text()) if record_file.is_file() else {}
    except (OSError, ValueError):
        record = {}
    if not isinstance(record, dict) or record.get("source") != identity:
        print(f"collect: {source.name} is read from its start, as a recording of the takes still missing, in the "
              "order they are asked", file=sys.stderr)
        return 0
    if record.get("labels") == list(labels):
        for entry in (record, record.get("previous") or {}):
            if entry.get("counts") == counts:
                return int(entry["position"])
    have = ", ".join(f"{label} {count}" for label, count in counts.items())
    raise CollectError(
        f"{folder} has other takes ({have}) than {source.name} recorded into it ({record_file}), so no frame of that "
        "file is known to hold the sign asked next: record the rest from the camera (no --source) or from a new file "
        "of the takes still missing, or collect into another --set-number/--out")


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
        self.position = 0           # a file source's frame where the last kept take ended (RESUME_FILE)
        self.identity = None        # source_identity of the source being recorded
        self.kept: list[Path] = []
        self.failures = 0           # in a row
        self.stop_reason = None     # "q", "source ended", "failures"; None when every take was recorded
        self.message = ""           # the last problem, shown with the next countdown
        self.on_kept = None         # called with each kept take's path (takeprep.TakePrep.submit)

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
        """Records until done; returns 0 (all takes, or stopped with q) or EXIT_INCOMPLETE.

        A file source goes on at the frame where the kept takes ended (resume_position; CollectError if unknown).
        """
        self.identity = source_identity(source)
        if self.identity is not None:
            self.position = resume_position(self.folder, self.labels, self.counts, source)
            if self.position:
                reached = source.seek(self.position)
                print(f"collect: going on in {source.name} at frame {reached}, where the kept takes end",
                      file=sys.stderr)
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
                if not self._keep(label, frames, fps, source):
                    if self.stop_reason == "disk full":
                        break
                    if self.failures >= MAX_FAILURES:
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
                    draw_box(display, f"Recording '{label}': {max(0.0, (num_in - len(frames)) / fps):.1f} s left",
                             RED, progress=len(frames) / num_in)
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
                draw_lines(display, [f"'{label}': take {self.counts[label] + 1} of {self.takes}, played back",
                                     "SPACE keeps it and goes on, r records it again, q stops"])
                key = self._show(with_strip(display, strip))
            if key in answers:
                return answers[key]

    def _record_position(self, label: str, source) -> None:
        """Before a take is written: RESUME_FILE says where a file source stands after it (its counts with the
        take) and where it stood after the last kept take (the counts without it), whichever the disk shows."""
        if self.identity is None:
            return
        after = {**self.counts, label: self.counts[label] + 1}
        safeio.write_json_atomic(self.folder / RESUME_FILE, {
            "source": self.identity, "labels": self.labels, "counts": after, "position": source.position,
            "previous": {"counts": self.counts, "position": self.position}})

    def _keep(self, label: str, frames, fps: float, source=None) -> bool:
        """Writes the take: first where a file source stands and the class.csv row, then the take itself, so that
        a run killed at any moment leaves class.csv listing every take on disk."""
        added = False
        try:
            self._record_position(label, source)
            added = add_to_class_table(self.folder, label)
            path = write_take(self.folder, label, frames, fps)
        except OSError as error:
            if added:
                try:
                    drop_last_class_row(self.folder, label)
                except OSError:
                    pass  # the row stays; a rerun records the take it lists
            if is_disk_full(error):
                self.stop_reason = "disk full"
                print(f"collect: take of '{label}' NOT kept. {error}", file=sys.stderr)
                self._emit(label, "not written", frames=len(frames), error=str(error))
                return False
            self.failures += 1
            self.message = f"take of '{label}' NOT kept: it could not be written; recording it again"
            print(f"collect: take of '{label}' NOT kept: {error}", file=sys.stderr)
            self._emit(label, "not written", frames=len(frames), error=str(error))
            return False
        self.failures, self.message = 0, ""
        self.counts[label] += 1
        if self.identity is not None:
            self.position = source.position
        self.kept.append(path)
        if self.on_kept is not None:
            self.on_kept(path)
        print(f"Kept {path} ({len(frames)} frames)", file=sys.stderr)
        self._emit(label, "kept", take=str(path), frames=len(frames), fps=fps)
        return True


def is_interactive() -> bool:
    """True when a person can answer a question: stdin and stderr are terminals."""
    return sys.stdin.isatty() and sys.stderr.isatty()


def ask(question: str) -> bool:
    """Asks a [Y/n] question on stderr; Enter or y/yes is yes, anything else (or end of input) no."""
    print(f"{question} [Y/n] ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline()
    return bool(answer) and answer.strip().lower() in ("", "y", "yes")


def training_command(folder: Path) -> list[str]:
    """The pipeline run that trains on a set folder and starts live recognition on its preview model meanwhile,
    then on the model it trained."""
    return [sys.executable, str(PIPELINE_SCRIPT), "--set", str(folder), "--live"]


def offer_training(folder: Path, train: bool | None, headless: bool) -> int | None:
    """After a complete collection: runs training_command when asked to (train True), or when a person at a terminal
    says yes (train None, not headless); returns its exit status, or None when nothing was run."""
    if train is False or (train is None and (headless or not is_interactive())):
        return None
    if train is None and not ask("Train on these takes now and start recognising?"):
        return None
    command = training_command(folder)
    print(f"Training, with live recognition on a preview meanwhile: python {' '.join(command[1:])}",
          file=sys.stderr, flush=True)
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:
        print("livedemo: interrupted; run the same pipeline command again to go on (it resumes)", file=sys.stderr)
        return 130


def collect(labels, takes: int, out_dir: Path, set_number=None, source=None, camera: int = 0, pace: bool = True,
            on_end: str = "stop", seconds: float | None = None, headless: bool = False,
            countdown_s: float = COUNTDOWN_S, keys=None, mirror: bool = True, train: bool | None = None) -> int:
    """`livedemo.py --collect`: checks the labels and the folder, records, prints what was kept and what next.

    Args:
        out_dir: the folder above the set folder <NNN>, or an existing set folder itself (set_folder).
        train: after a complete collection, run training and live recognition (offer_training): True runs it,
            False never, None asks when a person is at a terminal (not headless).

    Returns:
        0 (every take recorded, or stopped with q), EXIT_INCOMPLETE, or EXIT_USER_ERROR (one line said why);
        the pipeline's exit status when it ran.
    """
    try:
        labels = [check_label(label, "--collect") for label in labels]
        duplicates = sorted({label for label in labels if labels.count(label) > 1})
        if duplicates:
            raise CollectError(f"--collect names {duplicates} more than once; name each sign once")
        folder = set_folder(out_dir, labels, set_number)
        if len(set(labels) | set(label_folders(folder))) < 2 and set_number is None:
            raise CollectError("--collect needs at least 2 signs for a classifier; name them all, or add signs "
                               "to an existing set with --out <its folder>, e.g. --out data-set/mine/004")
        settings = take_settings(folder, labels)
        if class_file_of(folder).is_file():
            read_class_table(class_file_of(folder))  # a damaged class.csv is said now, not after a take
        collector = Collector(folder, labels, takes, settings, seconds=seconds, headless=headless,
                              countdown_s=countdown_s, keys=keys, mirror=mirror)
        if collector.missing:
            check_writable(folder, labels)
        removed = safeio.clean_leftovers(folder)  # what a killed run left (temporary names only)
        listed = sync_class_table(folder)
        if listed:
            print(f"collect: {class_file_of(folder)} now lists {listed}: their takes are on disk (a run killed "
                  "before this version wrote the row)", file=sys.stderr)
    except (CollectError, ValueError) as error:
        print(f"livedemo: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as error:  # a full disk or a read-only class.csv while listing the takes on disk
        print(f"livedemo: {error}", file=sys.stderr)
        return EXIT_INCOMPLETE if is_disk_full(error) else EXIT_USER_ERROR
    before = ", ".join(f"{label} {collector.counts[label]}" for label in labels)
    print(f"Collecting {takes} takes of {len(labels)} signs into {folder} ({collector.missing} to record; "
          f"have: {before}); takes of {collector.seconds:g} s ({'--seconds' if seconds else settings['from']})"
          + (f"; removed {removed} leftovers of a killed run" if removed else ""), file=sys.stderr)
    if collector.missing and settings["from"] != "--size small":
        print(f"Note: {settings['from']} describes this set; the next `pipeline_i3d.py --set` adds these takes to it "
              "(its earlier held-out takes kept, the newest ~30 % of each sign's new takes held out to validate)",
              file=sys.stderr)
    prepared = ""
    if collector.missing == 0:
        code = 0
    else:
        # Going on to training: the pipeline's frames and flow are computed meanwhile (takeprep.py).
        ahead = train is True or (train is None and not headless and is_interactive())
        try:
            with (open_source(source, camera, fps=DEMO_SET.fps, pace=pace, on_end=on_end) as stream,
                  TakePrep(folder, settings, start=ahead) as prep):
                collector.on_kept = prep.submit
                code = collector.run(stream)
                prepared = prep.finish()
        except (CameraError, FileNotFoundError, VideoError, CollectError) as error:
            print(f"livedemo: {error}", file=sys.stderr)
            return EXIT_USER_ERROR
        except KeyboardInterrupt:
            print("livedemo: interrupted; run the same command again to go on (kept takes stay)", file=sys.stderr)
            return 130
    have = ", ".join(f"{label} {collector.counts[label]}" for label in labels)
    print(f"Kept {len(collector.kept)} new takes; {folder} now has: {have}", file=sys.stderr)
    if prepared:
        print(prepared, file=sys.stderr)
    if collector.missing:
        why = {"q": "stopped with q", "source ended": "the source ended", "failures":
               f"{MAX_FAILURES} takes in a row failed (see above)", "disk full": "the disk is full (see above)"
               }.get(collector.stop_reason, "stopped")
        print(f"{why}: {collector.missing} takes still to record; run the same command again to go on",
              file=sys.stderr)
    if any(collector.counts.values()):
        print(f"python pipeline_i3d.py --set {folder}")
        if code == 0 and not collector.missing:
            trained = offer_training(folder, train, headless)
            if trained is not None:
                return trained
    return code
