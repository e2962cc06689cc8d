"""The hands stream in prediction: fusion with an I3D stream, predict.py --stream hands, the exported hands network."""
import keras
import numpy as np
import pytest

import predict
from signlang import handsnet, modelexport, modelinfo
from signlang.hands import NUM_FEATURES
from signlang.handsnet import HandsConfig, build_handsnet, train_hands
from signlang.handsynth import write_sign_set
from signlang.predictor import Predictor, find_models

NUM_FRAMES, CLASSES = 8, 3


def flow_stand_in(path, num_frames=NUM_FRAMES):
    """A tiny model with a flow I3D's input (frames, h, w, 2) and CLASSES outputs (what Predictor sees of one)."""
    inputs = keras.Input((num_frames, 16, 16, 2))
    x = keras.layers.GlobalAveragePooling3D()(inputs)
    model = keras.Model(inputs, keras.layers.Dense(CLASSES, activation="softmax")(x))
    model.layers[-1].set_weights([np.array([[2.0, -1.0, 0.5], [0.3, 1.0, -2.0]], np.float32),
                                  np.array([0.1, 0.4, -0.3], np.float32)])
    model.save(path)
    return model


def hands_model(path, num_frames=NUM_FRAMES, seed=0):
    keras.utils.set_random_seed(seed)
    model = build_handsnet(num_frames, CLASSES)
    model.save(path)
    return model


def test_fusion_averages_the_log_probabilities_of_hands_and_flow(tmp_path):
    flow, hands = flow_stand_in(tmp_path / "flow.keras"), hands_model(tmp_path / "hands.keras")
    predictor = Predictor([tmp_path / "flow.keras", tmp_path / "hands.keras"])
    assert predictor.streams == ("flow", "hands") and predictor.num_frames == NUM_FRAMES
    rng = np.random.default_rng(0)
    inputs = {"flow": rng.uniform(-1, 1, (2, NUM_FRAMES, 16, 16, 2)).astype(np.float32),
              "hands": rng.normal(0, 1, (2, NUM_FRAMES, NUM_FEATURES)).astype(np.float32)}
    fused = predictor(inputs)
    log_p = (np.log(np.asarray(flow(inputs["flow"]), np.float64))
             + np.log(np.asarray(hands(inputs["hands"]), np.float64))) / 2
    expected = np.exp(log_p) / np.exp(log_p).sum(axis=1, keepdims=True)
    assert np.allclose(fused, expected, atol=1e-6)
    alone = Predictor([tmp_path / "hands.keras"])
    assert alone.streams == ("hands",) and np.allclose(alone({"hands": inputs["hands"]}), hands(inputs["hands"]),
                                                       atol=1e-6)
    assert set(alone.blank_inputs()) == {"hands"} and alone.blank_inputs()["hands"].shape == (1, NUM_FRAMES,
                                                                                              NUM_FEATURES)


def test_models_of_other_clip_lengths_are_not_fused(tmp_path):
    flow_stand_in(tmp_path / "flow.keras")
    hands_model(tmp_path / "hands.keras", num_frames=NUM_FRAMES + 4)
    with pytest.raises(ValueError, match="differ in input size"):
        Predictor([tmp_path / "flow.keras", tmp_path / "hands.keras"])


@pytest.fixture(scope="module")
def trained_hands(tmp_path_factory):
    """A hands run on 3 synthetic signs (a few seconds), its set."""
    root = tmp_path_factory.mktemp("handsynth")
    video_set = write_sign_set(root, takes=(6, 3), num_frames=NUM_FRAMES, num_signs=CLASSES)
    train_hands(video_set, HandsConfig(epochs=6), verbose=0)
    return video_set


@pytest.mark.slow
def test_predict_evaluates_the_hands_model_found_for_the_set(trained_hands, capsys):
    found = find_models(trained_hands, streams=("hands",))
    assert len(found) == 1 and handsnet.is_hands_checkpoint(found[0])
    predictor = Predictor(found)
    result = predict.evaluate(trained_hands, predictor, "val")
    model = keras.models.load_model(found[0])
    x, y, _ = handsnet.load_split(trained_hands.stream_dir("hands") / "val",
                                  handsnet.VideoClasses(trained_hands.class_file))
    from signlang.hands import hand_features

    assert result["num_clips"] == len(y) == 9
    assert np.array_equal(result["predictions"], model.predict(hand_features(x), verbose=0).argmax(1))
    assert np.array_equal(result["labels"], y)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["onnx", "litert"])
def test_exported_hands_model_predicts_as_keras_and_carries_its_record(trained_hands, fmt):
    (checkpoint,) = find_models(trained_hands, streams=("hands",))
    target, difference = modelexport.export_checkpoint(checkpoint, fmt)
    assert difference <= modelexport.EXPORT_TOLERANCE
    assert modelinfo.read_model_info(target)["stream"] == "hands"
    exported, keras_model = Predictor([target]), Predictor([checkpoint])
    assert exported.streams == ("hands",)
    clip = np.random.default_rng(1).normal(0, 1, (1, NUM_FRAMES, NUM_FEATURES)).astype(np.float32)
    assert np.allclose(exported({"hands": clip}), keras_model({"hands": clip}), atol=1e-5)
    assert target.stat().st_size < 5_000_000  # the budget for the exported hands model
