"""All steps of the MobileNet + LSTM path, parameters at the top: demo data -> frames -> flow -> features -> LSTM.

    python pipeline_mobile_lstm.py                         # the built-in demo set, the constants below
    python pipeline_mobile_lstm.py --set data-set/mine/005   # any set folder (videoset.py describes it)

The seed's lighter second architecture: a 2D CNN turns every frame and every optical-flow image into a
feature vector (feature.py), an LSTM classifies the sequence (train_mobile_lstm.py). Frames and flow go
to the same folders as pipeline_i3d.py, so whichever pipeline runs second reuses them. Every step skips
what is already done. The seed found this path overfits to the signers it has seen (0.84 val accuracy on
an easy split, 0.13 on ChaLearn's signer-independent one), so only signer-independent splits are reported:
the demo set's val signers never appear in train.
"""
from signlang import tfquiet; tfquiet.install()  # before any TF import: holds back its benign start-up lines
import argparse
import sys
import time

import numpy as np

import feature
import model_mobile
import train_mobile_lstm
from signlang import demoset, steps
from signlang.evaluation import print_evaluation
from signlang.videoset import DEMO_SET, add_set_arguments, set_from_args  # noqa: F401
from signlang.flow import DEFAULT_FLOW_METHOD
from signlang.video import frame_indices

# The step modules import Keras only inside their functions, so --help answers at once and the frame/flow
# worker processes (which re-import this module) start fast.

# ---- what to run -------------------------------------------------------
VIDEO_SET = DEMO_SET          # or CHALEARN_020 / CHALEARN_249 (prepare_chalearn.py first); see videoset.py
STREAM = "flow"               # "rgb", "flow", or "both" (one LSTM on each frame's rgb + flow features concatenated);
                              # with the untrained CNN, rgb features add nothing on the demo set (val top-1, best
                              # epoch: rgb 18 %, flow 43 %, both 42 %) and cost as much again; try both with imagenet
FEATURE_MODEL = "mobilenet"   # the seed's choice (1024 features, ~6 ms per 128 px frame on CPU); or "inception"
WEIGHTS = "imagenet"          # ImageNet features, as in the seed; downloaded once into ~/.keras/models
OFFLINE_WEIGHTS = "none"      # when ImageNet weights cannot be downloaded: a random, BatchNorm-calibrated MobileNet
INPUT_PX = VIDEO_SET.crop_px  # CNN input: the set's crop (demo 128: MobileNet has ImageNet weights for 128)
FLOW_METHOD = DEFAULT_FLOW_METHOD  # the same flow as pipeline_i3d.py, so its flow folders are reused
EPOCHS = 50                   # the seed: 50; an epoch over the demo features takes about a second
BATCH_SIZE = 16               # the seed: 16
LEARNING_RATE = 1e-3          # the seed's rate for images
WORKERS = 2                   # processes for frame/flow extraction (2-core laptop)
TIMED_CLIPS = 20              # val clips timed for the per-clip inference cost
# ------------------------------------------------------------------------


def compute_features(video_set, streams, weights: str) -> None:
    """Features of every stream's frame folders (feature.py); raises WeightsUnavailableError for imagenet offline."""
    for stream in streams:
        frame_dir = video_set.stream_dir(stream)
        feature.frames_dir_to_features_dir(frame_dir, feature.feature_dir(video_set, stream, FEATURE_MODEL, weights),
                                           FEATURE_MODEL, weights, stream, num_frames=video_set.num_frames,
                                           crop_px=video_set.crop_px,
                                           input_px=INPUT_PX if video_set is VIDEO_SET else video_set.crop_px)


def inference_ms(video_set, config: train_mobile_lstm.LstmConfig, model_path, num_clips: int = TIMED_CLIPS) -> float:
    """Median milliseconds per clip for CNN features of every frame (all streams) + the LSTM, on this machine.

    Frames and flow images are read from disk before the clock starts: this is the network cost only,
    the cost a live demo adds to computing the flow.
    """
    import keras

    extractors = {}
    for stream in train_mobile_lstm.stream_parts(config.stream):
        extractors[stream] = feature.load_extractor(feature.feature_dir(video_set, stream, config.model,
                                                                        config.weights))
    lstm = keras.models.load_model(model_path, compile=False)
    folders = [f for f in feature.video_folders(video_set.image_dir)
               if f.relative_to(video_set.image_dir).parts[0] == "val"]
    folders = [folders[i] for i in frame_indices(len(folders), min(num_clips, len(folders)))]
    times = []
    for folder in folders:
        images = {}
        for stream, (_, info) in extractors.items():
            source = folder if stream == "rgb" else video_set.flow_dir / folder.relative_to(video_set.image_dir)
            images[stream] = feature.load_images(source, stream, info["input_px"], info["num_frames"], info["crop_px"])
        start = time.perf_counter()
        features = [feature.images_features(images[s], extractors[s][0], config.model) for s in extractors]
        lstm.predict_on_batch(np.concatenate(features, axis=-1)[None])
        times.append(time.perf_counter() - start)
    return float(np.median(times[1:] if len(times) > 1 else times) * 1000)  # the first call builds the graph


def run(video_set=VIDEO_SET, stream=STREAM) -> dict:
    """Runs every step; returns the val evaluation, the time each step took (s) and the inference cost."""
    seconds = {}
    start = time.perf_counter()
    demoset.ensure_demo_set(video_set, WORKERS)
    seconds["demo data"] = time.perf_counter() - start

    start = time.perf_counter()
    steps.videos_dir_to_frames_dir(video_set.video_dir, video_set.image_dir, video_set.num_frames,
                                   video_set.min_dim_px, workers=WORKERS)
    seconds["frames"] = time.perf_counter() - start

    streams = train_mobile_lstm.stream_parts(stream)
    start = time.perf_counter()
    if "flow" in streams:
        flow_method = FLOW_METHOD if video_set.folder is None else video_set.flow_method  # a folder set: its own
        steps.check_pipeline_flow(video_set.flow_dir, flow_method, "pipeline_mobile_lstm.py")
        steps.frames_dir_to_flows_dir(video_set.image_dir, video_set.flow_dir, flow_method, workers=WORKERS)
    seconds["flow"] = time.perf_counter() - start

    start = time.perf_counter()
    weights = WEIGHTS
    try:
        compute_features(video_set, streams, weights)
    except model_mobile.WeightsUnavailableError as error:
        print(f"WARNING: {error}\nWARNING: going on with weights={OFFLINE_WEIGHTS!r}: expect far lower accuracy "
              "than with ImageNet features")
        weights = OFFLINE_WEIGHTS
        compute_features(video_set, streams, weights)
    seconds["features"] = time.perf_counter() - start

    config = train_mobile_lstm.LstmConfig(stream=stream, model=FEATURE_MODEL, weights=weights, epochs=EPOCHS,
                                          batch_size=BATCH_SIZE, learning_rate=LEARNING_RATE)
    start = time.perf_counter()
    trained = train_mobile_lstm.train_mobile_lstm(video_set, config)
    seconds["train"] = time.perf_counter() - start

    start = time.perf_counter()
    result = train_mobile_lstm.evaluate_mobile_lstm(trained["best"], video_set, config, "val",
                                                    video_set.log_dir / trained["csv"].stem)
    print_evaluation(result, f"{stream} mobile-lstm")
    seconds["evaluate"] = time.perf_counter() - start
    result.update(seconds=seconds, weights=weights, trained=trained,
                  inference_ms=inference_ms(video_set, config, trained["best"]))
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_set_arguments(parser, default=None)
    args = parser.parse_args(argv)
    try:
        video_set = VIDEO_SET if args.set is None and not any(
            (args.size, args.num_frames, args.min_dim, args.crop)) else set_from_args(
            argparse.Namespace(**{**vars(args), "set": args.set or "demo"}))
        result = run(video_set)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    # The last epoch's top-1 first: the number to quote (no choice made on val); the best epoch's is selected on
    # val, so optimistic (docs/results.md), as is the top-5 of that checkpoint.
    print("\n| set | stream | CNN | val clips | top-1 (last epoch) | top-1 (best epoch, optimistic) | "
          "top-5 (best epoch) | ms/clip | " + " | ".join(result["seconds"]) + " |")
    print("|---" * (8 + len(result["seconds"])) + "|")
    print(f"| {video_set.tag} | {STREAM} | {FEATURE_MODEL} {result['weights']} | {result['num_clips']} | "
          f"{result['trained']['last_val_accuracy']:.1%} | {result['top1']:.1%} | {result['top5']:.1%} | "
          f"{result['inference_ms']:.0f} | " + " | ".join(f"{s:.0f} s" for s in result["seconds"].values()) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
