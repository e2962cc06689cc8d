"""signlang/standin.py: each effect of the hard stand-in does what it says, and the same seeds give the same takes."""
import math

import cv2
import numpy as np
import pytest
from signlang import standin
from signlang.demo_render import Layout, render_video

W, H, FPS = 96, 72, 30.0   # small frames: the effects scale with the height


def textured(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A smooth random texture (h, w, 3) uint8 BGR: something phase correlation can lock on."""
    field = np.random.default_rng(seed).uniform(0, 255, (height // 4, width // 4, 3)).astype(np.float32)
    return cv2.resize(field, (width, height), interpolation=cv2.INTER_CUBIC).clip(0, 255).astype(np.uint8)


def test_speed_0_8_gives_1_25_times_the_frames_of_the_same_path():
    slow = standin.movement_path("zigzag", 5, 3, W, H, FPS, 0.8)
    normal = standin.movement_path("zigzag", 5, 3, W, H, FPS, 1.0)
    fast = standin.movement_path("zigzag", 5, 3, W, H, FPS, 1.25)
    assert len(slow) == round(1.25 * len(normal)) and len(fast) == round(0.8 * len(normal))
    # The same movement, sampled more or less densely: same start and end, same extent.
    for path in (slow, fast):
        assert np.allclose(path[[0, -1]], normal[[0, -1]], atol=0.5)
        assert np.allclose(np.ptp(path, axis=0), np.ptp(normal, axis=0), rtol=0.05)
    frames = standin.movement("zigzag", 5, 3, W, H, FPS, 0.8)
    assert frames.shape == (len(slow), H, W, 3)


def test_a_reversed_sign_is_its_path_backwards():
    forward = standin.movement_path("zigzag", 5, 7, W, H, FPS, 1.1)
    backward = standin.movement_path("zigzag" + standin.REVERSED_SUFFIX, 5, 7, W, H, FPS, 1.1)
    assert np.array_equal(backward, forward[::-1])
    assert not np.allclose(forward, forward[::-1], atol=2.0)   # a zigzag is no palindrome: a different sign
    frames = standin.movement("zigzag", 5, 7, W, H, FPS, 1.1)
    assert np.array_equal(standin.movement("zigzag_reversed", 5, 7, W, H, FPS, 1.1), frames[::-1])
    with pytest.raises(ValueError, match="circle_cw_reversed"):
        standin.base_label("circle_cw_reversed")   # its reverse is circle_ccw: no near-duplicate of its own


def test_background_replaces_the_room_and_film_false_leaves_the_canvas_as_drawn():
    layout = Layout(W, H)
    background = textured(layout.canvas_h, layout.canvas_w)
    frames = render_video("zigzag", 5, 1, W, H, FPS, num_samples=4, background=background, film=False)
    centre = background[layout.margin:layout.margin + H, layout.margin:layout.margin + W]
    same = np.all(frames == centre, axis=-1)
    assert same[:, : H // 8].mean() > 0.5           # above the head: the background, exactly
    assert not same[:, H - 2].all()                 # the body at the bottom is drawn over it
    plain = render_video("zigzag", 5, 1, W, H, FPS, num_samples=4)
    assert not np.array_equal(plain, frames)
    grey = render_video("zigzag", 5, 1, W, H, FPS, num_samples=4, shirt_rgb=(128, 128, 128), film=False)
    red = render_video("zigzag", 5, 1, W, H, FPS, num_samples=4, shirt_rgb=(220, 20, 20), film=False)
    bottom = (slice(None), slice(H - 4, H), slice(W // 2 - 4, W // 2 + 4))   # the shirt below the chin
    assert red[bottom][..., 2].mean() > grey[bottom][..., 2].mean() + 40


def test_the_shake_moves_the_whole_frame_by_the_drawn_offset():
    pad = (20, 16)
    world = textured(H + 2 * pad[1], W + 2 * pad[0], seed=1)
    frames = np.repeat(world[pad[1]:pad[1] + H, pad[0]:pad[0] + W][None], 3, axis=0)   # a still scene
    shake = np.array([[0.0, 0.0, 0.0], [3.0, -2.0, 0.0], [-5.0, 1.5, 0.0]])            # px at height 360
    matrices = standin.camera_matrices((W, H), pad, 1.0, np.zeros(2), shake)
    filmed = standin.film(frames, world, pad, matrices)
    assert np.array_equal(filmed[0], frames[0])     # no shake, no zoom: the frame as it was
    gray = [np.float32(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY)) for f in filmed]
    for i in (1, 2):
        (dx, dy), _ = cv2.phaseCorrelate(gray[0], gray[i])
        assert (dx, dy) == pytest.approx(tuple(shake[i, :2] * H / 360), abs=0.25)


def test_zooming_out_shows_more_background_not_a_border():
    pad = (20, 16)
    world = textured(H + 2 * pad[1], W + 2 * pad[0], seed=2)
    frames = world[None, pad[1]:pad[1] + H, pad[0]:pad[0] + W].copy()
    matrices = standin.camera_matrices((W, H), pad, 0.85, np.zeros(2), np.zeros((1, 3)))
    filmed = standin.film(frames, world, pad, matrices)[0]
    expected = cv2.warpAffine(world, matrices[0], (W, H), flags=cv2.INTER_LINEAR)   # the whole world, zoomed out
    assert np.abs(filmed.astype(int) - expected).max() <= 1
    assert np.abs(filmed[0].astype(int) - filmed[1]).mean() > 1   # top rows are world, not a replicated edge


def test_hand_held_shake_is_smooth_small_and_deterministic():
    shake = standin.hand_held_shake(np.random.default_rng(4), 90, FPS)
    assert shake.shape == (90, 3)
    assert np.array_equal(shake, standin.hand_held_shake(np.random.default_rng(4), 90, FPS))
    assert 1.0 < np.abs(shake[:, :2]).max() < 25.0                       # px at height 360: small, but there
    step = np.abs(np.diff(shake[:, :2], axis=0))
    assert step.mean() < 0.35 * np.abs(shake[:, :2] - shake[:, :2].mean(0)).mean()   # drifts more than it jumps
    assert np.abs(shake[:, 2]).max() < 2.0                                # degrees


def test_light_sets_exposure_white_balance_and_tone():
    grey = np.full((2, 8, 8, 3), 128, np.uint8)
    lit = standin.light(grey, np.array([1.2, 1.0, 0.8]), 1.0)
    assert tuple(lit[0, 0, 0]) == (154, 128, 102)                     # B x1.2, G x1, R x0.8
    assert standin.light(grey, np.ones(3), 1.25)[0, 0, 0, 0] == round(255 * (128 / 255) ** 1.25)


def test_sensor_noise_has_the_drawn_sigma_and_is_new_in_every_frame():
    grey = np.full((3, 64, 64, 3), 128, np.uint8)
    noisy = standin.sensor_noise(grey, 4.0, key=9).astype(float)
    assert noisy.std() == pytest.approx(4.0, rel=0.05)
    assert not np.array_equal(noisy[0], noisy[1])
    assert np.array_equal(noisy, standin.sensor_noise(grey, 4.0, key=9))


def test_compression_loses_more_at_lower_quality_in_8x8_blocks():
    frames = standin.sensor_noise(textured(64, 64, seed=3)[None], 6.0, key=1)
    errors = {q: np.abs(standin.compress(frames, q).astype(int) - frames).mean() for q in (20, 45, 90)}
    assert errors[20] > errors[45] > errors[90] > 0
    rough = standin.compress(frames, 20)[0].astype(float).mean(axis=-1)
    across = np.abs(np.diff(rough, axis=1))[:, 7::8].mean()           # steps across the 8x8 block edges...
    inside = np.abs(np.diff(rough, axis=1))[:, 3::8].mean()           # ...are bigger than inside the blocks
    assert across > inside


def test_sessions_hold_the_newest_takes_in_the_last_one():
    assert standin.sessions_of_takes(10, 3, 3) == [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert standin.sessions_of_takes(5, 1, 2) == [0] * 5
    with pytest.raises(ValueError):
        standin.sessions_of_takes(4, 2, 5)


def test_a_missing_real_clip_is_one_line_naming_it_and_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        standin.real_frames(tmp_path / "signing_clip.mp4")
    message = str(error.value)
    assert str(tmp_path / "signing_clip.mp4") in message and "--hard" in message and "\n" not in message


def test_sessions_differ_in_colour_and_the_same_seeds_give_the_same_take(shared_data):
    real = standin.real_frames(shared_data / "real" / "signing_clip.mp4")
    assert real.shape[0] == 58 and real.dtype == np.uint8
    num = int(3 * FPS)
    sessions = [standin.draw_session(np.random.default_rng([0, 0, s]), len(real)) for s in range(2)]

    def take(session: int, number: int) -> np.ndarray:
        draws = standin.draw_take(np.random.default_rng([0, 1, number]), num, FPS)
        return standin.hard_take("zigzag", 5, (5, number), sessions[session], draws, W, H, FPS, num, real)

    first = take(0, 0)
    assert first.shape == (num, H, W, 3) and first.dtype == np.uint8
    assert np.array_equal(first, take(0, 0))
    means = {(s, n): take(s, n).reshape(-1, 3).mean(axis=0) for s, n in ((0, 0), (0, 1), (1, 2), (1, 3))}
    within = max(np.abs(means[0, 0] - means[0, 1]).max(), np.abs(means[1, 2] - means[1, 3]).max())
    between = np.abs((means[0, 0] + means[0, 1]) / 2 - (means[1, 2] + means[1, 3]) / 2).max()
    assert between > 2 * within and between > 8          # grey levels of the mean colour
    # The take starts and ends still (the movement sits inside), and the shake moves even the still frames.
    assert not np.array_equal(first[0], first[1])
    assert math.isclose(standin.movement_length(FPS, 1.0), standin.MOVEMENT_S * FPS, abs_tol=1)
