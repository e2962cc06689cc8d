"""Shared fixtures: the reference data in ../shared/data, the converted I3D weights, a fake camera, a small disk, Xvfb."""
import os
import shutil
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from tempfile import TemporaryFile
from types import SimpleNamespace

import numpy as np
import pytest
from signlang.i3d_weights import cache_dir

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def run_together(*commands, cwd=None, timeout=None, **_) -> list[subprocess.CompletedProcess]:
    """subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout) of each command, all
    started at once: for commands that spend most of their time on one core (TensorFlow's start-up), so that
    two use both cores of a 2-core machine. Other keywords (capture_output, text) are taken as those."""
    with ExitStack() as stack:
        outputs = [(stack.enter_context(TemporaryFile("w+")), stack.enter_context(TemporaryFile("w+")))
                   for _ in commands]
        processes = [stack.enter_context(subprocess.Popen(command, cwd=cwd, stdout=out, stderr=err))
                     for command, (out, err) in zip(commands, outputs)]
        stack.callback(lambda: [process.kill() for process in processes])  # none left running on a timeout
        codes = [process.wait(timeout) for process in processes]
        for out, err in outputs:
            out.seek(0), err.seek(0)
        return [subprocess.CompletedProcess(command, code, out.read(), err.read())
                for command, code, (out, err) in zip(commands, codes, outputs)]


@pytest.fixture
def fake_cameras(monkeypatch):
    """cv2.VideoCapture replaced by synthetic.FakeCapture; set FakeCapture.working to the devices that open."""
    import cv2
    from signlang.synthetic import FakeCapture

    FakeCapture.instances, FakeCapture.working = [], set()
    monkeypatch.setattr(cv2, "VideoCapture", FakeCapture)
    return FakeCapture


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data; skips when absent, but fails under CI where it must be present."""
    if not SHARED_DATA.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{SHARED_DATA} is missing and CI is set: the reference data must be beside the repo")
        pytest.skip(f"{SHARED_DATA} not present")
    return SHARED_DATA


@pytest.fixture(scope="session")
def kinetics_weights() -> Path:
    """The converted Kinetics-400 RGB I3D weights; `make test` downloads them in its set-up."""
    from signlang import i3d

    path = cache_dir() / i3d.WEIGHTS["rgb_kinetics400"].cache_name
    if not path.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing and CI is set: `make test` should have run "
                        "`python model_i3d.py --download rgb_kinetics400`")
        pytest.skip(f"{path} not present; run `python model_i3d.py --download rgb_kinetics400`")
    return path


class SmallDisk:
    """A tmpfs of a few MB mounted at `path` (for full-disk tests); `resize` frees space or takes it away."""

    def __init__(self, path: Path, size_mb: float):
        self.path, self.size_mb = path, size_mb

    def resize(self, size_mb: float) -> None:
        _mount(["-o", f"remount,size={int(size_mb * 1024)}k", self.path])
        self.size_mb = size_mb


def _mount(args) -> subprocess.CompletedProcess:
    return subprocess.run(["mount", *map(str, args)], capture_output=True, text=True, timeout=30, check=True)


@pytest.fixture
def small_disk(tmp_path):
    """small_disk(size_mb) -> SmallDisk: a tmpfs mounted under tmp_path, unmounted after the test whatever happens.

    Skips (under CI too) only when mounting is refused (not root, no tmpfs, a container without
    CAP_SYS_ADMIN): that says nothing about the code. Once mounted, the test passes or fails as any other.
    """
    mounted = []

    def mount(size_mb: float) -> SmallDisk:
        path = tmp_path / f"disk{len(mounted)}"
        path.mkdir()
        try:
            _mount(["-t", "tmpfs", "-o", f"size={int(size_mb * 1024)}k", "tmpfs", path])
        except (OSError, subprocess.SubprocessError) as error:
            detail = getattr(error, "stderr", "") or error
            pytest.skip(f"cannot mount a tmpfs for a full-disk test ({str(detail).strip()}); needs root")
        mounted.append(path)
        return SmallDisk(path, size_mb)

    try:
        yield mount
    finally:
        for path in reversed(mounted):
            subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30)


@pytest.fixture
def xvfb(tmp_path):
    """A virtual X display (Debian package xvfb) on a free number; its screen is readable in the yielded fbdir."""
    if not sys.platform.startswith("linux") and not os.environ.get("CI"):
        pytest.skip("the window test needs Linux and Xvfb")
    if shutil.which("Xvfb") is None:
        pytest.fail("Xvfb is missing: `apt-get install -y xvfb` (Debian) to run the live window test")
    fbdir = tmp_path / "fb"
    fbdir.mkdir()
    rng = np.random.default_rng()
    for number in rng.permutation(np.arange(100, 1000))[:50]:
        if Path(f"/tmp/.X{number}-lock").exists() or Path(f"/tmp/.X11-unix/X{number}").exists():
            continue
        server = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "800x600x24", "-fbdir", str(fbdir),
                                   "-nolisten", "tcp", "-br"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and server.poll() is None and \
                not Path(f"/tmp/.X11-unix/X{number}").exists():
            time.sleep(0.05)
        if server.poll() is None:
            try:
                yield SimpleNamespace(display=f":{number}", screen=fbdir / "Xvfb_screen0")
            finally:
                server.terminate()
                server.wait(10)
            return
    pytest.fail("Could not start Xvfb on any of 50 display numbers")


SLOW_FIXTURES = {"trained", "blob_model"}  # test_train_i3d's flow I3D, test_livedemo's trained blob model


def pytest_collection_modifyitems(session, config, items):
    """Runs the Ray tests last: after ray.init/shutdown in this process, Ray's native threads stay, and a
    later Keras fit() on a PyDataset deadlocked (all threads in futex waits, seen in test_train_i3d's fixture)."""
    items.sort(key=lambda item: item.fspath.basename == "test_cluster.py")
    # Tests on a model trained in a fixture (minutes on 2 cores) are slow, whatever else they check.
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
