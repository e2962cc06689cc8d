"""The description recorded with a checkpoint: written atomically, read back, clear errors, flow method from
the flow folder's own record."""
import subprocess
import sys

import pytest

from signlang import folderstep, modelinfo
from conftest import REPO
from signlang.videoset import DEMO_SET


def test_info_round_trips_beside_the_checkpoint(tmp_path):
    checkpoint = tmp_path / "run-entire-best.keras"
    info = {"stream": "flow", "flow_method": "dis", "num_frames": 16, "min_dim_px": 128, "crop_px": 128,
            "classes": ["a", "b"], "which": "best", "selected_on": "val_loss"}
    path = modelinfo.write_model_info(checkpoint, info)
    assert path == tmp_path / "run-entire-best.keras.json"
    assert modelinfo.read_model_info(checkpoint) == {"format": modelinfo.FORMAT_VERSION, **info}
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


def test_missing_or_broken_record_is_a_clear_error(tmp_path):
    checkpoint = tmp_path / "m.keras"
    with pytest.raises(FileNotFoundError, match=r"m\.keras\.json not found.*retrain"):
        modelinfo.read_model_info(checkpoint)
    modelinfo.info_path(checkpoint).write_text('{"stream": "flow", "num_')
    with pytest.raises(ValueError, match="not a readable model description"):
        modelinfo.read_model_info(checkpoint)
    modelinfo.info_path(checkpoint).write_text('{"stream": "flow"}')
    with pytest.raises(ValueError, match="lacks"):
        modelinfo.read_model_info(checkpoint)
    with pytest.raises(ValueError, match="lacks"):
        modelinfo.write_model_info(checkpoint, {"stream": "flow"})


def test_flow_method_comes_from_the_flow_folders_own_record(tmp_path):
    flow_dir = tmp_path / "oflow"
    flow_dir.mkdir()
    assert modelinfo.describe_run(DEMO_SET, "flow", ["a", "b"], flow_dir)["flow_method"] is None  # no record
    folderstep.check_settings(flow_dir, "flows", {"method": "farneback", "bound_px": 20.0})  # opticalflow's writer
    info = modelinfo.describe_run(DEMO_SET, "flow", ["a", "b"], flow_dir / "train")
    assert info["flow_method"] == "farneback" and info["flow_settings"]["bound_px"] == 20.0
    assert (info["num_frames"], info["crop_px"], info["set"]["tag"]) == (16, 128, "demo010")
    assert modelinfo.describe_run(DEMO_SET, "rgb", ["a", "b"], flow_dir)["flow_method"] is None
    modelinfo.check_flow_method(info, "farneback")
    with pytest.raises(ValueError, match="trained on farneback flow, not dis"):
        modelinfo.check_flow_method(info, "dis", "m.keras")


def test_modelinfo_imports_without_tensorflow():
    code = "import sys; from signlang import modelinfo; assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)
