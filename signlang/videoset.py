"""What a dataset is, and where each of its folders lives (the folder contract, written once).

    data-set/<name>/<NNN>/class.csv
    data-set/<name>/<NNN>/{train,val,test}/<label>/<video>.{avi,mp4}
    data-temp/<name>/<NNN>-<frames>/image/<split>/<label>/<video>/frame0000.jpg
    data-temp/<name>/<NNN>-<frames>/oflow/<split>/<label>/<video>/flow000.jpg
    model/<stamp>-<name><NNN>-<stream>-i3d-{above,entire}-{last,best}.keras
    log/<stamp>-<name><NNN>-<stream>-i3d.csv

Also the one home of what every step shares about a set: the table of built-in sets (`VIDEO_SETS`),
`--set` on every command line (`add_set_arguments`, `set_from_args`: a built-in name or a folder),
the class.csv reader and writer (`VideoClasses`, `read_class_table`, `write_class_table`), the stream -> channels / folder maps
(`VideoSet.stream_dir`), and a folder set's description (`describe_set`: videoset.json, written once, grown when
signs or takes are added, `grow_description`).

Importable without TensorFlow: the data-preparation scripts use it too.
"""
from __future__ import annotations  # "pd.DataFrame" in signatures without importing pandas

import argparse
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from signlang.flow import DEFAULT_FLOW_METHOD, NEW_SET_FLOW_METHOD
from signlang.safeio import atomic_write, write_json_atomic
from signlang.video import VIDEO_EXTENSIONS, VideoError, video_info

if TYPE_CHECKING:
    import pandas as pd

CLASS_COLUMNS = ("sClass", "sLong", "sCat", "sDetail")  # the seed's class.csv columns (after an unnamed index)
STREAM_CHANNELS = {"rgb": 3, "flow": 2}       # input channels of each I3D stream
# The data-temp folder of each stream (the contract above); "hands": one landmark .npy per clip (hands.py).
STREAM_FOLDERS = {"rgb": "image", "flow": "oflow", "hands": "hands"}
SPLITS = ("train", "val", "test")
DESCRIPTION_FILE = "videoset.json"  # a folder set's persisted description, beside its split folders
# 2 (issue 21): + "seen", the train/ takes already split (so that takes added later are told apart), and "number",
# the <NNN> of the set's derived folders and checkpoints, kept when labels are added. Version 1 is upgraded on read.
DESCRIPTION_VERSION = 2
# The held-out validation split of a set without val/: the newest VAL_FRACTION of each label's takes (by
# name order, i.e. take_0007 after take_0006), at least one, whole recordings only. Takes added to a described
# set are split by the same rule among themselves (grow_description).
VAL_FRACTION = 0.3
FPS_SAMPLE = 9  # videos sampled (spread over the set) for the median fps and duration


@dataclass(frozen=True)
class VideoSet:
    """A dataset and the input size the network sees.

    Args:
        name: folder name under data-set/ ("demo", "chalearn").
        num_classes: number of labels; also the <NNN> folder ("010").
        num_frames: frames per clip after resampling (the seed: 40).
        min_dim_px: the smaller side after resizing, before the crop (the seed: 240).
        crop_px: square crop the network sees (the seed: 224).
        fps: nominal frame rate of the videos (for the live demo's recording length).
        duration_s: nominal clip length in seconds (the live demo records this long).
        root: folder holding data-set/, data-temp/, model/ and log/.
        folder: the video folder when it is not root/data-set/<name>/<NNN> (a set given as a folder).
        flow_method: the optical flow method of the set's oflow/ folder (opticalflow.py).
        number: the <NNN> of data-temp/ and the checkpoint names when it is not num_classes: a folder set keeps
            the class count it was first described with as labels are added (videoset.json "number"), so that
            its derived folders and runs keep their names.
    """

    name: str
    num_classes: int
    num_frames: int = 40
    min_dim_px: int = 240
    crop_px: int = 224
    fps: float = 25.0
    duration_s: float = 5.0
    root: Path = Path(".")
    folder: Path | None = None
    flow_method: str = DEFAULT_FLOW_METHOD
    number: int | None = None

    def __post_init__(self):
        if self.num_classes < 2:
            raise ValueError(f"VideoSet {self.name!r}: num_classes={self.num_classes}; a classifier needs at least 2")
        if self.crop_px > self.min_dim_px:
            raise ValueError(
                f"VideoSet {self.name!r}: crop_px={self.crop_px} is larger than min_dim_px={self.min_dim_px}; "
                "the crop must fit inside the resized frame"
            )

    @property
    def classes_folder(self) -> str:
        """The <NNN> folder of the contract: the number of classes in 3 digits ("010"), or the set's `number`."""
        return f"{self.num_classes if self.number is None else self.number:03d}"

    @property
    def video_dir(self) -> Path:
        if self.folder is not None:
            return self.folder
        return self.root / "data-set" / self.name / self.classes_folder

    @property
    def class_file(self) -> Path:
        return self.video_dir / "class.csv"

    @property
    def temp_dir(self) -> Path:
        return self.root / "data-temp" / self.name / f"{self.classes_folder}-{self.num_frames}"

    @property
    def image_dir(self) -> Path:
        return self.temp_dir / "image"

    @property
    def flow_dir(self) -> Path:
        return self.temp_dir / "oflow"

    def stream_dir(self, stream: str) -> Path:
        """The data-temp folder of one stream's inputs: image_dir for "rgb", flow_dir for "flow", hands/ for "hands"."""
        if stream not in STREAM_FOLDERS:
            raise ValueError(f"Stream {stream!r}; choose one of {', '.join(STREAM_FOLDERS)}")
        return self.temp_dir / STREAM_FOLDERS[stream]

    @property
    def model_dir(self) -> Path:
        return self.root / "model"

    @property
    def log_dir(self) -> Path:
        return self.root / "log"

    @property
    def tag(self) -> str:
        """The <name><NNN> part of checkpoint and log names, e.g. "demo010"."""
        return f"{self.name}{self.classes_folder}"


# The built-in demo set (prepare_demo.py). Small input so that `make demo` trains on a laptop CPU:
# 16 frames at 128x128 costs ~1/8 of the seed's 40x224x224 per clip.
DEMO_SET = VideoSet("demo", num_classes=10, num_frames=16, min_dim_px=128, crop_px=128, fps=25.0, duration_s=3.0)
# ChaLearn IsoGD subsets (prepare_chalearn.py) with the seed's 40 frames x 224 px.
CHALEARN_020 = VideoSet("chalearn", num_classes=20, num_frames=40, min_dim_px=240, crop_px=224, fps=10.0, duration_s=5.0)
CHALEARN_249 = VideoSet("chalearn", num_classes=249, num_frames=40, min_dim_px=240, crop_px=224, fps=10.0, duration_s=5.0)


# --set shortcuts: the built-in sets by name.
VIDEO_SETS = {"demo": DEMO_SET, "chalearn020": CHALEARN_020, "chalearn249": CHALEARN_249}

# --size presets: (num_frames, min_dim_px, crop_px). "small" trains on a laptop CPU in minutes (the demo's
# size, ~1/8 of the seed's compute per clip); "seed" is the 2018 repository's 40 x 224 (a GPU, or patience).
SIZES = {"small": (16, 128, 128), "seed": (40, 240, 224)}


def label_folders(video_dir: Path) -> list[str]:
    """The sorted label folder names under video_dir/<split>/ over all splits (hidden names skipped)."""
    video_dir = Path(video_dir)
    labels = set()
    for split in SPLITS:
        split_dir = video_dir / split
        if split_dir.is_dir():
            labels.update(p.name for p in split_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    return sorted(labels)


def check_label(label: str, option: str = "label") -> str:
    """A label as a plain folder name (hello, circle_cw), else ValueError naming `option` and the fix."""
    if not label or label.startswith(".") or "/" in label or "\\" in label or label != label.strip():
        raise ValueError(f"{option} label {label!r}: use a plain folder name such as 'hello'")
    return label


def resolve_set(spec: str, root: Path = Path("."), size: str | None = None, num_frames: int | None = None,
                min_dim_px: int | None = None, crop_px: int | None = None) -> VideoSet:
    """The VideoSet `--set spec` names: a built-in name ("demo"), or a folder (data-set/mine/005, or mine/005).

    A folder's classes are its label folders; its name is the folder above <NNN> (data-set/mine/005 -> "mine").
    `size` ("small" / "seed") and explicit num_frames / min_dim_px / crop_px override the input size.

    Raises:
        FileNotFoundError: spec is neither a built-in name nor a folder with <split>/<label>/ folders.
        ValueError: unknown size preset, or inconsistent sizes.
    """
    root = Path(root)
    if size is not None and size not in SIZES:
        raise ValueError(f"--size {size!r}: choose one of {', '.join(SIZES)}")
    overrides = dict(zip(("num_frames", "min_dim_px", "crop_px"), SIZES[size])) if size else {}
    overrides.update({k: v for k, v in (("num_frames", num_frames), ("min_dim_px", min_dim_px), ("crop_px", crop_px))
                      if v is not None})
    folder = _set_folder(spec, root)
    if folder is None:
        if spec in VIDEO_SETS:
            return _with_size(replace(VIDEO_SETS[spec], root=root), overrides)
        raise FileNotFoundError(
            f"--set {spec}: neither a built-in set ({', '.join(VIDEO_SETS)}) nor a folder with "
            f"<split>/<label>/<video> inside (tried {Path(spec).resolve()} and {(root / 'data-set' / spec).resolve()})"
        )
    for built_in in VIDEO_SETS.values():
        if replace(built_in, root=root).video_dir.resolve() == folder.resolve():
            return _with_size(replace(built_in, root=root), overrides)
    labels = label_folders(folder)
    if len(labels) < 2:
        raise FileNotFoundError(
            f"--set {spec}: {folder.resolve()} has {len(labels)} label folder(s) under train/ or val/; a classifier "
            "needs at least 2 (layout <set>/train/<label>/<video>.mp4)"
        )
    description = describe_set(folder, size=size, sizes=overrides)
    name = folder_set_name(folder)
    return VideoSet(name, num_classes=description["num_classes"], num_frames=description["num_frames"],
                    min_dim_px=description["min_dim_px"], crop_px=description["crop_px"], fps=description["fps"],
                    duration_s=description["duration_s"], root=root, folder=folder,
                    flow_method=description["flow_method"], number=description["number"])


def folder_set_name(folder: Path) -> str:
    """The name of a folder set, under data-temp/ and in checkpoint names: the folder above <NNN>
    (data-set/mine/005 -> "mine"), or the folder's own name when it is not a number."""
    folder = Path(folder)
    return folder.parent.name if folder.name.isdigit() and folder.parent.name else folder.name


def describe_set(folder: Path, size: str | None = None, sizes: dict | None = None) -> dict:
    """The persisted description of a folder set (folder/videoset.json): derived and written the first time, read
    after, and grown when label folders or takes are added (grow_description).

    The description holds num_classes, labels, num_frames, min_dim_px, crop_px, fps, duration_s, flow_method,
    the held-out validation takes (`val_holdout`, see `holdout_split`), the train/ takes it has split (`seen`)
    and the <NNN> of its derived folders (`number`). `sizes` are explicit input-size choices
    (num_frames/min_dim_px/crop_px) that must agree with a persisted description; `size` is the preset they came
    from (for the message).

    Raises:
        ValueError: the folder or the choices no longer match the persisted description (a label folder removed,
            another size: says what differs and how to proceed), or an added label has too few takes.
    """
    folder = Path(folder)
    path = folder / DESCRIPTION_FILE
    sizes = dict(sizes or {})
    labels = label_folders(folder)
    if path.is_file():
        description = read_description(path)
        differences = []
        removed = [label for label in description["labels"] if label not in labels]
        if removed:
            differences.append(f"label folders removed {removed}")
        for key, value in sizes.items():
            if description[key] != value:
                differences.append(f"{key} {value} (asked{' by --size ' + size if size else ''}) != {description[key]}")
        if differences:
            raise ValueError(
                f"{folder} does not match its description {path}: {'; '.join(differences)}. Run without the "
                f"size options to use the described set, or delete {path} (and that set's data-temp/ folders) "
                "to describe it anew"
            )
        grown, changes = grow_description(folder, upgrade_description(description, folder))
        if grown != description:
            append_class_rows(folder, grown["labels"])  # first: a kill in between leaves an extra row, read alike
            write_json_atomic(path, grown)
        if changes:
            print(f"{changes} -> {path}")
        return grown
    check_takes(folder)
    num_frames, min_dim_px, crop_px = SIZES["small"]
    chosen = {"num_frames": num_frames, "min_dim_px": min_dim_px, "crop_px": crop_px, **sizes}
    if "min_dim_px" in sizes and "crop_px" not in sizes:
        chosen["crop_px"] = min(crop_px, sizes["min_dim_px"])
    fps, duration_s = _median_timing(folder)
    # <NNN>: the folder's own number where it has one (data-set/mine/005), so that two set folders never share
    # data-temp/ or checkpoint names, even after labels are added to one of them; else the class count.
    number = int(folder.name) if folder.name.isdigit() else len(labels)
    description = {"version": DESCRIPTION_VERSION, "num_classes": len(labels), "labels": labels, **chosen,
                   "fps": fps, "duration_s": duration_s, "flow_method": NEW_SET_FLOW_METHOD,
                   "val_holdout": holdout_split(folder), "number": number, "seen": train_takes(folder)}
    if description["crop_px"] > description["min_dim_px"]:
        raise ValueError(f"crop_px={description['crop_px']} is larger than min_dim_px={description['min_dim_px']}")
    # No class.csv: the label folders are the classes (a class.csv there gets a row for each folder it lacks).
    append_class_rows(folder, labels)
    write_json_atomic(path, description)
    print(f"Described {folder}: {len(labels)} classes, {description['num_frames']} frames x "
          f"{description['crop_px']} px, {fps:g} fps, {duration_s:.1f} s -> {path}")
    print_holdout(description["val_holdout"])
    return description


def upgrade_description(description: dict, folder: Path) -> dict:
    """A version-1 description in today's form (version 2); a version-2 one as it is.

    Version 1 kept no record of the takes it had split and sent every take recorded after it to training (and a run
    may have trained on them), so every train/ take of its labels on disk now counts as seen: they stay in training.
    Takes of label folders it did not list are new (grow_description splits them). Its <NNN> stays the class count
    its derived folders and checkpoints were named with.
    """
    if description.get("version", 1) >= 2:
        return description
    seen = {label: takes for label, takes in train_takes(folder).items() if label in description["labels"]}
    return {**description, "version": DESCRIPTION_VERSION, "number": description["num_classes"], "seen": seen}


def grow_description(folder: Path, description: dict) -> tuple[dict, str]:
    """The (version 2) description with the label folders and train/ takes added since it was written, and a line
    saying what changed ("" when nothing did).

    Labels: the new ones are appended in name order after the described ones, whose order (and so their class
    index, VideoClasses) never changes. Held-out takes (a set without val/): the earlier choices are kept as they
    are; the takes the description has not seen are split per label by holdout_split's rule among themselves
    (the newest ceil(30 %), at least 1 and leaving 1 to train, when a label has at least 2 new takes; a single new
    take trains), so a new label is split as it would be in a new set and new takes of a label get their own share.
    No take seen before moves: a model trained on it may be the start of the next one.

    Raises:
        ValueError: an added label without val/ has fewer than 2 takes (check_takes).
    """
    folder = Path(folder)
    new_labels = [label for label in label_folders(folder) if label not in description["labels"]]
    if new_labels:
        check_takes(folder, new_labels)
    with_val = (folder / "val").is_dir()
    seen = {label: list(takes) for label, takes in description["seen"].items()}
    holdout = {label: list(takes) for label, takes in description["val_holdout"].items()}
    added_signs = {label: f"{label}: no takes in train/" for label in new_labels}
    added_takes = []
    for label, takes in train_takes(folder).items():
        known = set(seen.get(label, ()))
        new = [take for take in takes if take not in known]
        if not new:
            continue
        held = [] if with_val else newest_share(new)
        if held:
            holdout[label] = holdout.get(label, []) + held
        seen[label] = seen.get(label, []) + new
        share = f"{len(held)} held out" if not with_val else "all train: val/ validates"
        if label in new_labels:
            added_signs[label] = f"{label}: {len(new)} take{'s' * (len(new) > 1)}, {share}"
        else:
            added_takes.append(f"{len(new)} new take{'s' * (len(new) > 1)} of {label} ({share})")
    labels = description["labels"] + new_labels
    grown = {**description, "num_classes": len(labels), "labels": labels, "val_holdout": holdout, "seen": seen}
    if not (added_signs or added_takes):
        return grown, ""
    parts = []
    if new_labels:
        parts.append(f"added {len(new_labels)} sign{'s' * (len(new_labels) > 1)} ("
                     + "; ".join(added_signs.values()) + ")")
    parts += added_takes
    kept = sum(len(takes) for takes in description["val_holdout"].values())
    if kept:
        parts.append(f"kept the {kept} earlier held-out take{'s' * (kept > 1)}")
    line = "; ".join(parts)
    return grown, line[0].upper() + line[1:]


def train_takes(folder: Path) -> dict[str, list[str]]:
    """{label: [train/<label>/<video name>, ...]} of the takes in folder/train/, in name order."""
    folder = Path(folder)
    takes: dict[str, list[str]] = {}
    for path, split, label in list_videos(folder, effective=False)[0]:
        if split == "train":
            takes.setdefault(label, []).append(path.relative_to(folder).as_posix())
    return takes


def newest_share(takes: list[str], fraction: float = VAL_FRACTION) -> list[str]:
    """The takes to hold out of these takes of one label: the last ceil(fraction * n) in name order (the newest,
    for numbered takes), at least 1, at least 1 left for training; none of a single take."""
    if len(takes) < 2:
        return []
    count = min(len(takes) - 1, max(1, int(np.ceil(fraction * len(takes)))))
    return sorted(takes)[-count:]


def check_takes(folder: Path, labels=None) -> None:
    """Refuses, before anything runs, a set without val/ where a class has fewer than 2 takes: one must train and
    one be held out for validation (holdout_split), else training stops later at an empty val/ split.

    Args:
        labels: the labels to check (default: every label folder; a grown set checks only the added ones).

    Raises:
        ValueError: the classes with too few takes named, and the fix.
    """
    folder = Path(folder)
    if (folder / "val").is_dir():
        return
    counts: dict[str, int] = {label: 0 for label in (label_folders(folder) if labels is None else labels)}
    for _, split, label in list_videos(folder, effective=False)[0]:
        if split == "train" and label in counts:
            counts[label] += 1
    few = {label: count for label, count in counts.items() if count < 2}
    if few:
        listed = ", ".join(f"{label} ({count})" for label, count in sorted(few.items()))
        raise ValueError(f"{folder}: each class needs at least 2 takes (one to train on, one held out to validate); "
                         f"too few: {listed}. Record more (`python livedemo.py --collect {' '.join(sorted(few))} "
                         f"--takes 2 --out {folder}`) or add a val/ folder with takes of every class")


# videoset.json: each key's type and the range it must lie in (read_description checks them).
DESCRIPTION_SCHEMA = {
    "num_classes": (int, 2, None), "num_frames": (int, 1, None), "min_dim_px": (int, 1, None),
    "crop_px": (int, 1, None), "fps": ((int, float), 0, None), "duration_s": ((int, float), 0, None),
    "labels": (list, None, None), "flow_method": (str, None, None), "val_holdout": (dict, None, None),
}
DESCRIPTION_SCHEMA_2 = {"number": (int, 0, None), "seen": (dict, None, None)}  # version 2 adds these


def class_file_of(folder: Path) -> Path:
    return Path(folder) / "class.csv"


def read_description(path: Path) -> dict:
    """Reads a videoset.json and checks it (DESCRIPTION_SCHEMA, and DESCRIPTION_SCHEMA_2 from version 2 on: every
    key's type and range, the labels and held-out and seen takes as lists of names); a damaged, foreign or
    hand-edited file is an error naming it, the key and the fix. A version-1 file is returned as it is
    (describe_set upgrades it: upgrade_description); one of a newer version than this toolkit's is refused.
    """
    import json  # only here: the one reader

    fix = "fix it or delete it to describe the set anew"
    try:
        description = json.loads(Path(path).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not a readable set description ({error}); delete it to describe the set anew")
    if not isinstance(description, dict):
        raise ValueError(f"{path} is not a readable set description (not a JSON object); delete it to describe the "
                         "set anew")
    version = description.get("version", 1)  # the first files of version 1 had no key
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= DESCRIPTION_VERSION:
        raise ValueError(f"{path}: version is {version!r}; this toolkit reads versions 1 to {DESCRIPTION_VERSION} "
                         "(a newer toolkit wrote it?): update the toolkit, or delete the file to describe the set anew")
    schema = DESCRIPTION_SCHEMA | (DESCRIPTION_SCHEMA_2 if version >= 2 else {})
    missing = [key for key in schema if key not in description]
    if missing:
        raise ValueError(f"{path} lacks {missing}; delete it to describe the set anew")
    for key, (kind, low, _) in schema.items():
        value = description[key]
        if not isinstance(value, kind) or isinstance(value, bool):
            name = kind.__name__ if isinstance(kind, type) else "number"
            raise ValueError(f"{path}: {key} is {value!r} ({type(value).__name__}), not a {name}; {fix}")
        if low is not None and not (value >= low if kind is int else value > low):
            raise ValueError(f"{path}: {key} is {value!r}, must be {'at least' if kind is int else 'above'} {low}; "
                             f"{fix}")
    labels = description["labels"]
    if not all(isinstance(label, str) and label for label in labels) or len(set(labels)) != len(labels):
        raise ValueError(f"{path}: labels must be a list of label folder names, each once; {fix}")
    for key in ("val_holdout", "seen") if version >= 2 else ("val_holdout",):
        if not all(isinstance(label, str) and isinstance(takes, list) and all(isinstance(t, str) for t in takes)
                   for label, takes in description[key].items()):
            raise ValueError(f"{path}: {key} must map each label to a list of train/<label>/<video> names"
                             f"{' ({} when val/ exists)' if key == 'val_holdout' else ''}; {fix}")
    if description["crop_px"] > description["min_dim_px"]:
        raise ValueError(f"{path}: crop_px {description['crop_px']} is larger than min_dim_px "
                         f"{description['min_dim_px']}; {fix}")
    return description


def _median_timing(folder: Path) -> tuple[float, float]:
    videos = [path for path, _, _ in list_videos(folder, effective=False)[0]]
    sample = videos[:: max(1, len(videos) // FPS_SAMPLE)][:FPS_SAMPLE]
    timings = []
    for video in sample:
        try:
            _, fps, duration_s = video_info(video)
        except (OSError, VideoError):
            continue
        if fps > 0 and duration_s > 0:
            timings.append((fps, duration_s))
    if not timings:
        return 25.0, 3.0  # no readable video: the demo's nominal timing
    fps, duration_s = np.median(np.array(timings), axis=0)
    return round(float(fps), 3), round(float(duration_s), 2)


def holdout_split(folder: Path, fraction: float = VAL_FRACTION) -> dict[str, list[str]]:
    """The held-out validation takes of a set without val/: {label: [train/<label>/<video name>, ...]}.

    Deterministic: per label the last ceil(fraction * n) takes in name order (the newest, for numbered
    takes), at least 1, and at least 1 left for training. A set with a val/ folder gets {} (val/ used as is).
    """
    folder = Path(folder)
    if (folder / "val").is_dir():
        return {}
    # a single take must train (newest_share gives none); print_holdout warns
    return {label: held for label, takes in sorted(train_takes(folder).items())
            if (held := newest_share(takes, fraction))}


def next_holdout(folder: Path) -> dict[str, list[str]]:
    """The held-out takes the next describe_set(folder) will record ({label: [train/<label>/<video name>, ...]}),
    worked out without writing anything: holdout_split for a folder not described yet, else its grown description's.

    Raises:
        ValueError: as describe_set (an unreadable description, an added label with too few takes).
    """
    path = Path(folder) / DESCRIPTION_FILE
    if not path.is_file():
        return holdout_split(folder)
    return grow_description(folder, upgrade_description(read_description(path), folder))[0]["val_holdout"]


def print_holdout(holdout: dict[str, list[str]]) -> None:
    """Prints the held-out validation takes as a table; warns for classes with fewer than 2 val clips."""
    if not holdout:
        return
    print("| label | held out for val (never trained on) |\n|---|---|")
    for label, takes in holdout.items():
        print(f"| {label} | {', '.join(Path(t).name for t in takes)} |")
    few = [label for label, takes in holdout.items() if len(takes) < 2]
    if few:
        print(f"Warning: fewer than 2 val clips for {', '.join(few)}: their val accuracy says little; "
              "record more takes (livedemo.py --collect)")


def _with_size(video_set: VideoSet, overrides: dict) -> VideoSet:
    # A smaller side given without a crop keeps the set's crop where it fits (the model's input size).
    if "min_dim_px" in overrides and "crop_px" not in overrides:
        overrides = {**overrides, "crop_px": min(video_set.crop_px, overrides["min_dim_px"])}
    return replace(video_set, **overrides)


def is_set_folder(folder: Path) -> bool:
    """True for a folder holding a set: a train/, val/ or test/ folder inside (the folder contract)."""
    return Path(folder).is_dir() and any((Path(folder) / split).is_dir() for split in SPLITS)


def _set_folder(spec: str, root: Path) -> Path | None:
    for candidate in (Path(spec), root / "data-set" / spec):
        if is_set_folder(candidate):
            return candidate
    return None


def add_set_arguments(parser: argparse.ArgumentParser, default: str = "demo") -> None:
    """--set (a built-in name or a folder) and the input-size options, the same on every command line."""
    parser.add_argument("--set", default=default, metavar="NAME_OR_FOLDER",
                        help=f"a built-in set ({', '.join(VIDEO_SETS)}) or a folder with <split>/<label>/<video> "
                             "inside, e.g. data-set/mine/005 (or mine/005)")
    parser.add_argument("--size", choices=sorted(SIZES), default=None,
                        help="input size preset: small = 16 frames x 128 px (trains on a laptop CPU), seed = 40 x 224 "
                             "(the seed's; wants a GPU); default: the set's own")
    parser.add_argument("--num-frames", type=int, default=None, help="frames per clip (overrides --size)")
    parser.add_argument("--min-dim", type=int, default=None, help="smaller side after resizing, px (overrides --size)")
    parser.add_argument("--crop", type=int, default=None, help="square crop the network sees, px (overrides --size)")


def set_from_args(args: argparse.Namespace, root: Path = Path(".")) -> VideoSet:
    """The VideoSet of parsed `add_set_arguments` options."""
    return resolve_set(args.set, root=root, size=args.size, num_frames=args.num_frames, min_dim_px=args.min_dim,
                       crop_px=args.crop)


def read_class_table(class_file: Path) -> pd.DataFrame:
    """Reads a class.csv (`,sClass,sLong,sCat,sDetail`; only sClass is required), indexed by sClass, in file order.

    Raises:
        FileNotFoundError: no such file.
        ValueError: empty or unparsable file, no sClass column, empty or duplicate labels (each names the file).
    """
    import pandas as pd  # ~1 s to import: only the class-table functions need it (quick --help of the data scripts)

    class_file = Path(class_file)
    if not class_file.is_file():
        raise FileNotFoundError(f"Class file {class_file} not found")
    try:
        table = pd.read_csv(class_file, dtype=str, keep_default_na=False)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise ValueError(f"{class_file} is not a readable class.csv ({error}); expected columns "
                         f",{','.join(CLASS_COLUMNS)}") from None
    if "sClass" not in table.columns:
        raise ValueError(f"{class_file} has no sClass column; expected columns ,{','.join(CLASS_COLUMNS)}")
    table = table.drop(columns=[c for c in table.columns if c.startswith("Unnamed")])
    for column in CLASS_COLUMNS[1:]:
        if column not in table.columns:
            table[column] = table["sClass"]
    if (table["sClass"].str.strip() == "").any():
        raise ValueError(f"{class_file} has a row with an empty sClass; every row needs a label")
    duplicates = sorted(set(table["sClass"][table["sClass"].duplicated()]))
    if duplicates:
        raise ValueError(f"{class_file} lists these labels more than once: {duplicates}; keep one row each")
    if table.empty:
        raise ValueError(f"{class_file} lists no classes")
    return table[list(CLASS_COLUMNS)].set_index("sClass", drop=False)


def write_class_table(class_file: Path, rows) -> Path:
    """Writes class.csv atomically from rows of (sClass, sLong, sCat, sDetail); returns its path."""
    import pandas as pd  # see read_class_table

    class_file = Path(class_file)
    table = pd.DataFrame([list(row) for row in rows], columns=list(CLASS_COLUMNS))
    with atomic_write(class_file) as tmp:
        table.to_csv(tmp)
    return class_file


def append_class_rows(folder: Path, labels) -> list[str]:
    """Appends to folder/class.csv a row (sLong = the label) for each of `labels` it does not list (writes it when
    missing); the rows already there stay as they are, in their order. Returns the labels added."""
    class_file = class_file_of(folder)
    rows = read_class_table(class_file).values.tolist() if class_file.is_file() else []
    listed = {row[0] for row in rows}
    added = [label for label in dict.fromkeys(labels) if label not in listed]
    if added:
        write_class_table(class_file, rows + [(label, label, "", "") for label in added])
    return added


class VideoClasses:
    """The labels of a dataset, read from its class.csv, and their indices (the network's output order).

    Indices follow the labels of the set's description when one lies beside class.csv (videoset.json: sorted
    when first described, labels added later appended, so that a grown set keeps every earlier index), else the
    sorted sClass values; labels class.csv lists beyond the description's follow, sorted.

    Args:
        class_file: csv with columns sClass,sLong,sCat,sDetail (first column an unnamed index).

    Raises:
        FileNotFoundError, ValueError: missing file or columns, duplicate labels.
    """

    def __init__(self, class_file):
        self.class_file = Path(class_file)
        if not self.class_file.is_file():
            raise FileNotFoundError(
                f"Class file {self.class_file} not found; create it with prepare_demo.py or prepare_chalearn.py"
            )
        table = read_class_table(self.class_file)
        described = self.class_file.parent / DESCRIPTION_FILE
        order = [label for label in (read_description(described)["labels"] if described.is_file() else [])
                 if label in table.index]
        self.table = table.loc[order + sorted(set(table.index) - set(order))]
        self.classes = list(self.table["sClass"])
        self._index = {label: i for i, label in enumerate(self.classes)}

    def __len__(self):
        return len(self.classes)

    def index(self, label: str) -> int:
        """Index of a folder label; a label missing from class.csv is an error naming both."""
        try:
            return self._index[label]
        except KeyError:
            raise ValueError(
                f"Label folder {label!r} is not listed in {self.class_file}; add it there or remove the folder"
            ) from None

    def description(self, label_or_index) -> str:
        """Readable name of a class, e.g. 'ItalianGestures/Bellissima' (sLong)."""
        label = self.classes[label_or_index] if isinstance(label_or_index, (int, np.integer)) else label_or_index
        return str(self.table.loc[label, "sLong"]) or label


def list_videos(video_dir: Path, effective: bool = True) -> tuple[list[tuple[Path, str, str]], list[Path]]:
    """The one listing of a set's videos: ([(video, split, label), ...] sorted by path, [ignored files]).

    Videos are video_dir/<split>/<label>/<name><ext> with ext in VIDEO_EXTENSIONS (any case); hidden names
    are skipped; other files in label folders are returned as ignored (report them once). `split` is the
    effective split: the folder the video lies in, except for takes that video_dir/videoset.json holds out
    of train/ for validation ("val"). effective=False gives the folders as they are.
    """
    video_dir = Path(video_dir)
    holdout = set()
    description = video_dir / DESCRIPTION_FILE
    if effective and description.is_file():
        holdout = {take for takes in read_description(description)["val_holdout"].values() for take in takes}
    videos, ignored = [], []
    for path in sorted(video_dir.glob("*/*/*")):
        if any(part.startswith(".") for part in path.relative_to(video_dir).parts) or not path.is_file():
            continue
        if path.suffix.lower() in VIDEO_EXTENSIONS:
            split = path.parent.parent.name
            if split == "train" and path.relative_to(video_dir).as_posix() in holdout:
                split = "val"
            videos.append((path, split, path.parent.name))
        else:
            ignored.append(path)
    return videos, ignored


def split_clips(video_dir: Path, split: str) -> set[str] | None:
    """The clips a split of the set holds, as "<label>/<video stem>" (the names of their frame and flow folders).

    The generators take only these folders, so that outputs of videos that were moved or deleted since the
    frames were extracted never reach training or evaluation. None when video_dir holds no videos at all
    (derived folders whose videos live elsewhere: nothing to check against).
    """
    video_dir = Path(video_dir)
    videos = list_videos(video_dir)[0] if video_dir.is_dir() else []
    if not videos:
        return None
    return {f"{label}/{path.stem}" for path, effective_split, label in videos if effective_split == split}
