"""frame.py / opticalflow.py / feature.py on bad inputs: the right message, the right exit code, no lost file."""
import errno
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import feature
import frame
import opticalflow
from signlang import folderstep, steps, video
from signlang.synthetic import blob_frames
from signlang.video import write_video

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def video_dir(tmp_path: Path) -> Path:
    root = tmp_path / "videos"
    write_video(root / "train" / "wave" / "a.avi", blob_frames(8, 48, 64), 25)
    write_video(root / "val" / "wave" / "b.avi", blob_frames(8, 48, 64, step_px=(0, 2)), 25)
    return root


def run_script(script: str, *args, user: int | None = None, cwd=None) -> subprocess.CompletedProcess:
    """Runs `python script args` (as `user` when given: root reads and writes everything regardless of modes)."""
    return subprocess.run([*as_user(user), sys.executable, str(REPO / script), *map(str, args)], capture_output=True,
                          text=True, cwd=cwd or REPO, timeout=60)


def as_user(user: int | None) -> list[str]:
    """The command prefix that runs a program as `user` (setpriv drops root's capabilities too), or []."""
    return [] if user is None else ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"]


@pytest.fixture
def shared_tmp():
    """A world-readable temporary folder (pytest's tmp_path is private to root), and the uid to test as."""
    if not sys.platform.startswith("linux"):
        pytest.skip("permission tests need POSIX permissions")
    user = 65534 if os.geteuid() == 0 else None  # nobody: as root every permission check passes
    if user is not None and shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot test as an ordinary user")
    with tempfile.TemporaryDirectory(prefix="step-errors-") as folder:
        os.chmod(folder, 0o755)
        yield Path(folder), user


@pytest.mark.parametrize("where", ["same", "inside", "contains"])
def test_output_folder_is_inside_or_contains_or_is_the_input_is_refused(video_dir, where, capsys):
    out = {"same": video_dir, "inside": video_dir / "train" / "frames", "contains": video_dir.parent}[where]
    before = sorted(video_dir.rglob("*"))
    assert frame.main([str(video_dir), str(out), "--num-frames", "4", "--min-dim", "32"]) == 2
    assert "input folder" in capsys.readouterr().err
    assert sorted(video_dir.rglob("*")) == before  # nothing created, nothing deleted
    with pytest.raises(ValueError, match="input folder"):
        steps.frames_dir_to_flows_dir(video_dir, out)
    with pytest.raises(ValueError, match="input folder"):
        feature.frames_dir_to_features_dir(video_dir, out)


def test_exit_codes_0_all_fine_1_some_failed_2_user_error(video_dir, tmp_path, capsys):
    image = tmp_path / "image"
    assert frame.main([str(video_dir), str(image), "--num-frames", "4", "--min-dim", "32"]) == 0
    assert opticalflow.main([str(image), str(tmp_path / "oflow"), "--method", "farneback"]) == 0
    (video_dir / "train" / "wave" / "broken.avi").write_bytes(b"garbage")
    assert frame.main([str(video_dir), str(image), "--num-frames", "4", "--min-dim", "32"]) == 1
    assert "1 failed" in capsys.readouterr().out
    assert opticalflow.main([str(tmp_path / "nothing"), str(tmp_path / "oflow2")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "frame.py" in error
    help_text = run_script("frame.py", "--help").stdout
    assert "exit status" in help_text and "1 some inputs failed" in help_text


def test_misplaced_videos_and_link_loops_are_reported_not_skipped(video_dir, tmp_path):
    misplaced = video_dir / "train" / "loose.avi"
    write_video(misplaced, blob_frames(4, 48, 64), 25)
    loop = video_dir / "val" / "wave" / "loop.avi"
    loop.symlink_to(loop)
    broken = video_dir / "val" / "wave" / "gone.mp4"
    broken.symlink_to(tmp_path / "nowhere.mp4")
    summary = steps.videos_dir_to_frames_dir(video_dir, tmp_path / "image", num_frames=4, min_dim_px=32)
    reasons = dict(summary.failed)
    assert summary.done == 2 and set(reasons) == {misplaced, loop, broken}
    assert "misplaced" in reasons[misplaced] and "<split>/<label>" in reasons[misplaced]
    assert "loop" in reasons[loop] and "broken link" in reasons[broken]
    assert summary.exit_code == folderstep.EXIT_FAILED


def test_unreadable_video_jpg_and_folder_say_permission_denied(shared_tmp):
    root, user = shared_tmp
    videos = root / "videos"
    write_video(videos / "train" / "wave" / "ok.avi", blob_frames(6, 48, 64), 25)
    write_video(videos / "train" / "wave" / "secret.avi", blob_frames(6, 48, 64), 25)
    for folder in [videos, *videos.rglob("*")]:
        os.chmod(folder, 0o755 if folder.is_dir() else 0o644)
    os.chmod(videos / "train" / "wave" / "secret.avi", 0o000)
    out = root / "image"
    out.mkdir(mode=0o777)
    os.chmod(out, 0o777)
    result = run_script("frame.py", videos, out, "--num-frames", "4", "--min-dim", "32", user=user, cwd=root)
    listed = (out / "failed-frames.txt").read_text()
    assert result.returncode == 1 and "permission denied" in listed and "not a video" not in listed
    jpg = out / "train" / "wave" / "ok" / "frame0001.jpg"
    os.chmod(jpg, 0o000)
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from signlang.video import files_to_frames\n"
            "for folder in sys.argv[2:]:\n"
            "    try: files_to_frames(folder)\n"
            "    except OSError as e: print(e)\n")
    os.chmod(jpg.parent.parent, 0o755)
    locked = out / "train" / "wave" / "locked"
    locked.mkdir()
    os.chmod(locked, 0o000)
    result = subprocess.run([*as_user(user), sys.executable, "-c", code, str(REPO), str(jpg.parent), str(locked)],
                            capture_output=True, text=True, timeout=60, cwd=root)
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and all("permission denied" in line for line in lines), result.stdout + result.stderr
    assert "frame0001.jpg" in lines[0] and "locked" in lines[1] and "corrupt" not in result.stdout


def test_read_only_output_folder_is_one_line_and_exit_2(shared_tmp):
    root, user = shared_tmp
    videos = root / "videos"
    write_video(videos / "train" / "wave" / "ok.avi", blob_frames(6, 48, 64), 25)
    for folder in [videos, *videos.rglob("*")]:
        os.chmod(folder, 0o755 if folder.is_dir() else 0o644)
    out = root / "readonly"
    out.mkdir(mode=0o555)
    os.chmod(out, 0o555)
    result = run_script("frame.py", videos, out / "image", "--num-frames", "4", user=user, cwd=root)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and "writable" in result.stderr and str(out) in result.stderr


def test_disk_full_says_the_disk_is_full(video_dir, tmp_path, monkeypatch):
    def full(path, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(video, "_write_bytes", full)
    summary = steps.videos_dir_to_frames_dir(video_dir, tmp_path / "image", num_frames=4, min_dim_px=32)
    assert summary.done == 0 and len(summary.failed) == 2
    assert all("Disk full" in reason for _, reason in summary.failed)
    assert "THE DISK IS FULL" in summary.line("frames") and summary.exit_code == 1
    assert not list((tmp_path / "image").glob("*/*/*"))  # no half-written folder


def test_moving_a_clip_between_splits_moves_its_frames_and_flow(video_dir, tmp_path, capsys):
    image, oflow = tmp_path / "image", tmp_path / "oflow"
    steps.videos_dir_to_frames_dir(video_dir, image, num_frames=4, min_dim_px=32)
    steps.frames_dir_to_flows_dir(image, oflow, "farneback")
    (image / "train" / "wave" / "notes.txt").write_text("a user's file: never deleted")
    (video_dir / "val" / "wave" / "b.avi").rename(video_dir / "train" / "wave" / "b.avi")
    (video_dir / "train" / "wave" / "a.avi").rename(video_dir / "val" / "wave" / "a.avi")
    steps.videos_dir_to_frames_dir(video_dir, image, num_frames=4, min_dim_px=32)
    steps.frames_dir_to_flows_dir(image, oflow, "farneback")
    out = capsys.readouterr().out
    assert "frames: removed 2 outputs whose source is gone" in out and "flows: removed 2 outputs" in out
    assert "left 1 entries" in out and (image / "train" / "wave" / "notes.txt").is_file()  # not ours: kept
    mirrored = {p.relative_to(oflow).as_posix() for p in oflow.glob("*/*/*") if p.is_dir()}
    assert mirrored == {"train/wave/b", "val/wave/a"}
    assert {p.relative_to(image).as_posix() for p in image.glob("*/*/*")} == {"train/wave/b", "val/wave/a",
                                                                                "train/wave/notes.txt"}
