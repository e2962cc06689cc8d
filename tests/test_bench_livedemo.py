"""bench/livedemo.py --continuous: the sliding-window loop it measures predicts about every hop."""
import numpy as np

from bench import livedemo as bench_livedemo
from signlang.videoset import DEMO_SET


class CountingPredictor:
    """The predictor interface the benchmark uses; records each call's input shape."""

    num_frames, height, streams = DEMO_SET.num_frames, DEMO_SET.crop_px, ("flow",)

    def __init__(self):
        self.shapes = []

    def __call__(self, inputs):
        self.shapes.append(inputs["flow"].shape)
        return np.full((1, DEMO_SET.num_classes), 1.0 / DEMO_SET.num_classes)


def test_continuous_bench_predicts_about_every_hop(tmp_path):
    clip = bench_livedemo.render_clip(tmp_path / "clip.avi", 320, 240, 25.0)
    predictor = CountingPredictor()
    result = bench_livedemo.bench_continuous(clip, 25.0, predictor, DEMO_SET, seconds=1.0, flow_method="dis",
                                             duration_s=4.0, hop_s=0.5)
    # A 1.28 s window fills after 1.28 s; then one window every 0.48 s until 4 s: ~6 predictions.
    assert result["window_s"] == 32 / 25 and result["hop_s"] == 12 / 25  # stride 2 (liveinput.window_geometry)
    assert 4 <= result["predictions"] + result["skipped"] <= 8
    assert result["predictions"] == len(predictor.shapes) >= 4
    # the whole resized frame (320x240 -> 171x128): the Predictor takes its views' crops
    assert set(predictor.shapes) == {(1, DEMO_SET.num_frames, DEMO_SET.min_dim_px, 171, 2)}
    assert 0.3 < result["gap_median_s"] < 0.8
    assert 20 < result["capture_fps"] <= 26
