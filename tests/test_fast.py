"""The fast recipe (issue 21): the activation cache (written once, reused, invalidated, crash-safe), the averaged
weights it delivers (checked against an average computed by hand), a run on a set that grew (the earlier classes' top
copied, the new class appended), a rerun that reuses its model, and which model the set's users take."""
import time
from dataclasses import replace

import numpy as np
import pytest

from signlang import actcache, fastrecipe, i3d, modelinfo, preview, synthetic
import train_i3d


def clip_folders(root, names=("a/one", "a/two", "b/three")):
    folders = []
    for name in names:
        folder = root / "oflow" / "train" / name
        folder.mkdir(parents=True)
        (folder / "flow000.jpg").write_bytes(name.encode())
        folders.append(folder)
    return folders


def test_activations_are_computed_once_then_read_back(tmp_path):
    clips = clip_folders(tmp_path)
    calls = []

    def compute(index):
        calls.append(index)
        return np.full((2, 3), index + 0.5)

    cache = actcache.cache_dir(tmp_path, "flow", actcache.cache_key(lower="abc", views=2)) / "train"
    first, computed = actcache.cached_views(cache, clips, compute)
    again, recomputed = actcache.cached_views(cache, clips, compute)
    assert (computed, recomputed, calls) == (3, 0, [0, 1, 2])
    for a, b, index in zip(first, again, range(3)):
        assert a.dtype == actcache.CACHE_DTYPE and np.array_equal(a, b) and float(a[0, 0]) == index + 0.5


def test_a_changed_clip_or_key_is_computed_again_and_its_old_file_removed(tmp_path):
    clips = clip_folders(tmp_path)
    folder = actcache.cache_dir(tmp_path, "flow", actcache.cache_key(lower="abc")) / "train"
    actcache.cached_views(folder, clips, lambda i: np.zeros(2))
    (clips[1] / "flow000.jpg").write_bytes(b"extracted again, other bytes")
    calls = []
    actcache.cached_views(folder, clips, lambda i: calls.append(i) or np.ones(2))
    assert calls == [1]
    assert len(list((folder / "a").glob("two-*.npy"))) == 1  # the stale one is gone
    assert len(list((folder / "a").glob("one-*.npy"))) == 1  # "one" is not mistaken for a stale "two"
    # Another frozen part (other weights, layer, size or views) is another folder: nothing read from the first.
    assert actcache.cache_key(lower="abc") != actcache.cache_key(lower="abd")
    other = actcache.cache_dir(tmp_path, "flow", actcache.cache_key(lower="abd")) / "train"
    assert actcache.cached_views(other, clips, lambda i: np.ones(2))[1] == 3


def test_a_run_killed_while_filling_the_cache_keeps_the_finished_clips_and_no_partial_file(tmp_path):
    clips = clip_folders(tmp_path)
    folder = tmp_path / "cache" / "train"

    def dies_at_the_third(index):
        if index == 2:
            raise KeyboardInterrupt
        return np.zeros(4)

    with pytest.raises(KeyboardInterrupt):
        actcache.cached_views(folder, clips, dies_at_the_third)
    files = sorted(p.name for p in folder.rglob("*") if p.is_file())
    assert len(files) == 2 and not any(name.startswith(".") for name in files)
    assert actcache.cached_views(folder, clips, lambda i: np.zeros(4))[1] == 1


def test_the_first_views_of_every_clip_come_early_and_each_clip_is_cached_whole_as_in_one_pass(tmp_path):
    """cached_views_first_early: the first views of every clip (cached ones from their file) go to on_first before
    any clip's other views are computed; each clip's views are those of one pass over its own generator; a second
    call computes nothing and does not call on_first; a run killed in the second pass keeps the clips finished."""
    clips = clip_folders(tmp_path)
    folder = tmp_path / "cache" / "train"
    events = []

    def start(index):
        return np.random.default_rng(index)

    def more(index, rng, count):
        events.append(("more", index, count))
        return rng.random((count, 3))

    actcache.store(folder, clips[1], np.random.default_rng(1).random((4, 3)))  # cached by an earlier run
    arrays, computed = actcache.cached_views_first_early(
        folder, clips, start, more, views=4, first=2, on_first=lambda first: events.append(("first", first)))
    assert computed == 2
    assert [e[:3] for e in events if e[0] == "more"] == [("more", 0, 2), ("more", 2, 2), ("more", 0, 2), ("more", 2, 2)]
    assert events[2][0] == "first"  # after the first views, before the others
    for index, array in enumerate(arrays):
        whole = np.random.default_rng(index).random((4, 3)).astype(actcache.CACHE_DTYPE)
        assert np.array_equal(array, whole) and np.array_equal(events[2][1][index], whole[:2])
    events.clear()
    again, recomputed = actcache.cached_views_first_early(folder, clips, start, more, views=4, first=2,
                                                         on_first=lambda first: events.append("first"))
    assert recomputed == 0 and events == [] and all(np.array_equal(a, b) for a, b in zip(arrays, again))

    def dies_at_the_last(index, rng, count):
        if index == 2 and count == 2 and events:  # the last clip's second pass
            raise KeyboardInterrupt
        return rng.random((count, 3))

    for clip in clips:
        (clip / "flow000.jpg").write_bytes(b"extracted again")
    with pytest.raises(KeyboardInterrupt):
        actcache.cached_views_first_early(folder, clips, start, dies_at_the_last, views=4, first=2,
                                          on_first=lambda first: events.append("first"))
    assert [actcache.read_cached(folder, clip) is not None for clip in clips] == [True, True, False]
    assert not any(p.name.startswith(".") for p in folder.rglob("*"))


def test_adapting_in_two_steps_gives_the_statistics_of_one_pass_and_a_killed_run_the_same(tmp_path):
    """frozen_part on a tiny network (BatchNorm below and above the cut, and in the top): the statistics up to the
    cut first (saved, naming the cache), those above in finish(): equal to one AdaBN pass over the whole model; a
    run killed between the two steps gets the same from the saved lower part; a set adapted in one file (before
    2026-12-07) loads it and keeps it as the cache's name. (On the I3D and the hard stand-in's 60 clips the two
    steps gave every array equal to the bit: docs/training.md.)"""
    import keras

    from signlang.fullrecipe import adapt_batchnorm
    from signlang.i3d_names import TOP_PREFIX

    def fresh_model():
        keras.utils.set_random_seed(0)
        inputs = keras.Input((4, 8, 8, 2))
        x = keras.layers.Conv3D(4, 3, padding="same", name="Low_conv")(inputs)
        x = keras.layers.BatchNormalization(name="Low_batch_norm")(x)
        x = keras.layers.MaxPooling3D(2, name="Cut")(keras.layers.ReLU()(x))
        x = keras.layers.Conv3D(6, 1, name="High_conv")(x)
        x = keras.layers.ReLU()(keras.layers.BatchNormalization(name="High_batch_norm")(x))
        x = keras.layers.BatchNormalization(name=TOP_PREFIX + "BatchNorm")(x)
        x = keras.layers.Dense(3, name=TOP_PREFIX + "Logits")(keras.layers.GlobalAveragePooling3D()(x))
        return keras.Model(inputs, x)

    clips = np.random.default_rng(0).normal(1.0, 2.0, size=(12, 4, 8, 8, 2)).astype(np.float32)

    def batches():
        return [(clips[i:i + 4],) for i in range(0, len(clips), 4)]

    def adapted(model):
        return {f"{layer.name}:{i}": w for layer in fastrecipe.adapted_layers(model)
                for i, w in enumerate(layer.get_weights())}

    one_pass = fresh_model()
    before = adapted(one_pass)
    adapt_batchnorm(one_pass, batches())
    expected = adapted(one_pass)
    assert TOP_PREFIX + "Logits:0" not in expected  # the new classifier is the seed's, not adapted
    whole, lower = tmp_path / "flow-adapted.npz", tmp_path / "flow-adapted-lower.npz"
    said = []
    key, finish = fastrecipe.frozen_part(fresh_model(), "Cut", whole, lower, batches, lambda: said.append(1))
    assert key == lower and lower.is_file() and not whole.exists() and said == [1]
    with np.load(lower) as saved:
        assert sorted(saved.files) == ["Low_batch_norm:0", "Low_batch_norm:1", "Low_batch_norm:2",
                                       "Low_batch_norm:3", "Low_conv:0", "Low_conv:1"]
    lower_bytes = lower.read_bytes()
    finish()
    with np.load(whole) as saved:
        assert sorted(saved.files) == sorted(expected)
        for name, value in expected.items():
            np.testing.assert_allclose(saved[name], value, rtol=1e-6, atol=1e-6, err_msg=name)
    for name in ("Low_batch_norm:2", "High_batch_norm:2", TOP_PREFIX + "BatchNorm:2"):  # moving means moved
        assert not np.allclose(expected[name], before[name]), name
    first = whole.read_bytes()
    whole.unlink()  # killed after the lower part was saved
    key, finish = fastrecipe.frozen_part(fresh_model(), "Cut", whole, lower, batches, lambda: said.append(2))
    assert key == lower and said == [1] and lower.read_bytes() == lower_bytes
    finish()
    assert whole.read_bytes() == first
    lower.unlink()  # a set adapted in one file
    model = fresh_model()
    key, finish = fastrecipe.frozen_part(model, "Cut", whole, lower, batches)
    assert (key, finish) == (whole, None) and not lower.exists()
    with np.load(whole) as saved:
        assert all(np.array_equal(adapted(model)[name], saved[name]) for name in saved.files)


def test_the_delivered_weights_are_the_average_of_the_last_steps(tmp_path):
    """fast_optimizer's EMA, finalized, equals an exponential moving average of the per-step weights computed
    here by hand (momentum 1 - 1 / (0.1 * steps), the first step's weights as its start)."""
    import keras

    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    steps = 40
    config = fastrecipe.FastConfig(learning_rate=0.05, batch_size=8, epochs=steps)
    model.compile(optimizer=fastrecipe.fast_optimizer(config, steps), loss="categorical_crossentropy")
    seen = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append([w.copy() for w in model.get_weights()])

    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 4)).astype("float32")
    y = keras.utils.to_categorical(rng.integers(0, 3, 8), 3)
    model.fit(x, y, batch_size=8, epochs=steps, verbose=0, shuffle=False, callbacks=[Record()])
    raw = seen[-1]  # the last step's own weights; fit() ends by putting the average into the model
    momentum = 1 - 1 / (fastrecipe.FAST_EMA_FRACTION * steps)
    average = seen[0]
    for weights in seen[1:]:
        average = [momentum * a + (1 - momentum) * w for a, w in zip(average, weights)]
    for delivered, expected, last in zip(model.get_weights(), average, raw):
        assert np.allclose(delivered, expected, atol=1e-6)
        assert not np.allclose(delivered, last, atol=1e-4)  # it is not simply the last step's weights


def test_the_cached_views_come_in_a_new_order_each_epoch_every_view_once_the_same_for_the_same_seed():
    """shuffled_batches (what the fast recipe's fit() runs on): each pass holds every view once with its label, in
    batches of the given size (the last one shorter), in another order than the pass before; the seed fixes the
    orders."""
    from signlang.batches import shuffled_batches

    x = np.arange(10, dtype=np.float32)[:, None, None] * np.ones((1, 2, 3), np.float32)
    y = np.eye(10, dtype=np.float32)

    def passes(seed, count=3):
        batches = shuffled_batches(x, y, 4, seed)
        return [[(bx.numpy(), by.numpy()) for bx, by in batches] for _ in range(count)]

    first = passes(seed=5)
    orders = []
    for epoch in first:
        assert [len(bx) for bx, _ in epoch] == [4, 4, 2]
        views = np.concatenate([bx[:, 0, 0] for bx, _ in epoch])
        labels = np.concatenate([np.argmax(by, 1) for _, by in epoch])
        assert sorted(views) == list(range(10)) and np.array_equal(views, labels)
        orders.append(list(views))
    assert orders[0] != orders[1] or orders[1] != orders[2]
    assert [[list(bx[:, 0, 0]) for bx, _ in epoch] for epoch in passes(seed=5)] == [
        [list(bx[:, 0, 0]) for bx, _ in epoch] for epoch in first]


def test_mixup_blends_each_view_and_its_label_with_the_same_weight():
    """With mixup, every sample is w * one view + (1 - w) * another, and its label the same blend of their labels:
    with views whose value is their index and one-hot labels, value == labels . indices; the weights vary."""
    from signlang.batches import shuffled_batches

    x = np.arange(10, dtype=np.float32)[:, None, None] * np.ones((1, 2, 3), np.float32)
    y = np.eye(10)  # float64, as keras.utils.to_categorical gives them
    weights = []
    for bx, by in shuffled_batches(x, y, 4, seed=1, mixup=0.2):
        bx, by = bx.numpy(), by.numpy()
        assert np.allclose(by.sum(1), 1) and (by >= 0).all() and np.count_nonzero(by, 1).max() <= 2
        assert np.allclose(bx, (by @ np.arange(10, dtype=np.float32))[:, None, None], atol=1e-5)
        weights.extend(by.max(1))
    assert np.ptp(weights) > 0.05


@pytest.mark.slow
def test_a_run_reuses_its_cache_and_a_grown_set_starts_from_the_previous_model(tmp_path, capsys):
    """First two classes, then the set grows by a third (appended last, as videoset.grow_description does): the
    frozen part and the earlier clips' activations are reused, the first model's top copied for its classes."""
    grown = synthetic.write_set(synthetic.blob_set(tmp_path, num_classes=3, num_frames=8, size_px=32), per_class=(3, 1))
    later = tmp_path / "later"
    rows = grown.class_file.read_text()
    for split in ("train", "val"):
        for stream in ("image", "oflow"):
            (later / split / stream).mkdir(parents=True)
            (grown.temp_dir / stream / split / "dir2").rename(later / split / stream / "dir2")
    grown.class_file.write_text("\n".join(rows.splitlines()[:3]) + "\n")
    video_set = replace(grown, num_classes=2, number=3)  # the same folders, two classes recorded so far

    first = fastrecipe.train_fast(video_set, fastrecipe.FastConfig(weights=None, views=2, epochs=2, batch_size=4))
    record = modelinfo.read_model_info(first["model"])
    assert record["phase"] == "fast" and record["classes"] == ["dir0", "dir1"] and record["started_from"] is None
    assert "8 clips computed, 0 read" in capsys.readouterr().out  # 2 x 3 training clips + 2 held out

    for split in ("train", "val"):
        for stream in ("image", "oflow"):
            (later / split / stream / "dir2").rename(grown.temp_dir / stream / split / "dir2")
    grown.class_file.write_text(rows)
    time.sleep(1.1)  # a new stamp for the second model
    second = fastrecipe.train_fast(grown, fastrecipe.FastConfig(weights=None, views=2, epochs=0, batch_size=4))
    assert "4 clips computed, 8 read" in capsys.readouterr().out
    record = modelinfo.read_model_info(second["model"])
    assert record["classes"] == ["dir0", "dir1", "dir2"] and record["started_from"] == first["model"].name
    before = i3d.load_model(first["model"], compile=False)
    after = i3d.load_model(second["model"], compile=False)
    for layer in before.layers:
        if layer.name.startswith("Preview__"):  # the preview's linear layer: fitted anew to the grown set's views
            continue
        for w_old, w_new in zip(layer.get_weights(), after.get_layer(layer.name).get_weights()):
            assert np.array_equal(w_old, w_new[..., :w_old.shape[-1]]), layer.name  # 0 epochs: copied as it was
    # A run with another recipe (another seed, say) on the same clips starts afresh, not from the model before it.
    time.sleep(1.1)
    third = fastrecipe.train_fast(grown, fastrecipe.FastConfig(weights=None, views=2, epochs=0, batch_size=4, seed=1))
    assert modelinfo.read_model_info(third["model"])["started_from"] is None
    # ... from the set's adapted BatchNorm statistics above the cut too (not the initial ones: moving mean 0), as
    # the first run did, which adapted them.
    afresh = i3d.load_model(third["model"], compile=False)
    for layer in ("Mixed_5c__Branch_0__Conv3d_0a_1x1__batch_norm", "Top__BatchNorm"):
        mean = afresh.get_layer(layer).moving_mean.numpy()
        assert np.abs(mean).max() > 0 and np.array_equal(mean, before.get_layer(layer).moving_mean.numpy()), layer
    # The same recipe again on the same clips (the pipeline run again): that model, not trained again.
    capsys.readouterr()
    again = fastrecipe.train_fast(grown, fastrecipe.FastConfig(weights=None, views=2, epochs=0, batch_size=4, seed=1))
    assert again["model"] == third["model"] and "reusing it" in capsys.readouterr().out
    # grow=False (the benchmark's comparison): a new model of the grown set, not started from the one before.
    time.sleep(1.1)
    apart = fastrecipe.train_fast(grown, fastrecipe.FastConfig(weights=None, views=2, epochs=0, batch_size=4),
                                 reuse=False, grow=False)
    assert modelinfo.read_model_info(apart["model"])["started_from"] is None
    assert len(fastrecipe.fast_models(grown, "flow")) == 4


def test_the_live_demo_switches_to_a_model_trained_while_it_runs(tmp_path, monkeypatch, capsys):
    """livedemo started without --model takes the set's newest models from the next recording on (the set grew and
    pipeline_i3d.py ran again meanwhile); a model that does not fit the set (trained before it grew) is named and not
    taken."""
    import livedemo

    fast, full, other = tmp_path / "p-fast.keras", tmp_path / "f-entire-best.keras", tmp_path / "o.keras"
    newest = [fast]
    monkeypatch.setattr(livedemo, "find_models", lambda video_set, streams, out: list(newest))

    class FakePredictor:
        def __init__(self, paths):
            self.paths = paths

        def check_set(self, video_set, classes):
            if self.paths == [other]:
                raise ValueError("trained on 2 classes, the set has 3")

    monkeypatch.setattr(livedemo, "load_predictor", lambda video_set, paths, precision, streams, views=None: FakePredictor(paths))
    check = livedemo.newer_model_check("set", FakePredictor([fast]), "classes", ("flow",))
    assert check() is None  # still the same model
    newest[:] = [full]
    switched = check()
    assert switched.paths == [full] and "switched to the newer model" in capsys.readouterr().err
    assert check() is None  # already on it
    newest[:] = [other]
    assert check() is None and "not switching to o.keras: trained on 2 classes" in capsys.readouterr().err
    assert check() is None and capsys.readouterr().err == ""  # said once


def test_the_sets_users_take_the_newest_model_of_either_recipe(tmp_path):
    """predict.py --set and livedemo.py --set (find_models): the fast model when it is newer than the newest finished
    full run, the full run's when that finished later."""
    from signlang.predictor import find_models

    video_set = synthetic.blob_set(tmp_path, num_classes=2)
    video_set.model_dir.mkdir()
    full = video_set.model_dir / f"20261206-100000-{video_set.tag}-flow-i3d-entire-best.keras"
    fast = video_set.model_dir / f"20261206-110000-{video_set.tag}-flow-i3d-fast.keras"
    full.write_bytes(b"")  # no state file beside it: counts as finished
    assert find_models(video_set) == [full]
    fast.write_bytes(b"")
    assert find_models(video_set) == [fast]
    later = video_set.model_dir / f"20261206-120000-{video_set.tag}-flow-i3d-entire-best.keras"
    later.write_bytes(b"")
    assert find_models(video_set) == [later]


def test_a_set_too_big_for_the_fast_recipe_is_refused_with_the_fix(tmp_path, monkeypatch, capsys):
    """The fast recipe keeps every cached view in memory: past FAST_MAX_GIB train_i3d.py says so and names --recipe
    full (exit 2), before computing anything."""
    video_set = synthetic.write_set(synthetic.blob_set(tmp_path, num_classes=2, num_frames=8, size_px=32),
                                    per_class=(2, 1))
    monkeypatch.setattr(train_i3d, "set_from_args", lambda args: video_set)
    monkeypatch.setattr(fastrecipe, "FAST_MAX_GIB", 1e-6)
    assert train_i3d.main(["--weights", "none"]) == 2
    err = capsys.readouterr().err
    assert "activations of all 32 training views in memory" in err  # 2 x 2 clips x 8 views and "--recipe full" in err
    assert not list((video_set.temp_dir / "cache").glob("flow-*"))  # nothing computed


def test_the_full_recipes_options_need_recipe_full(capsys):
    with pytest.raises(SystemExit) as stopped:
        train_i3d.main(["--set", "demo", "--epochs-entire", "3"])
    assert stopped.value.code == 2 and "--epochs-entire sets the full recipe's training; add --recipe full" in (
        capsys.readouterr().err)


def test_the_fast_recipe_takes_precision_float32_or_bfloat16_not_float16(capsys):
    with pytest.raises(SystemExit) as stopped:
        train_i3d.main(["--set", "demo", "--precision", "float16"])
    assert stopped.value.code == 2 and "the fast recipe trains in float32 or bfloat16" in capsys.readouterr().err


def test_the_fast_recipes_epochs_give_about_360_steps():
    assert fastrecipe.fast_epochs(30 * 8, 16) == 24  # the plain stand-in: 15 steps per epoch
    assert fastrecipe.fast_epochs(63 * 8, 16) == 12  # the hard one: 32 steps
    assert fastrecipe.fast_epochs(160 * 8, 16) == 5  # the demo set: 80 steps
    assert fastrecipe.fast_epochs(2000 * 8, 16) == fastrecipe.FAST_MIN_EPOCHS  # a large set: at least 4 passes


def test_an_update_of_a_grown_set_trains_about_60_steps():
    assert fastrecipe.fast_epochs(30 * 8, 16, update=True) == 4  # 60 steps
    assert fastrecipe.fast_epochs(63 * 8, 16, update=True) == 2  # 64
    assert fastrecipe.fast_epochs(160 * 8, 16, update=True) == 1  # 80: at least one pass over every view
    assert fastrecipe.fast_epochs(2000 * 8, 16, update=True) == 1


@pytest.mark.slow
def test_a_bfloat16_cache_is_its_own_folder_and_close_to_the_float32_one(tmp_path, capsys):
    """FastConfig.cache_precision: the frozen part computes the cache in bfloat16 ("auto" on a CPU with native
    bfloat16); its activations go to another folder than float32's, differ from them by rounding only, and the
    model's record says which filled its cache."""
    video_set = synthetic.write_set(synthetic.blob_set(tmp_path, num_classes=2, num_frames=8, size_px=32),
                                    per_class=(2, 1))
    folders = {}
    for precision in ("float32", "bfloat16"):
        config = fastrecipe.FastConfig(weights=None, views=2, epochs=0, batch_size=4, cache_precision=precision)
        trained = fastrecipe.train_fast(video_set, config, reuse=False)
        assert "6 clips computed, 0 read" in capsys.readouterr().out  # 2 x 2 training clips + 2 held out
        assert modelinfo.read_model_info(trained["model"])["cache_precision"] == precision
        [folders[precision]] = {p.parents[2] for p in (video_set.temp_dir / "cache").rglob("*.npy")} - set(
            folders.values())
    for exact in sorted(folders["float32"].rglob("*.npy")):
        rounded = np.load(folders["bfloat16"] / exact.relative_to(folders["float32"])).astype(np.float32)
        exact = np.load(exact).astype(np.float32)
        assert np.linalg.norm(rounded - exact) <= 0.05 * np.linalg.norm(exact) and np.linalg.norm(exact) > 0


def test_bfloat16_training_runs_on_a_bfloat16_copy_whose_weights_go_back_into_the_delivered_model(tmp_path, capsys,
                                                                                                 monkeypatch):
    """FastConfig.precision="bfloat16" (--precision bfloat16): fit() trains a copy computing in bfloat16 (weights
    float32); what it ends with is what the delivered model holds, and the delivered model computes in float32. On a
    CPU without AMX a warning says so first."""
    import keras

    from signlang import precision

    monkeypatch.setattr(precision, "cpu_has_amx_bf16", lambda: False)

    video_set = synthetic.write_set(synthetic.blob_set(tmp_path, num_classes=2, num_frames=8, size_px=32),
                                    per_class=(2, 1))
    seen = {}

    class Marks(keras.callbacks.Callback):  # no steps run (epochs=0): the weights it sets are the trained ones
        def on_train_begin(self, logs=None):
            seen["policies"] = {layer.dtype_policy.name for layer in self.model.layers if layer.weights}
            top = self.model.get_layer("Top__Conv3d_0c_1x1__conv_3d")
            top.set_weights([np.full_like(w, 0.5) for w in top.get_weights()])

    config = fastrecipe.FastConfig(weights=None, views=2, epochs=0, batch_size=4, ema=False, precision="bfloat16")
    trained = fastrecipe.train_fast(video_set, config, callbacks=(Marks(),))
    assert "warning: this CPU has no AMX: bfloat16 training went NaN" in capsys.readouterr().err
    assert seen["policies"] == {"mixed_bfloat16"}
    delivered = i3d.load_model(trained["model"], compile=False)
    assert all(np.all(w == 0.5) for w in delivered.get_layer("Top__Conv3d_0c_1x1__conv_3d").get_weights())
    assert {layer.dtype_policy.name for layer in delivered.layers if layer.weights} == {"float32"}
    assert modelinfo.read_model_info(trained["model"])["recipe"]["precision"] == "bfloat16"


def test_a_diverging_run_stops_at_once_and_saves_no_model(tmp_path):
    video_set = synthetic.write_set(synthetic.blob_set(tmp_path, num_classes=2, num_frames=8, size_px=32),
                                    per_class=(2, 1))
    config = fastrecipe.FastConfig(weights=None, views=2, epochs=3, batch_size=4, learning_rate=1e30, warmup=0.0)
    with pytest.raises(ValueError, match="diverged: loss nan.*nothing of this run was saved. Check the clips"):
        fastrecipe.train_fast(video_set, config)
    assert fastrecipe.fast_models(video_set, "flow") == [] and preview.preview_models(video_set, "flow") == []


def test_a_model_recorded_before_a_setting_existed_counts_as_trained_with_its_default(tmp_path):
    """A rerun of the pipeline reuses a model whose record lacks a FastConfig setting added later (its default is
    what that run did), and not one whose recorded value differs."""
    from dataclasses import asdict

    path = tmp_path / "m-fast.keras"
    old = {key: value for key, value in asdict(fastrecipe.FastConfig()).items() if key != "precision"}
    record = {"phase": "fast", "recipe": old, "data": "d", "classes": ["a", "b"], "stream": "flow"}
    modelinfo.write_model_info(path, {**{key: None for key in modelinfo.REQUIRED}, **record})
    assert fastrecipe.same_fast_run(path, fastrecipe.FastConfig(), ["a", "b"], "d") is not None
    assert fastrecipe.same_fast_run(path, fastrecipe.FastConfig(precision="bfloat16"), ["a", "b"], "d") is None
