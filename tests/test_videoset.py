"""videoset: a folder set's persisted description (written once, reused, mismatch refused) and its val split."""
import json

import numpy as np
import pytest
from signlang import videoset
from signlang.video import write_video


def write_takes(folder, labels, takes, num_frames=6, fps=10.0):
    """Tiny real videos folder/train/<label>/take_NNNN.avi (write_video)."""
    rng = np.random.default_rng(0)
    for label in labels:
        for n in range(takes):
            frames = rng.integers(0, 255, (num_frames, 32, 32, 3), dtype=np.uint8)
            write_video(folder / "train" / label / f"take_{n:04d}.avi", frames, fps)
    return folder


@pytest.fixture
def own_set(tmp_path):
    return write_takes(tmp_path / "data-set" / "mine" / "003", ["a", "b", "c"], takes=4)


def test_description_written_once_and_reused(own_set, tmp_path):
    video_set = videoset.resolve_set(str(own_set), root=tmp_path)
    path = own_set / videoset.DESCRIPTION_FILE
    description = json.loads(path.read_text())
    assert (video_set.num_classes, video_set.name) == (3, "mine")
    assert description["labels"] == ["a", "b", "c"]
    assert description["fps"] == pytest.approx(10.0)
    assert description["duration_s"] == pytest.approx(0.6, abs=0.05)
    # A new folder set (own recordings, often hand-held) gets the flow with the camera's motion removed; the
    # built-in sets keep theirs.
    assert description["flow_method"] == video_set.flow_method == "tvl1-steady"
    assert videoset.DEMO_SET.flow_method == "tvl1-lite"
    # No class.csv: the label folders are the classes, sLong = folder name.
    table = videoset.read_class_table(own_set / "class.csv")
    assert list(table["sLong"]) == ["a", "b", "c"]
    stamp = path.stat().st_mtime_ns
    again = videoset.resolve_set("mine/003", root=tmp_path)  # the data-set/ relative spelling
    assert again == video_set
    assert path.stat().st_mtime_ns == stamp  # read, not rewritten
    assert not list(own_set.glob(".tmp-*"))


def test_size_mismatch_refused(own_set, tmp_path):
    videoset.resolve_set(str(own_set), root=tmp_path, size="small")
    with pytest.raises(ValueError, match=r"num_frames 40 \(asked by --size seed\) != 16.*delete"):
        videoset.resolve_set(str(own_set), root=tmp_path, size="seed")
    assert videoset.resolve_set(str(own_set), root=tmp_path, size="small").num_frames == 16


def test_removed_label_refused(own_set, tmp_path):
    videoset.resolve_set(str(own_set), root=tmp_path)
    for take in (own_set / "train" / "b").iterdir():
        take.unlink()
    (own_set / "train" / "b").rmdir()
    with pytest.raises(ValueError, match=r"label folders removed \['b'\].*delete .*videoset.json.*data-temp"):
        videoset.resolve_set(str(own_set), root=tmp_path)


def test_seed_size_persisted(own_set, tmp_path):
    assert videoset.resolve_set(str(own_set), root=tmp_path, size="seed").crop_px == 224
    assert videoset.resolve_set(str(own_set), root=tmp_path).num_frames == 40  # later steps agree


def test_holdout_deterministic_disjoint_every_label(tmp_path, capsys):
    folder = write_takes(tmp_path / "s", ["x", "y"], takes=7)
    write_takes(folder, ["z"], takes=2)
    first = videoset.holdout_split(folder)
    assert first == videoset.holdout_split(folder)
    assert sorted(first) == ["x", "y", "z"]
    assert first["x"] == ["train/x/take_0004.avi", "train/x/take_0005.avi", "train/x/take_0006.avi"]
    assert first["z"] == ["train/z/take_0001.avi"]
    videoset.resolve_set(str(folder), root=tmp_path)
    out = capsys.readouterr().out
    assert "| z | take_0001.avi |" in out and "fewer than 2 val clips" in out
    listed, _ = videoset.list_videos(folder)
    splits = {}
    for path, split, label in listed:
        splits.setdefault(path, set()).add(split)
    assert all(len(s) == 1 for s in splits.values())  # never a clip in both
    val = {(p.name, label) for p, split, label in listed if split == "val"}
    train = {(p.name, label) for p, split, label in listed if split == "train"}
    assert not val & train
    assert {label for _, label in val} == {label for _, label in train} == {"x", "y", "z"}
    assert len(val) == 3 + 3 + 1
    raw, _ = videoset.list_videos(folder, effective=False)
    assert {split for _, split, _ in raw} == {"train"}


def test_given_val_used_as_is(tmp_path):
    folder = write_takes(tmp_path / "s", ["x", "y"], takes=3)
    (folder / "val" / "x").mkdir(parents=True)
    write_video(folder / "val" / "x" / "v.avi", np.zeros((4, 32, 32, 3), np.uint8), 10.0)
    assert videoset.holdout_split(folder) == {}
    videoset.resolve_set(str(folder), root=tmp_path)
    listed, _ = videoset.list_videos(folder)
    assert [p.name for p, split, _ in listed if split == "val"] == ["v.avi"]


def test_damaged_description_names_file(own_set, tmp_path):
    (own_set / videoset.DESCRIPTION_FILE).write_text("{not json")
    with pytest.raises(ValueError, match="videoset.json is not a readable"):
        videoset.resolve_set(str(own_set), root=tmp_path)


@pytest.mark.parametrize("key, value, says", [
    ("val_holdout", [], "val_holdout is [] (list), not a dict"),
    ("duration_s", "3", "duration_s is '3' (str), not a number"),
    ("num_frames", 0, "num_frames is 0, must be at least 1"),
    ("fps", -5, "fps is -5, must be above 0"),
    ("labels", "abc", "labels is 'abc' (str), not a list"),
    ("val_holdout", {"a": "take_0001.avi"}, "val_holdout must map each label to a list"),
])
def test_a_hand_edited_description_names_the_file_and_the_key(own_set, tmp_path, key, value, says):
    videoset.resolve_set(str(own_set), root=tmp_path)
    path = own_set / videoset.DESCRIPTION_FILE
    description = json.loads(path.read_text())
    path.write_text(json.dumps({**description, key: value}))
    with pytest.raises(ValueError) as error:
        videoset.resolve_set(str(own_set), root=tmp_path)
    assert str(path) in str(error.value) and says in str(error.value)


def test_one_take_of_a_class_is_refused_before_anything_runs(tmp_path):
    folder = write_takes(tmp_path / "data-set" / "mine" / "002", ["a"], takes=3)
    write_takes(folder, ["b"], takes=1)
    with pytest.raises(ValueError, match=r"each class needs at least 2 takes.*too few: b \(1\).*--collect b"):
        videoset.resolve_set(str(folder), root=tmp_path)
    assert not (folder / videoset.DESCRIPTION_FILE).exists()
