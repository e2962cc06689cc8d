"""Two-phase training, resume, evaluation outputs, two-stream fusion and the distributed path, on tiny
moving-blob sets (8 frames x 32 px, the smallest I3D input; 4 directions: separable by motion only)."""
import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from signlang import fullrecipe, i3d, modelinfo, safeio, synthetic
import predict
from signlang.i3d_weights import cache_dir
from signlang.clips import list_samples, load_clip
from signlang.predictor import SINGLE_VIEW, Predictor, find_models
from signlang.videoset import VideoClasses

REPO = Path(__file__).resolve().parents[1]


SIZE_PX = 32  # frames and crop: the smallest I3D input (space / 32); learnt as well as 64 px (below)
EPOCHS_ENTIRE = 3


def small_config(**overrides):
    # 24 clips: small batches give the ~100 steps this tiny set needs to be learnt, at the default rate
    # (1e-3 stayed at chance after epoch 3). Phase 2 has 3 epochs of 3 passes (36 steps each): the steps of 9
    # one-pass epochs, with a third of the per-epoch validation and checkpoints (2-3 s each). Val accuracy of
    # the last epoch 0.92 at 32 px (1.0 with 9 one-pass epochs at 32 px, 0.92 at 64 px; 2026-12-06).
    settings = dict(stream="flow", weights="rgb_kinetics400", epochs_above=1, epochs_entire=EPOCHS_ENTIRE,
                    passes=3, batch_size=2)
    settings.update(overrides)
    return fullrecipe.TrainConfig(**settings)


def blob_set(root):
    return synthetic.blob_set(root, size_px=SIZE_PX)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, kinetics_weights):
    """A flow model trained on 4 directions (6 clips each); val has 3 unseen clips per class."""
    video_set = synthetic.write_set(blob_set(tmp_path_factory.mktemp("train")), per_class=(6, 3))
    result = fullrecipe.train_i3d(video_set, small_config(), verbose=0)
    return video_set, result


def test_two_phases_write_checkpoints_log_and_curves(trained):
    video_set, result = trained
    for phase in fullrecipe.PHASES:
        for which in ("last", "best"):
            assert result[f"{phase}-{which}"].is_file()
            assert result[f"{phase}-{which}"].name.endswith(f"-blobs004-flow-i3d-{phase}-{which}.keras")
            info = modelinfo.read_model_info(result[f"{phase}-{which}"])
            assert (info["stream"], info["phase"], info["which"]) == ("flow", phase, which)
            assert (info["num_frames"], info["crop_px"], info["classes"]) == (8, SIZE_PX,
                                                                               ["dir0", "dir1", "dir2", "dir3"])
            assert info["epochs"] == (1 if phase == "above" else 1 + EPOCHS_ENTIRE) or which == "best"
            assert info["selected_on"] == ("val_accuracy" if which == "best" else None)
    log = pd.read_csv(result["csv"])
    assert list(log["phase"]) == [1] + [2] * EPOCHS_ENTIRE
    assert list(log["epoch"]) == list(range(1 + EPOCHS_ENTIRE))
    assert result["png"].stat().st_size > 10_000
    # the reported number is the last epoch's (fixed in advance); the best one is the selection number
    assert result["last_val_accuracy"] == pytest.approx(log["val_accuracy"].iloc[-1])
    assert modelinfo.read_model_info(result["entire-last"])["score"] == pytest.approx(log["val_accuracy"].iloc[-1])
    assert result["val_accuracy"] == pytest.approx(log["val_accuracy"][log["phase"] == 2].max())
    assert modelinfo.read_model_info(result["entire-best"])["score"] == pytest.approx(result["val_accuracy"])
    assert not list(video_set.model_dir.glob(".tmp-*"))  # nothing half-written left behind
    assert not list(video_set.model_dir.glob(".resume-*"))  # the resume state goes when the run is done
    assert not list(video_set.model_dir.glob("*.lock"))  # and so does the run's lock (fullrecipe.lock_path)
    # inference checkpoints hold no optimizer: the best one is no larger than the weights need
    weights_bytes = sum(w.nbytes for w in i3d.load_model(result["entire-best"]).get_weights())
    assert result["entire-best"].stat().st_size < 1.2 * weights_bytes


def test_phase_one_trains_only_the_new_top_and_batchnorm_stays_frozen(trained):
    _, result = trained
    above = i3d.load_model(result["above-last"])
    entire = i3d.load_model(result["entire-last"])
    conv, norm = "Mixed_4f__Branch_2__Conv3d_0b_3x3__conv_3d", "Mixed_4f__Branch_2__Conv3d_0b_3x3__batch_norm"
    fresh = i3d.Inception_Inflated3d(include_top=False, weights="rgb_kinetics400",
                                           input_shape=(8, SIZE_PX, SIZE_PX, 2))
    initial = fresh.get_layer(conv).get_weights()[0]
    assert np.array_equal(above.get_layer(conv).get_weights()[0], initial)
    assert not np.allclose(entire.get_layer(conv).get_weights()[0], initial)
    # statistics re-estimated on the flow clips before phase 1 (AdaBN), then frozen
    assert not np.allclose(above.get_layer(norm).moving_mean.numpy(), fresh.get_layer(norm).moving_mean.numpy())
    for a, b in zip(above.get_layer(norm).get_weights(), entire.get_layer(norm).get_weights()):
        assert np.array_equal(a, b)
    assert not np.array_equal(above.get_layer("Top__Conv3d_0c_1x1__conv_3d").get_weights()[0],
                              entire.get_layer("Top__Conv3d_0c_1x1__conv_3d").get_weights()[0])


def test_short_training_beats_chance_on_unseen_clips(trained):
    video_set, result = trained
    evaluation = predict.evaluate(video_set, Predictor([result["entire-best"]]), "val")
    assert evaluation["num_clips"] == 12
    assert evaluation["top1"] >= 0.75  # chance is 0.25


def test_evaluation_outputs_agree_with_predictions(trained):
    video_set, result = trained
    predictor = Predictor([result["entire-best"]])
    prefix = video_set.log_dir / "eval"
    evaluation = predict.evaluate(video_set, predictor, "val", prefix)
    table = pd.read_csv(evaluation["csv"])
    assert table["clips"].sum() == 12
    assert table["correct"].sum() == int(np.sum(evaluation["predictions"] == evaluation["labels"]))
    assert evaluation["png"].stat().st_size > 5_000
    # the same clips, whole (the Predictor takes its views' crops), predicted one by one give the same labels in order
    clips = list_samples(video_set.flow_dir / "val", VideoClasses(video_set.class_file))
    one_by_one = [int(predictor({"flow": load_clip(path, "flow", 8)[None]}).argmax()) for path, _ in clips]
    assert one_by_one == list(evaluation["predictions"])
    assert [label for _, label in clips] == list(evaluation["labels"])
    assert evaluation["top1"] == pytest.approx(np.mean(evaluation["predictions"] == evaluation["labels"]))


def test_one_recipe_train_i3d_defaults_are_the_pipelines():
    import pipeline_i3d

    defaults = fullrecipe.TrainConfig()
    assert (defaults.epochs_above, defaults.epochs_entire) == (pipeline_i3d.EPOCHS_ABOVE, pipeline_i3d.EPOCHS_ENTIRE)
    assert (defaults.batch_size, defaults.weights) == (pipeline_i3d.BATCH_SIZE, pipeline_i3d.WEIGHTS)


def test_small_sets_get_longer_epochs_for_about_the_demo_recipes_steps(tmp_path, capsys):
    auto = fullrecipe.auto_schedule
    assert auto(160, 4) == (1, 22)  # the demo set: its recipe (40 steps x 22 epochs)
    assert auto(2000, 4) == (1, 22)  # a large set: at least the demo's epochs
    assert auto(50, 4) == (2, 36)  # 25 steps per epoch: 900 steps
    assert auto(12, 4) == (7, 42)  # 21 steps per epoch: 882 steps
    for clips in range(1, 200):
        passes, epochs = auto(clips, 4)
        steps = -(-clips * passes // 4)
        assert steps >= fullrecipe.MIN_STEPS_PER_EPOCH and (epochs == 22 or 880 <= steps * epochs < 880 + steps)
    video_set = synthetic.write_set(synthetic.blob_set(tmp_path), per_class=(3, 1))  # 12 training clips
    config = fullrecipe.with_epochs(video_set, fullrecipe.TrainConfig(batch_size=4))
    assert (config.passes, config.epochs_entire) == (7, 42)
    assert "42 epochs of 21 steps for 12 training clips (each clip 7 times per epoch)" in capsys.readouterr().out
    given = fullrecipe.with_epochs(video_set, small_config(epochs_entire=3, passes=1))
    assert (given.passes, given.epochs_entire) == (1, 3)  # given: kept, one pass


def test_phase_two_warms_up_then_decays_to_zero():
    config = fullrecipe.TrainConfig(learning_rate_entire=3e-4, warmup_entire=0.1)
    assert fullrecipe.learning_rate(config, "above", 100) == config.learning_rate_above
    rate = fullrecipe.learning_rate(config, "entire", 100)
    values = [float(rate(step)) for step in range(101)]
    assert values[0] == 0.0 and values[5] == pytest.approx(1.5e-4) and values[10] == pytest.approx(3e-4)
    assert max(values) == pytest.approx(3e-4) and values[99] < 1e-6
    assert all(a <= b for a, b in zip(values[:10], values[1:11]))  # rising, then
    assert all(a >= b for a, b in zip(values[10:], values[11:]))  # falling
    cold = fullrecipe.learning_rate(dataclasses.replace(config, warmup_entire=0.0), "entire", 100)
    assert float(cold(0)) == pytest.approx(3e-4)


def test_resume_names_the_settings_it_keeps():
    """A rerun resumes with the run's own recorded settings; these are the ones named in its one line.
    (Resuming itself, after kills at chosen moments: tests/test_train_faults.py.)"""
    assert fullrecipe.settings_kept(small_config(epochs_entire=3), small_config(epochs_entire=5)) == [
        "epochs_entire=3 (not 5)"]
    progressed = small_config(epochs_entire=3, phases_done=["above"], best={"above": 0.5}, history=[{"epoch": 0}],
                              resume={"phase": "above", "epochs": 1, "file": "above-epoch0001.keras"}, workers=2)
    assert fullrecipe.settings_kept(progressed, small_config(epochs_entire=3)) == []


def test_runs_saved_before_precision_resume_with_their_precision():
    old = dict(vars(small_config()))
    del old["precision"]
    for mixed, precision in ((False, "float32"), (True, "float16")):
        config = fullrecipe.TrainConfig(**fullrecipe.legacy_settings({**old, "mixed_precision": mixed}))
        assert config.precision == precision
    assert fullrecipe.legacy_settings(vars(small_config(precision="bfloat16")))["precision"] == "bfloat16"
    with pytest.raises(ValueError, match="precision='int8'"):
        fullrecipe.train_i3d(None, small_config(precision="int8"))


def test_two_stream_fusion_averages_logits(tmp_path):
    paths = []
    for channels in (2, 3):
        base = i3d.Inception_Inflated3d(include_top=False, weights=None, input_shape=(8, 32, 32, channels))
        model = i3d.add_i3d_top(base, 5, dropout_prob=0.0)
        paths.append(tmp_path / f"m{channels}.keras")
        model.save(paths[-1])
    predictor = Predictor(paths, views=SINGLE_VIEW)  # the fusion alone (test_predict checks the views' average)
    assert set(predictor.streams) == {"flow", "rgb"}
    rng = np.random.default_rng(0)
    inputs = {"flow": rng.uniform(-1, 1, (3, 8, 32, 32, 2)).astype("float32"),
              "rgb": rng.uniform(-1, 1, (3, 8, 32, 32, 3)).astype("float32")}
    probs = {s: np.asarray(predictor.models[s](inputs[s], training=False), dtype=np.float64) for s in inputs}
    logits = (np.log(probs["flow"]) + np.log(probs["rgb"])) / 2
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert np.allclose(predictor(inputs), expected, atol=1e-6)


def test_predictor_rejects_models_of_different_sets(tmp_path):
    paths = []
    for classes in (4, 5):
        base = i3d.Inception_Inflated3d(include_top=False, weights=None, input_shape=(8, 32, 32, 2 + classes % 2))
        paths.append(tmp_path / f"m{classes}.keras")
        i3d.add_i3d_top(base, classes).save(paths[-1])
    with pytest.raises(ValueError, match="differ in input size or class count"):
        Predictor(paths)


def test_no_trained_model_says_what_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="run `make demo` or `python train_i3d.py` first"):
        find_models(synthetic.blob_set(tmp_path))


MIRRORED = "test_mirrored_strategy_on_two_logical_cpus"
MIRRORED_SCRIPT = textwrap.dedent("""
    import sys
    sys.path[:0] = [{repo!r}]
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from signlang import fullrecipe, synthetic
    strategy = fullrecipe.make_strategy("mirrored")
    assert strategy.num_replicas_in_sync == 2, strategy.num_replicas_in_sync
    video_set = synthetic.write_set(synthetic.blob_set(__import__("pathlib").Path({root!r}), size_px={size}),
                                    per_class=(2, 1))
    config = fullrecipe.TrainConfig(epochs_above=1, epochs_entire=1, batch_size=4, distribute="mirrored")
    result = fullrecipe.train_i3d(video_set, config, verbose=0)
    print("REPLICAS", strategy.num_replicas_in_sync, "BEST", result["entire-best"].is_file())
""")


@pytest.fixture(scope="module", autouse=True)
def mirrored_run(request, tmp_path_factory):
    """The future of test_mirrored_strategy_on_two_logical_cpus's subprocess, started with this module's first
    test when that test is selected (and the weights are there): it then runs beside the in-process training of
    `trained`, each of them spending most of its time on one core (TensorFlow's graph tracing, checkpoints)."""
    path = cache_dir() / i3d.WEIGHTS["rgb_kinetics400"].cache_name
    selected = any(getattr(item, "originalname", None) == MIRRORED for item in request.session.items)
    if not selected or not path.is_file():
        yield None
        return
    root = tmp_path_factory.mktemp("mirrored")
    script = MIRRORED_SCRIPT.format(repo=str(REPO), root=str(root), size=SIZE_PX)
    with ThreadPoolExecutor(1) as pool:
        yield pool.submit(subprocess.run, [sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, cwd=REPO)


@pytest.mark.slow
def test_mirrored_strategy_on_two_logical_cpus(mirrored_run, kinetics_weights):
    """The tf.distribute path, in a subprocess because logical devices must be set before TensorFlow starts."""
    done = mirrored_run.result()
    assert done.returncode == 0, done.stderr[-3000:]
    assert "REPLICAS 2 BEST True" in done.stdout


def test_a_run_being_trained_by_another_process_is_refused_before_anything_is_written(tmp_path):
    video_set = synthetic.write_set(synthetic.blob_set(tmp_path), per_class=(3, 1))
    config = small_config(epochs_entire=1)
    prefix = fullrecipe.run_prefix(video_set, "20261202-000000", "flow")
    video_set.model_dir.mkdir(parents=True)
    state = fullrecipe.state_path(prefix)
    state.write_text(json.dumps(dataclasses.asdict(config)))  # an unfinished run: resumed by default
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        fullrecipe.lock_path(prefix).write_text(str(other.pid))
        with pytest.raises(ValueError, match=f"Run {prefix.name} is in use by process {other.pid}"):
            fullrecipe.train_i3d(video_set, config)
        assert json.loads(state.read_text()) == dataclasses.asdict(config)  # untouched
    finally:
        other.kill()
        other.wait()
    # Its process gone (a killed trainer): the lock is taken over, and removed when the run finishes.
    assert safeio.claim(fullrecipe.lock_path(prefix), "the run").read_text() == str(os.getpid())
    assert not list(video_set.model_dir.glob(".tmp-*"))


def test_auto_training_precision_is_bfloat16_only_on_cpus_with_amx(monkeypatch):
    # bfloat16 training matched float32 on an AMX CPU and went NaN on one with AVX512_BF16 alone (docs/speed.md)
    monkeypatch.setattr(fullrecipe, "cpu_has_amx_bf16", lambda: False)
    assert fullrecipe.resolve_train_precision("auto") == "float32"
    monkeypatch.setattr(fullrecipe, "cpu_has_amx_bf16", lambda: True)
    assert fullrecipe.resolve_train_precision("auto") == "bfloat16"  # this suite runs on CPUs only (no GPU)
    assert fullrecipe.resolve_train_precision("float16") == "float16"
    assert fullrecipe.TrainConfig().precision == "float32"  # the library default; only the scripts resolve "auto"
