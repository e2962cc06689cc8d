"""datagenerator.py: labels from class.csv, batch shapes and ranges, augmentation, shuffling, the set's clip list."""
import cv2
import numpy as np
import pytest

from signlang import synthetic
from signlang.batches import FramesGenerator, zoomed
from signlang.clips import list_samples, temporal_jitter, time_stretched
from signlang.flow import files_to_flows
from signlang.video import frames_crop, frames_downsample
from signlang.videoset import VideoClasses, split_clips


@pytest.fixture(scope="module")
def blob_set(tmp_path_factory):
    """The set's temp folder, holding class.csv, image/ and oflow/."""
    video_set = synthetic.write_set(synthetic.blob_set(tmp_path_factory.mktemp("blobs")), per_class=(3, 2))
    (video_set.temp_dir / "class.csv").write_bytes(video_set.class_file.read_bytes())
    return video_set.temp_dir


def test_labels_are_indices_into_sorted_class_list(tmp_path):
    (tmp_path / "class.csv").write_text(",sClass,sLong,sCat,sDetail\n0,zeta,Z sign,Cat,Z\n1,alpha,A sign,Cat,A\n")
    classes = VideoClasses(tmp_path / "class.csv")
    assert classes.classes == ["alpha", "zeta"]
    assert classes.index("zeta") == 1
    assert classes.description(0) == "A sign"


def test_folder_label_missing_from_class_csv_is_a_clear_error(blob_set, tmp_path):
    (tmp_path / "class.csv").write_text(",sClass,sLong,sCat,sDetail\n0,dir0,x,y,z\n")
    with pytest.raises(ValueError, match=r"'dir1' is not listed in .*class.csv"):
        list_samples(blob_set / "oflow" / "train", VideoClasses(tmp_path / "class.csv"))


def test_empty_folder_error_says_which_step_to_run(tmp_path, blob_set):
    with pytest.raises(FileNotFoundError, match="run `python frame.py`"):
        list_samples(tmp_path, VideoClasses(blob_set / "class.csv"))


def test_missing_class_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.csv"):
        VideoClasses(tmp_path / "nothere.csv")


def test_flow_batches_have_model_shape_and_range(blob_set):
    classes = VideoClasses(blob_set / "class.csv")
    gen = FramesGenerator(blob_set / "oflow" / "train", classes, "flow", num_frames=8, crop_px=48, batch_size=5,
                          shuffle=False)
    assert len(gen) == 3  # 12 clips, batches of 5
    x, y = gen[0]
    assert x.shape == (5, 8, 48, 48, 2) and x.dtype == np.float32
    assert -1.0 <= x.min() and x.max() <= 1.0
    assert y.shape == (5, 4) and np.allclose(y.sum(axis=1), 1)
    assert gen[2][0].shape[0] == 2
    assert list(gen.labels) == sorted(gen.labels)  # samples sorted by label folder


def test_rgb_batches_are_rgb_in_minus_one_to_one(blob_set):
    classes = VideoClasses(blob_set / "class.csv")
    gen = FramesGenerator(blob_set / "image" / "val", classes, "rgb", num_frames=8, crop_px=64, batch_size=2,
                          shuffle=False)
    x, _ = gen[0]
    assert x.shape == (2, 8, 64, 64, 3)
    assert x.min() >= -1.0 and x.max() <= 1.0 and x.max() > 0.0


def test_validation_is_deterministic_center_crop_training_is_augmented(blob_set):
    classes = VideoClasses(blob_set / "class.csv")
    val = FramesGenerator(blob_set / "oflow" / "train", classes, "flow", 8, 48, 4, shuffle=False, augment=False)
    flows = files_to_flows(val.samples[0][0])  # (n, 64, 85, 2)
    flows = frames_downsample(flows, 8) if len(flows) != 8 else flows
    assert np.array_equal(val[0][0][0], frames_crop(flows, 48, 48))
    assert np.array_equal(val[0][0][0], flows[:, 8:56, 18:66])  # (64 - 48) / 2, (85 - 48) // 2
    train = FramesGenerator(blob_set / "oflow" / "train", classes, "flow", 8, 48, 4, shuffle=False, augment=True)
    first = train[0][0]
    train.on_epoch_end()
    assert not np.array_equal(first, train[0][0])  # another crop / shift next epoch
    assert not np.array_equal(first, val[0][0])


def test_shuffle_changes_order_each_epoch_but_keeps_all_samples(blob_set):
    classes = VideoClasses(blob_set / "class.csv")
    gen = FramesGenerator(blob_set / "oflow" / "train", classes, "flow", 8, 48, 4, shuffle=True, seed=1)
    first = gen.order.copy()
    gen.on_epoch_end()
    assert sorted(first) == sorted(gen.order) == list(range(12))
    assert not np.array_equal(first, gen.order)


def test_passes_show_every_clip_that_many_times_per_epoch_each_pass_in_its_own_order(blob_set):
    classes = VideoClasses(blob_set / "class.csv")
    gen = FramesGenerator(blob_set / "oflow" / "train", classes, "flow", 8, 48, 5, shuffle=True, seed=1, passes=3)
    assert len(gen) == 8  # 36 clips in batches of 5
    passes = gen.order.reshape(3, 12)
    assert all(sorted(one) == list(range(12)) for one in passes)
    assert not np.array_equal(passes[0], passes[1])
    assert sum(len(gen[i][1]) for i in range(len(gen))) == 36
    again = FramesGenerator(blob_set / "oflow" / "train", classes, "flow", 8, 48, 5, shuffle=True, seed=1, passes=3)
    gen.set_epoch(4), again.set_epoch(4)
    assert np.array_equal(gen.order, again.order)  # a function of (seed, epoch): resumable
    with pytest.raises(ValueError, match="passes=0"):
        FramesGenerator(blob_set / "oflow" / "train", classes, "flow", 8, 48, 5, passes=0)


def test_zoom_scales_the_image_and_the_flow_vectors_with_it():
    # A ramp image zoomed 2x keeps its centre value and doubles its slope; a flow of 0.3 becomes 0.6, and
    # one of 0.8 is clipped to 1 (stored flow's range).
    ramp = np.tile(np.linspace(-0.5, 0.5, 32, dtype=np.float32), (32, 1))
    clip = np.stack([ramp, np.full((32, 32), 0.3, np.float32)], axis=-1)[None]
    out = zoomed(clip, 64, flow=False)
    assert out.shape == (1, 64, 64, 2)
    assert np.diff(out[0, 10, 20:40, 0]).mean() == pytest.approx(np.diff(ramp[10, 10:20]).mean() / 2, rel=0.02)
    assert zoomed(clip, 64, flow=True)[0, :, :, 1] == pytest.approx(0.6)
    assert zoomed(np.full((1, 16, 16, 2), 0.8, np.float32), 32, flow=True).max() == 1.0


def test_zoom_augmentation_enlarges_motion_and_keeps_shape_and_range(blob_set):
    classes = VideoClasses(blob_set / "class.csv")
    common = dict(stream="flow", num_frames=8, crop_px=32, batch_size=4, shuffle=False, augment=True)
    plain = FramesGenerator(blob_set / "oflow" / "train", classes, **common)
    zoom = FramesGenerator(blob_set / "oflow" / "train", classes, max_zoom=0.5, **common)
    x_plain, y_plain = plain[0]
    x_zoom, y_zoom = zoom[0]
    assert x_zoom.shape == x_plain.shape and x_zoom.dtype == np.float32
    assert (y_zoom == y_plain).all()
    assert -1.0 <= x_zoom.min() and x_zoom.max() <= 1.0
    assert np.abs(x_zoom).mean() > np.abs(x_plain).mean() * 1.05  # a zoom of 1..1.5 enlarges the vectors
    again = FramesGenerator(blob_set / "oflow" / "train", classes, max_zoom=0.5, **common)
    assert (again[0][0] == x_zoom).all()  # seeded: the same zooms again


def test_temporal_jitter_repeats_edge_frames():
    clip = np.arange(5)
    assert list(temporal_jitter(clip, 2)) == [2, 3, 4, 4, 4]
    assert list(temporal_jitter(clip, -1)) == [0, 0, 1, 2, 3]


def test_zooming_out_shrinks_the_frame_inside_a_border_of_no_motion(tmp_path):
    # A flow clip of steady 0.4 motion, 32 x 48, seen at 0.8x through a 32-px crop: a 40-px square (the frame
    # padded to 40 x 48 with zero flow) resized down, so the motion shrinks to 0.32 and a border of zeros shows.
    folder = tmp_path / "oflow" / "train" / "a" / "clip"
    folder.mkdir(parents=True)
    for i in range(4):
        cv2.imwrite(str(folder / f"flow{i:03d}.jpg"), np.full((32, 48, 3), round(1.4 * 127.5), np.uint8))
    (tmp_path / "class.csv").write_text(",sClass,sLong,sCat,sDetail\n0,a,a,,\n")
    generator = FramesGenerator(tmp_path / "oflow" / "train", VideoClasses(tmp_path / "class.csv"), num_frames=4,
                                crop_px=32, augment=True, max_shift=0, zoom_out=0.25)

    class Smallest:  # draws the smallest zoom (1/1.25 = 0.8x) and the first offsets
        def uniform(self, low, high):
            return low

        def integers(self, low, high):
            return low

    clip = generator.clip(0, Smallest())
    assert clip.shape == (4, 32, 32, 2)
    assert np.abs(clip[:, 0, :, :]).max() < 0.05 and np.abs(clip[:, -1, :, :]).max() < 0.05  # the border rows
    assert clip[:, 16, 16, :] == pytest.approx(0.8 * (round(1.4 * 127.5) / 127.5 - 1), abs=0.01)


def test_a_faster_clip_shows_more_time_per_frame_and_more_motion_a_slower_one_less():
    # Frame i of a ramp holds the value i: played 1.5x as fast about its middle (3.5) frame i shows moment
    # 3.5 + (i - 3.5) * 1.5, the ends repeat; at 0.5x the middle four moments spread over the eight frames.
    ramp = np.arange(8, dtype=np.float32).reshape(8, 1, 1, 1) * np.ones((1, 2, 2, 2), np.float32)
    fast = time_stretched(ramp, 1.5, flow=False)[:, 0, 0, 0]
    assert fast == pytest.approx([0, 0, 1.25, 2.75, 4.25, 5.75, 7, 7])
    slow = time_stretched(ramp, 0.5, flow=False)[:, 0, 0, 0]
    assert slow == pytest.approx([1.75, 2.25, 2.75, 3.25, 3.75, 4.25, 4.75, 5.25])
    # Flow is motion per frame: a steady 0.4 becomes 0.6 at 1.5x (0.8 is clipped to stored flow's 1) and 0.2 at 0.5x.
    steady = np.full((8, 2, 2, 2), 0.4, np.float32)
    assert time_stretched(steady, 1.5, flow=True) == pytest.approx(0.6)
    assert time_stretched(steady, 0.5, flow=True) == pytest.approx(0.2)
    assert time_stretched(np.full((8, 2, 2, 2), 0.8, np.float32), 1.5, flow=True).max() == 1.0
    assert time_stretched(ramp, 1.0, flow=False) == pytest.approx(ramp)


def test_speed_augmentation_changes_the_views_the_same_for_the_same_seed(blob_set):
    classes = VideoClasses(blob_set / "class.csv")
    common = dict(stream="flow", num_frames=8, crop_px=32, batch_size=4, shuffle=False, augment=True, max_zoom=0.25)
    plain = FramesGenerator(blob_set / "oflow" / "train", classes, **common)
    speed = FramesGenerator(blob_set / "oflow" / "train", classes, max_speed=0.25, **common)
    x_plain, x_speed = plain.clip(0, np.random.default_rng(5)), speed.clip(0, np.random.default_rng(5))
    assert x_speed.shape == x_plain.shape and x_speed.dtype == np.float32
    assert not np.allclose(x_speed, x_plain) and -1.0 <= x_speed.min() and x_speed.max() <= 1.0
    assert np.array_equal(speed.clip(0, np.random.default_rng(5)), x_speed)  # the same seed, the same view


def test_generator_takes_only_the_clips_the_set_lists(tmp_path, capsys):
    video_set = synthetic.write_set(synthetic.blob_set(tmp_path), per_class=(2, 1))
    for folder in video_set.flow_dir.glob("*/*/*"):  # a video per folder (listing looks at names only)
        video = video_set.video_dir / folder.relative_to(video_set.flow_dir).with_suffix(".avi")
        video.parent.mkdir(parents=True, exist_ok=True)
        video.touch()
    # the user moves one take to val and deletes another, but does not rerun frame.py / opticalflow.py
    (video_set.video_dir / "train/dir0/v001.avi").rename(video_set.video_dir / "val/dir0/v001.avi")
    (video_set.video_dir / "train/dir1/v000.avi").unlink()
    classes = VideoClasses(video_set.class_file)
    listed = {split: split_clips(video_set.video_dir, split) for split in ("train", "val")}
    train = FramesGenerator(video_set.flow_dir / "train", classes, "flow", 8, 64, 2, listed=listed["train"])
    out = capsys.readouterr().out
    names = {f"{p.parent.name}/{p.name}" for p, _ in train.samples}
    assert names == {f"dir{k}/v{n:03d}" for k in range(4) for n in range(2)} - {"dir0/v001", "dir1/v000"}
    assert "Leaving out 2 folder(s)" in out and "dir0/v001" in out
    val = FramesGenerator(video_set.flow_dir / "val", classes, "flow", 8, 64, 2, listed=listed["val"])
    assert len(val.samples) == 4 and "1 video(s) of this split have no folder" in capsys.readouterr().out
    assert len(FramesGenerator(video_set.flow_dir / "train", classes, "flow", 8, 64, 2).samples) == 8  # unfiltered


def test_a_set_without_videos_is_not_filtered(tmp_path):
    video_set = synthetic.write_set(synthetic.blob_set(tmp_path), per_class=(1, 1))
    assert split_clips(video_set.video_dir, "train") is None and split_clips(tmp_path / "absent", "val") is None
