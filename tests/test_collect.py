"""livedemo.py --collect (collect.py) on replayed videos, headless: the set folder it writes, resuming, keys.

The source is a stream of 1.6 s segments, a blob moving right, down, left, right, down, ... (segment i in
DIRECTIONS[i % 3]); takes are asked for in rounds (left, right, up, left, ...), so without a redo the
take of label k in round r holds exactly segment 3 r + k, and a test can tell which frames a take holds.
"""
import hashlib
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import livedemo
from signlang import collect, synthetic, video, videoset
from signlang.video import count_frames, video_info, video_to_frames, write_video

REPO = Path(__file__).resolve().parents[1]
LABELS = ("left", "right", "up")
TAKE_FRAMES = 40  # 1.6 s at 25 fps, above the 16 frames --size small samples
SEGMENTS = 9  # three rounds of the three labels


@pytest.fixture(scope="module")
def stream(tmp_path_factory):
    """(video path, (SEGMENTS * TAKE_FRAMES, h, w, 3) frames as decoded)."""
    rng = np.random.default_rng(0)
    frames = np.concatenate([synthetic.moving_blob_frames(synthetic.DIRECTIONS[i % 3], TAKE_FRAMES, 48, rng)
                             for i in range(SEGMENTS)])
    path = synthetic.write_video(tmp_path_factory.mktemp("stream") / "stream.avi", frames, 25.0)
    return path, video_to_frames(path, None)


def args(stream_path, out, *extra, takes=2):
    return ["--collect", *LABELS, "--takes", str(takes), "--out", str(out), "--source", str(stream_path),
            "--headless", "--no-pace", "--seconds", "1.6", *extra]


def records(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def digests(folder: Path) -> dict[str, str]:
    """The set's files (not collect.RESUME_FILE, which moves on with every take) -> their sha256."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != collect.RESUME_FILE}


def segment_error(take: Path, frames: np.ndarray, segment: int) -> float:
    """Mean absolute difference between a take and segment `segment` of the stream (codec noise: a few units)."""
    got = video_to_frames(take, None).astype(int)
    return float(np.abs(got - frames[segment * TAKE_FRAMES:(segment + 1) * TAKE_FRAMES]).mean())


def test_three_labels_two_takes_layout_class_csv_frames_and_no_tensorflow(stream, tmp_path):
    code = ("import sys, livedemo; rc = livedemo.main(sys.argv[1:]); "
            "print('TF:', sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras'))); "
            "sys.exit(rc)")
    run = subprocess.run([sys.executable, "-c", code, *args(stream[0], tmp_path / "mine")], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "TF: []" in run.stdout  # collecting needs no model
    folder = tmp_path / "mine" / "003"
    takes = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()
                   and not p.name.startswith("."))  # collect.RESUME_FILE: where in the source the takes end
    assert takes == ["class.csv"] + [f"train/{label}/take_{n:04d}.mp4" for label in LABELS for n in range(2)]
    assert list(videoset.read_class_table(folder / "class.csv")["sClass"]) == list(LABELS)
    for k, label in enumerate(LABELS):
        for n in range(2):
            take = folder / "train" / label / f"take_{n:04d}.mp4"
            assert video_info(take)[:2] == (TAKE_FRAMES, 25.0)
            assert segment_error(take, stream[1], 3 * n + k) < 4 < segment_error(take, stream[1], 3 * n + k + 1)
    assert [r["status"] for r in records(run.stdout)] == ["kept"] * 6
    assert run.stdout.strip().splitlines()[-2] == f"python pipeline_i3d.py --set {folder}"  # then the TF line


def test_rerun_with_more_takes_adds_one_per_label_and_never_overwrites(stream, tmp_path, capsys):
    assert livedemo.main(args(stream[0], tmp_path)) == 0
    folder = tmp_path / "003"
    before = digests(folder)
    capsys.readouterr()
    assert livedemo.main(args(stream[0], tmp_path, takes=3)) == 0
    out = capsys.readouterr()
    assert [(r["label"], Path(r["take"]).name) for r in records(out.out)] == [(label, "take_0002.mp4")
                                                                             for label in LABELS]
    after = digests(folder)
    assert {name: after[name] for name in before if name != "class.csv"} == {
        name: digest for name, digest in before.items() if name != "class.csv"}
    assert len([name for name in after if name.endswith(".mp4")]) == 9
    # Nothing left to record: a third run records nothing and says so.
    assert livedemo.main(args(stream[0], tmp_path, takes=3)) == 0
    assert "0 to record" in capsys.readouterr().err and digests(folder) == after


def test_killed_run_resumes_with_no_partial_file(stream, tmp_path):
    folder = tmp_path / "003"
    paced = [a for a in args(stream[0], tmp_path) if a != "--no-pace"]  # 1.6 s per take: time to kill it
    run = subprocess.Popen([sys.executable, str(REPO / "livedemo.py"), *paced], cwd=REPO,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not list(folder.glob("train/*/take_*")) and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(run.pid, 9)
    finally:
        run.kill()
        run.wait(10)
    kept = digests(folder)
    assert 1 <= len([n for n in kept if n.startswith("train/")]) < 6
    assert livedemo.main(args(stream[0], tmp_path)) == 0
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))
    assert not [n for n in names if "/.tmp-" in f"/{n}"], names
    takes = sorted(folder.glob("train/*/take_*"))
    assert len(takes) == 6 and all(video_info(t)[0] == TAKE_FRAMES for t in takes)
    assert all(digests(folder)[name] == digest for name, digest in kept.items() if name != "class.csv")


def test_r_redoes_only_the_take_not_yet_kept(stream, tmp_path, capsys):
    earlier = tmp_path / "003" / "train" / "left" / "take_0000.mp4"
    write_video(earlier, stream[1][:TAKE_FRAMES], 25.0)  # a take of an earlier session
    kept_before = earlier.read_bytes()
    assert livedemo.main(args(stream[0], tmp_path, "--keys", "result+0:r")) == 0
    statuses = [(r["label"], r["status"]) for r in records(capsys.readouterr().out)]
    assert statuses[:2] == [("right", "redo"), ("right", "kept")]  # left had one take: right is asked first
    assert earlier.read_bytes() == kept_before
    right = tmp_path / "003" / "train" / "right" / "take_0000.mp4"
    assert segment_error(right, stream[1], 1) < 4  # the redo: the stream's second segment, not the first
    assert sorted(p.name for p in earlier.parent.iterdir()) == ["take_0000.mp4", "take_0001.mp4"]


def test_q_stops_with_what_was_kept(stream, tmp_path, monkeypatch, capsys):
    ran = []
    monkeypatch.chdir(tmp_path)  # takeprep.py writes the pipeline's data-temp/ from the working folder
    monkeypatch.setattr(collect.subprocess, "call", lambda command: ran.append(command) or 0)
    assert livedemo.main(args(stream[0], tmp_path, "--keys", "result+0:space,result+0:q", "--train")) == 0
    assert ran == []  # --train trains only on a complete collection
    out = capsys.readouterr()
    assert [r["status"] for r in records(out.out)] == ["kept", "not kept"]
    assert sorted(p.name for p in (tmp_path / "003").rglob("take_*")) == ["take_0000.mp4"]
    assert "stopped with q: 5 takes still to record" in out.err
    assert out.out.strip().splitlines()[-1] == f"python pipeline_i3d.py --set {tmp_path / '003'}"


def test_takes_with_too_few_frames_are_reported_and_not_kept(stream, tmp_path, capsys):
    rc = livedemo.main([a if a != "1.6" else "0.4" for a in args(stream[0], tmp_path)])  # 10 of 16 frames
    out = capsys.readouterr()
    assert rc == collect.EXIT_INCOMPLETE
    assert [r["status"] for r in records(out.out)] == ["too few frames"] * collect.MAX_FAILURES
    assert "NOT kept: 10 frames" in out.err and "takes in a row failed" in out.err
    assert not list(tmp_path.rglob("take_*")) and "pipeline_i3d" not in out.out


def test_a_take_that_cannot_be_written_is_reported_and_redone(stream, tmp_path, monkeypatch, capsys):
    real_count = count_frames
    calls = []

    def count(path):  # the first take's two writes (.mp4, then .avi) decode short, as on a full disk
        calls.append(path)
        return real_count(path) // 2 if len(calls) <= 2 else real_count(path)

    monkeypatch.setattr(video, "count_frames", count)
    assert livedemo.main(args(stream[0], tmp_path)) == 0
    out = capsys.readouterr()
    statuses = [(r["label"], r["status"]) for r in records(out.out)]
    assert statuses[:2] == [("left", "not written"), ("left", "kept")]
    assert "take of 'left' NOT kept: .mp4: Could not write" in out.err
    folder = tmp_path / "003"
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                  if p.is_file() and not p.name.startswith(".")) == ["class.csv"] + [f"train/{label}/take_{n:04d}.mp4" for label in LABELS for n in range(2)]


def test_real_clip_as_source(shared_data, tmp_path):
    clip = shared_data / "real" / "signing_clip.mp4"  # portrait 540x720 H.264, 58 frames at 29.92 fps
    assert livedemo.main(["--collect", "hello", "thanks", "--takes", "1", "--out", str(tmp_path), "--source",
                          str(clip), "--headless", "--no-pace", "--seconds", "0.9"]) == 0
    takes = sorted((tmp_path / "002" / "train").glob("*/take_0000.mp4"))
    assert [t.parent.name for t in takes] == ["hello", "thanks"]
    source = video_to_frames(clip, None)
    for n, take in enumerate(takes):
        frames = video_to_frames(take, None)
        assert frames.shape == (27, *source.shape[1:])  # round(0.9 s * 29.92 fps), at the clip's own size
        assert np.abs(frames.astype(int) - source[27 * n:27 * (n + 1)]).mean() < 6


@pytest.mark.parametrize("labels, expected", [
    (["hello", "hello"], "more than once"), (["hello"], "at least 2 signs"), (["hello", "../x"], "plain folder")])
def test_bad_labels_are_one_line_exit_2(labels, expected, tmp_path, capsys):
    described = tmp_path / "003"
    described.mkdir()
    (described / videoset.DESCRIPTION_FILE).write_text(json.dumps(
        {"num_classes": 2, "labels": ["hello", "thanks"], "num_frames": 16, "min_dim_px": 128, "crop_px": 128,
         "fps": 25.0, "duration_s": 2.0, "flow_method": "tvl1-fast", "val_holdout": {}}))
    rc = livedemo.main(["--collect", *labels, "--out", str(tmp_path), "--headless", "--source", "missing.avi"])
    err = capsys.readouterr().err
    assert rc == 2 and expected in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.gui
@pytest.mark.slow
def test_window_keys_keep_redo_and_stop(stream, xvfb, tmp_path):
    env = dict(os.environ, DISPLAY=xvfb.display, QT_QPA_PLATFORM="xcb", QT_LOGGING_RULES="*=false")
    keys = "0.3:space,result+0.3:r,result+0.3:space,result+0.3:space,result+0.3:q"  # start, redo, keep, keep, stop
    run = subprocess.run([sys.executable, str(REPO / "livedemo.py"), "--collect", *LABELS, "--takes", "2", "--out",
                          str(tmp_path), "--source", str(stream[0]), "--at-end", "loop", "--seconds", "0.8",
                          "--countdown", "0.3", "--keys", keys], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert sorted(p.relative_to(tmp_path / "003").as_posix() for p in tmp_path.rglob("take_*")) == [
        "train/left/take_0000.mp4", "train/right/take_0000.mp4"]
    assert "stopped with q: 4 takes still to record" in run.stderr


def test_a_described_set_gives_the_take_length_and_is_noted(stream, tmp_path, capsys):
    folder = tmp_path / "003"
    folder.mkdir()
    (folder / videoset.DESCRIPTION_FILE).write_text(json.dumps(
        {"num_classes": 3, "labels": list(LABELS), "num_frames": 16, "min_dim_px": 128, "crop_px": 128,
         "fps": 25.0, "duration_s": 0.8, "flow_method": "tvl1-fast", "val_holdout": {}}))
    argv = [a for a in args(stream[0], tmp_path, takes=1) if a not in ("--seconds", "1.6")]
    assert livedemo.main(argv) == 0
    out = capsys.readouterr()
    assert [r["frames"] for r in records(out.out)] == [20] * 3  # 0.8 s at 25 fps, as the description says
    assert "the next `pipeline_i3d.py --set` adds these takes to it" in out.err


# ---- issue 23 item 4, issue 24 item 4 and the messages of issue 23 ----
def test_class_csv_lists_each_take_before_it_is_on_disk(stream, tmp_path, monkeypatch):
    """A run killed at any moment leaves no take of a label class.csv does not list: the row comes first."""
    real_write_take = collect.write_take
    unlisted = []

    def write_take(folder, label, frames, fps):
        if label not in videoset.read_class_table(collect.class_file_of(folder)).index:
            unlisted.append(label)
        return real_write_take(folder, label, frames, fps)

    monkeypatch.setattr(collect, "write_take", write_take)
    assert livedemo.main(args(stream[0], tmp_path, takes=1)) == 0
    assert unlisted == [] and len(list(tmp_path.rglob("take_*"))) == 3


def test_killed_right_after_a_take_class_csv_still_lists_it(stream, tmp_path):
    """--takes 1 killed (SIGKILL) as soon as a take is on disk, three times over: class.csv lists every take's label."""
    folder = tmp_path / "003"
    paced = [a for a in args(stream[0], tmp_path, takes=1) if a != "--no-pace"]
    paced[paced.index("--seconds") + 1] = "0.8"  # 20 frames, above the 16 --size small samples: sooner on disk
    for _ in range(3):
        seen = len(list(folder.glob("train/*/take_*")))
        run = subprocess.Popen([sys.executable, str(REPO / "livedemo.py"), *paced], cwd=REPO,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while len(list(folder.glob("train/*/take_*"))) == seen and time.monotonic() < deadline:
                time.sleep(0.002)
            os.kill(run.pid, 9)
        finally:
            run.kill()
            run.wait(10)
        on_disk = {p.parent.name for p in folder.glob("train/*/take_*")}
        assert on_disk and on_disk <= set(videoset.read_class_table(folder / "class.csv").index)
    assert livedemo.main(args(stream[0], tmp_path, takes=1)) == 0
    assert list(videoset.read_class_table(folder / "class.csv").index) == list(LABELS)


def test_a_rerun_lists_takes_that_class_csv_lacks(stream, tmp_path, capsys):
    """Sets collected before the row came first: a take of an unlisted label is listed by the next run."""
    assert livedemo.main(args(stream[0], tmp_path, takes=1)) == 0
    write_video(tmp_path / "003" / "train" / "up" / "take_0001.mp4", stream[1][:TAKE_FRAMES], 25.0)
    table = videoset.read_class_table(tmp_path / "003" / "class.csv")
    videoset.write_class_table(tmp_path / "003" / "class.csv", table.values.tolist()[:2])  # "up" unlisted
    assert livedemo.main(args(stream[0], tmp_path, takes=1)) == 0
    assert list(videoset.read_class_table(tmp_path / "003" / "class.csv").index) == list(LABELS)
    assert "now lists ['up']" in capsys.readouterr().err


def test_resumed_collect_from_a_file_goes_on_where_the_kept_takes_end(stream, tmp_path, capsys):
    """Issue 24 item 4: stopped after the first take, the same command again must not replay the file from its
    start (that recorded the opening 'left' segment as 'right'): every take holds its own label's segment."""
    assert livedemo.main(args(stream[0], tmp_path, "--keys", "result+0:space,result+0:q")) == 0
    assert livedemo.main(args(stream[0], tmp_path, takes=3)) == 0
    assert "going on in" in capsys.readouterr().err
    for k, label in enumerate(LABELS):
        takes = sorted((tmp_path / "003" / "train" / label).glob("take_*"))
        assert len(takes) == 3
        for n, take in enumerate(takes):
            assert segment_error(take, stream[1], 3 * n + k) < 4, (label, n)


def test_resume_from_the_same_file_with_takes_changed_by_hand_is_refused(stream, tmp_path, capsys):
    assert livedemo.main(args(stream[0], tmp_path, "--keys", "result+0:space,result+0:space,result+0:q")) == 0
    (tmp_path / "003" / "train" / "left" / "take_0000.mp4").unlink()  # the file's first take is gone
    capsys.readouterr()
    assert livedemo.main(args(stream[0], tmp_path)) == 2
    err = capsys.readouterr().err
    assert "no frame of that file is known to hold the sign asked next" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.rglob("take_*")) == ["take_0000.mp4"]  # nothing recorded


def test_collect_into_an_unwritable_folder_is_refused_before_the_first_take(stream, tmp_path, capsys, monkeypatch):
    out = tmp_path / "ro"
    (out / "003").mkdir(parents=True)
    if os.geteuid() == 0:  # root writes anywhere: the probe's write is refused as the file system would
        real = Path.write_bytes

        def write_bytes(self, data):
            if self.parent == out / "003":
                raise PermissionError(13, "Permission denied", str(self))
            return real(self, data)

        monkeypatch.setattr(Path, "write_bytes", write_bytes)
    else:
        os.chmod(out / "003", 0o555)
    try:
        assert livedemo.main(args(stream[0], out)) == 2
    finally:
        os.chmod(out / "003", 0o755)
    captured = capsys.readouterr()
    assert records(captured.out) == []  # no take recorded for nothing
    last = captured.err.strip().splitlines()[-1]
    assert f"Cannot write into {out / '003'}" in last and "chmod u+w" in last and "Traceback" not in captured.err


def test_disk_full_at_the_class_csv_write_is_one_line(stream, tmp_path, capsys, monkeypatch):
    import errno

    def full(class_file, rows):
        raise collect.safeio.disk_full_hint(OSError(errno.ENOSPC, "No space left on device"), class_file)

    monkeypatch.setattr(videoset, "write_class_table", full)  # append_class_rows writes through it
    assert livedemo.main(args(stream[0], tmp_path)) == collect.EXIT_INCOMPLETE
    err = capsys.readouterr().err
    assert len([line for line in err.splitlines() if "Disk full" in line]) == 1, err
    assert "opencv-contrib" not in err and "Traceback" not in err and "the disk is full" in err
    assert not list(tmp_path.rglob("take_*"))


def test_save_clips_with_a_bad_label_is_refused_like_collect_labels(capsys):
    assert livedemo.main(["--headless", "--source", "missing.avi", "--save-clips", "clips", "../x"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--save-clips label '../x'" in err[0] and "plain folder name" in err[0]


# ---- issue 21 section 3: growing a set, and the one loop from --collect to training and recognition ----
@pytest.fixture(scope="module")
def other_stream(tmp_path_factory):
    """Another replayed file (a new session): 6 segments of the blob moving up, left, down, ..."""
    rng = np.random.default_rng(1)
    frames = np.concatenate([synthetic.moving_blob_frames(synthetic.DIRECTIONS[(i + 2) % 3], TAKE_FRAMES, 48, rng)
                             for i in range(6)])
    return synthetic.write_video(tmp_path_factory.mktemp("other") / "other.avi", frames, 25.0)


def test_collect_into_an_existing_set_folder_adds_signs_and_takes_that_the_pipeline_splits(
        stream, other_stream, tmp_path, capsys):
    assert livedemo.main(args(stream[0], tmp_path, takes=2)) == 0
    folder = tmp_path / "003"
    described = videoset.describe_set(folder)
    capsys.readouterr()
    argv = ["--collect", "down", "up", "--takes", "3", "--out", str(folder), "--source", str(other_stream),
            "--headless", "--no-pace", "--seconds", "1.6"]
    assert livedemo.main(argv) == 0
    out = capsys.readouterr()
    assert out.out.strip().splitlines()[-1] == f"python pipeline_i3d.py --set {folder}"  # the set folder itself
    assert "adds these takes to it" in out.err
    assert [(r["label"], Path(r["take"]).name) for r in records(out.out)] == [
        ("down", "take_0000.mp4"), ("down", "take_0001.mp4"), ("down", "take_0002.mp4"), ("up", "take_0002.mp4")]
    assert list(videoset.read_class_table(folder / "class.csv")["sClass"]) == [*LABELS, "down"]
    grown = videoset.describe_set(folder)
    assert grown["labels"] == sorted(LABELS) + ["down"]
    assert grown["val_holdout"] == {**described["val_holdout"], "down": ["train/down/take_0002.mp4"]}
    assert "Added 1 sign (down: 3 takes, 1 held out); 1 new take of up (0 held out)" in capsys.readouterr().out


def test_set_number_beside_a_set_folder_is_one_line_exit_2(tmp_path, capsys):
    (tmp_path / "003" / "train").mkdir(parents=True)
    rc = livedemo.main(["--collect", "hello", "--out", str(tmp_path / "003"), "--set-number", "4", "--headless"])
    err = capsys.readouterr().err
    assert rc == 2 and "drop --set-number 4" in err and len(err.strip().splitlines()) == 1, err


def test_train_without_collect_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        livedemo.main(["--train", "--headless"])
    assert exit_.value.code == 2 and "--train/--no-train go with --collect" in capsys.readouterr().err


def test_train_flag_runs_the_pipeline_then_live_recognition(stream, tmp_path, monkeypatch, capsys):
    ran = []
    monkeypatch.chdir(tmp_path)  # takeprep.py writes the pipeline's data-temp/ from the working folder
    monkeypatch.setattr(collect.subprocess, "call", lambda command: ran.append(command) or 5)
    assert livedemo.main(args(stream[0], tmp_path, "--train", takes=1)) == 5  # the pipeline's exit status
    assert ran == [[sys.executable, str(REPO / "pipeline_i3d.py"), "--set", str(tmp_path / "003"), "--live"]]
    assert (REPO / "pipeline_i3d.py").is_file()
    assert "Training, with live recognition on a preview meanwhile: python " in capsys.readouterr().err


@pytest.mark.parametrize("train, headless, interactive, answer, runs", [
    (None, False, True, "\n", True), (None, False, True, "Y\n", True), (None, False, True, "n\n", False),
    (None, False, True, "", False),  # end of input: no
    (None, False, False, "\n", False), (None, True, True, "\n", False),  # not a terminal, headless: no question
    (True, True, False, "", True), (False, False, True, "\n", False)])
def test_the_question_at_the_end_of_a_collection(train, headless, interactive, answer, runs, tmp_path, monkeypatch,
                                                   capsys):
    ran = []
    monkeypatch.setattr(collect.subprocess, "call", lambda command: ran.append(command) or 0)
    monkeypatch.setattr(collect, "is_interactive", lambda: interactive)
    monkeypatch.setattr(sys, "stdin", io.StringIO(answer))
    assert collect.offer_training(tmp_path, train, headless) == (0 if runs else None)
    assert len(ran) == runs
    asked = "Train on these takes now and start recognising? [Y/n]" in capsys.readouterr().err
    assert asked == (train is None and interactive and not headless)

