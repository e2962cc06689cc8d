"""How fast the I3D runs here: inference latency, a training step, and predict() against a tf.function call.

    python -m bench.i3d
    python -m bench.i3d --stem    # the stem convolution's share of a training step (stemconv.py)
    python -m bench.i3d --precision [--model M.keras]   # float32 against bfloat16: inference, a training step, top-1
    python -m bench.i3d --runtime [M.keras M.onnx M.tflite] [--shape 16 128 128 2]   # Keras against the exports

Prints medians (and min..max) over --repeats timed runs after --warmup untimed ones (the methods take turns):
  - batch-1 inference of (40, 224, 224, 2) flow and (40, 224, 224, 3) RGB (the seed's input) and of the
    demo size (16, 128, 128, 2), each as `model.predict(x)`, as a tf.function-wrapped
    `model(x, training=False)` and as a plain eager call;
  - one training step (train_on_batch) of batch --batch-size at the demo size, whole network trainable
    (phase 2, "entire"), Adam + categorical cross-entropy on the add_i3d_top softmax;
  - our prediction path (Predictor on a saved demo-size model) against a bare tf.function call of
    the same model, to show what the path adds;
  - clips/s the FramesGenerator delivers from the demo set's flow folders (1 and 2 workers), next to the
    clips/s a training step consumes;
and ends with the per-call overhead of predict() over the tf.function call, and which one to use.
Weights are random (timing does not depend on them). XLA stays off: on CPU jit_compile is several times
slower for this network.
"""
from signlang import tfquiet; tfquiet.install()  # before any TF import: holds back its benign start-up lines
import argparse
import os
import statistics
import time

import numpy as np

from bench import loadgen
from signlang.precision import PRECISIONS, cpu_has_bf16, with_compute_dtype
from signlang.predictor import Predictor
from signlang.videoset import VideoClasses

INFERENCE_SHAPES = ((40, 224, 224, 2), (40, 224, 224, 3), (16, 128, 128, 2))
DEMO_SHAPE = (16, 128, 128, 2)  # videoset.DEMO_SET: 16 frames, 128 px, flow
DEMO_CLASSES = 10


def timed(functions: dict, repeats: int, warmup: int) -> dict:
    """{name: seconds of each of `repeats` calls} after `warmup` untimed calls of each function.

    The functions take turns (one call each per round), so a change in machine load hits all alike.
    """
    for function in functions.values():
        for _ in range(warmup):
            function()
    seconds = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            seconds[name].append(time.perf_counter() - start)
    return seconds


def describe(seconds: list[float]) -> str:
    return (f"median {statistics.median(seconds) * 1e3:8.1f} ms  "
            f"(min {min(seconds) * 1e3:.1f}, max {max(seconds) * 1e3:.1f}, n={len(seconds)})")


def bench_inference(shape: tuple, repeats: int, warmup: int) -> dict:
    """{"predict", "tf.function", "eager"}: seconds per batch-1 call of a 400-class I3D on `shape`."""
    import tensorflow as tf

    from signlang import i3d

    model = i3d.Inception_Inflated3d(include_top=True, weights=None, input_shape=shape)
    x = np.random.default_rng(0).uniform(-1, 1, size=(1,) + shape).astype(np.float32)

    @tf.function(reduce_retracing=True)
    def infer(batch):
        return model(batch, training=False)

    return timed({
        "predict": lambda: model.predict(x, verbose=0),
        "tf.function": lambda: infer(x).numpy(),
        "eager": lambda: np.asarray(model(x, training=False)),
    }, repeats, warmup)


def bench_precision(shape: tuple, repeats: int, warmup: int) -> tuple[dict, float]:
    """({"float32", "bfloat16"}: seconds per batch-1 tf.function call of a 400-class I3D on `shape`, taking
    turns), and the largest difference of their output probabilities on a random clip."""
    import tensorflow as tf

    from signlang import i3d

    model = i3d.Inception_Inflated3d(include_top=True, weights=None, input_shape=shape)
    models = {"float32": model, "bfloat16": with_compute_dtype(model, "mixed_bfloat16")}
    x = np.random.default_rng(0).uniform(-1, 1, size=(1,) + shape).astype(np.float32)
    calls = {name: tf.function(m, reduce_retracing=True) for name, m in models.items()}
    outputs = {name: np.asarray(call(x, training=False), np.float32) for name, call in calls.items()}
    seconds = timed({name: lambda call=call: call(x, training=False).numpy() for name, call in calls.items()},
                    repeats, warmup)
    return seconds, float(np.abs(outputs["float32"] - outputs["bfloat16"]).max())


def evaluate_precisions(model_path, split: str = "val") -> dict:
    """{precision: top-1} of a trained demo-set model on its split, in float32 and bfloat16."""
    from signlang.evaluation import evaluate
    from signlang.videoset import DEMO_SET

    return {precision: evaluate(DEMO_SET, Predictor([model_path], precision), split)["top1"]
            for precision in PRECISIONS}


def bench_train_step(batch_size: int, repeats: int, warmup: int, shape: tuple = DEMO_SHAPE,
                     stems: tuple = ("space-to-depth",), precisions: tuple = ("float32",)) -> dict:
    """{stem or precision: seconds per train_on_batch} of the flow I3D + new top on `shape`, all trainable.

    stems: "space-to-depth" (stemconv.py, what the toolkit uses) and/or "stock" (Keras' own strided Conv3D).
    precisions: fullrecipe.TRAIN_POLICIES keys, each model built under that policy as the full recipe builds it.
    Keys are the stems when several are given, else the precisions.
    """
    import keras

    from signlang import i3d
    from signlang import stemconv
    from signlang.fullrecipe import TRAIN_POLICIES
    from signlang.training import precision_policy

    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(batch_size,) + shape).astype(np.float32)
    y = keras.utils.to_categorical(rng.integers(0, DEMO_CLASSES, size=batch_size), DEMO_CLASSES)
    steps = {}
    for stem in stems:
        for precision in precisions:
            with precision_policy(TRAIN_POLICIES[precision]):
                base = i3d.Inception_Inflated3d(include_top=False, weights=None, input_shape=shape)
                if stem == "stock":
                    stemconv.use_stock_convolution(base)  # back to the class's own method
                model = i3d.add_i3d_top(base, DEMO_CLASSES, dropout_prob=0.5)
                model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="categorical_crossentropy",
                              metrics=["accuracy"])
            steps[stem if len(stems) > 1 else precision] = lambda model=model: model.train_on_batch(x, y)
    return timed(steps, repeats, warmup)


def bench_predictor(repeats: int, warmup: int) -> dict:
    """{"Predictor", "bare"}: seconds per batch-1 call at the demo size, through Predictor and bare."""
    import tempfile
    from pathlib import Path

    import tensorflow as tf

    from signlang import i3d

    base = i3d.Inception_Inflated3d(include_top=False, weights=None, input_shape=DEMO_SHAPE)
    model = i3d.add_i3d_top(base, DEMO_CLASSES)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo.keras"
        model.save(path)
        predictor = Predictor([path])
    bare = tf.function(model, reduce_retracing=True)
    x = np.random.default_rng(0).uniform(-1, 1, size=(1,) + DEMO_SHAPE).astype(np.float32)
    return timed({"Predictor": lambda: predictor({"flow": x}),
                  "bare": lambda: bare(x, training=False).numpy()}, repeats, warmup)


def bench_runtimes(model_paths, repeats: int, warmup: int) -> tuple[dict, dict]:
    """Batch-1 Predictor calls on each model file (.keras in float32, and in bfloat16 where the CPU has it
    natively; .onnx; .tflite), taking turns on the same random clip.

    Returns:
        ({name: seconds of each timed call}, {name: largest probability difference to the first file in float32}).
    """
    from pathlib import Path


    predictors = {}
    for path in map(Path, model_paths):
        kind = path.suffix.lstrip(".")
        precisions = ("float32", "bfloat16") if kind == "keras" and cpu_has_bf16() else ("float32",)
        for precision in precisions:
            name = f"{kind} {precision}" if kind == "keras" else kind
            predictors[name] = Predictor([path], precision)
    first = next(iter(predictors.values()))
    inputs = {stream: np.random.default_rng(0).uniform(-1, 1, x.shape).astype(np.float32)
              for stream, x in first.blank_inputs().items()}
    reference = first(inputs)
    differences = {name: float(np.abs(predictor(inputs) - reference).max()) for name, predictor in predictors.items()}
    seconds = timed({name: lambda predictor=predictor: predictor(inputs) for name, predictor in predictors.items()},
                    repeats, warmup)
    return seconds, differences


def exported_random_model(folder, shape: tuple) -> list:
    """A random-weight I3D with a DEMO_CLASSES top on `shape`, saved in `folder` and exported to ONNX and
    LiteRT beside it (modelexport.py); returns the three paths (.keras first)."""
    from pathlib import Path

    from signlang import i3d
    from signlang import modelexport

    path = Path(folder) / "random-i3d.keras"
    i3d.add_i3d_top(i3d.Inception_Inflated3d(include_top=False, weights=None, input_shape=shape),
                          DEMO_CLASSES).save(path)
    return [path] + [modelexport.export_checkpoint(path, fmt)[0] for fmt in modelexport.FORMATS]


def bench_generator(batch_size: int) -> dict | None:
    """{workers: clips/s} of the training FramesGenerator over the demo set's flows; None if not extracted."""
    from signlang import batches
    from signlang.videoset import DEMO_SET

    train_dir = DEMO_SET.flow_dir / "train"
    if not train_dir.is_dir():
        return None
    classes = VideoClasses(DEMO_SET.class_file)
    rates = {}
    for workers in (1, 2):
        generator = batches.FramesGenerator(
            train_dir, classes, "flow", DEMO_SET.num_frames, DEMO_SET.crop_px, batch_size, augment=True,
            workers=workers, use_multiprocessing=workers > 1)
        rates[workers] = batches.measure_throughput(generator)
    return rates


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=10, help="timed runs per measurement (the median is reported)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs first (tracing, memory allocation)")
    parser.add_argument("--batch-size", type=int, default=4, help="batch of the training step (demo size)")
    parser.add_argument("--skip-train", action="store_true", help="only measure inference")
    parser.add_argument("--stem", action="store_true",
                        help="only compare a training step with the stock strided stem conv and the space-to-depth "
                             "one (stemconv.py), at the demo size and at the test suite's 8 x 64 px")
    parser.add_argument("--precision", action="store_true",
                        help="only compare float32 and bfloat16 side by side: inference at every size "
                             "(with_compute_dtype), a demo-size training step (train_i3d --precision; "
                             "--skip-train skips it) and with --model their top-1 on the demo set's val split")
    parser.add_argument("--model", help="with --precision: a trained demo-set .keras model to evaluate")
    parser.add_argument("--runtime", nargs="*", metavar="MODEL",
                        help="only time Predictor on these model files (.keras, .onnx, .tflite: one network "
                             "in its formats); none given: a random one at --shape, exported to both in a temp folder")
    parser.add_argument("--shape", type=int, nargs=4, default=DEMO_SHAPE, metavar=("T", "H", "W", "C"),
                        help=f"with --runtime and no files: the input shape (default {DEMO_SHAPE}, the demo's)")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.warmup < 0 or args.batch_size < 1:
        parser.error("--repeats and --batch-size must be >= 1, --warmup >= 0")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    devices = ", ".join(d.device_type for d in tf.config.list_logical_devices()) or "CPU"
    print(f"TensorFlow {tf.__version__} on {devices}; {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}; {args.repeats} timed runs after {args.warmup} warm-up runs")
    if args.precision:

        print(f"{loadgen.machine_line()}; native bfloat16 on this CPU: {cpu_has_bf16()}")
        for shape in INFERENCE_SHAPES:
            seconds, difference = bench_precision(shape, args.repeats, args.warmup)
            for name, times in seconds.items():
                print(f"inference batch 1 {str(shape):18s} {name:9s} {describe(times)}")
            ratio = statistics.median(seconds["bfloat16"]) / statistics.median(seconds["float32"])
            print(f"  bfloat16 / float32: {ratio:.2f}; largest probability difference {difference:.2e}")
        if not args.skip_train:
            seconds = bench_train_step(args.batch_size, args.repeats, args.warmup, precisions=("float32", "bfloat16"))
            for name, times in seconds.items():
                print(f"train step batch {args.batch_size} {str(DEMO_SHAPE):18s} {name:9s} {describe(times)}")
            ratio = statistics.median(seconds["bfloat16"]) / statistics.median(seconds["float32"])
            print(f"  bfloat16 / float32: {ratio:.2f} (train_i3d.py --precision bfloat16)")
        if args.model:
            top1 = evaluate_precisions(args.model)
            print("demo val top-1: " + ", ".join(f"{name} {value:.1%}" for name, value in top1.items()))
        return
    if args.runtime is not None:
        import tempfile

        print(loadgen.machine_line())
        with tempfile.TemporaryDirectory() as tmp:
            paths = args.runtime or exported_random_model(tmp, tuple(args.shape))
            seconds, differences = bench_runtimes(paths, args.repeats, args.warmup)
        base = statistics.median(next(iter(seconds.values())))
        for name, times in seconds.items():
            print(f"Predictor batch 1 {name:15s} {describe(times)}  x{statistics.median(times) / base:.2f}; "
                  f"largest probability difference {differences[name]:.1e}")
        return
    if args.stem:
        print(loadgen.machine_line())
        for shape in (DEMO_SHAPE, (8, 64, 64, 2)):
            results = bench_train_step(args.batch_size, args.repeats, args.warmup, shape, ("stock", "space-to-depth"))
            for stem, seconds in results.items():
                print(f"train step batch {args.batch_size} {str(shape):18s} {stem:15s} {describe(seconds)}")
            print(f"  stock / space-to-depth: {statistics.median(results['stock']) / statistics.median(results['space-to-depth']):.1f}x")
        return
    overheads = []
    for shape in INFERENCE_SHAPES:
        results = bench_inference(shape, args.repeats, args.warmup)
        for method, seconds in results.items():
            print(f"inference batch 1 {str(shape):18s} {method:12s} {describe(seconds)}")
        overheads.append(statistics.median(results["predict"]) - statistics.median(results["tf.function"]))
    results = bench_predictor(args.repeats, args.warmup)
    for method, seconds in results.items():
        print(f"inference batch 1 {str(DEMO_SHAPE):18s} {method:12s} {describe(seconds)}")
    print(f"Predictor adds {(statistics.median(results['Predictor']) - statistics.median(results['bare'])) * 1e3:+.1f}"
          " ms per clip over a bare tf.function call")
    if not args.skip_train:
        seconds = bench_train_step(args.batch_size, args.repeats, args.warmup)["float32"]
        print(f"train step batch {args.batch_size} {str(DEMO_SHAPE):18s} entire       {describe(seconds)}"
              f" = {args.batch_size / statistics.median(seconds):.1f} clips/s consumed")
    rates = bench_generator(args.batch_size)
    if rates is None:
        print("generator: no demo flows yet (run `make demo`); skipped")
    for workers, rate in (rates or {}).items():
        print(f"generator FramesGenerator flow {str(DEMO_SHAPE):18s} {workers} worker(s)  {rate:8.1f} clips/s delivered")
    overhead_ms = statistics.median(overheads) * 1e3
    faster = "tf.function-wrapped model(x, training=False)" if overhead_ms > 0 else "model.predict(x)"
    print(f"predict() costs {overhead_ms:+.1f} ms per call over a tf.function call (median over the "
          f"{len(INFERENCE_SHAPES)} sizes); use {faster} for single clips")


if __name__ == "__main__":
    main()
