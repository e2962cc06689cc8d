"""Growing a vocabulary (issue 21 section 3): signs and takes added to a described set with no file deleted by
hand, the earlier held-out takes kept, the new ones split, class indices kept; the derived folders follow; the one
loop from --collect to `pipeline_i3d.py --set <folder> --live`.
"""
import dataclasses
import json

import numpy as np
import pytest

import livedemo
import pipeline_i3d
from signlang import collect, steps, videoset
from signlang.video import write_video

LABELS = ["hello", "thanks", "yes"]


def write_takes(folder, label, numbers, num_frames=6):
    """Tiny real videos folder/train/<label>/take_NNNN.avi, one per number (moving noise, 32 px, 10 fps)."""
    rng = np.random.default_rng(sum(map(ord, label)) + min(numbers))
    for n in numbers:
        write_video(folder / "train" / label / f"take_{n:04d}.avi",
                    rng.integers(0, 255, (num_frames, 32, 32, 3), dtype=np.uint8), 10.0)
    return folder


@pytest.fixture
def described(tmp_path):
    """A set folder data-set/own/003 of 3 signs x 4 takes, described (2 of each held out)."""
    folder = tmp_path / "data-set" / "own" / "003"
    for label in LABELS:
        write_takes(folder, label, range(4))
    videoset.resolve_set(str(folder), root=tmp_path)
    return folder


def description(folder):
    return json.loads((folder / videoset.DESCRIPTION_FILE).read_text())


@pytest.mark.parametrize("num_new, held", [(1, 0), (2, 1), (3, 1), (4, 2), (7, 3), (8, 3), (10, 3)])
def test_new_takes_are_split_by_the_rule_among_themselves(num_new, held):
    takes = [f"train/x/take_{n:04d}.avi" for n in range(20, 20 + num_new)]
    assert videoset.newest_share(list(reversed(takes))) == takes[len(takes) - held:]  # the newest, in name order


def test_added_sign_and_takes_grow_the_description_keep_choices_and_indices(described, tmp_path, capsys):
    before = description(described)
    first = videoset.resolve_set(str(described), root=tmp_path)
    assert before["version"] == videoset.DESCRIPTION_VERSION == 2 and before["number"] == 3
    assert before["seen"] == {label: [f"train/{label}/take_{n:04d}.avi" for n in range(4)] for label in LABELS}
    capsys.readouterr()
    write_takes(described, "apple", range(8))  # sorts before every earlier label: still appended
    write_takes(described, "hello", range(4, 8))
    write_takes(described, "yes", [4])
    grown_set = videoset.resolve_set(str(described), root=tmp_path)
    assert capsys.readouterr().out.splitlines() == [
        "Added 1 sign (apple: 8 takes, 3 held out); 4 new takes of hello (2 held out); 1 new take of yes (0 held "
        f"out); kept the 6 earlier held-out takes -> {described / videoset.DESCRIPTION_FILE}"]
    grown = description(described)
    assert grown["labels"] == LABELS + ["apple"] and grown["num_classes"] == grown_set.num_classes == 4
    assert grown["val_holdout"] == {
        **before["val_holdout"],
        "hello": before["val_holdout"]["hello"] + ["train/hello/take_0006.avi", "train/hello/take_0007.avi"],
        "apple": [f"train/apple/take_{n:04d}.avi" for n in (5, 6, 7)]}
    assert grown["seen"]["yes"][-1] == "train/yes/take_0004.avi" and len(grown["seen"]["apple"]) == 8
    # Derived folders and checkpoints keep their names: data-temp/own/003-16, own003.
    assert (grown_set.temp_dir, grown_set.tag) == (first.temp_dir, first.tag) == (
        tmp_path / "data-temp" / "own" / "003-16", "own003")
    # Class indices: the earlier ones kept, the new sign last, in class.csv and in the network's order.
    assert list(videoset.read_class_table(described / "class.csv")["sClass"]) == LABELS + ["apple"]
    classes = videoset.VideoClasses(described / "class.csv")
    assert classes.classes == LABELS + ["apple"] and classes.index("apple") == 3
    # Every take in exactly one split, the held-out ones in val.
    listed, _ = videoset.list_videos(described)
    val = {path.relative_to(described).as_posix() for path, split, _ in listed if split == "val"}
    assert val == {take for takes in grown["val_holdout"].values() for take in takes}
    # Read again: nothing new, not rewritten, nothing printed.
    stamp = (described / videoset.DESCRIPTION_FILE).stat().st_mtime_ns
    assert videoset.resolve_set(str(described), root=tmp_path) == grown_set
    assert (described / videoset.DESCRIPTION_FILE).stat().st_mtime_ns == stamp and capsys.readouterr().out == ""


def test_a_set_with_its_own_val_folder_grows_its_labels_and_holds_nothing_out(tmp_path, capsys):
    folder = tmp_path / "data-set" / "own" / "002"
    for label in ("b", "c"):
        write_takes(folder, label, range(2))
        write_video(folder / "val" / label / "v.avi", np.zeros((6, 32, 32, 3), np.uint8), 10.0)
    videoset.resolve_set(str(folder), root=tmp_path)
    write_takes(folder, "a", [0])  # one take is enough: val/ validates
    write_video(folder / "val" / "a" / "v.avi", np.zeros((6, 32, 32, 3), np.uint8), 10.0)
    write_takes(folder, "b", [2, 3])
    capsys.readouterr()
    videoset.resolve_set(str(folder), root=tmp_path)
    grown = description(folder)
    assert grown["labels"] == ["b", "c", "a"] and grown["val_holdout"] == {}
    assert capsys.readouterr().out.startswith(
        "Added 1 sign (a: 1 take, all train: val/ validates); 2 new takes of b (all train: val/ validates) ->")


def test_an_added_sign_with_one_take_is_refused_and_nothing_written(described, tmp_path):
    before = (described / videoset.DESCRIPTION_FILE).read_text()
    write_takes(described, "apple", [0])
    with pytest.raises(ValueError, match=r"at least 2 takes.*too few: apple \(1\).*--out .*003"):
        videoset.resolve_set(str(described), root=tmp_path)
    assert (described / videoset.DESCRIPTION_FILE).read_text() == before


def test_a_version_1_description_is_upgraded_and_later_takes_stay_in_training(tmp_path, capsys):
    """Version 1 trained on takes recorded after it (they may be in the previous model): they stay in train."""
    folder = tmp_path / "data-set" / "own" / "002"
    for label in ("a", "b"):
        write_takes(folder, label, range(4))
    v1 = {"version": 1, "num_classes": 2, "labels": ["a", "b"], "num_frames": 4, "min_dim_px": 32, "crop_px": 32,
          "fps": 10.0, "duration_s": 0.6, "flow_method": "tvl1-lite",
          "val_holdout": {"a": ["train/a/take_0003.avi"], "b": ["train/b/take_0003.avi"]}}
    (folder / videoset.DESCRIPTION_FILE).write_text(json.dumps(v1))
    videoset.write_class_table(folder / "class.csv", [("b", "B", "", ""), ("a", "A", "", "")])  # rows unsorted
    write_takes(folder, "a", [4, 5])  # recorded after the version-1 description: it trained on them
    image_dir = tmp_path / "data-temp" / "own" / "002-4" / "image"
    assert steps.videos_dir_to_frames_dir(folder, image_dir, 4, 32).done == 10  # as the version-1 toolkit did
    write_takes(folder, "c", range(3))  # a new sign
    video_set = videoset.resolve_set(str(folder), root=tmp_path)
    assert video_set.image_dir == image_dir
    summary = steps.videos_dir_to_frames_dir(folder, image_dir, 4, 32)
    assert (summary.done, summary.skipped) == (3, 10)  # no earlier take moved split: nothing re-extracted
    assert {path.relative_to(image_dir).as_posix() for path in image_dir.glob("*/*/*")} == {
        f"{split}/{label}/{path.stem}" for path, split, label in videoset.list_videos(folder)[0]}
    upgraded = description(folder)
    assert upgraded["version"] == 2 and upgraded["number"] == 2 and video_set.tag == "own002"
    assert upgraded["seen"]["a"] == [f"train/a/take_{n:04d}.avi" for n in range(6)]
    assert upgraded["val_holdout"] == {**v1["val_holdout"], "c": ["train/c/take_0002.avi"]}
    assert "Added 1 sign (c: 3 takes, 1 held out); kept the 2 earlier held-out takes ->" in capsys.readouterr().out
    # Indices: a, b as version 1 had them (sorted, whatever the row order), c appended.
    assert videoset.VideoClasses(folder / "class.csv").classes == ["a", "b", "c"]
    assert list(videoset.read_class_table(folder / "class.csv")["sClass"]) == ["b", "a", "c"]


@pytest.mark.parametrize("edit, says", [
    ({"version": 3}, "version is 3; this toolkit reads versions 1 to 2"),
    ({"seen": ["train/hello/take_0000.avi"]}, "seen is ['train/hello/take_0000.avi'] (list), not a dict"),
    ({"seen": {"hello": "take_0000.avi"}}, "seen must map each label to a list"),
    ({"number": "003"}, "number is '003' (str), not a int"),
    ({"labels": ["hello", "hello"]}, "each once"),
])
def test_a_hand_edited_version_2_description_names_the_key(described, tmp_path, edit, says):
    path = described / videoset.DESCRIPTION_FILE
    path.write_text(json.dumps({**description(described), **edit}))
    with pytest.raises(ValueError) as error:
        videoset.resolve_set(str(described), root=tmp_path)
    assert str(path) in str(error.value) and says in str(error.value)


def test_a_version_2_description_without_its_keys_is_refused(described, tmp_path):
    path = described / videoset.DESCRIPTION_FILE
    path.write_text(json.dumps({key: value for key, value in description(described).items() if key != "seen"}))
    with pytest.raises(ValueError, match=r"lacks \['seen'\]"):
        videoset.resolve_set(str(described), root=tmp_path)


def test_derived_folders_of_earlier_takes_are_reused_and_new_takes_extracted_into_their_split(tmp_path):
    folder = tmp_path / "data-set" / "own" / "002"
    for label in ("a", "b"):
        write_takes(folder, label, range(3))
    video_set = videoset.resolve_set(str(folder), root=tmp_path, num_frames=4, min_dim_px=32)

    def run_steps():
        frames = steps.videos_dir_to_frames_dir(folder, video_set.image_dir, video_set.num_frames,
                                                video_set.min_dim_px)
        flows = steps.frames_dir_to_flows_dir(video_set.image_dir, video_set.flow_dir, video_set.flow_method)
        return frames, flows

    run_steps()
    outputs = {path: path.stat().st_mtime_ns for path in video_set.temp_dir.rglob("*.jpg")}
    assert len(outputs) == 6 * (4 + 4)  # 4 frames and 4 flow files (flow00i of frames i, i+1; the last repeated)
    write_takes(folder, "a", [3, 4])
    write_takes(folder, "c", range(4))
    grown = videoset.resolve_set(str(folder), root=tmp_path)
    assert grown.temp_dir == video_set.temp_dir
    frames, flows = run_steps()
    assert (frames.done, frames.skipped, flows.done, flows.skipped) == (6, 6, 6, 6)
    assert {path: path.stat().st_mtime_ns for path in outputs} == outputs  # untouched
    for stream_dir in (grown.image_dir, grown.flow_dir):
        on_disk = {path.relative_to(stream_dir).as_posix() for path in stream_dir.glob("*/*/*") if path.is_dir()}
        assert on_disk == {f"{split}/{label}/{path.stem}" for path, split, label in videoset.list_videos(folder)[0]}
    assert {p.name for p in (grown.image_dir / "val" / "a").iterdir()} == {"take_0002", "take_0004"}
    assert {p.name for p in (grown.image_dir / "val" / "c").iterdir()} == {"take_0002", "take_0003"}


# ---- the one loop: --collect on an existing set folder, then training and live recognition ----
def test_pipeline_live_starts_the_live_demo_on_the_models_just_trained(described, tmp_path, monkeypatch, capsys):
    """--recipe full (no preview model): training first, then the live demo on the models it trained."""
    models = [tmp_path / "model" / "x-own003-flow-i3d-entire-best.keras"]
    result = {"top1": 1.0, "top5": 1.0, "top1_last": 1.0, "num_clips": 6, "seconds": {"train": 1.0},
              "models": models, "flow_method": "tvl1-lite"}
    monkeypatch.setattr(pipeline_i3d, "run", lambda video_set, **_: result)
    started = []
    monkeypatch.setattr(livedemo, "main", lambda argv: started.append(argv) or 7)
    monkeypatch.setattr(livedemo, "no_display", lambda: True)
    assert pipeline_i3d.main(["--set", str(described), "--recipe", "full", "--live"]) == 7
    assert started == [["--set", str(described), "--model", str(models[0]), "--flow-method", "tvl1-lite",
                        "--headless"]]
    assert pipeline_i3d.main(["--set", str(described), "--recipe", "full"]) == 0 and len(started) == 1  # no --live


@pytest.mark.slow
def test_pipeline_live_recognises_on_the_preview_while_the_fast_recipe_trains_then_on_its_model(
        tmp_path, monkeypatch, capsys):
    """The fast recipe's --live: the training runs in a second process; the live demo starts on the preview model
    while it trains, and once the trained model is saved the set's users take that one (no preview left)."""
    from signlang.predictor import find_models

    monkeypatch.chdir(tmp_path)
    for label in LABELS:
        write_takes(tmp_path / "data-set" / "own" / "003", label, range(4))
    size = ["--num-frames", "8", "--min-dim", "32", "--crop", "32"]  # described at this size, as the user asked
    video_set = videoset.resolve_set("data-set/own/003", num_frames=8, min_dim_px=32, crop_px=32)
    seen = []

    def live(argv):
        seen.append((argv, find_models(video_set, streams=("flow",))))
        return 0

    monkeypatch.setattr(livedemo, "main", live)
    monkeypatch.setattr(livedemo, "no_display", lambda: True)
    assert pipeline_i3d.main(["--set", "data-set/own/003", *size, "--fast-epochs", "1", "--live"]) == 0
    [(argv, models)] = seen
    assert argv == ["--set", "data-set/own/003", *size, "--stream", "flow", "--headless"]
    assert len(models) == 1 and models[0].name.endswith(f"-{video_set.tag}-flow-i3d-preview.keras")
    out = capsys.readouterr().out
    assert out.index("Preview model ready") < out.index("The preview model is ready") < out.index("Waiting for the")
    assert "Fast recipe done" in out  # the training's output, shown after the demo
    [trained] = find_models(video_set, streams=("flow",))
    assert trained.name.endswith("-fast.keras") and not list(video_set.model_dir.glob("*-preview.keras"))


def test_a_set_folder_without_a_number_keeps_its_first_class_count_as_nnn(tmp_path):
    folder = tmp_path / "signs"
    for label in ("a", "b"):
        write_takes(folder, label, range(2))
    first = videoset.resolve_set(str(folder), root=tmp_path)
    write_takes(folder, "c", range(2))
    grown = videoset.resolve_set(str(folder), root=tmp_path)
    assert (first.tag, grown.tag, grown.num_classes) == ("signs002", "signs002", 3)
    assert grown.temp_dir == tmp_path / "data-temp" / "signs" / "002-16"


@pytest.mark.parametrize("trained_on, reused", [(None, True), (["dir0", "dir1"], True), (["dir0"], False),
                                                (["dir1", "dir0"], False)])
def test_a_finished_run_is_reused_only_when_it_trained_the_sets_classes(tmp_path, trained_on, reused):
    """After a set grew, pipeline_i3d's finished_run must not hand back the run of the smaller vocabulary (a run
    from before runs recorded their classes, None, counts as matching)."""
    from signlang import fullrecipe, synthetic

    video_set = synthetic.write_set(synthetic.blob_set(tmp_path, num_classes=2, size_px=32), per_class=(2, 1))
    config = fullrecipe.TrainConfig(weights=None)
    saved = dict(json.loads(json.dumps(dataclasses.asdict(config))), phases_done=list(fullrecipe.PHASES),
                 classes=trained_on)
    video_set.model_dir.mkdir(parents=True)
    prefix = fullrecipe.run_prefix(video_set, "20261206-000000", config.stream)
    fullrecipe.state_path(prefix).write_text(json.dumps(saved))
    assert (fullrecipe.finished_run(video_set, config) is not None) == reused
