"""Your own signs, end to end with no code edit, the README's three commands: livedemo.py --collect (from a
--source video, headless) -> pipeline_i3d.py --set -> predict.py --set --video -> livedemo.py --set --source
--headless --once."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import pipeline_i3d
from conftest import run_together
from signlang import synthetic, videoset
from signlang.video import write_video

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

    assert pipeline_i3d.main([*train[2:], *SIZE, "--epochs", "1", "1"]) == 0
    out = capsys.readouterr().out
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

    assert live.returncode == 0, live.stderr
    prediction = json.loads(live.stdout.strip().splitlines()[-1])
    assert prediction
