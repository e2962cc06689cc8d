"""opticalflow.py: flow direction and magnitude, the I3D encoding, the JPEG format and the resumable folder step."""
from pathlib import Path

import cv2
import numpy as np
import pytest

import opticalflow
from signlang.flow import (METHODS, OpticalFlow, encode_flow, files_to_flows, flows_to_color_images, flows_to_files,
                           frames_to_flows)
from signlang.synthetic import blob_frames
from signlang.video import frames_to_files
from signlang import steps

HEIGHT, WIDTH = 64, 80


def blob_mask(step_px, index: int, start_px=(WIDTH / 4, HEIGHT / 2), radius_px: float = 6.0) -> np.ndarray:
    """Pixels well inside the blob of `blob_frames` in frame `index` (the flow into that frame)."""
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    # flow at frame i is anchored at frame i-1's pixels: the blob's centre there
    cx, cy = start_px[0] + (index - 1) * step_px[0], start_px[1] + (index - 1) * step_px[1]
    return (xx - cx) ** 2 + (yy - cy) ** 2 < radius_px**2


@pytest.fixture(scope="module")
def moving_right() -> np.ndarray:
    return blob_frames(6, HEIGHT, WIDTH, step_px=(3.0, 0.0))


@pytest.fixture
def frame_dir(tmp_path: Path) -> Path:
    """frame_dir/<split>/<label>/<video>/frame0000.jpg ... for three short blob clips."""
    root = tmp_path / "image"
    frames_to_files(blob_frames(5, HEIGHT, WIDTH, (3.0, 0.0)), root / "train" / "right" / "clip1")
    frames_to_files(blob_frames(4, HEIGHT, WIDTH, (0.0, 2.0)), root / "train" / "down" / "clip2")
    frames_to_files(blob_frames(6, HEIGHT, WIDTH, (-2.0, 0.0), start_px=(50, 32)), root / "val" / "left" / "clip3")
    return root


def flow_folders(flow_dir: Path) -> list[Path]:
    return sorted(p for p in flow_dir.glob("*/*/*") if p.is_dir() and not p.name.startswith("."))


def test_blob_moving_right_gives_positive_x_flow_of_3_px(moving_right):
    flows = frames_to_flows(moving_right)  # the default method
    assert flows.shape == (6, HEIGHT, WIDTH, 2) and flows.dtype == np.float32
    inside = blob_mask((3.0, 0.0), 3)
    assert flows[3, ..., 0][inside].mean() == pytest.approx(3 / 20, abs=0.3 / 20)
    assert abs(flows[3, ..., 1][inside].mean()) < 0.2 / 20
    # the still background far from the blob barely moves
    assert np.abs(flows[3, 5:15, -15:-5]).mean() < 0.2 / 20


def test_blob_moving_up_gives_negative_y_flow():
    flows = frames_to_flows(blob_frames(5, HEIGHT, WIDTH, (0.0, -2.0), start_px=(40, 44)))
    inside = blob_mask((0.0, -2.0), 2, start_px=(40, 44))
    assert flows[2, ..., 1][inside].mean() == pytest.approx(-2 / 20, abs=0.3 / 20)
    assert abs(flows[2, ..., 0][inside].mean()) < 0.2 / 20


def test_first_flow_is_zeros(moving_right):
    flows = frames_to_flows(moving_right)
    assert not flows[0].any()
    assert np.abs(flows[1:]).max() > 0.05


def test_flow_is_clipped_at_bound_and_scaled():
    flow_px = np.array([[[-35.0, -20.0], [-3.0, 0.0], [10.0, 20.0], [25.0, 1e6]]], dtype=np.float32)
    encoded = encode_flow(flow_px)
    assert encoded.dtype == np.float32
    assert np.allclose(encoded, [[[-1, -1], [-0.15, 0], [0.5, 1], [1, 1]]])
    # the same clipping inside OpticalFlow: with a 1 px bound the 3 px blob motion saturates at +1
    flows = frames_to_flows(blob_frames(3, HEIGHT, WIDTH, (3.0, 0.0)), bound_px=1.0)
    assert flows.max() <= 1.0 and flows.min() >= -1.0
    assert np.median(flows[2, ..., 0][blob_mask((3.0, 0.0), 2)]) == 1.0


def test_incremental_next_matches_frames_to_flows_and_reset_restarts(moving_right):
    expected = frames_to_flows(moving_right)
    optical_flow = OpticalFlow()
    flows = np.stack([optical_flow.next(image) for image in moving_right])
    assert np.allclose(flows, expected, atol=1e-5)
    optical_flow.reset()
    assert not optical_flow.next(moving_right[3]).any()
    assert np.allclose(optical_flow.next(moving_right[4]), expected[4], atol=1e-5)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_finds_the_motion(method, moving_right, recwarn):
    flows = frames_to_flows(moving_right[:4], method)
    assert flows.shape == (4, HEIGHT, WIDTH, 2) and flows.dtype == np.float32
    assert not flows[0].any() and flows.min() >= -1 and flows.max() <= 1
    assert flows[3, ..., 0][blob_mask((3.0, 0.0), 3)].mean() > 1.5 / 20  # right, roughly 3 px
    warned = [str(w.message) for w in recwarn.list if "different flow distribution" in str(w.message)]
    assert bool(warned) == (method == "dis")


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="tvl1-fast"):
        OpticalFlow("tvl1")


def test_jpeg_round_trip_error_is_small(moving_right, tmp_path):
    flows = frames_to_flows(moving_right)
    flows_to_files(flows, tmp_path / "clip")
    assert sorted(p.name for p in (tmp_path / "clip").iterdir())[:2] == ["flow000.jpg", "flow001.jpg"]
    back = files_to_flows(tmp_path / "clip")
    assert back.shape == flows.shape and back.dtype == np.float32
    error_px = np.abs(back - flows) * 20
    # 1 byte = 0.157 px; 0 is stored as 128 (+0.078 px); JPEG rings a little at the blob's sharp flow edge
    assert error_px.mean() < 0.12 and np.percentile(error_px, 99) < 0.5 and error_px.max() < 2.5
    assert np.abs(back[0]).max() <= 1 / 127.5 + 1e-6  # zeros come back as zeros (128 -> +0.004)
    with pytest.raises(FileNotFoundError, match="No .jpg flow files"):
        files_to_flows(tmp_path)


def test_color_images_show_direction_as_hue():
    flows = np.zeros((2, 4, 4, 2), np.float32)
    flows[1, :, :2, 0] = 0.5  # left half moves right
    flows[1, :, 2:, 1] = 0.25  # right half moves down, slower
    images = flows_to_color_images(flows)
    assert images.shape == (2, 4, 4, 3) and images.dtype == np.uint8
    assert not images[0].any()  # no motion: black
    assert images[1, 0, 0].tolist() == [0, 0, 255]  # hue 0 (right) is red in BGR, full brightness
    assert images[1, 0, 3, 2] < images[1, 0, 3].max() and images[1, 0, 3].max() < 255  # other hue, dimmer


def test_frames_dir_to_flows_dir_mirrors_folders_and_skips_on_rerun(frame_dir, tmp_path):
    flow_dir = tmp_path / "oflow"
    summary = steps.frames_dir_to_flows_dir(frame_dir, flow_dir)
    assert (summary.done, summary.skipped, summary.failed) == (3, 0, [])
    assert [f.relative_to(flow_dir).as_posix() for f in flow_folders(flow_dir)] == ["train/down/clip2", "train/right/clip1", "val/left/clip3"]
    flows = files_to_flows(flow_dir / "val" / "left" / "clip3")
    assert flows.shape == (6, HEIGHT, WIDTH, 2)
    assert flows[3, ..., 0][blob_mask((-2.0, 0.0), 3, start_px=(50, 32))].mean() < -1.5 / 20
    rerun = steps.frames_dir_to_flows_dir(frame_dir, flow_dir)
    assert (rerun.done, rerun.skipped) == (0, 3)
    # a new frame in a clip makes its flow folder incomplete: only that clip is redone
    frames_to_files(blob_frames(7, HEIGHT, WIDTH, (-2.0, 0.0), start_px=(50, 32)), frame_dir / "val" / "left" / "clip3")
    assert steps.frames_dir_to_flows_dir(frame_dir, flow_dir).done == 1
    assert len(list((flow_dir / "val" / "left" / "clip3").glob("*.jpg"))) == 7


def test_killed_run_leaves_nothing_finished_and_rerun_completes(frame_dir, tmp_path, monkeypatch):
    flow_dir = tmp_path / "oflow"
    real_flows_to_files = flows_to_files

    def dies_halfway(flows, target_dir):
        real_flows_to_files(flows[:2], target_dir)
        raise KeyboardInterrupt

    monkeypatch.setattr(steps, "flows_to_files", dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        steps.frames_dir_to_flows_dir(frame_dir, flow_dir)
    assert flow_folders(flow_dir) == [] and list(flow_dir.rglob("*.jpg")) == []
    (flow_dir / "train" / "right" / ".tmp-999-clip1").mkdir(parents=True)  # what a SIGKILL leaves
    monkeypatch.setattr(steps, "flows_to_files", real_flows_to_files)
    assert steps.frames_dir_to_flows_dir(frame_dir, flow_dir).done == 3
    assert sorted(p.name for p in (flow_dir / "train" / "right").iterdir()) == ["clip1"]


def test_empty_frame_folder_is_reported_and_others_computed(frame_dir, tmp_path):
    (frame_dir / "train" / "right" / "empty").mkdir()
    summary = steps.frames_dir_to_flows_dir(frame_dir, tmp_path / "oflow")
    assert summary.done == 3
    assert [(source.name, "No .jpg frames" in reason) for source, reason in summary.failed] == [("empty", True)]
    assert "empty" in (tmp_path / "oflow" / "failed-flows.txt").read_text()


def test_missing_frames_raise_run_frame_py_first(tmp_path):
    (tmp_path / "image" / "train").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r"No frame folders under .*image.*run `python frame.py` first"):
        steps.frames_dir_to_flows_dir(tmp_path / "image", tmp_path / "oflow")


def test_workers_2_gives_the_same_flows_as_serial(frame_dir, tmp_path):
    steps.frames_dir_to_flows_dir(frame_dir, tmp_path / "serial")
    parallel = steps.frames_dir_to_flows_dir(frame_dir, tmp_path / "parallel", workers=2)
    assert (parallel.done, parallel.failed) == (3, [])
    for folder in flow_folders(tmp_path / "serial"):
        serial_flows = files_to_flows(folder)
        parallel_flows = files_to_flows(tmp_path / "parallel" / folder.relative_to(tmp_path / "serial"))
        assert np.abs(serial_flows - parallel_flows).max() <= 2 / 127.5  # identical up to a JPEG byte


def test_cli_computes_and_help_warns_about_dis(frame_dir, tmp_path, capsys):
    with pytest.raises(SystemExit):
        opticalflow.main(["--help"])
    help_text = capsys.readouterr().out
    assert "dis" in help_text and "TV-L1" in help_text and "pretrained" in help_text
    assert opticalflow.main([str(frame_dir), str(tmp_path / "oflow"), "--method", "farneback"]) == 0
    assert "flows: 3 computed, 0 skipped, 0 failed" in capsys.readouterr().out


def test_rerun_with_another_method_is_refused_unless_overwrite(frame_dir, tmp_path):
    flow_dir = tmp_path / "oflow"
    steps.frames_dir_to_flows_dir(frame_dir, flow_dir, method="farneback")
    with pytest.raises(ValueError, match=r"made with .*farneback.*overwrite"):
        steps.frames_dir_to_flows_dir(frame_dir, flow_dir, method="tvl1-fast")
    assert steps.frames_dir_to_flows_dir(frame_dir, flow_dir, method="tvl1-fast", overwrite=True).done == 3
    assert steps.frames_dir_to_flows_dir(frame_dir, flow_dir, method="tvl1-fast").skipped == 3


def test_pipelines_say_what_to_do_when_the_flow_folder_holds_another_method(frame_dir, tmp_path):
    flow_dir = tmp_path / "oflow"
    steps.check_pipeline_flow(flow_dir, "tvl1-lite", "pipeline_i3d.py")  # nothing there yet: fine
    steps.frames_dir_to_flows_dir(frame_dir, flow_dir, method="farneback")
    steps.check_pipeline_flow(flow_dir, "farneback", "pipeline_i3d.py")  # the same method: fine
    with pytest.raises(ValueError, match=r"holds farneback flow but this run computes tvl1-lite .*Delete that "
                                         r"folder.*or set FLOW_METHOD = \"farneback\""):
        steps.check_pipeline_flow(flow_dir, "tvl1-lite", "pipeline_i3d.py")


def test_one_default_flow_for_new_sets_and_both_pipelines():
    import pipeline_i3d
    import pipeline_mobile_lstm
    from signlang.videoset import DEFAULT_FLOW_METHOD, DEMO_SET

    assert pipeline_i3d.FLOW_METHOD == pipeline_mobile_lstm.FLOW_METHOD == DEFAULT_FLOW_METHOD == DEMO_SET.flow_method
    assert DEFAULT_FLOW_METHOD in METHODS


def test_steady_flow_removes_the_cameras_motion_and_keeps_the_hands():
    """A hand-held camera moving 2 px right and 1 px up per frame over a textured scene, in which a blob moves 3 px
    right: tvl1-lite sees the scene move, tvl1-steady sees it still and the blob still moving 3 px right."""
    rng = np.random.default_rng(0)
    scene = cv2.GaussianBlur(rng.uniform(0, 255, (HEIGHT + 40, WIDTH + 40)).astype(np.float32), (0, 0), 2.0)
    frames = []
    for i in range(4):
        world = scene.copy()
        cv2.circle(world, (30 + 3 * i, 52), 8, 255.0, -1)
        shift = np.float32([[1, 0, -20 - 2 * i], [0, 1, -20 + i]])  # the camera moves right/up: the scene left/down
        frames.append(np.repeat(cv2.warpAffine(world, shift, (WIDTH, HEIGHT))[..., None], 3, axis=2).astype(np.uint8))
    frames = np.stack(frames)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    blob = (xx - 12) ** 2 + (yy - 34) ** 2 <= 4 ** 2  # inside the blob in frame 2: world (36, 52) - (24, 18)
    background = np.zeros((HEIGHT, WIDTH), bool)
    background[:, 40:] = True  # far from the blob
    lite, steady = (frames_to_flows(frames, method) * 20 for method in ("tvl1-lite", "tvl1-steady"))
    assert np.allclose(np.median(lite[2][background], axis=0), (-2.0, 1.0), atol=0.5)  # the scene seems to move
    assert np.abs(np.median(steady[2][background], axis=0)).max() < 0.25  # still
    # The blob moves 3 px right in the scene (TV-L1 finds ~2 inside a flat disc), 1 px in the frame.
    assert np.median(steady[2][blob][:, 0]) > 1.5 > np.median(lite[2][blob][:, 0])
