"""videocapture.py: file sources paced like a camera, camera errors and release, recording with incremental flow."""
import sys
from pathlib import Path

import pytest
from signlang.sources import CameraError, FileSource, open_camera, open_source
from signlang.synthetic import DIRECTIONS, numbered_frames, write_noisy_blob_video as write_blob_video
from signlang.video import frames_to_files

def test_paced_replay_takes_the_clip_duration_and_no_pace_sleeps_never(tmp_path):
    video = write_blob_video(tmp_path / "clip.avi", DIRECTIONS[0], num_frames=25)  # 1 s at 25 fps
    for pace in (True, False):
        now, slept = [0.0], []
        with FileSource(video, pace=pace, clock=lambda: now[0],
                                     sleep=lambda s: slept.append(s) or now.__setitem__(0, now[0] + s)) as source:
            times = []
            while source.read() is not None:
                times.append(now[0])
        assert len(times) == 25 and source.num_dropped == 0
        if pace:  # frame i is delivered when it is due, i/25 s after frame 0 on the source's clock
            assert times == pytest.approx([i / 25 for i in range(25)])
        else:
            assert slept == [] and times == [0.0] * 25


def test_late_reader_gets_the_current_frame_and_stale_frames_are_dropped(tmp_path):
    frames_to_files(numbered_frames(20), tmp_path / "frames")
    now = [0.0]
    slept = []
    source = FileSource(tmp_path / "frames", pace=True, fps=25.0, clock=lambda: now[0],
                                     sleep=lambda s: slept.append(s) or now.__setitem__(0, now[0] + s))
    assert source.read()[0, 0, 0] == 0
    source.read()  # frame 1: on time, the source sleeps until it is due
    assert slept == [pytest.approx(0.04)]
    now[0] = 0.21  # the reader comes back late: frame 5 (due at 0.20 s) is the current one
    image = source.read()
    assert source.num_dropped == 3
    assert abs(int(image[0, 0, 0]) - 5 * 5) <= 2  # frames 2-4 were replaced by frame 5, as a camera would
    source.release()
    assert source.read() is None


def test_frame_folder_loops_or_stops_at_its_end(tmp_path):
    frames_to_files(numbered_frames(3), tmp_path / "frames")
    with FileSource(tmp_path / "frames", pace=False, on_end="loop") as source:
        values = [int(source.read()[0, 0, 0]) for _ in range(7)]
    assert [round(v / 5) for v in values] == [0, 1, 2, 0, 1, 2, 0]
    with FileSource(tmp_path / "frames", pace=False, on_end="stop") as source:
        assert [source.read() is None for _ in range(4)] == [False, False, False, True]


def test_unreadable_source_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.avi"):
        open_source(tmp_path / "missing.avi")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="No .jpg frames"):
        open_source(tmp_path / "empty")


def test_missing_camera_error_names_the_devices_tried_and_source(fake_cameras):
    with pytest.raises(CameraError) as error:
        open_camera(2)
    message = str(error.value)
    assert "2 (/dev/video2)" in message and "0 (/dev/video0)" in message and "--source FILE" in message
    assert [c.device for c in fake_cameras.instances] == [2, 0]
    assert all(c.released for c in fake_cameras.instances)


@pytest.mark.skipif(not sys.platform.startswith("linux") or any(Path("/dev").glob("video*")),
                    reason="needs a Linux machine without a camera")
def test_this_machine_without_camera_gets_the_clear_error():
    with pytest.raises(CameraError, match=r"tried device 0 \(/dev/video0\).*--source FILE"):
        open_camera(0)


def test_camera_falls_back_to_the_built_in_one_and_is_released_on_exceptions(fake_cameras):
    fake_cameras.working = {0}
    with pytest.raises(RuntimeError, match="boom"):
        with open_camera(1) as camera:
            assert camera.index == 0 and camera.read().shape == (48, 64, 3)
            raise RuntimeError("boom")
    assert [(c.device, c.released) for c in fake_cameras.instances] == [(1, True), (0, True)]
