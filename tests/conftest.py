"""Shared fixtures: the reference data in ../shared/data, the converted I3D weights, a fake camera."""
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO))


@pytest.fixture
def fake_cameras(monkeypatch):
    """cv2.VideoCapture replaced by synthetic.FakeCapture; set FakeCapture.working to the devices that open."""
    import cv2
    from synthetic import FakeCapture

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
    import model_i3d

    path = model_i3d.cache_dir() / model_i3d.WEIGHTS["rgb_kinetics400"].cache_name
    if not path.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing and CI is set: `make test` should have run "
                        "`python model_i3d.py --download rgb_kinetics400`")
        pytest.skip(f"{path} not present; run `python model_i3d.py --download rgb_kinetics400`")
    return path


def pytest_collection_modifyitems(session, config, items):
    """Runs the Ray tests last: after ray.init/shutdown in this process, Ray's native threads stay, and a
    later Keras fit() on a PyDataset deadlocked (all threads in futex waits, seen in test_train_i3d's fixture)."""
    items.sort(key=lambda item: item.fspath.basename == "test_cluster.py")
