"""Every script on a missing or wrong file argument: one line naming the file (and the fix), exit 2, no traceback
(issue 9 item 14). Each main(argv) runs in this process; the scripts that avoid TensorFlow still avoid it."""
import importlib
import sys
from pathlib import Path

import pytest

from signlang.synthetic import write_blob_video


def _cases(tmp: Path) -> list[tuple[str, list[str], Path]]:
    """(module, argv, the path the error must name)."""
    missing_set, missing_video = tmp / "no-such-set", tmp / "no-such-clip.avi"
    not_a_model, missing_model = tmp / "notes.keras", tmp / "no-such-model.keras"
    clip, a_file, not_a_tar = tmp / "clip.avi", tmp / "a-file", tmp / "notes.tar.gz"
    return [
        ("train_i3d", ["--set", str(missing_set)], missing_set),
        ("train_mobile_lstm", ["--set", str(missing_set)], missing_set),
        ("pipeline_i3d", ["--set", str(missing_set)], missing_set),
        ("pipeline_mobile_lstm", ["--set", str(missing_set)], missing_set),
        ("livedemo", ["--headless", "--set", str(missing_set), "--source", str(clip)], missing_set),
        ("livedemo", ["--headless", "--source", str(missing_video)], missing_video),
        ("livedemo", ["--headless", "--source", str(clip), "--model", str(missing_model)], missing_model),
        ("livedemo", ["--headless", "--source", str(clip), "--model", str(not_a_model)], not_a_model),
        ("predict", ["--video", str(clip), "--model", str(not_a_model)], not_a_model),
        ("frame", [str(missing_set), str(tmp / "image")], missing_set),
        ("opticalflow", [str(missing_set), str(tmp / "oflow")], missing_set),
        ("feature", [str(missing_set), str(tmp / "features")], missing_set),
        ("model_i3d", ["--download", "rgb_kinetics400", "--sdist", str(tmp / "no-such.tar.gz")], tmp / "no-such.tar.gz"),
        ("model_i3d", ["--download", "rgb_kinetics400", "--sdist", str(not_a_tar)], not_a_tar),
        ("prepare_demo", ["--out", str(a_file), "--workers", "1"], a_file),
    ]


CASE_IDS = [f"{module}-{i}" for i, (module, _, _) in enumerate(_cases(Path("/x")))]


@pytest.mark.parametrize("case", range(len(CASE_IDS)), ids=CASE_IDS)
def test_wrong_file_argument_is_one_line_exit_2(case, tmp_path, capsys, monkeypatch):
    module_name, argv, named = _cases(tmp_path)[case]
    write_blob_video(tmp_path / "clip.avi", num_frames=8)
    (tmp_path / "notes.keras").write_text("not a model\n")
    (tmp_path / "notes.tar.gz").write_text("not an archive\n")
    (tmp_path / "a-file").write_text("a file, not a folder\n")
    monkeypatch.chdir(tmp_path)  # the scripts' default folders (data-set/, model/) are empty here
    had_tf = "tensorflow" in sys.modules
    module = importlib.import_module(module_name)
    code = module.main(argv)
    out, err = capsys.readouterr()
    assert code == 2, f"{module_name} {argv}: exit {code}\n{out}\n{err}"
    assert "Traceback" not in out + err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and str(named.name) in lines[0], err
    if module_name in ("frame", "opticalflow", "feature", "prepare_demo", "pipeline_i3d") and not had_tf:
        assert "tensorflow" not in sys.modules, f"{module_name} imported TensorFlow for a user error"
