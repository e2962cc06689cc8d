"""The preview model (issue 21, section 2): its features and softmax layer checked numerically, the fit on known data,
and the fast recipe writing it before it trains, the set's users taking it meanwhile and the trained model after."""
import time

import numpy as np
import pytest

from signlang import fastrecipe, modelinfo, preview, synthetic
from signlang.predictor import find_models


def softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("height", [6, 7])  # 7: the odd row is left out, by the numpy features as by the layer
def test_the_preview_model_computes_the_fitted_features_and_softmax(height):
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((4, height, 6, 3))
    cut = keras.layers.Conv3D(5, 1, activation="relu", name="cut")(inputs)
    above = keras.layers.Conv3D(2, 1, name="above")(cut)  # what the trained model has above the cut: not used
    model = keras.Model(inputs, above)
    weights = np.random.default_rng(1).normal(size=(4 * 2 * 2 * 5, 3)).astype(np.float32)
    bias = np.array([0.1, -0.2, 0.3], np.float32)
    clips = np.random.default_rng(2).normal(size=(2, 4, height, 6, 3)).astype(np.float32)
    expected = softmax(preview.grid_pooled(keras.Model(inputs, cut)(clips).numpy()) @ weights + bias)
    got = preview.preview_model(model, "cut", weights, bias)(clips).numpy()
    assert got.shape == (2, 3) and np.allclose(got, expected, atol=1e-5)


def test_the_combined_model_is_the_softmax_of_the_mean_of_both_logits():
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((4, 6, 6, 3))
    cut = keras.layers.Conv3D(5, 1, activation="relu", name="cut")(inputs)
    logits = keras.layers.Dense(3, name="logits")(keras.layers.GlobalAveragePooling3D()(cut))
    trained = keras.Model(inputs, keras.layers.Activation("softmax", name="probs")(logits))
    weights = np.random.default_rng(1).normal(size=(4 * 2 * 2 * 5, 3)).astype(np.float32)
    bias = np.array([0.1, -0.2, 0.3], np.float32)
    clips = np.random.default_rng(2).normal(size=(2, 4, 6, 6, 3)).astype(np.float32)
    trained_logits = keras.Model(inputs, logits)(clips).numpy()
    preview_logits = preview.grid_pooled(keras.Model(inputs, cut)(clips).numpy()) @ weights + bias
    got = preview.combined_model(trained, "cut", weights, bias, "probs")(clips).numpy()
    assert np.allclose(got, softmax((trained_logits + preview_logits) / 2), atol=1e-5)
    # its top-1 is that of the summed log-probabilities, as train_fast scores it
    assert (np.argmax(got, 1) == np.argmax(np.log(softmax(trained_logits)) + preview_logits, 1)).all()


def test_grid_pooled_averages_each_cell_in_time_order():
    x = np.arange(2 * 4 * 4, dtype=np.float32).reshape(1, 2, 4, 4, 1)
    # time step 0: cells [[0,1,4,5], [2,3,6,7], [8,9,12,13], [10,11,14,15]]; step 1: the same + 16
    assert preview.grid_pooled(x).tolist() == [[2.5, 4.5, 10.5, 12.5, 18.5, 20.5, 26.5, 28.5]]
    with pytest.raises(ValueError, match="smaller than the preview's 2x2 grid"):
        preview.grid_pooled(np.zeros((1, 2, 1, 4, 3)))


def test_the_linear_fit_learns_separable_classes_whatever_the_features_scale():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 40)) * 2

    def draw(n):
        labels = np.repeat(np.arange(3), n)
        return centres[labels] + rng.normal(size=(len(labels), 40)), labels

    (x, y), (x_test, y_test) = draw(20), draw(10)
    weights, bias = preview.fit_linear(x, y, 3)
    assert np.mean(np.argmax(x_test @ weights + bias, axis=1) == y_test) >= 0.9
    # Standardized inside: features in other units and offsets give the same probabilities.
    scale, offset = rng.uniform(0.01, 100, size=40), rng.uniform(-50, 50, size=40)
    weights2, bias2 = preview.fit_linear(x * scale + offset, y, 3)
    assert np.allclose(softmax(x_test @ weights + bias), softmax((x_test * scale + offset) @ weights2 + bias2),
                       atol=1e-3)


@pytest.mark.slow
def test_the_fast_recipe_writes_the_preview_before_training_and_the_sets_users_take_it_until_the_model_is_saved(
        tmp_path, capsys, monkeypatch):
    import keras

    from signlang.predictor import Predictor

    video_set = synthetic.write_set(synthetic.blob_set(tmp_path, num_classes=2, num_frames=8, size_px=32),
                                    per_class=(3, 2))
    seen = {}

    class AtTrainingStart(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            previews = preview.preview_models(video_set, "flow")
            seen["previews"] = previews
            seen["found"] = find_models(video_set)
            seen["record"] = modelinfo.read_model_info(previews[0])
            predictor = Predictor(previews)
            seen["probs"] = predictor(predictor.blank_inputs())

    stale = preview.preview_path(video_set, "20261206-000000", "flow")  # a run killed before its model was saved
    video_set.model_dir.mkdir(parents=True)
    stale.write_bytes(b"")
    modelinfo.info_path(stale).write_text("{}")
    from signlang import actcache

    stored, store = [], actcache.store

    def store_seeing_the_preview(folder, clip, activations):  # the first view of every clip came before
        stored.append((len(activations), preview.preview_models(video_set, "flow")))
        return store(folder, clip, activations)

    monkeypatch.setattr(actcache, "store", store_seeing_the_preview)
    monkeypatch.setattr(fastrecipe, "FAST_PREVIEW_VIEWS", 1)
    trained = fastrecipe.train_fast(video_set, fastrecipe.FastConfig(weights=None, views=2, epochs=1, batch_size=4),
                                    callbacks=[AtTrainingStart()])
    train_clips = len(modelinfo.read_model_info(trained["model"])["train_clips"])
    whole = [previews for views, previews in stored if views == 2]  # the held-out clips' centre views: 1
    assert len(whole) == train_clips and all(len(previews) == 1 and previews != [stale] for previews in whole)
    out, err = capsys.readouterr()
    assert out.index("Preview model ready after") < out.index("Preview model fitted again to all 2 views")
    assert 0 <= trained["first_preview_accuracy"] <= 1
    assert len(seen["previews"]) == 1 and seen["previews"][0].name.endswith(f"-{video_set.tag}-flow-i3d-preview.keras")
    assert seen["found"] == seen["previews"]  # no other model of the set yet: the preview, with a note
    assert "note: using the preview model" in err
    assert seen["record"]["phase"] == "preview" and seen["record"]["classes"] == ["dir0", "dir1"]
    assert seen["probs"].shape[-1] == 2 and np.allclose(np.sum(seen["probs"]), 1, atol=1e-4)
    assert 0 <= trained["preview_accuracy"] <= 1 and trained["preview_seconds"] <= trained["seconds"]
    # Once the model is saved the preview is gone (the stale one with it) and the set's users take the model.
    assert preview.preview_models(video_set, "flow") == [] and not modelinfo.info_path(stale).exists()
    assert find_models(video_set) == [trained["model"]]
    assert modelinfo.read_model_info(trained["model"])["preview_score"] == trained["preview_accuracy"]


def test_a_preview_is_taken_only_when_newer_than_the_sets_trained_models(tmp_path, capsys):
    video_set = synthetic.blob_set(tmp_path, num_classes=2)
    video_set.model_dir.mkdir()
    fast = video_set.model_dir / f"20261206-110000-{video_set.tag}-flow-i3d-fast.keras"
    same = preview.preview_path(video_set, "20261206-110000", "flow")  # a run's own preview, kept by a benchmark
    for path in (fast, same):
        path.write_bytes(b"")
    assert find_models(video_set) == [fast]
    later = preview.preview_path(video_set, time.strftime("%Y%m%d-%H%M%S"), "flow")
    later.write_bytes(b"")
    assert find_models(video_set) == [later] and "note: using the preview model" in capsys.readouterr().err


def fake_training(tmp_path, script: str) -> list[str]:
    """A child process standing in for the pipeline's training run: `script` runs with `folder` (tmp_path) set."""
    import sys

    return [sys.executable, "-c", f"import time, pathlib, sys; folder = pathlib.Path({str(tmp_path)!r})\n{script}"]


def test_live_recognition_starts_on_the_preview_while_training_goes_on_then_the_pipeline_waits_for_it(tmp_path):
    """pipeline_i3d.py --live (live_while_training): the training's output is shown until its preview is saved;
    live recognition then starts while the training still runs; after the demo the rest of the output is shown and
    the pipeline ends with the training."""
    import io

    import pipeline_i3d

    command = fake_training(tmp_path, """
import os
print("frames, flow, activations ...", "own session" if os.getpgrp() == os.getpid() else "")
(folder / "preview.keras").write_bytes(b"")
while not (folder / "live-started").exists():
    time.sleep(0.05)
time.sleep(1.0)
print("epoch 1 of 1")
(folder / "fast.keras").write_bytes(b"")
""")
    out, seen = io.StringIO(), {}

    def start_live():
        seen["shown"] = out.getvalue()
        (tmp_path / "live-started").write_bytes(b"")
        time.sleep(0.1)
        seen["trained yet"] = (tmp_path / "fast.keras").exists()
        return 0

    status = pipeline_i3d.live_while_training(command, tmp_path / "log" / "run.log",
                                              lambda: (tmp_path / "preview.keras").exists(), start_live, out,
                                              poll_s=0.05)
    assert status == 0 and "frames, flow, activations ..." in seen["shown"] and "epoch 1" not in seen["shown"]
    assert "own session" in seen["shown"]  # Ctrl-C at the terminal ends the demo, not the training
    assert not seen["trained yet"]
    text = out.getvalue()
    assert "The preview model is ready" in text and text.index("Waiting for the training") < text.index("epoch 1")
    assert (tmp_path / "fast.keras").exists() and "epoch 1 of 1" in (tmp_path / "log" / "run.log").read_text()


def test_a_training_that_fails_before_its_preview_starts_no_live_demo_and_gives_its_status(tmp_path):
    import io

    import pipeline_i3d

    started = []
    out = io.StringIO()
    status = pipeline_i3d.live_while_training(
        fake_training(tmp_path, 'print("error: no clips under train/"); sys.exit(2)'), tmp_path / "run.log",
        lambda: False, lambda: started.append(1) or 0, out, poll_s=0.05)
    assert status == 2 and started == [] and "error: no clips under train/" in out.getvalue()
    # A run with nothing left to train (its model reused) writes no preview: live recognition starts when it ends.
    status = pipeline_i3d.live_while_training(
        fake_training(tmp_path, 'print("reusing it")'), tmp_path / "run.log", lambda: False,
        lambda: started.append(1) or 7, out, poll_s=0.05)
    assert status == 7 and started == [1]


def test_ctrl_c_while_waiting_for_the_training_stops_it_as_at_a_terminal(tmp_path):
    import io
    import signal

    import pipeline_i3d

    command = fake_training(tmp_path, """
try:
    print("training", flush=True)
    time.sleep(30)
except KeyboardInterrupt:
    print("stopped by Ctrl-C; the cache is kept")
    sys.exit(130)
""")
    out = io.StringIO()

    def ready():  # Ctrl-C once the training runs
        if "training" in out.getvalue():
            signal.raise_signal(signal.SIGINT)
        return False

    start = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        pipeline_i3d.live_while_training(command, tmp_path / "run.log", ready, lambda: 0, out, poll_s=0.05)
    assert "stopped by Ctrl-C; the cache is kept" in out.getvalue() and time.perf_counter() - start < 20


def test_a_training_log_that_cannot_be_written_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    import pipeline_i3d

    video_set = synthetic.blob_set(tmp_path, num_classes=2)
    video_set.log_dir.parent.mkdir(parents=True, exist_ok=True)
    video_set.log_dir.write_text("a file where the log folder should be")
    assert pipeline_i3d.live_on_preview(video_set, ["--set", "x"], []) == 2
    err = capsys.readouterr().err
    assert "cannot write the training's log" in err and "Traceback" not in err
