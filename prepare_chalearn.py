"""Sorts the ChaLearn IsoGD videos into the folder contract, and subsets their most frequent classes.

    python prepare_chalearn.py --archive-dir ~/Downloads/IsoGD --lists ~/Downloads/IsoGD --class-file class.csv --classes 20

Sorts the ChaLearn IsoGD gesture videos (249 gestures, 21 signers, RGB-D) into the folder contract:

    data-set/chalearn/249/{train,val,test}/c026/M_00001.avi     every labelled RGB video
    data-set/chalearn/249/class.csv                               ,sClass,sLong,sCat,sDetail
    data-set/chalearn/020/{train,val,test}/cNNN/...               --classes 20: hard links into 249/

Input is either the official zip archives (--archive, repeatable, or --archive-dir) or an already
extracted folder (--extracted). The list files train.txt, val.txt (or valid.txt) and test.txt name the
videos: `train/001/M_00001.avi train/001/K_00001.avi 26`. Only the RGB videos (M_*) are kept; depth
(K_*) stays out. The archives' `valid` split becomes our `val`.

Re-runnable: a video already at its target with the same content (the CRC-32 the zip stores for it; for
--extracted, the same file or the same bytes) is skipped. Anything else at a target is a conflict, reported
(count, first paths, all of them in data-set/chalearn/249/conflicts.txt) and left alone; --overwrite replaces
a different file, never a folder. A zip member that cannot be read (bad CRC, damaged data) is reported with
its archive and listed in data-set/chalearn/249/failed.txt; the rest is sorted. Videos named in a list but
absent from the input are counted and listed in data-set/chalearn/249/missing.txt.

Exit status: 0 every listed video found in the input is in place; 1 some videos failed or conflict (counted on
the last line, listed in failed.txt / conflicts.txt; the others are in place); 2 user error (a bad argument,
list or class file, or no sorted 249/ set for a subset: one line says the fix).
"""
from __future__ import annotations  # "pd.DataFrame" in signatures without importing pandas (quick --help)

import argparse
import filecmp
import os
import shutil
import sys
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING


from signlang.folderstep import EXIT_FAILED, EXIT_OK, EXIT_USER_ERROR, progress
from signlang.safeio import atomic_write, clean_leftovers, write_text_atomic
from signlang.videoset import CLASS_COLUMNS, SPLITS, read_class_table, write_class_table

if TYPE_CHECKING:
    import pandas as pd

NUM_CLASSES = 249  # IsoGD labels run 1..249 (description.txt shipped with the dataset)
# List file names tried for each of our splits, first match wins: ours, then the dataset's own names.
LIST_NAMES = {
    "train": ("train.txt", "train_list.txt"),
    "val": ("val.txt", "valid.txt", "valid_list.txt", "val_list.txt"),
    "test": ("test.txt", "test_list.txt"),
}
GET_ISOGD = "Get ChaLearn IsoGD from the ChaLearn LAP IsoGD page (see README, section 'ChaLearn IsoGD')"
NUM_SHOWN = 3  # failures / conflicts named on screen; all of them go to failed.txt / conflicts.txt


class UnreadableVideo(Exception):
    """A video of the input that cannot be read (a zip member with a bad CRC, an unreadable file): reported, not fatal."""


def label_folder(label: int) -> str:
    """The class folder of an IsoGD label: 26 -> "c026"."""
    return f"c{label:03d}"


def _is_label_folder(name: str) -> bool:
    return len(name) == 4 and name[0] == "c" and name[1:].isdigit()


def read_list(list_file) -> list[tuple[str, str, int | None]]:
    """Reads an IsoGD list file.

    Args:
        list_file: lines `train/001/M_00001.avi train/001/K_00001.avi 26`; the label may be absent.

    Returns:
        (rgb path, depth path, label 1..249 or None where the line has only two fields), in file order.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: a line is not two or three fields, or its label is not an integer in 1..249.
    """
    list_file = Path(list_file)
    if not list_file.is_file():
        raise FileNotFoundError(
            f"List file {list_file} not found; pass the folder holding it with --lists. {GET_ISOGD}"
        )
    rows = []
    for line_no, line in enumerate(list_file.read_text().splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) not in (2, 3):
            raise ValueError(
                f"{list_file}:{line_no}: expected 'rgb.avi depth.avi [label]', got {line.strip()!r}; "
                "is this an IsoGD list file?"
            )
        label = None
        if len(fields) == 3:
            try:
                label = int(fields[2])
            except ValueError:
                label = -1
            if not 1 <= label <= NUM_CLASSES:
                raise ValueError(f"{list_file}:{line_no}: label {fields[2]!r} is not an integer in 1..{NUM_CLASSES}")
        rows.append((fields[0].replace("\\", "/"), fields[1].replace("\\", "/"), label))
    return rows


def find_list_file(lists_dir: Path, split: str) -> Path:
    """The list file of `split` in lists_dir (train.txt, val.txt or valid.txt, test.txt, or *_list.txt)."""
    for name in LIST_NAMES[split]:
        if (lists_dir / name).is_file():
            return lists_dir / name
    raise FileNotFoundError(
        f"No list file for split {split!r} in {lists_dir} (looked for {', '.join(LIST_NAMES[split])}); "
        f"pass the folder holding IsoGD's list files with --lists, or leave the split out with --splits. "
        "The lists come with IsoGD and with the seed repository FrederikSchorr/sign-language"
    )


def _key(path: str) -> str:
    """Lookup key of a video: its last three path parts, `train/001/M_00001.avi` (archives add a top folder)."""
    return "/".join(path.replace("\\", "/").strip("/").split("/")[-3:])


def check_archive(archive) -> Path:
    """Returns archive as a Path; raises when it is missing or not a zip file."""
    archive = Path(archive)
    if not archive.is_file():
        raise FileNotFoundError(
            f"Archive {archive} not found; pass the downloaded IsoGD zip files with --archive or their "
            f"folder with --archive-dir. {GET_ISOGD}"
        )
    if not zipfile.is_zipfile(archive):
        raise ValueError(
            f"{archive} is not a zip archive (an incomplete download, or a multi-part archive that must be "
            "joined first?); pass the IsoGD .zip files, or unpack them yourself and use --extracted DIR"
        )
    return archive


def _crc32(path: Path) -> int:
    """CRC-32 of a file's bytes, as zip archives store it for each member."""
    crc = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            crc = zlib.crc32(chunk, crc)
    return crc


def _same_content(src: Path, target: Path) -> bool:
    """True when target is src (a hard link) or holds the same bytes."""
    return os.path.samefile(src, target) or filecmp.cmp(src, target, shallow=False)


class ZipSource:
    """The videos inside one or more zip archives, found by the tail of their member names."""

    def __init__(self, archives: Sequence[Path]):
        self.zips = []
        self.members = {}  # key -> (ZipFile, ZipInfo)
        for archive in map(check_archive, archives):
            zf = zipfile.ZipFile(archive)
            self.zips.append(zf)
            for info in zf.infolist():
                if not info.is_dir():
                    self.members.setdefault(_key(info.filename), (zf, info))

    def size(self, path: str) -> int | None:
        """Size in bytes of the video at list path `path`, None when absent."""
        found = self.members.get(_key(path))
        return None if found is None else found[1].file_size

    def matches(self, path: str, target: Path) -> bool:
        """True when the file at target holds the member's bytes (same size and the CRC-32 the archive stores)."""
        _, info = self.members[_key(path)]
        return target.stat().st_size == info.file_size and _crc32(target) == info.CRC

    def write(self, path: str, tmp: Path) -> None:
        """Extracts the member for list path `path` to the file `tmp`.

        Raises:
            UnreadableVideo: the member's data is damaged (bad CRC, broken deflate stream, truncated).
        """
        zf, info = self.members[_key(path)]
        try:
            with zf.open(info) as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst, length=1 << 20)
        except (zipfile.BadZipFile, zlib.error, EOFError) as error:
            raise UnreadableVideo(
                f"member {info.filename} of archive {zf.filename} is damaged ({error}); re-download that archive"
            ) from None

    def close(self) -> None:
        for zf in self.zips:
            zf.close()


class FolderSource:
    """The videos in an already extracted IsoGD folder (any depth above `train/001/M_00001.avi`)."""

    def __init__(self, extracted: Path):
        extracted = Path(extracted)
        if not extracted.is_dir():
            raise FileNotFoundError(
                f"Extracted folder {extracted} not found; unpack the IsoGD archives there, or pass the zip files "
                f"with --archive / --archive-dir. {GET_ISOGD}"
            )
        self.files = {}  # key -> Path
        for folder, _, names in os.walk(extracted):
            for name in names:
                path = Path(folder) / name
                self.files.setdefault(_key(path.as_posix()), path)

    def size(self, path: str) -> int | None:
        found = self.files.get(_key(path))
        return None if found is None else found.stat().st_size

    def matches(self, path: str, target: Path) -> bool:
        return _same_content(self.files[_key(path)], target)

    def write(self, path: str, tmp: Path) -> None:
        _link_or_copy(self.files[_key(path)], tmp)

    def close(self) -> None:
        pass


def _link_or_copy(src: Path, dst: Path) -> None:
    """Hard-links src to dst, or copies it where linking fails (another filesystem); src stays put.

    Raises:
        UnreadableVideo: src cannot be opened for reading (permissions).
    """
    try:
        os.link(src, dst)
        return
    except OSError:
        pass
    try:
        reader = open(src, "rb")
    except OSError as error:
        raise UnreadableVideo(f"{src} cannot be read ({error.strerror}); check its permissions") from None
    with reader, open(dst, "wb") as writer:
        shutil.copyfileobj(reader, writer, length=1 << 20)


def _place(target: Path, write: Callable[[Path], None], matches: Callable[[Path], bool], overwrite: bool) -> str:
    """Puts one video at target through safeio.atomic_write; returns "sorted", "skipped" or "conflicts".

    A target with the same content (`matches`) is skipped; a different file there is a conflict unless
    overwrite replaces it; a folder (or anything but a file) there is always a conflict: it is never deleted.
    """
    if target.parent.exists() and not target.parent.is_dir():
        return "conflicts"  # a file where the label folder belongs
    if os.path.lexists(target):
        if not target.is_file():
            return "conflicts"
        try:
            same = matches(target)
        except OSError:  # an unreadable file there: not the same video
            same = False
        if same:
            return "skipped"
        if not overwrite:
            return "conflicts"
    with atomic_write(target) as tmp:
        write(tmp)
    return "sorted"


def _place_counted(split: str, name, target: Path, write, matches, overwrite: bool, counts: dict,
                   conflicts: list, failed: list) -> None:
    """_place, with the outcome counted in counts[split] and a conflict or failure listed (named by `name`)."""
    try:
        result = _place(target, write, matches, overwrite)
    except UnreadableVideo as error:
        counts[split]["failed"] += 1
        failed.append(f"{split} {name}: {error}")
        return
    counts[split][result] += 1
    if result == "conflicts":
        conflicts.append(f"{split} {name} -> {target}: {_what_is_at(target)}")


def _what_is_at(target: Path) -> str:
    if target.parent.exists() and not target.parent.is_dir():
        return f"a file is at its folder {target.parent.name} (move it away)"
    if target.is_dir():
        return "a folder is there (move it away; --overwrite never deletes a folder)"
    return "a different file is there (--overwrite replaces it)"


def _report(lines: list[str], what: str, listed_in: Path) -> None:
    """Prints the number of `what`, the first few lines and where all of them are listed."""
    if lines:
        shown = "; ".join(lines[:NUM_SHOWN]) + ("; ..." if len(lines) > NUM_SHOWN else "")
        print(f"{len(lines)} {what}, listed in {listed_in.resolve()}: {shown}")


def read_class_file(class_file) -> pd.DataFrame:
    """Reads an IsoGD class.csv (`,sClass,sLong,sCat,sDetail`) with videoset.read_class_table, indexed by sClass.

    Raises:
        FileNotFoundError: no such file.
        ValueError: empty or unparsable file, no sClass column, a duplicate or empty sClass, or an sClass
            that is not an IsoGD label c001..c249 (each message names the file).
    """
    class_file = Path(class_file)
    if not class_file.is_file():
        raise FileNotFoundError(
            f"Class file {class_file} not found; pass a csv with columns ,sClass,sLong,sCat,sDetail "
            "(the seed repository's data-set/chalearn/249/class.csv) or leave the option out"
        )
    table = read_class_table(class_file)
    bad = [name for name in table.index if not (_is_label_folder(name) and 1 <= int(name[1:]) <= NUM_CLASSES)]
    if bad:
        raise ValueError(
            f"{class_file}: sClass values {bad[:3]} are not IsoGD labels c001..c{NUM_CLASSES}; "
            "compare with data-set/chalearn/249/class.csv"
        )
    return table


def write_class_csv(class_file, labels: Sequence[int], descriptions: pd.DataFrame | None = None) -> Path:
    """Writes class.csv for `labels` in label order (videoset.write_class_table): index, sClass, sLong, sCat, sDetail.

    Args:
        class_file: where to write (its folder is created).
        labels: IsoGD label ids 1..249.
        descriptions: a read_class_file() table; labels it lacks (or all, when None) get their id
            ("c026") as sLong, sCat and sDetail.

    Returns:
        The path written.
    """
    rows = []
    for label in sorted(set(labels)):
        name = label_folder(label)
        if descriptions is not None and name in descriptions.index:
            rows.append(tuple(descriptions.loc[name, list(CLASS_COLUMNS)]))
        else:
            rows.append((name, name, name, name))
    return write_class_table(class_file, rows)


def sort_chalearn(
    out_dir,
    lists_dir,
    archives: Sequence = (),
    extracted=None,
    splits: Sequence[str] = SPLITS,
    class_file=None,
    overwrite: bool = False,
) -> dict[str, dict[str, int]]:
    """Sorts the labelled IsoGD RGB videos into out_dir/249/<split>/cNNN/ and writes out_dir/249/class.csv.

    Args:
        out_dir: data-set/chalearn.
        lists_dir: folder with train.txt, val.txt (or valid.txt), test.txt.
        archives: IsoGD zip files; give these or `extracted`.
        extracted: folder with the unpacked archives.
        splits: which of train, val, test to sort.
        class_file: a class.csv with descriptions; without it an existing out_dir/249/class.csv keeps
            its descriptions, else label ids are used.
        overwrite: replace a different file already at a target (otherwise reported as a conflict).

    Returns:
        Per sorted split, counts of sorted / skipped / missing / conflicts / failed (unreadable in the
        input; listed in out_dir/249/failed.txt). A split whose list has lines without labels is left out
        (and reported).

    Raises:
        FileNotFoundError: an archive, the extracted folder or a list file is missing.
        ValueError: an archive is not a zip; a list or class file is malformed; bad arguments.
        OSError: the output cannot be written (disk full: the message says so).
    """
    out_dir, lists_dir = Path(out_dir), Path(lists_dir)
    if bool(archives) == (extracted is not None):
        raise ValueError(
            "sort_chalearn: give either archives (the IsoGD zip files) or extracted (their unpacked folder)"
        )
    unknown = [s for s in splits if s not in SPLITS]
    if unknown:
        raise ValueError(f"Unknown split(s) {unknown}; choose from {SPLITS}")
    # Validate everything before the long step.
    video_dir = out_dir / f"{NUM_CLASSES:03d}"
    if class_file is not None:
        descriptions = read_class_file(class_file)
    elif (video_dir / "class.csv").is_file():
        descriptions = read_class_file(video_dir / "class.csv")
    else:
        descriptions = None
    for archive in archives:
        check_archive(archive)
    if extracted is not None and not Path(extracted).is_dir():
        FolderSource(extracted)  # raises with the fix
    lists = {split: find_list_file(lists_dir, split) for split in splits}
    rows = {split: read_list(path) for split, path in lists.items()}
    clean_leftovers(video_dir)  # temporary files of a killed run (safeio's .tmp-<pid>-* of dead pids only)
    source = ZipSource(archives) if archives else FolderSource(extracted)

    labelled = {}
    for split, split_rows in rows.items():
        num_unlabelled = sum(label is None for _, _, label in split_rows)
        if num_unlabelled:
            print(
                f"{split}: no labels in {lists[split]} ({num_unlabelled} of {len(split_rows)} lines have only two "
                f"fields); skipping split {split}. Use a list file with labels to sort it."
            )
        else:
            labelled[split] = split_rows

    counts = {split: Counter(sorted=0, skipped=0, missing=0, conflicts=0, failed=0) for split in labelled}
    missing, conflicts, failed = [], [], []
    try:
        with progress(total=sum(map(len, labelled.values())), desc="sort IsoGD", unit="video") as bar:
            for split, split_rows in labelled.items():
                for rgb, _, label in split_rows:  # depth (K_*) stays out
                    bar.update()
                    if source.size(rgb) is None:
                        counts[split]["missing"] += 1
                        missing.append(f"{split} {rgb}")
                        continue
                    target = video_dir / split / label_folder(label) / Path(rgb).name
                    _place_counted(split, rgb, target, lambda tmp, rgb=rgb: source.write(rgb, tmp),
                                   lambda target, rgb=rgb: source.matches(rgb, target), overwrite,
                                   counts, conflicts, failed)
    finally:
        source.close()

    write_class_csv(video_dir / "class.csv", range(1, NUM_CLASSES + 1), descriptions)
    missing_file, conflict_file, failed_file = (video_dir / name for name in ("missing.txt", "conflicts.txt", "failed.txt"))
    for path, lines in ((missing_file, missing), (conflict_file, conflicts), (failed_file, failed)):
        write_text_atomic(path, "".join(f"{line}\n" for line in lines))
    for split, c in counts.items():
        print(
            f"{split}: {c['sorted']} sorted / {c['skipped']} skipped / {c['missing']} missing / "
            f"{c['conflicts']} conflicts / {c['failed']} failed -> {(video_dir / split).resolve()}"
        )
    if missing:
        print(f"{len(missing)} listed videos not in the input, listed in {missing_file.resolve()}")
    _report(conflicts, "targets hold something else (kept)", conflict_file)
    _report(failed, "videos could not be read from the input", failed_file)
    return {split: dict(c) for split, c in counts.items()}


def select_classes(train_dir, num_classes: int) -> list[int]:
    """The num_classes labels with most training videos under train_dir/cNNN/*.avi.

    Ties are broken by the smaller label id, so the choice is deterministic. Returns labels in label order.

    Raises:
        FileNotFoundError: train_dir does not exist.
        ValueError: fewer than num_classes classes have training videos.
    """
    train_dir = Path(train_dir)
    if not train_dir.is_dir():
        raise FileNotFoundError(f"No training videos at {train_dir}; sort IsoGD first (--archive-dir or --extracted)")
    num_videos = {}
    for folder in train_dir.iterdir():
        if folder.is_dir() and _is_label_folder(folder.name):
            count = sum(1 for _ in folder.glob("*.avi"))
            if count:
                num_videos[int(folder.name[1:])] = count
    if not 2 <= num_classes <= len(num_videos):
        raise ValueError(
            f"--classes {num_classes}: {train_dir} holds training videos of {len(num_videos)} classes; "
            f"choose 2..{len(num_videos)}"
        )
    ranked = sorted(num_videos, key=lambda label: (-num_videos[label], label))
    return sorted(ranked[:num_classes])


def check_full_set(out_dir) -> Path:
    """Returns out_dir/249 when it holds sorted videos (<split>/cNNN/*.avi); raises FileNotFoundError naming the step."""
    full_dir = Path(out_dir) / f"{NUM_CLASSES:03d}"
    if not any(next((full_dir / split).glob("c*/*.avi"), None) for split in SPLITS):
        raise FileNotFoundError(
            f"No sorted IsoGD set at {full_dir} (no <split>/cNNN/*.avi); sort it first: python prepare_chalearn.py "
            f"--archive-dir DIR --lists DIR --out {out_dir} (or --extracted DIR), then build the subset"
        )
    return full_dir


def make_subset(
    out_dir, labels: Sequence[int], descriptions: pd.DataFrame | None = None, overwrite: bool = False
) -> dict[str, dict[str, int]]:
    """Hard-links (or copies) the videos of `labels` from out_dir/249/ into out_dir/<NNN>/ with its own class.csv.

    Args:
        out_dir: data-set/chalearn.
        labels: IsoGD label ids; NNN is their number ("020").
        descriptions: class descriptions (read_class_file); None uses out_dir/249/class.csv.
        overwrite: replace a different file already at a target.

    Returns:
        Per split, counts of sorted (linked) / skipped / conflicts / failed; conflicts and failures are
        listed in out_dir/<NNN>/conflicts.txt and failed.txt.

    Raises:
        FileNotFoundError: out_dir/249/ holds no sorted videos (run the sort first).
        ValueError: a label outside 1..249, or all 249 labels.
    """
    out_dir = Path(out_dir)
    full_dir = out_dir / f"{NUM_CLASSES:03d}"
    subset_dir = out_dir / f"{len(set(labels)):03d}"
    bad = [label for label in labels if not 1 <= label <= NUM_CLASSES]
    if bad:
        raise ValueError(f"Labels {bad[:5]} are outside IsoGD's 1..{NUM_CLASSES} (sClass c001..c249)")
    if subset_dir == full_dir:
        raise ValueError(f"A subset of all {NUM_CLASSES} classes is {full_dir} itself; choose fewer classes")
    check_full_set(out_dir)
    if descriptions is None and (full_dir / "class.csv").is_file():
        descriptions = read_class_file(full_dir / "class.csv")
    clean_leftovers(subset_dir)
    jobs = [
        (split, video)
        for split in SPLITS
        for label in sorted(set(labels))
        for video in sorted((full_dir / split / label_folder(label)).glob("*.avi"))
    ]
    empty = sorted({label_folder(label) for label in labels} - {video.parent.name for _, video in jobs})
    if empty:
        print(f"{len(empty)} of the chosen classes have no sorted videos in {full_dir}: {', '.join(empty[:10])}")
    counts = {split: Counter(sorted=0, skipped=0, conflicts=0, failed=0) for split in SPLITS}
    conflicts, failed = [], []
    for split, video in progress(jobs, desc=f"subset {subset_dir.name}", unit="video"):
        target = subset_dir / split / video.parent.name / video.name
        _place_counted(split, video, target, lambda tmp, video=video: _link_or_copy(video, tmp),
                       lambda target, video=video: _same_content(video, target), overwrite, counts, conflicts, failed)
    write_class_csv(subset_dir / "class.csv", labels, descriptions)
    conflict_file, failed_file = subset_dir / "conflicts.txt", subset_dir / "failed.txt"
    for path, lines in ((conflict_file, conflicts), (failed_file, failed)):
        write_text_atomic(path, "".join(f"{line}\n" for line in lines))
    for split, c in counts.items():
        print(
            f"{split}: {c['sorted']} linked / {c['skipped']} skipped / {c['conflicts']} conflicts / "
            f"{c['failed']} failed -> {(subset_dir / split).resolve()}"
        )
    _report(conflicts, "targets hold something else (kept)", conflict_file)
    _report(failed, "videos could not be read", failed_file)
    return {split: dict(c) for split, c in counts.items()}


def _num_incomplete(counts: dict[str, dict[str, int]]) -> int:
    """Videos that failed or whose target holds something else, over all splits."""
    return sum(c.get("failed", 0) + c.get("conflicts", 0) for c in counts.values())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--archive", type=Path, action="append", default=[], help="an IsoGD zip file (repeatable)")
    source.add_argument("--archive-dir", type=Path, help="folder whose *.zip files are the IsoGD archives")
    source.add_argument("--extracted", type=Path, help="folder holding the already unpacked archives")
    parser.add_argument(
        "--lists", type=Path, help="folder with train.txt, val.txt, test.txt (default: beside the archives)"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("data-set/chalearn"), help="output root (default: data-set/chalearn)"
    )
    parser.add_argument(
        "--splits", nargs="+", choices=SPLITS, default=list(SPLITS), help="splits to sort (default: all)"
    )
    parser.add_argument("--class-file", type=Path, help="class.csv (,sClass,sLong,sCat,sDetail) with the gesture names")
    subset = parser.add_mutually_exclusive_group()
    subset.add_argument(
        "--classes", type=int, help="also build <out>/<NNN>/ from the N classes with most training videos"
    )
    subset.add_argument(
        "--subset-class-file", type=Path, help="also build <out>/<NNN>/ from the classes listed in this class.csv"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace a different existing file at a target")
    args = parser.parse_args(argv)
    sorting = bool(args.archive) or args.archive_dir is not None or args.extracted is not None
    if not sorting and args.classes is None and args.subset_class_file is None:
        parser.error(
            "give the IsoGD input (--archive, --archive-dir or --extracted), or --classes / --subset-class-file"
        )
    if args.classes is not None and not 2 <= args.classes < NUM_CLASSES:
        parser.error(f"--classes {args.classes}: choose 2..{NUM_CLASSES - 1} (all {NUM_CLASSES} are <out>/249 itself)")

    try:
        # Everything a user can get wrong is checked before the first video is sorted.
        descriptions = read_class_file(args.class_file) if args.class_file is not None else None
        subset_table = read_class_file(args.subset_class_file) if args.subset_class_file is not None else None
        if not sorting:
            check_full_set(args.out)
        archives = list(args.archive)
        if args.archive_dir is not None:
            if not args.archive_dir.is_dir():
                raise FileNotFoundError(f"Archive folder {args.archive_dir} not found. {GET_ISOGD}")
            archives = sorted(args.archive_dir.glob("*.zip"))
            if not archives:
                raise FileNotFoundError(f"No *.zip files in {args.archive_dir}. {GET_ISOGD}")
        num_incomplete = 0
        if sorting:
            lists_dir = args.lists or (args.extracted if args.extracted is not None else Path(archives[0]).parent)
            counts = sort_chalearn(
                args.out, lists_dir, archives, args.extracted, args.splits, args.class_file, args.overwrite
            )
            num_incomplete += _num_incomplete(counts)
        if args.classes is not None:
            labels = select_classes(args.out / f"{NUM_CLASSES:03d}" / "train", args.classes)
            num_incomplete += _num_incomplete(make_subset(args.out, labels, descriptions, overwrite=args.overwrite))
        elif subset_table is not None:
            labels = [int(name[1:]) for name in subset_table.index]
            num_incomplete += _num_incomplete(make_subset(args.out, labels, subset_table, overwrite=args.overwrite))
    except (FileNotFoundError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    if num_incomplete:
        print(f"{num_incomplete} videos failed or conflict (see the lines above); exit status {EXIT_FAILED}")
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
