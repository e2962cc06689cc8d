"""Frames and flow of each take computed while the next one is recorded (`livedemo.py --collect ... --train`).

pipeline_i3d.py begins with frame.py's and opticalflow.py's work (signlang/steps.py). When a collection goes on to
training in the same command (`--train`, or yes to the question at its end), that work is done here during the
recording instead, take by take, in one background process at low priority, with the pipeline's own functions and
into the folders it will use (data-temp/<name>/<NNN>-<frames>/{image,oflow}/, from the working folder, as the
pipeline computes them), so that the pipeline finds them done and goes on to training at once. The input size and
flow method are the set's description's (videoset.json), or those describe_set will give a new set. Every take goes
to train/; when the recording ends, the folders of the takes the pipeline will hold out are moved to val/
(videoset.next_holdout), and the takes not reached yet are left to the pipeline. Only derived folders are written,
each under a temporary name and renamed (as the steps do), so a wrong guess or a killed run costs a recomputation.
"""
from __future__ import annotations

import os
import sys
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from signlang import steps
from signlang.folderstep import check_settings, exit_with_parent, prepare_output
from signlang.video import set_cv2_threads
from signlang.videoset import VIDEO_SETS, VideoSet, folder_set_name, next_holdout

NICENESS = 10  # the background process yields to the recording and its window


def _worker_init(parent_pid: int) -> None:
    exit_with_parent(parent_pid)
    try:
        os.nice(NICENESS)
    except (AttributeError, OSError):
        pass  # no nice (Windows): it still runs, at normal priority
    set_cv2_threads(1)


def prepare_take(video: Path, frame_dir: Path, flow_dir: Path, num_frames: int, min_dim_px: int, method: str) -> str:
    """The frames, then the flow, of one take (steps.extract_video, steps.flow_video: the pipeline's jobs)."""
    steps.extract_video(video, frame_dir, num_frames, min_dim_px, None, overwrite=False)
    return steps.flow_video(frame_dir, flow_dir, method, overwrite=False)


class TakePrep:
    """The background preparation of a collection's takes. Use as a context manager around the recording:
    submit(take) after each kept take; finish() when the recording ended (cancels what was not started, waits for
    the take under way, moves the held-out takes' folders). Leaving the block without finish() (Ctrl-C, an error)
    cancels and waits for the take under way."""

    def __init__(self, folder: Path, settings: dict, root: Path = Path("."), start: bool = True):
        """folder: the set folder; settings: collect.take_settings (num_frames, min_dim_px, flow_method, number);
        start: False prepares nothing (the collection does not go on to training)."""
        self.folder, self.start = Path(folder), start
        number = settings.get("number") or (int(self.folder.name) if self.folder.name.isdigit() else None)
        self.temp_dir = None
        if number:  # the VideoSet resolve_set will give, for its folders (num_classes does not name them)
            self.temp_dir = VideoSet(folder_set_name(self.folder), num_classes=max(2, number),
                                     num_frames=settings["num_frames"], min_dim_px=settings["min_dim_px"],
                                     crop_px=settings["crop_px"], root=Path(root), folder=self.folder,
                                     number=number).temp_dir
        self.settings = settings
        self.pool: ProcessPoolExecutor | None = None
        self.futures: dict[Path, Future] = {}

    @property
    def enabled(self) -> bool:
        """False where the pipeline's folders cannot be known in advance: a set folder not named <NNN> and not
        described yet (its <NNN> is its class count then), or a built-in set's folder."""
        built_in = any(self.folder.resolve() == v.video_dir.resolve() for v in VIDEO_SETS.values())
        return self.start and self.temp_dir is not None and not built_in

    def __enter__(self) -> TakePrep:
        if not self.enabled:
            return self
        try:  # the steps' own checks: a folder of frames or flow made otherwise is left to the pipeline to report
            for out_dir, step, recorded in (
                    (self.temp_dir / "image", "frames", steps.frame_settings(self.settings["num_frames"],
                                                                             self.settings["min_dim_px"])),
                    (self.temp_dir / "oflow", "flows", steps.flow_settings(self.settings["flow_method"]))):
                prepare_output(out_dir)
                check_settings(out_dir, step, recorded)
        except (OSError, ValueError) as error:
            print(f"collect: frames and flow are left to the pipeline ({error})", file=sys.stderr)
            return self
        self.pool = ProcessPoolExecutor(1, mp_context=get_context("spawn"), initializer=_worker_init,
                                        initargs=(os.getpid(),))
        return self

    def submit(self, take: Path) -> None:
        """Queues a kept take (folder/train/<label>/<video>)."""
        if self.pool is None:
            return
        clip = Path("train") / take.parent.name / take.stem
        self.futures[take] = self.pool.submit(
            prepare_take, take, self.temp_dir / "image" / clip, self.temp_dir / "oflow" / clip,
            self.settings["num_frames"], self.settings["min_dim_px"], self.settings["flow_method"])

    def finish(self) -> str:
        """Ends the preparation; returns a line saying what was prepared ("" when nothing was)."""
        if self.pool is None:
            return ""
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.pool = None
        done = [take for take, future in self.futures.items()
                if not future.cancelled() and future.exception() is None]
        failed = [take for take, future in self.futures.items()
                  if not future.cancelled() and future.exception() is not None]
        for take in failed:
            print(f"collect: frames or flow of {take} not prepared ({self.futures[take].exception()}); "
                  "the pipeline computes them", file=sys.stderr)
        moved = self.place_held_out()
        if not done:
            return ""
        return (f"Frames and flow of {len(done)} of the {len(self.futures)} new takes computed while recording, in "
                f"{self.temp_dir}" + (f" ({moved} held out, in val/)" if moved else "")
                + "; the pipeline computes the rest")

    def place_held_out(self) -> int:
        """Moves the frame and flow folders of the takes the pipeline will hold out from train/ to val/, where it
        looks for them; returns how many takes moved."""
        try:
            holdout = next_holdout(self.folder)
        except (OSError, ValueError):
            return 0  # the pipeline says what is wrong with the folder
        moved = 0
        for takes in holdout.values():
            for take in takes:
                label, stem = Path(take).parent.name, Path(take).stem
                for out_dir in (self.temp_dir / "image", self.temp_dir / "oflow"):
                    source, target = out_dir / "train" / label / stem, out_dir / "val" / label / stem
                    if source.is_dir() and not target.exists():
                        try:
                            target.parent.mkdir(parents=True, exist_ok=True)
                            os.replace(source, target)
                        except OSError:  # left where it is: the pipeline removes it and computes the take again
                            continue
                        moved += out_dir.name == "image"
        return moved

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
