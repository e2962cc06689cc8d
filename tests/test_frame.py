"""frame.py and folderstep.py: reading videos, the frame operations, and the resumable, crash-safe folder step."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import frame
from signlang import safeio, steps
from signlang.folderstep import StepSummary, is_complete, run_step
from signlang.safeio import atomic_dir, atomic_write, clean_leftovers
from signlang.synthetic import blob_frames, write_blob_video
from signlang.video import (VideoError, files_to_frames, frame_indices, frames_crop, frames_downsample,
                            frames_normalize, frames_rescale, frames_resize_min_side, frames_to_files,
                            image_resize_min_side, jpg_files, video_info, video_to_frames)


@pytest.fixture
def video_dir(tmp_path: Path) -> Path:
    """Three tiny real videos in <split>/<label>/<video> layout: two MJPG .avi, one mp4v .mp4 (96x72, 30 frames)."""
    root = tmp_path / "videos"
    write_blob_video(root / "train" / "wave" / "clip1.avi", num_frames=30, height=72, width=96)
    write_blob_video(root / "train" / "point" / "clip.2.avi", num_frames=30, height=72, width=96, step_px=(0, 2))
    write_blob_video(root / "val" / "wave" / "clip3.mp4", num_frames=24, height=72, width=96)
    return root


def frame_folders(frame_dir: Path) -> list[Path]:
    return sorted(p for p in frame_dir.glob("*/*/*") if p.is_dir() and not p.name.startswith("."))


# ---- reading videos ---------------------------------------------------------------------------------


def test_video_to_frames_reads_every_frame_resized_to_min_side(video_dir):
    frames = video_to_frames(video_dir / "train" / "wave" / "clip1.avi", min_dim_px=36)
    assert frames.shape == (30, 36, 48, 3) and frames.dtype == np.uint8
    original = video_to_frames(video_dir / "val" / "wave" / "clip3.mp4", min_dim_px=None)
    assert original.shape == (24, 72, 96, 3)
    # the decoded blob is where it was drawn (frame 10: x = 24 + 30, y = 36): bright there, dark far away
    gray = original[10].mean(axis=-1)
    assert gray[36, 54] > 140 and gray[36, 5] < 110


def test_video_info_reports_count_fps_and_duration(video_dir):
    num_frames, fps, duration_s = video_info(video_dir / "train" / "wave" / "clip1.avi")
    assert num_frames == 30 and fps == pytest.approx(25.0) and duration_s == pytest.approx(1.2)


@pytest.mark.parametrize(
    "name, content, message",
    [("empty.avi", b"", "empty"), ("notes.mp4", b"this is not a video\n", "Cannot open")],
)
def test_unusable_file_raises_video_error_naming_it(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(VideoError, match=message) as error:
        video_to_frames(path)
    assert str(path) in str(error.value)


def test_truncated_video_raises_video_error(video_dir, tmp_path):
    data = (video_dir / "train" / "wave" / "clip1.avi").read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoError, match="truncated|Cannot open|no decodable") as error:
        video_to_frames(cut)
    assert "cut.avi" in str(error.value)


# ---- frame operations -------------------------------------------------------------------------------


@pytest.mark.parametrize("shape, min_dim, expected", [((72, 96), 36, (36, 48)), ((100, 50), 20, (40, 20)), ((30, 40), 30, (30, 40))])
def test_resize_keeps_aspect_with_min_side(shape, min_dim, expected):
    image = np.zeros((*shape, 3), np.uint8)
    assert image_resize_min_side(image, min_dim).shape == (*expected, 3)
    assert frames_resize_min_side(np.stack([image, image]), min_dim).shape == (2, *expected, 3)


def test_frame_indices_are_evenly_spaced_and_repeat_when_upsampling():
    assert frame_indices(10, 4).tolist() == [0, 2, 5, 7]
    assert frame_indices(100, 40).tolist() == [int(i * 2.5) for i in range(40)]
    assert frame_indices(4, 10).tolist() == [0, 0, 0, 1, 1, 2, 2, 2, 3, 3]
    assert frame_indices(7, 7).tolist() == list(range(7))
    steps = np.diff(frame_indices(1000, 40))
    assert steps.min() == 25 and steps.max() == 25
    with pytest.raises(ValueError):
        frame_indices(0, 5)


def test_frames_downsample_picks_the_indexed_frames():
    frames = np.arange(10, dtype=np.uint8)[:, None, None, None] * np.ones((1, 2, 2, 3), np.uint8)
    assert frames_downsample(frames, 4)[:, 0, 0, 0].tolist() == [0, 2, 5, 7]
    assert frames_downsample(frames[:3], 5)[:, 0, 0, 0].tolist() == [0, 0, 1, 1, 2]


def test_crop_takes_center_or_offset_and_refuses_too_large():
    frames = np.arange(6 * 8, dtype=np.uint8).reshape(1, 6, 8, 1).repeat(3, axis=-1)
    center = frames_crop(frames, 2, 4)
    assert center.shape == (1, 2, 4, 3)
    assert center[0, :, :, 0].tolist() == [[18, 19, 20, 21], [26, 27, 28, 29]]  # rows 2-3, columns 2-5
    corner = frames_crop(frames, 2, 3, offset=(4, 5))
    assert corner[0, :, :, 0].tolist() == [[37, 38, 39], [45, 46, 47]]
    with pytest.raises(ValueError, match="Cannot crop"):
        frames_crop(frames, 7, 4)
    with pytest.raises(ValueError, match="offset"):
        frames_crop(frames, 2, 4, offset=(5, 0))


def test_rescale_maps_0_255_to_minus1_1():
    rescaled = frames_rescale(np.array([0, 127, 255], np.uint8))
    assert rescaled.dtype == np.float32
    assert np.allclose(rescaled, [-1.0, 127 / 127.5 - 1, 1.0])


def test_images_normalize_downsamples_crops_and_rescales():
    frames = blob_frames(20, 72, 96)
    normalized = frames_normalize(frames, 8, 64, 64)
    assert normalized.shape == (8, 64, 64, 3) and normalized.dtype == np.float32
    assert normalized.min() >= -1 and normalized.max() <= 1
    expected = frames[frame_indices(20, 8)][:, 4:68, 16:80] / 127.5 - 1
    assert np.allclose(normalized, expected, atol=1e-6)
    assert frames_normalize(frames, 8, 64, 64, rescale=False).dtype == np.uint8


def test_frames_files_round_trip(tmp_path):
    frames = blob_frames(12, 40, 56)
    frames_to_files(frames, tmp_path / "clip")
    assert (tmp_path / "clip" / "frame0011.jpg").is_file()
    back = files_to_frames(tmp_path / "clip")
    assert back.shape == frames.shape
    assert np.abs(back.astype(int) - frames).mean() < 2  # JPEG
    with pytest.raises(FileNotFoundError, match="No .jpg frames"):
        files_to_frames(tmp_path)


def test_jpg_files_sort_numerically_past_999(tmp_path):
    for i in (999, 1000, 2):
        (tmp_path / f"flow{i:03d}.jpg").touch()
    assert [p.name for p in jpg_files(tmp_path)] == ["flow002.jpg", "flow999.jpg", "flow1000.jpg"]


# ---- videos_dir_to_frames_dir -----------------------------------------------------------------------


def test_videos_dir_to_frames_dir_writes_num_frames_per_video(video_dir, tmp_path):
    frame_dir = tmp_path / "image"
    summary = steps.videos_dir_to_frames_dir(video_dir, frame_dir, num_frames=8, min_dim_px=48, crop_px=40)
    assert (summary.done, summary.skipped, summary.failed) == (3, 0, [])
    folders = frame_folders(frame_dir)
    # dotted names keep everything but the last suffix (the seed's split(".") broke them)
    assert [f.relative_to(frame_dir).as_posix() for f in folders] == ["train/point/clip.2", "train/wave/clip1", "val/wave/clip3"]
    frames = files_to_frames(frame_dir / "train" / "wave" / "clip1")
    assert frames.shape == (8, 40, 40, 3)
    assert not (frame_dir / "failed-frames.txt").exists()


def test_rerun_skips_finished_videos(video_dir, tmp_path):
    frame_dir = tmp_path / "image"
    steps.videos_dir_to_frames_dir(video_dir, frame_dir, num_frames=6, min_dim_px=36)
    marker = frame_dir / "train" / "wave" / "clip1" / "frame0000.jpg"
    mtime = marker.stat().st_mtime_ns
    summary = steps.videos_dir_to_frames_dir(video_dir, frame_dir, num_frames=6, min_dim_px=36)
    assert (summary.done, summary.skipped) == (0, 3)
    assert marker.stat().st_mtime_ns == mtime
    # a folder with the wrong count (an older run with other settings) is redone; --overwrite redoes all
    (frame_dir / "train" / "wave" / "clip1" / "frame0005.jpg").unlink()
    assert steps.videos_dir_to_frames_dir(video_dir, frame_dir, num_frames=6, min_dim_px=36).done == 1
    assert len(list((frame_dir / "train" / "wave" / "clip1").glob("*.jpg"))) == 6
    assert steps.videos_dir_to_frames_dir(video_dir, frame_dir, num_frames=6, min_dim_px=36, overwrite=True).done == 3


def test_rerun_with_other_settings_is_refused_unless_overwrite(video_dir, tmp_path):
    frame_dir = tmp_path / "image"
    steps.videos_dir_to_frames_dir(video_dir, frame_dir, num_frames=6, min_dim_px=36)
    with pytest.raises(ValueError, match=r"made with .*'min_dim_px': 36.*overwrite"):
        steps.videos_dir_to_frames_dir(video_dir, frame_dir, num_frames=6, min_dim_px=48)
    assert steps.videos_dir_to_frames_dir(video_dir, frame_dir, num_frames=6, min_dim_px=48, overwrite=True).done == 3
    assert files_to_frames(frame_dir / "train" / "wave" / "clip1").shape == (6, 48, 64, 3)


def test_killed_run_leaves_nothing_finished_and_rerun_completes(video_dir, tmp_path, monkeypatch):
    frame_dir = tmp_path / "image"
    real_frames_to_files = frames_to_files

    def dies_halfway(frames, target_dir):  # writes a few frames, then the process "dies"
        real_frames_to_files(frames[:3], target_dir)
        raise KeyboardInterrupt

    monkeypatch.setattr(steps, "frames_to_files", dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        steps.videos_dir_to_frames_dir(video_dir, frame_dir, num_frames=6, min_dim_px=36)
    assert frame_folders(frame_dir) == []
    assert list(frame_dir.rglob("*.jpg")) == []
    # a SIGKILL leaves its temporary folder behind: it must not count as finished, and is cleaned up
    leftover = frame_dir / "train" / "wave" / f"{safeio.TMP_PREFIX}4242-clip1"
    leftover.mkdir(parents=True)
    (leftover / "frame0000.jpg").write_bytes(b"half")
    monkeypatch.setattr(steps, "frames_to_files", real_frames_to_files)
    summary = steps.videos_dir_to_frames_dir(video_dir, frame_dir, num_frames=6, min_dim_px=36)
    assert (summary.done, summary.skipped, len(summary.failed)) == (3, 0, 0)
    assert not leftover.exists()
    assert all(len(list(f.glob("*.jpg"))) == 6 for f in frame_folders(frame_dir))


def test_corrupt_videos_are_reported_and_others_extracted(video_dir, tmp_path, capsys):
    bad = {
        video_dir / "train" / "wave" / "empty.avi": b"",
        video_dir / "train" / "wave" / "fake.avi": b"not a video",
        video_dir / "train" / "point" / "broken.mp4": b"\x00\x00\x00\x18ftypmp42" + os.urandom(500),
    }
    for path, content in bad.items():
        path.write_bytes(content)
    (video_dir / "train" / "wave" / "notes.txt").write_text("not a video extension: ignored, said once")
    sources = {p: p.read_bytes() for p in video_dir.rglob("*") if p.is_file()}
    frame_dir = tmp_path / "image"
    summary = steps.videos_dir_to_frames_dir(video_dir, frame_dir, num_frames=5, min_dim_px=36)
    assert summary.done == 3
    assert sorted(source for source, _ in summary.failed) == sorted(bad)
    assert all("VideoError" in reason for _, reason in summary.failed)
    listed = (frame_dir / "failed-frames.txt").read_text()
    assert all(str(path) in listed for path in bad)
    assert "3 extracted, 0 skipped, 3 failed (listed in" in summary.line("frames")
    assert {p: p.read_bytes() for p in video_dir.rglob("*") if p.is_file()} == sources  # sources untouched
    assert len(frame_folders(frame_dir)) == 3
    out = capsys.readouterr().out
    assert out.count("Ignoring 1 files that are not videos") == 1 and "notes.txt" in out


def test_folder_without_videos_raises_with_layout(tmp_path):
    (tmp_path / "videos" / "train").mkdir(parents=True)
    (tmp_path / "videos" / "class.csv").write_text("sClass\n")
    with pytest.raises(FileNotFoundError, match=r"No videos under .*videos.*<split>/<label>/<video>"):
        steps.videos_dir_to_frames_dir(tmp_path / "videos", tmp_path / "image")


def test_workers_2_gives_the_same_frames_as_serial(video_dir, tmp_path):
    serial = steps.videos_dir_to_frames_dir(video_dir, tmp_path / "serial", num_frames=5, min_dim_px=36)
    parallel = steps.videos_dir_to_frames_dir(video_dir, tmp_path / "parallel", num_frames=5, min_dim_px=36, workers=2)
    assert (parallel.done, parallel.failed) == (serial.done, serial.failed) == (3, [])
    for folder in frame_folders(tmp_path / "serial"):
        twin = tmp_path / "parallel" / folder.relative_to(tmp_path / "serial")
        assert sorted(p.read_bytes() for p in folder.iterdir()) == sorted(p.read_bytes() for p in twin.iterdir())


def test_cli_extracts(video_dir, tmp_path, capsys):
    assert frame.main([str(video_dir), str(tmp_path / "image"), "--num-frames", "4", "--min-dim", "36", "--crop", "32"]) == 0
    assert "frames: 3 extracted, 0 skipped, 0 failed" in capsys.readouterr().out
    assert files_to_frames(tmp_path / "image" / "val" / "wave" / "clip3").shape == (4, 32, 32, 3)


# ---- folderstep -------------------------------------------------------------------------------------


def test_atomic_dir_renames_on_success_and_removes_on_error(tmp_path):
    target = tmp_path / "out" / "clip"
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as tmp:
            (tmp / "a.txt").write_text("half")
            raise RuntimeError("killed")
    assert not target.exists() and list((tmp_path / "out").iterdir()) == []
    with atomic_dir(target) as tmp:
        assert tmp.parent == target.parent and tmp.name.startswith(".tmp-")
        (tmp / "a.txt").write_text("new")
    assert (target / "a.txt").read_text() == "new"
    with atomic_dir(target) as tmp:  # replacing an existing folder swaps it whole
        (tmp / "b.txt").write_text("newer")
    assert sorted(p.name for p in target.iterdir()) == ["b.txt"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["clip"]


def test_atomic_write_keeps_old_file_on_error(tmp_path):
    path = tmp_path / "x.npy"
    with atomic_write(path) as tmp:
        assert tmp.suffix == ".npy"
        np.save(tmp, np.arange(3))
    with pytest.raises(ValueError):
        with atomic_write(path) as tmp:
            tmp.write_bytes(b"half")
            raise ValueError
    assert np.load(path).tolist() == [0, 1, 2]
    assert [p.name for p in tmp_path.iterdir()] == ["x.npy"]


def test_clean_leftovers_removes_only_dead_runs_temporaries(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid whose process is gone
    (tmp_path / "a" / f".tmp-{dead.pid}-clip" / "deep").mkdir(parents=True)
    (tmp_path / "a" / f".tmp-{dead.pid}-old-x.npy").write_bytes(b"")
    (tmp_path / "a" / ".tmp-notes.txt").write_text("a user's file, not our scheme")
    (tmp_path / "a" / f".tmp-{os.getppid()}-running.npy").write_bytes(b"")  # a live process's temporary
    (tmp_path / "a" / "clip").mkdir()
    for i in range(3):
        (tmp_path / "a" / "clip" / f"frame{i:04d}.jpg").write_bytes(b"")
    assert clean_leftovers(tmp_path) == 2
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [
        f".tmp-{os.getppid()}-running.npy", ".tmp-notes.txt", "clip"]
    assert is_complete(tmp_path / "a" / "clip", "*.jpg", 3)
    assert not is_complete(tmp_path / "a" / "clip", "*.jpg", 4)
    assert not is_complete(tmp_path / "missing", "*.jpg", 0)


def _fails_on_bad(source: Path, target: Path) -> str:
    if "bad" in source.name:
        raise ValueError(f"cannot read {source}")
    return "skipped" if "old" in source.name else "done"


@pytest.mark.parametrize("workers", [1, 2])
def test_run_step_records_failures_and_goes_on(tmp_path, workers):
    jobs = [(tmp_path / name, tmp_path / "out" / name) for name in ("a", "bad1", "old", "b", "bad2")]
    summary = run_step(jobs, _fails_on_bad, workers=workers, verb="extracted")
    assert (summary.done, summary.skipped) == (2, 1)
    assert summary.failed == [(tmp_path / "bad1", f"ValueError: cannot read {tmp_path / 'bad1'}"),
                              (tmp_path / "bad2", f"ValueError: cannot read {tmp_path / 'bad2'}")]
    listed = summary.write_failures(tmp_path / "out", "test")
    assert listed.read_text().count("cannot read") == 2
    assert summary.line("test") == f"test: 2 extracted, 1 skipped, 2 failed (listed in {listed})"
    assert StepSummary(done=1).write_failures(tmp_path / "out", "test") is None and not listed.exists()
