"""Frames and flow computed while a collection records (signlang/takeprep.py): into the folders the pipeline uses,
the held-out takes' moved to val/, so that the pipeline's steps find every take done, with the files they would
have written themselves."""
from pathlib import Path

import pytest

from signlang import collect, steps, synthetic, takeprep, videoset

LABELS = ("left", "right")


def takes_folder(root: Path, takes: int = 3) -> Path:
    """A set folder as --collect leaves it (root/data-set/mine/002/train/<label>/take_NNNN.mp4), not described."""
    folder = root / "data-set" / "mine" / "002"
    for label, step in zip(LABELS, ((3.0, 0.0), (-3.0, 0.0))):
        for take in range(takes):
            synthetic.write_blob_video(folder / "train" / label / f"take_{take:04d}.mp4", num_frames=24, step_px=step)
    return folder


def pipeline_steps(video_set) -> tuple:
    """What pipeline_i3d.py runs first: the frames, then the flow steps."""
    frames = steps.videos_dir_to_frames_dir(video_set.video_dir, video_set.image_dir, video_set.num_frames,
                                            video_set.min_dim_px)
    return frames, steps.frames_dir_to_flows_dir(video_set.image_dir, video_set.flow_dir, video_set.flow_method)


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.jpg"))}


def test_prepared_takes_are_what_the_pipeline_would_write_and_it_skips_them(tmp_path):
    folder = takes_folder(tmp_path / "prepared")
    settings = collect.take_settings(folder, LABELS)
    with takeprep.TakePrep(folder, settings, root=tmp_path / "prepared") as prep:
        for take in sorted(folder.rglob("take_*.mp4")):
            prep.submit(take)
        for future in prep.futures.values():
            future.result(timeout=120)
        line = prep.finish()
    assert line.startswith("Frames and flow of 6 of the 6 new takes computed while recording") and "2 held out" in line
    video_set = videoset.resolve_set(str(folder), root=tmp_path / "prepared")  # describes it, as the pipeline does
    assert video_set.temp_dir == prep.temp_dir
    frames, flows = pipeline_steps(video_set)
    assert (frames.done, frames.skipped, flows.done, flows.skipped) == (0, 6, 0, 6)
    assert sorted(p.name for p in (video_set.image_dir / "val" / "left").iterdir()) == ["take_0002"]

    fresh = takes_folder(tmp_path / "fresh")  # the same takes, the pipeline alone
    pipeline_steps(videoset.resolve_set(str(fresh), root=tmp_path / "fresh"))
    for step in ("image", "oflow"):
        mine, theirs = files(video_set.temp_dir / step), files(tmp_path / "fresh" / "data-temp/mine/002-16" / step)
        assert len(mine) == 6 * 16 and mine == theirs  # 16 frames; 16 flows (the first is zeros)


def test_nothing_is_prepared_without_training_next_or_where_the_folders_are_not_known(tmp_path):
    folder = takes_folder(tmp_path, takes=2)
    settings = collect.take_settings(folder, LABELS)
    with takeprep.TakePrep(folder, settings, root=tmp_path, start=False) as prep:
        prep.submit(next(folder.rglob("take_*.mp4")))
        assert prep.finish() == ""
    other = tmp_path / "data-set" / "mine" / "special"  # not <NNN>, not described: its <NNN> is its class count
    assert not takeprep.TakePrep(other, settings, root=tmp_path).enabled
    assert not (tmp_path / "data-temp").exists()


def test_a_collection_going_on_to_training_prepares_each_kept_take(tmp_path, monkeypatch):
    seen = {}

    class Recorder(takeprep.TakePrep):
        def __enter__(self):
            seen["start"], seen["submitted"] = self.start, []
            return self

        def submit(self, take):
            seen["submitted"].append(take)

        def finish(self):
            seen["finished"] = True
            return "prepared"

    monkeypatch.setattr(collect, "TakePrep", Recorder)
    monkeypatch.setattr(collect.subprocess, "call", lambda command: 0)
    source = synthetic.write_blob_video(tmp_path / "camera.mp4", num_frames=200)
    rc = collect.collect(list(LABELS), 2, tmp_path / "mine", source=source, pace=False, headless=True,
                         seconds=1.0, train=True)
    assert rc == 0 and seen["start"] and seen["finished"]
    assert sorted(seen["submitted"]) == sorted((tmp_path / "mine" / "002").rglob("take_*.mp4"))
    seen.clear()
    collect.collect(list(LABELS), 3, tmp_path / "mine" / "002", source=source, pace=False, headless=True,
                    seconds=1.0, train=False)
    assert seen["start"] is False
