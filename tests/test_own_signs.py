"""Your own signs, end to end with no code edit, the README's three commands: livedemo.py --collect (from a
--source video, headless) -> pipeline_i3d.py --set -> predict.py --set --video -> livedemo.py --set --source
--headless --once."""
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import pipeline_i3d
from signlang.predictor import find_models
from conftest import run_together
from signlang import synthetic, videoset
from signlang.video import video_to_frames, write_video

REPO = Path(__file__).resolve().parent.parent
SIZE = ["--num-frames", "8", "--min-dim", "32", "--crop", "32"]  # the smallest I3D input, as in test_train_i3d


@pytest.mark.slow
def test_own_set_end_to_end(tmp_path, monkeypatch, capsys, kinetics_weights):
    # The camera: a stream of 16-frame segments, a blob moving in DIRECTIONS[i % 3]; --collect asks for the
    # labels in rounds (left, right, up, left, ...), so each label's takes are one direction.
    rng = np.random.default_rng(0)
    stream = np.concatenate([synthetic.moving_blob_frames(synthetic.DIRECTIONS[i % 3], 16, 64, rng)
                             for i in range(12)])
    write_video(tmp_path / "camera.avi", stream, 10.0)
    folder = tmp_path / "data-set" / "mine" / "003"
    run = dict(cwd=tmp_path, capture_output=True, text=True, timeout=240)
    collected = subprocess.run([sys.executable, str(REPO / "livedemo.py"), "--collect", "left", "right", "up",
                                "--takes", "4", "--out", "data-set/mine", "--source", "camera.avi", "--headless",
                                "--no-pace", "--seconds", "1.6"], **run)
    assert collected.returncode == 0, collected.stderr
    assert len(list(folder.glob("train/*/take_*.mp4"))) == 12
    train = collected.stdout.strip().splitlines()[-1].split()
    assert train == ["python", "pipeline_i3d.py", "--set", "data-set/mine/003"]
    monkeypatch.chdir(tmp_path)  # data-temp/, model/, log/ are relative to the working folder

    assert pipeline_i3d.main([*train[2:], *SIZE, "--fast-epochs", "2"]) == 0
    out = capsys.readouterr().out
    # The default recipe, fast: its model is what livedemo.py --set takes; the table says which recipe ran.
    assert [p.name for p in find_models(videoset.resolve_set("data-set/mine/003"))][0].endswith("-flow-i3d-fast.keras")
    row = next(line for line in out.splitlines() if line.startswith("| mine003 |"))
    assert row.startswith("| mine003 | fast | flow | 6 |"), row  # 6 held-out takes, two of each sign
    description = json.loads((folder / "videoset.json").read_text())
    assert description["num_frames"] == 8 and sorted(description["val_holdout"]) == ["left", "right", "up"]
    held_out = [folder / take for takes in description["val_holdout"].values() for take in takes]
    # The held-out takes were extracted under val/, never under train/.
    video_set = videoset.resolve_set("data-set/mine/003")
    for take in held_out:
        label = take.parent.name
        assert (video_set.image_dir / "val" / label / take.stem).is_dir()
        assert not (video_set.image_dir / "train" / label / take.stem).exists()
    command = out.strip().splitlines()[-1].split()
    assert command[:4] == ["python", "livedemo.py", "--set", "data-set/mine/003"]

    model = command[command.index("--model") + 1]
    # The last two commands only read the model: run at the same time (each is mostly TensorFlow's start-up).
    predicted, live = run_together(
        [sys.executable, str(REPO / "predict.py"), "--set", "data-set/mine/003", *SIZE, "--model", model,
         "--video", str(held_out[0])],
        [sys.executable, str(REPO / "livedemo.py"), *command[2:], *SIZE, "--source", str(held_out[0]), "--headless",
         "--once", "--no-pace", "--countdown", "0"], **run)
    assert predicted.returncode == 0, predicted.stderr
    assert any(label in predicted.stdout for label in ("left", "right", "up"))
    # The pipeline's evaluation computed in the precision predict.py (and livedemo.py) compute in by default.
    precision = re.search(r"computing in (\w+)", predicted.stdout).group(1)
    assert f"computing in {precision}: nothing chosen on these clips" in out

    assert live.returncode == 0, live.stderr
    prediction = json.loads(live.stdout.strip().splitlines()[-1])
    assert prediction


@pytest.mark.slow
def test_write_set_holds_out_the_last_session_and_reads_back_as_a_set(tmp_path, shared_data):
    from bench import own_signs

    signs = ["zigzag", "zigzag_reversed", "square_cw"]
    folder = own_signs.write_set(tmp_path / "hard", True, signs, takes=4, seed=3, size=(96, 72), sessions=2)
    assert sorted(p.relative_to(folder).as_posix() for p in folder.glob("train/*/*.mp4")) == sorted(
        f"train/{label}/take_{take:04d}.mp4" for label in signs for take in range(4))
    assert list(videoset.read_class_table(videoset.class_file_of(folder)).index) == signs
    # The pipeline holds out the newest takes: exactly the last session's.
    session_of = own_signs.StandIn(signs, 4, True, seed=3, width=96, height=72, sessions=2).session_of
    assert session_of == [0, 0, 1, 1]
    assert videoset.holdout_split(folder) == {label: [f"train/{label}/take_0002.mp4", f"train/{label}/take_0003.mp4"]
                                              for label in sorted(signs)}
    frames = video_to_frames(folder / "train" / "zigzag" / "take_0000.mp4", None)
    assert frames.shape == (90, 72, 96, 3)
    # A rerun keeps the written takes; the same seed renders the same take, another seed another.
    before = (folder / "train" / "zigzag" / "take_0000.mp4").stat().st_mtime_ns
    own_signs.write_set(folder, True, signs, takes=4, seed=3, size=(96, 72), sessions=2)
    assert (folder / "train" / "zigzag" / "take_0000.mp4").stat().st_mtime_ns == before
    again = own_signs.StandIn(signs, 4, True, seed=3, width=96, height=72, sessions=2)
    other = own_signs.StandIn(signs, 4, True, seed=4, width=96, height=72, sessions=2)
    assert np.array_equal(again.take(0, 1), again.take(0, 1)) and not np.array_equal(again.take(0, 1),
                                                                                        other.take(0, 1))
    found = own_signs.difficulty(folder, method="farneback")
    assert (found["takes"], found["held_out"], found["signs"]) == (12, 6, 3)
    assert 0 <= found["camera_share"] <= 1 and 0 <= found["nn_accuracy"] <= 1 and found["camera_px"] > 0


def test_plain_write_set_renders_the_plain_stand_ins_takes(tmp_path):
    from bench import own_signs

    folder = own_signs.write_set(tmp_path / "plain", False, ["square_cw", "square_ccw"], takes=2, size=(96, 72))
    frames = video_to_frames(folder / "train" / "square_ccw" / "take_0001.mp4", None)
    expected = own_signs.take_frames("square_ccw", 5, (5, 1, 1), 96, 72, 30.0, 90)   # the camera's seeds
    other = own_signs.take_frames("square_ccw", 5, (5, 0, 1), 96, 72, 30.0, 90)      # the take before it
    assert frames.shape == expected.shape
    assert np.abs(frames.astype(int) - expected).mean() < 0.5 * np.abs(frames.astype(int) - other).mean()
    with pytest.raises(ValueError, match="zigzag_reversed"):
        own_signs.write_set(tmp_path / "bad", False, ["zigzag_reversed", "zigzag"], takes=2)


def test_hard_without_the_real_clip_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    from bench import own_signs
    from signlang import standin

    monkeypatch.setattr(standin, "REAL_CLIP", tmp_path / "missing" / "signing_clip.mp4")
    assert own_signs.main(["--hard", "--work", str(tmp_path / "work")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "signing_clip.mp4 is missing" in err and "--hard" in err
    assert not (tmp_path / "work").exists()
