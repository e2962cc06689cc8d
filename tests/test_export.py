"""Exported models (predict.py --export, modelexport.py): the ONNX and LiteRT files compute what the Keras model
computes, with either stem, carry the checkpoint's record, and run in Predictor like the .keras file."""
import numpy as np
import pytest

from signlang import i3d, modelexport, modelinfo
import predict
from signlang.i3d_names import SEP, TOP_PREFIX, layer_name
from signlang.predictor import Predictor

SHAPE = (8, 32, 32, 2)  # tiny flow clips: the whole I3D, every pooling kind, a few seconds to export
CLASSES = ["a", "b", "c", "d", "e"]
FORMATS = tuple(modelexport.FORMATS)
# The bound every comparison uses, and why it is what it is: modelexport.EXPORT_TOLERANCE (1e-4 on
# probabilities; float32 in other summation orders gives ~1e-6, a wrong graph ~1e-1).
TOLERANCE = modelexport.EXPORT_TOLERANCE


def clips(num: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, (num, *SHAPE)).astype(np.float32)  # flow in [-1, 1]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A random tiny I3D with a 5-class top saved as .keras with its record. Its top BatchNorm standardises the
    features of a few clips and its logits are scaled up, so that the probabilities are peaked and the top-1
    differs between clips (a random backbone alone answers nearly uniformly, and the same for every clip)."""
    import keras

    keras.utils.set_random_seed(0)  # not whatever the tests run before in this process left the global generators at
    path = tmp_path_factory.mktemp("export") / "tiny-flow-i3d-entire-best.keras"
    model = i3d.add_i3d_top(i3d.Inception_Inflated3d(include_top=False, weights=None, input_shape=SHAPE),
                                  len(CLASSES))
    pooled = keras.Model(model.inputs, model.get_layer(layer_name("Logits/AvgPool3d")).output)
    features = np.asarray(pooled(clips(16, seed=7))).reshape(16, -1)
    model.get_layer(TOP_PREFIX + "BatchNorm").set_weights(
        [np.zeros(features.shape[1]), features.mean(axis=0), features.var(axis=0)])
    top = model.get_layer(TOP_PREFIX + "Conv3d_0c_1x1" + SEP + "conv_3d")
    top.set_weights([w * 100 for w in top.get_weights()])
    model.save(path)
    modelinfo.write_model_info(path, {"stream": "flow", "flow_method": "dis", "num_frames": SHAPE[0],
                                      "min_dim_px": 40, "crop_px": SHAPE[1], "classes": CLASSES})
    return path


@pytest.fixture(scope="module")
def keras_probs(checkpoint):
    probs = np.asarray(i3d.load_model(checkpoint, compile=False)(clips(3), training=False))
    assert probs.max() - probs.min() > 0.3 and len(set(probs.argmax(axis=1))) > 1, probs  # comparisons that mean something
    return probs


@pytest.fixture(scope="module")
def exported(checkpoint):
    """format -> the file `python predict.py --export FORMAT --model X.keras` wrote."""
    for fmt in FORMATS:
        assert predict.main(["--export", fmt, "--model", str(checkpoint)]) == 0
    return {fmt: modelexport.export_path(checkpoint, fmt) for fmt in FORMATS}


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_is_written_beside_the_checkpoint_with_its_record(checkpoint, exported, fmt):
    path = exported[fmt]
    assert path == checkpoint.with_suffix({"onnx": ".onnx", "litert": ".tflite"}[fmt]) and path.is_file()
    info = modelinfo.read_model_info(path)
    assert info == {**modelinfo.read_model_info(checkpoint), "exported_from": checkpoint.name, "export_format": fmt}
    assert not [p.name for p in checkpoint.parent.iterdir() if p.name.startswith(".tmp-")]


@pytest.mark.parametrize("fmt", FORMATS)
def test_exported_outputs_match_the_keras_model(exported, keras_probs, fmt):
    runtime = modelexport.load_exported(exported[fmt])
    assert runtime.input_shape == (None, *SHAPE) and runtime.output_shape == (None, len(CLASSES))
    probs = runtime(clips(3))
    np.testing.assert_allclose(probs, keras_probs, rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(runtime(clips(3)[:1]), keras_probs[:1], rtol=0, atol=TOLERANCE)  # batch resized


@pytest.mark.slow  # two more exports
@pytest.mark.parametrize("fmt", FORMATS)
def test_the_fast_recipes_combined_model_exports_the_same_probabilities(checkpoint, tmp_path, fmt):
    """The fast recipe delivers its trained layers and the preview's linear layer as one model (pooling to a grid,
    a dense layer, a mean of logits): the export computes what it computes."""
    from signlang import preview
    from signlang.fastrecipe import FAST_CUT

    model = i3d.load_model(checkpoint, compile=False)
    size = preview.grid_pooled(np.zeros((1, *model.get_layer(FAST_CUT).output.shape[1:]))).shape[1]
    weights = np.random.default_rng(3).normal(size=(size, len(CLASSES))).astype(np.float32) * 0.05
    combined = preview.combined_model(model, FAST_CUT, weights, np.zeros(len(CLASSES), np.float32),
                                      TOP_PREFIX + "Predictions")
    path = tmp_path / "tiny-flow-i3d-fast.keras"
    combined.save(path)
    modelinfo.write_model_info(path, modelinfo.read_model_info(checkpoint))
    assert predict.main(["--export", fmt, "--model", str(path)]) == 0
    expected = np.asarray(combined(clips(3), training=False))
    got = modelexport.load_exported(modelexport.export_path(path, fmt))(clips(3))
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE)


@pytest.mark.slow  # two more exports (~25 s); the fixture's exports are of the stock stem
@pytest.mark.parametrize("fmt", FORMATS)
def test_space_to_depth_stem_exports_the_same_graph_and_stays_swapped(checkpoint, keras_probs, tmp_path, fmt):
    model = i3d.load_model(checkpoint, compile=False)  # the stem computes as space-to-depth
    swapped = [layer.name for layer in model._flatten_layers() if "convolution_op" in vars(layer)]
    assert swapped
    path = tmp_path / f"s2d{modelexport.FORMATS[fmt]}"
    assert modelexport.export_model(model, path, fmt) <= TOLERANCE
    np.testing.assert_allclose(modelexport.load_exported(path)(clips(3)), keras_probs, rtol=0, atol=TOLERANCE)
    assert [layer.name for layer in model._flatten_layers() if "convolution_op" in vars(layer)] == swapped
    assert not [layer.name for layer in model._flatten_layers() if "call" in vars(layer)]  # pools restored


@pytest.mark.parametrize("pool", [("max", (1, 3, 3), (1, 2, 2), "same"), ("max", (3, 3, 3), (1, 1, 1), "same"),
                                  ("max", (3, 3, 3), (2, 2, 2), "same"), ("max", (2, 2, 2), (2, 2, 2), "same"),
                                  ("average", (2, 4, 4), (1, 1, 1), "valid")])
def test_pooling_as_2d_poolings_equals_the_3d_layer(pool):
    """Every pooling I3D has (model_i3d), on odd sizes where 'same' pads unevenly."""
    import keras

    mode, size, strides, padding = pool
    kind = keras.layers.MaxPooling3D if mode == "max" else keras.layers.AveragePooling3D
    layer = kind(size, strides=strides, padding=padding)
    x = np.random.default_rng(2).normal(size=(2, 5, 7, 9, 3)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(modelexport.pool_as_2d(layer, x)), np.asarray(layer(x)), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("fmt", FORMATS)
def test_predictor_on_the_export_gives_the_keras_top1_and_the_recorded_flow(checkpoint, exported, fmt):
    inputs = {"flow": clips(6, seed=5)}
    keras_predictor = Predictor([checkpoint], "float32")
    predictor = Predictor([exported[fmt]], "auto")
    assert predictor.precision == "float32" and predictor.streams == ("flow",)
    assert (predictor.num_frames, predictor.height, predictor.num_classes) == (8, 32, len(CLASSES))
    assert predictor.flow_method() == "dis"  # read from the export's own record
    expected, probs = keras_predictor(inputs), predictor(inputs)
    assert list(probs.argmax(axis=1)) == list(expected.argmax(axis=1)) and len(set(expected.argmax(axis=1))) > 1
    np.testing.assert_allclose(probs, expected, rtol=0, atol=TOLERANCE)
    predictor(predictor.blank_inputs())  # livedemo's warm-up call


def test_bfloat16_with_an_export_is_refused(exported):
    with pytest.raises(ValueError, match="computes in float32"):
        Predictor([exported["onnx"]], "bfloat16")


@pytest.mark.parametrize("name, content, says", [("model.pt", b"weights", "not a .keras, .onnx or .tflite file"),
                                                 ("model.onnx", b"garbage", "not a readable ONNX model"),
                                                 ("model.tflite", b"garbage", "not a runnable LiteRT model")])
def test_unknown_or_broken_model_file_is_one_line_and_exit_2(tmp_path, capsys, name, content, says):
    video, model = tmp_path / "clip.avi", tmp_path / name
    video.write_bytes(b"x")
    model.write_bytes(content)
    assert predict.main(["--video", str(video), "--model", str(model)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(model) in err and says in err, err


def test_export_of_an_exported_file_is_refused(tmp_path, capsys):
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(b"an export")
    assert predict.main(["--export", "litert", "--model", str(onnx)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "export from the .keras checkpoint" in err, err
