"""The built-in demo set written in the folder contract: its videos, rendered in parallel, crash-safe and resumable.

prepare_demo.py is its command line (its docstring gives the layout); the pipelines and the benchmarks call
ensure_demo_set. The videos themselves are drawn by signlang/demo_render.py.
"""
import itertools
import multiprocessing
import os
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Sequence

import cv2
import pandas as pd
from signlang.demo_render import DEMO_CLASSES, FPS, LABELS, expected_num_frames, render_video
from signlang.folderstep import exit_with_parent, progress
from signlang.safeio import clean_leftovers
from signlang.video import count_frames, write_video
from signlang.videoset import write_class_table


# Train and val use different signers (signer-independent, as ChaLearn's splits are); see demo_render.SIGNERS.
TRAIN_SIGNERS = (1, 2, 3, 4, 5, 6)


VAL_SIGNERS = (7, 8)


SPLITS = {"train": TRAIN_SIGNERS, "val": VAL_SIGNERS}


def is_finished_video(path: Path, rng_seed, fps: float = FPS) -> bool:
    """True when `path` decodes to all the frames its seed gives: a rerun skips it, else renders it again.

    An older version could leave a truncated or 0-byte video under its final name (a full disk, issue 9 item 2).
    """
    return path.is_file() and count_frames(path) == expected_num_frames(rng_seed, fps)


def _make_video(task: tuple) -> str:
    """Worker: renders and writes one video; returns its path."""
    path, label, signer, entropy, fps = task
    cv2.setNumThreads(1)     # one video per process; the pool gives the parallelism
    write_video(Path(path), render_video(label, signer, entropy, fps=fps), fps)
    return path


def video_plan(video_dir: Path, num_classes: int, per_class: int, val_per_class: int, seed: int) -> list:
    """Every video of the set: (path, label, signer, seed entropy) in a fixed order.

    Video k of a class and split is signer SPLITS[split][k % len] and is named s<signer>_<k>.avi; its seed
    (seed, class index, split index, k) does not depend on the other counts, so a bigger --per-class only adds videos.
    """
    plan = []
    for class_index, demo_class in enumerate(DEMO_CLASSES[:num_classes]):
        for split_index, (split, count) in enumerate((("train", per_class), ("val", val_per_class))):
            signers = SPLITS[split]
            for k in range(count):
                signer = signers[k % len(signers)]
                path = video_dir / split / demo_class.label / f"s{signer:02d}_{k:04d}.avi"
                plan.append((path, demo_class.label, signer, (seed, class_index, split_index, k)))
    return plan


def _check_existing(video_dir: Path, labels: Sequence[str]) -> None:
    """Refuses to mix: an existing class.csv or label folder must match this class list."""
    class_file = video_dir / "class.csv"
    if class_file.exists():
        try:
            existing = pd.read_csv(class_file, index_col=0)["sClass"].astype(str).tolist()
        except (KeyError, ValueError, pd.errors.ParserError) as error:
            raise ValueError(f"{class_file} is not a class list with column sClass ({error}); "
                             "choose another --out or move that folder away") from error
        if existing != list(labels):
            raise ValueError(f"{class_file} lists other classes ({', '.join(existing[:5])}, ...) than the demo set "
                             f"({', '.join(labels[:5])}, ...); choose another --out or move {video_dir} away")
    for split in SPLITS:
        split_dir = video_dir / split
        if split_dir.is_dir():
            strangers = sorted(p.name for p in split_dir.iterdir() if p.is_dir() and p.name not in labels)
            if strangers:
                raise ValueError(f"{split_dir} holds label folders that are not demo classes ({', '.join(strangers)}); "
                                 f"choose another --out or move {video_dir} away")


def write_class_file(video_dir: Path, num_classes: int) -> Path:
    """Writes <video_dir>/class.csv (,sClass,sLong,sCat,sDetail) atomically; returns its path."""
    class_file = video_dir / "class.csv"
    return write_class_table(class_file, DEMO_CLASSES[:num_classes])


def generate_demo_set(out_dir: Path, num_classes: int = 10, per_class: int = 16, val_per_class: int = 6,
                      seed: int = 0, workers: int = 2, overwrite: bool = False) -> Path:
    """Generates the demo set under out_dir/<NNN>; skips videos that already exist unless overwrite.

    Args:
        out_dir: the dataset folder (data-set/demo); the set goes to out_dir/<num_classes as 3 digits>.
        num_classes: the first num_classes of DEMO_CLASSES (2..16).
        per_class, val_per_class: videos per class in train (signers s01-s06) and val (s07-s08).
        seed: everything follows from it; the same seed gives the same frames.
        workers: processes rendering videos; 1 renders in this process.
        overwrite: render every video again (files of other names are never touched).
    Returns:
        The <NNN> folder.
    Raises:
        ValueError: bad counts, or the folder already holds a different class list.
    """
    if not 2 <= num_classes <= len(DEMO_CLASSES):
        raise ValueError(f"num_classes={num_classes}: the demo set has 2..{len(DEMO_CLASSES)} classes")
    if per_class < 1 or val_per_class < 1:
        raise ValueError(f"per_class={per_class}, val_per_class={val_per_class}: each split needs >= 1 video per class")
    if workers < 1:
        raise ValueError(f"workers={workers}: need at least 1")
    for folder in (Path(out_dir), Path(out_dir) / f"{num_classes:03d}"):
        if folder.exists() and not folder.is_dir():
            raise ValueError(f"{folder} is a file, not a folder; choose another --out (default data-set/demo)")
    start = time.perf_counter()
    video_dir = Path(out_dir) / f"{num_classes:03d}"
    labels = LABELS[:num_classes]
    _check_existing(video_dir, labels)
    clean_leftovers(video_dir)          # hidden .tmp-* files of a killed run
    video_dir.mkdir(parents=True, exist_ok=True)

    plan = video_plan(video_dir, num_classes, per_class, val_per_class, seed)
    todo = [(str(path), label, signer, entropy, FPS) for path, label, signer, entropy in plan
            if overwrite or not is_finished_video(path, entropy)]
    for path in {Path(task[0]).parent for task in todo}:
        path.mkdir(parents=True, exist_ok=True)
    bar = progress(total=len(todo), desc="demo videos", unit="video", disable=not todo)
    try:
        if workers == 1 or len(todo) <= 1:
            for task in todo:
                _make_video(task)
                bar.update()
        else:
            # A few videos in flight at a time: on Ctrl-C or an error only those finish, not the whole queue.
            queue = iter(todo)
            # "spawn": a forked child of a process that already runs TensorFlow's threads can deadlock.
            # Workers exit when this process dies (kill -9 included; folderstep.exit_with_parent).
            with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                     initializer=exit_with_parent, initargs=(os.getpid(),)) as pool:
                running = {pool.submit(_make_video, task) for task in itertools.islice(queue, 2 * workers)}
                while running:
                    done, running = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        future.result()
                        bar.update()
                        running |= {pool.submit(_make_video, task) for task in itertools.islice(queue, 1)}
    finally:
        bar.close()
    write_class_file(video_dir, num_classes)    # last: a class.csv means the set is complete
    seconds = time.perf_counter() - start
    print(f"Demo set videos: {len(todo)} written, {len(plan) - len(todo)} skipped ({num_classes} classes x "
          f"{per_class} train [signers s01-s06] + {val_per_class} val [s07-s08]) in {seconds:.1f} s "
          f"-> {video_dir.resolve()}")
    return video_dir


def ensure_demo_set(video_set, workers: int = 2) -> None:
    """Generates the built-in demo set when `video_set` is it and its class.csv (written last) is absent."""
    if video_set.name == "demo" and video_set.folder is None and not video_set.class_file.exists():
        generate_demo_set(video_set.video_dir.parent, num_classes=video_set.num_classes, workers=workers)
