"""prepare_chalearn.py on the real IsoGD list files with tiny zip archives of a few hundred of their rows."""

import zipfile
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

import prepare_chalearn as pc
from signlang import safeio

NUM_TRAIN, NUM_VAL, NUM_TEST = 300, 50, 50
LEFT_OUT = 5  # index of a train row whose RGB video is missing from the archive

@pytest.fixture(autouse=True)
def no_fsync(monkeypatch):
    """No fsync before each rename (safeio's concern, not sorting's): ~3 ms a file, half these tests' time."""
    monkeypatch.setattr(safeio, "_fsync_file", lambda path: None)


def fake_video(path: str) -> bytes:
    """Tiny stand-in bytes for an .avi (sorting never decodes them)."""
    return f"RIFF fake avi {path}".encode()

@pytest.fixture(scope="module")
def isogd(shared_data, tmp_path_factory):
    """Two zip archives (train+valid under a top folder, test bare) for the first rows of the real lists."""
    lists = shared_data / "chalearn"
    rows = {
        "train": pc.read_list(lists / "train.txt")[:NUM_TRAIN],
        "val": pc.read_list(lists / "val.txt")[:NUM_VAL],
        "test": pc.read_list(lists / "test.txt")[:NUM_TEST],
    }
    archive_dir = tmp_path_factory.mktemp("archives")
    with zipfile.ZipFile(archive_dir / "IsoGD_phase_1.zip", "w") as zf:
        for split in ("train", "val"):
            for i, (rgb, depth, _) in enumerate(rows[split]):
                if not (split == "train" and i == LEFT_OUT):
                    zf.writestr(f"IsoGD_phase_1/{rgb}", fake_video(rgb))
                zf.writestr(f"IsoGD_phase_1/{depth}", fake_video(depth))
    with zipfile.ZipFile(archive_dir / "test.zip", "w") as zf:
        for rgb, depth, _ in rows["test"]:
            zf.writestr(rgb, fake_video(rgb))
            zf.writestr(depth, fake_video(depth))
    return {"lists": lists, "archives": sorted(archive_dir.glob("*.zip")), "archive_dir": archive_dir, "rows": rows}

def sort(isogd, out, **kwargs):
    return pc.sort_chalearn(out, isogd["lists"], isogd["archives"], **kwargs)

def test_read_list_parses_real_train_list(shared_data):
    rows = pc.read_list(shared_data / "chalearn" / "train.txt")
    assert len(rows) == 35878
    assert rows[0] == ("train/001/M_00001.avi", "train/001/K_00001.avi", 26)
    assert pc.read_list(shared_data / "chalearn" / "val.txt")[0][0].startswith("valid/")

def test_sorts_rgb_only_into_label_folders_and_renames_valid_to_val(isogd, tmp_path):
    counts = sort(isogd, tmp_path)
    root = tmp_path / "249"
    assert (root / "train" / "c026" / "M_00001.avi").read_bytes() == fake_video("train/001/M_00001.avi")
    rgb, _, label = isogd["rows"]["val"][0]
    assert (root / "val" / pc.label_folder(label) / Path(rgb).name).read_bytes() == fake_video(rgb)
    assert not (root / "valid").exists()
    assert not list(root.rglob("K_*")), "depth videos must stay out"
    assert not list(root.rglob(".tmp-*")), "no temporary files left behind"
    assert counts["train"]["sorted"] == NUM_TRAIN - 1
    assert counts["val"]["sorted"] == NUM_VAL and counts["test"]["sorted"] == NUM_TEST
    assert len(list(root.glob("*/c*/M_*.avi"))) == NUM_TRAIN - 1 + NUM_VAL + NUM_TEST

def test_class_csv_from_real_class_file(isogd, tmp_path, shared_data):
    sort(isogd, tmp_path, splits=("test",), class_file=shared_data / "chalearn" / "class.csv")
    class_file = tmp_path / "249" / "class.csv"
    assert class_file.read_text().splitlines()[0] == ",sClass,sLong,sCat,sDetail"
    table = pd.read_csv(class_file, index_col=0)
    assert len(table) == 249 and list(table.index) == list(range(249))
    row = table.set_index("sClass").loc["c021"]
    assert (row.sLong, row.sCat, row.sDetail) == ("ItalianGestures/Bellissima", "ItalianGestures", "Bellissima")

def test_class_csv_without_class_file_uses_label_ids(isogd, tmp_path):
    sort(isogd, tmp_path, splits=("test",))
    table = pd.read_csv(tmp_path / "249" / "class.csv", index_col=0)
    assert len(table) == 249
    assert table.iloc[25].tolist() == ["c026", "c026", "c026", "c026"]

def test_classes_10_hard_links_the_classes_with_most_training_videos(isogd, tmp_path, shared_data):
    pc.main([
        "--archive-dir", str(isogd["archive_dir"]), "--lists", str(isogd["lists"]), "--out", str(tmp_path),
        "--class-file", str(shared_data / "chalearn" / "class.csv"), "--classes", "10",
    ])
    present = [label for i, (_, _, label) in enumerate(isogd["rows"]["train"]) if i != LEFT_OUT]
    num_videos = Counter(present)
    expected = sorted(sorted(num_videos, key=lambda label: (-num_videos[label], label))[:10])
    subset = tmp_path / "010"
    assert sorted(int(d.name[1:]) for d in (subset / "train").iterdir()) == expected
    assert min(num_videos[label] for label in expected) >= max(
        num_videos[label] for label in num_videos if label not in expected
    )
    table = pd.read_csv(subset / "class.csv", index_col=0)
    assert table.sClass.tolist() == [pc.label_folder(label) for label in expected]
    assert table.sLong.tolist() != table.sClass.tolist(), "descriptions are carried over from 249/class.csv"
    for video in (subset / "train").rglob("*.avi"):
        original = tmp_path / "249" / "train" / video.parent.name / video.name
        assert video.stat().st_ino == original.stat().st_ino and original.exists()
    assert len(list((subset / "train").rglob("*.avi"))) == sum(num_videos[label] for label in expected)

def test_subset_class_file_selects_listed_classes(isogd, tmp_path, shared_data):
    sort(isogd, tmp_path)
    chosen = pd.read_csv(shared_data / "chalearn" / "class.csv", index_col=0).iloc[[25, 18, 19]]
    chosen.to_csv(tmp_path / "mine.csv")
    pc.main(["--out", str(tmp_path), "--subset-class-file", str(tmp_path / "mine.csv")])
    assert sorted(d.name for d in (tmp_path / "003" / "train").iterdir()) == ["c019", "c020", "c026"]
    table = pd.read_csv(tmp_path / "003" / "class.csv", index_col=0)
    assert table.sClass.tolist() == ["c019", "c020", "c026"]

def test_rerun_skips_sorted_videos_and_links(isogd, tmp_path):
    sort(isogd, tmp_path)
    pc.make_subset(tmp_path, [26, 19])
    counts = sort(isogd, tmp_path)
    assert counts["train"] == {
        "sorted": 0, "skipped": NUM_TRAIN - 1, "missing": 35878 - NUM_TRAIN + 1, "conflicts": 0, "failed": 0
    }
    assert counts["val"]["skipped"] == NUM_VAL
    subset_counts = pc.make_subset(tmp_path, [26, 19])
    assert subset_counts["train"]["sorted"] == 0 and subset_counts["train"]["skipped"] > 0

def test_missing_member_is_reported_not_fatal(isogd, tmp_path):
    counts = sort(isogd, tmp_path, splits=("train",))
    rgb, _, label = isogd["rows"]["train"][LEFT_OUT]
    assert counts["train"]["missing"] == 35878 - NUM_TRAIN + 1
    missing = (tmp_path / "249" / "missing.txt").read_text().splitlines()
    assert f"train {rgb}" in missing and len(missing) == counts["train"]["missing"]
    assert not (tmp_path / "249" / "train" / pc.label_folder(label) / Path(rgb).name).exists()

def test_conflicting_existing_file_is_not_overwritten(isogd, tmp_path):
    target = tmp_path / "249" / "train" / "c026" / "M_00001.avi"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"the user's own video, longer than the fake one")
    counts = sort(isogd, tmp_path, splits=("train",))
    assert counts["train"]["conflicts"] == 1
    assert target.read_bytes() == b"the user's own video, longer than the fake one"
    assert "M_00001.avi" in (tmp_path / "249" / "conflicts.txt").read_text()
    counts = sort(isogd, tmp_path, splits=("train",), overwrite=True)
    assert counts["train"]["sorted"] == 1 and target.read_bytes() == fake_video("train/001/M_00001.avi")

def test_unlabelled_split_is_skipped_with_message(isogd, tmp_path, capsys):
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "test.txt").write_text("".join(f"{rgb} {depth}\n" for rgb, depth, _ in isogd["rows"]["test"]))
    assert pc.read_list(lists / "test.txt")[0][2] is None
    counts = pc.sort_chalearn(tmp_path / "out", lists, isogd["archives"], splits=("test",))
    assert counts == {}
    assert "no labels" in capsys.readouterr().out
    assert not (tmp_path / "out" / "249" / "test").exists()

def test_extracted_folder_is_linked_not_moved(isogd, tmp_path):
    extracted = tmp_path / "IsoGD"
    with zipfile.ZipFile(isogd["archive_dir"] / "test.zip") as zf:
        zf.extractall(extracted / "IsoGD_phase_2")
    counts = pc.sort_chalearn(tmp_path / "out", isogd["lists"], extracted=extracted, splits=("test",))
    assert counts["test"]["sorted"] == NUM_TEST
    source = extracted / "IsoGD_phase_2" / "test" / "001" / "M_00001.avi"
    rgb, _, label = isogd["rows"]["test"][0]
    assert source.exists()
    assert (tmp_path / "out" / "249" / "test" / pc.label_folder(label) / "M_00001.avi").samefile(source)

def test_bad_inputs_raise_errors_that_name_the_file(isogd, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere\.zip.*IsoGD"):
        pc.sort_chalearn(tmp_path, isogd["lists"], [tmp_path / "nowhere.zip"])
    not_zip = tmp_path / "train.zip"
    not_zip.write_bytes(b"half a download")
    with pytest.raises(ValueError, match=r"train\.zip is not a zip"):
        pc.sort_chalearn(tmp_path, isogd["lists"], [not_zip])
    with pytest.raises(FileNotFoundError, match=r"train\.txt.*--lists"):
        pc.sort_chalearn(tmp_path, tmp_path, isogd["archives"])
    bad_list = tmp_path / "lists" / "train.txt"
    bad_list.parent.mkdir()
    bad_list.write_text("train/001/M_00001.avi train/001/K_00001.avi 250\n")
    with pytest.raises(ValueError, match=r"train\.txt:1: label '250'"):
        pc.read_list(bad_list)


# ---- issue 9 items 9-12, on a tiny IsoGD built here (no reference data needed) ----
TINY = {"train": [(1, 26), (2, 26), (3, 19), (4, 19), (5, 20)], "val": [(6, 26)], "test": [(7, 19)]}
ARCHIVE_SPLIT = {"train": "train", "val": "valid", "test": "test"}  # the split folders inside the archives


def tiny_isogd(root: Path) -> tuple[Path, Path]:
    """List files (train.txt, val.txt, test.txt) and one zip archive with a top folder for the TINY rows."""
    lists = root / "lists"
    lists.mkdir(parents=True)
    archive = root / "IsoGD_phase_1.zip"
    with zipfile.ZipFile(archive, "w") as zf:  # ZIP_STORED: member bytes appear as they are
        for split, entries in TINY.items():
            lines = []
            for number, label in entries:
                rgb, depth = (f"{ARCHIVE_SPLIT[split]}/001/{kind}_{number:05d}.avi" for kind in "MK")
                zf.writestr(f"IsoGD_phase_1/{rgb}", fake_video(rgb))
                zf.writestr(f"IsoGD_phase_1/{depth}", fake_video(depth))
                lines.append(f"{rgb} {depth} {label}\n")
            (lists / f"{split}.txt").write_text("".join(lines))
    return lists, archive


def tiny_args(lists: Path, archive: Path, out: Path) -> list[str]:
    return ["--archive", str(archive), "--lists", str(lists), "--out", str(out)]


@pytest.mark.parametrize("option", ["--class-file", "--subset-class-file"])
def test_bad_class_file_is_one_line_exit_2_before_anything_is_sorted(tmp_path, capsys, option):
    lists, archive = tiny_isogd(tmp_path)
    out = tmp_path / "out"
    cases = {
        "duplicate": (",sClass,sLong,sCat,sDetail\n0,c026,a,b,c\n1,c019,d,e,f\n2,c026,g,h,i\n", "more than once"),
        "no-sclass": ("label,name\nc026,x\n", "no sClass column"),
        "empty": ("", "not a readable class.csv"),
        "header-only": (",sClass,sLong,sCat,sDetail\n", "lists no classes"),
        "not-isogd": (",sClass,sLong,sCat,sDetail\n0,wave,a,b,c\n", "not IsoGD labels"),
    }
    for name, (text, reason) in cases.items():
        bad = tmp_path / f"{name}.csv"
        bad.write_text(text)
        assert pc.main([*tiny_args(lists, archive, out), option, str(bad)]) == pc.EXIT_USER_ERROR, name
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and str(bad) in err and reason in err, (name, err)
        assert not out.exists(), f"{name}: nothing may be sorted before the class files are checked"


def test_bad_crc_member_is_reported_with_its_archive_and_the_rest_sorted(tmp_path, capsys):
    lists, archive = tiny_isogd(tmp_path)
    victim = fake_video("train/001/M_00003.avi")
    data = archive.read_bytes()
    assert data.count(victim) == 1
    archive.write_bytes(data.replace(victim, b"X" + victim[1:]))  # same length, wrong CRC-32
    out = tmp_path / "out"
    assert pc.main(tiny_args(lists, archive, out)) == pc.EXIT_FAILED
    printed = capsys.readouterr().out
    report = next(line for line in printed.splitlines() if "could not be read" in line)
    assert report.startswith("1 ") and "IsoGD_phase_1/train/001/M_00003.avi" in report and str(archive) in report
    assert "M_00003.avi" in (out / "249" / "failed.txt").read_text()
    root = out / "249"
    assert not (root / "train" / "c019" / "M_00003.avi").exists()
    num_videos = sum(map(len, TINY.values()))
    assert len(list(root.glob("*/c*/M_*.avi"))) == num_videos - 1
    assert (root / "train" / "c019" / "M_00004.avi").read_bytes() == fake_video("train/001/M_00004.avi")
    assert (root / "class.csv").is_file() and not list(root.rglob(".tmp-*"))


def test_subset_without_sorted_full_set_says_what_to_run_first(tmp_path, capsys):
    mine = tmp_path / "mine.csv"
    mine.write_text(",sClass,sLong,sCat,sDetail\n0,c026,a,b,c\n1,c019,d,e,f\n")
    out = tmp_path / "out"
    (out / "249").mkdir(parents=True)
    (out / "249" / "class.csv").write_text(",sClass,sLong,sCat,sDetail\n0,c001,c001,c001,c001\n")
    for option in (["--subset-class-file", str(mine)], ["--classes", "10"]):
        assert pc.main(["--out", str(out), *option]) == pc.EXIT_USER_ERROR
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1, err
        assert f"No sorted IsoGD set at {out / '249'}" in err and "--archive-dir" in err and str(out) in err
    assert sorted(p.name for p in out.iterdir()) == ["249"], "no empty subset folder"


def test_same_size_other_content_is_a_conflict_overwrite_replaces_it_a_folder_never_aborts(tmp_path, capsys):
    lists, archive = tiny_isogd(tmp_path)
    out = tmp_path / "out"
    root = out / "249"
    args = tiny_args(lists, archive, out)
    same_size = root / "train" / "c026" / "M_00001.avi"
    real = fake_video("train/001/M_00001.avi")
    same_size.parent.mkdir(parents=True)
    same_size.write_bytes(b"u" * len(real))  # the user's own file, same size, other bytes
    folder = root / "train" / "c026" / "M_00002.avi"
    folder.mkdir()
    (folder / "notes.txt").write_text("the user's")

    assert pc.main(args) == pc.EXIT_FAILED
    report = next(line for line in capsys.readouterr().out.splitlines() if "hold something else" in line)
    assert report.startswith("2 ") and str(same_size) in report and str(folder) in report
    assert same_size.read_bytes() == b"u" * len(real), "kept without --overwrite"
    assert len((root / "conflicts.txt").read_text().splitlines()) == 2
    assert (root / "train" / "c019" / "M_00003.avi").read_bytes() == fake_video("train/001/M_00003.avi")

    assert pc.main([*args, "--overwrite"]) == pc.EXIT_FAILED, "the folder is still in the way"
    assert same_size.read_bytes() == real
    assert (folder / "notes.txt").read_text() == "the user's", "--overwrite never deletes a folder"
    conflicts = (root / "conflicts.txt").read_text().splitlines()
    assert len(conflicts) == 1 and "M_00002.avi" in conflicts[0] and "folder" in conflicts[0]

    (folder / "notes.txt").unlink()
    folder.rmdir()
    assert pc.main(args) == pc.EXIT_OK
    assert (root / "train" / "c026" / "M_00002.avi").read_bytes() == fake_video("train/001/M_00002.avi")

    # The same rule for a subset's links: a same-size copy with other bytes is a conflict.
    assert pc.main(["--out", str(out), "--classes", "2"]) == pc.EXIT_OK
    link = out / "002" / "train" / "c026" / "M_00001.avi"
    link.unlink()
    link.write_bytes(b"u" * len(real))
    assert pc.main(["--out", str(out), "--classes", "2"]) == pc.EXIT_FAILED
    assert link.read_bytes() == b"u" * len(real)
    assert pc.main(["--out", str(out), "--classes", "2", "--overwrite"]) == pc.EXIT_OK
    assert link.samefile(same_size)
