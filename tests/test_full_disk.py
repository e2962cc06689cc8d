"""Full disks (issue 9 item 2): on a small tmpfs every step stops with "disk full", leaves only complete outputs
under final names, and a rerun with space finishes the set."""
from pathlib import Path

import frame
import opticalflow
import prepare_demo
from signlang import demoset, folderstep
from signlang.synthetic import blob_frames
from signlang.video import write_video

DEMO_ARGS = ["--classes", "2", "--per-class", "1", "--val-per-class", "1", "--seed", "5", "--workers", "1"]


def _demo_videos_complete(video_dir: Path) -> list[Path]:
    """The videos of the demo set under video_dir, each asserted to decode to all its frames."""
    plan = demoset.video_plan(video_dir, 2, 1, 1, seed=5)
    present = []
    for path, _, _, entropy in plan:
        if path.exists():
            assert demoset.is_finished_video(path, entropy), f"{path} is broken under its final name"
            present.append(path)
    return present


def test_prepare_demo_on_a_full_disk_leaves_no_broken_video_and_the_rerun_completes(small_disk, capsys):
    disk = small_disk(2.5)  # room for about two of the four ~1 MB videos
    out = disk.path / "demo"
    assert prepare_demo.main([*DEMO_ARGS, "--out", str(out)]) == folderstep.EXIT_FAILED
    err = capsys.readouterr().err
    assert "Disk full" in err and "Traceback" not in err
    video_dir = out / "002"
    assert len(_demo_videos_complete(video_dir)) < 4
    assert not (video_dir / "class.csv").exists(), "class.csv marks a complete set"
    assert not list(video_dir.rglob(".tmp-*"))

    disk.resize(16)
    assert prepare_demo.main([*DEMO_ARGS, "--out", str(out)]) == 0
    assert len(_demo_videos_complete(video_dir)) == 4
    assert (video_dir / "class.csv").is_file()


def _step_on_a_full_disk(small_disk, capsys, main, source: Path, pattern: str, num_per_video: int, extra=()):
    """Runs a folder step onto a tiny tmpfs (fails: disk full), then again with space (completes)."""
    disk = small_disk(0.25)
    out = disk.path / "out"
    code = main([str(source), str(out), *extra])
    err_out = capsys.readouterr()
    assert code != 0
    assert "DISK IS FULL" in err_out.out or "Disk full" in err_out.err
    assert "Traceback" not in err_out.err
    for folder in out.glob("*/*/*"):  # whatever stands under a final name is complete: a rerun may skip it
        assert folderstep.is_complete(folder, pattern, num_per_video), f"{folder} is incomplete"
    assert not list(out.rglob(".tmp-*"))

    disk.resize(16)
    assert main([str(source), str(out), *extra]) == 0
    folders = list(out.glob("*/*/*"))
    assert len(folders) == 6 and all(folderstep.is_complete(f, pattern, num_per_video) for f in folders)


def _blob_set(root: Path) -> Path:
    for k in range(6):
        write_video(root / ("train", "val")[k % 2] / f"c{k % 3}" / f"v{k}.avi",
                          blob_frames(12, 120, 160, step_px=(2.0 + k, 1.0)), 25)
    return root


def test_frame_py_on_a_full_disk_says_so_and_the_rerun_completes(small_disk, tmp_path, capsys):
    videos = _blob_set(tmp_path / "videos")
    _step_on_a_full_disk(small_disk, capsys, frame.main, videos, "*.jpg", 12,
                         ["--num-frames", "12", "--min-dim", "120"])


def test_opticalflow_py_on_a_full_disk_says_so_and_the_rerun_completes(small_disk, tmp_path, capsys):
    videos = _blob_set(tmp_path / "videos")
    image = tmp_path / "image"
    assert frame.main([str(videos), str(image), "--num-frames", "12", "--min-dim", "120"]) == 0
    capsys.readouterr()
    _step_on_a_full_disk(small_disk, capsys, opticalflow.main, image, "*.jpg", 12, ["--method", "dis"])
