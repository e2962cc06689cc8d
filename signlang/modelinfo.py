"""The description recorded with every trained checkpoint: what input it expects and how it was trained.

Users: train_i3d.py and train_mobile_lstm.py write it, predict.py and livedemo.py read it.

Each checkpoint `<name>.keras` gets a sidecar `<name>.keras.json`, written atomically (safeio) right after
the checkpoint itself, holding:

    stream        "flow" or "rgb" (the LSTM path: "rgb", "flow" or "both")
    flow_method   the optical flow the training clips were computed with ("tvl1-fast", "dis", ...), read
                  from the flow folder's `flows-settings.json` (opticalflow.py writes it); null for rgb, and
                  null when the flow folder has no such record (flows made before it existed)
    flow_settings that record as it was (method, bound, ...), or null
    num_frames, min_dim_px, crop_px   the clip size the network takes
    classes       the sorted sClass list (output index i is classes[i])
    set           the set it was trained on: name, video folder, tag
    epochs        the epochs trained into this checkpoint (all phases)
    phase         "above" (the seed's word for head-only fine-tuning), "entire" (full fine-tuning), "fast" (the fast
                  recipe: fastrecipe.train_fast) or "lstm"
    which         "last" or "best"; `selected_on` names the metric `best` was chosen by, `score` its value

A consumer checks what it needs (`check_flow_method`; a model against a set: predictor.check_record) and refuses a
mismatch with a message naming both. A record written before `classes` was required (none known, but a copied or
hand-made one may lack it) still reads; the check then treats the model as unrecorded (--no-record-check).

Also the one reader of a training run's state file (`run_state`, `run_finished`): model discovery
(predictor.find_models) takes the newest *finished* run.

Importable without TensorFlow.
"""
import json
from pathlib import Path

from signlang.safeio import write_json_atomic

FLOW_SETTINGS_NAME = "flows-settings.json"  # opticalflow.py writes it (folderstep.check_settings)
FORMAT_VERSION = 1
REQUIRED = ("stream", "num_frames", "min_dim_px", "crop_px", "classes")  # what a writer must give
READ_REQUIRED = ("stream", "num_frames", "min_dim_px", "crop_px")  # what a record must hold to be read at all
# The full recipe's phases (fullrecipe.PHASES): a run is finished when its state file lists both in `phases_done`.
RUN_PHASES = ("above", "entire")


def info_path(checkpoint: Path) -> Path:
    """The sidecar of a checkpoint: model/x-best.keras -> model/x-best.keras.json."""
    checkpoint = Path(checkpoint)
    return checkpoint.with_name(checkpoint.name + ".json")


def write_model_info(checkpoint: Path, info: dict) -> Path:
    """Records `info` beside `checkpoint` atomically; returns the sidecar path.

    Raises:
        ValueError: a required field (REQUIRED) is missing.
    """
    missing = [key for key in REQUIRED if key not in info]
    if missing:
        raise ValueError(f"model info for {checkpoint} lacks {missing}")
    path = info_path(checkpoint)
    write_json_atomic(path, {"format": FORMAT_VERSION, **info})
    return path


def read_model_info(checkpoint: Path) -> dict:
    """The description recorded with `checkpoint`.

    Raises:
        FileNotFoundError: no record beside the checkpoint (a model trained before records existed: retrain it).
        ValueError: the record is unreadable or lacks a required field.
    """
    path = info_path(checkpoint)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: {Path(checkpoint).name} has no recorded description "
                                "(trained before models recorded one, or copied without it); retrain with "
                                "`python train_i3d.py` or copy the .json beside it")
    try:
        info = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not a readable model description ({error}); retrain or restore it") from None
    if not isinstance(info, dict):
        raise ValueError(f"{path} is not a readable model description (not a JSON object); retrain or restore it")
    missing = [key for key in READ_REQUIRED if key not in info]
    if missing:
        raise ValueError(f"{path} lacks {missing}; retrain or restore it")
    return info


def run_state_path(checkpoint: Path) -> Path:
    """The state file of the run a checkpoint (or its export) belongs to:
    model/<stamp>-<tag>-<stream>-i3d-entire-best.keras -> model/<stamp>-<tag>-<stream>-i3d-state.json."""
    checkpoint = Path(checkpoint)
    prefix = checkpoint.name.rsplit("-i3d-", 1)[0] + "-i3d" if "-i3d-" in checkpoint.name else checkpoint.stem
    return checkpoint.with_name(f"{prefix}-state.json")


def run_state(checkpoint: Path) -> dict | None:
    """The saved state of the run `checkpoint` belongs to (train_i3d.py writes it after every epoch), or None
    when there is none (a model copied without it, or trained before runs kept one).

    Raises:
        ValueError: the state file exists but is unreadable (its name said).
    """
    path = run_state_path(checkpoint)
    try:
        state = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not a readable training state ({error}); run the training command again "
                         "to resume, or give --model") from None
    if not isinstance(state, dict):
        raise ValueError(f"{path} is not a readable training state (not a JSON object); give --model")
    return state


def run_finished(state: dict) -> bool:
    """True when a run's state lists both phases (RUN_PHASES) as done."""
    return set(RUN_PHASES) <= set(state.get("phases_done") or ())


def read_flow_settings(flow_dir: Path) -> dict | None:
    """opticalflow.py's record `<flow_dir>/flows-settings.json` (or one level up), or None when there is none.

    Raises:
        ValueError: the record exists but is unreadable.
    """
    flow_dir = Path(flow_dir)
    for candidate in (flow_dir / FLOW_SETTINGS_NAME, flow_dir.parent / FLOW_SETTINGS_NAME):
        if candidate.is_file():
            try:
                settings = json.loads(candidate.read_text())
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                raise ValueError(f"{candidate} is unreadable ({error}); re-run `python opticalflow.py`") from None
            return settings if isinstance(settings, dict) else None
    return None


def flow_method_of(settings: dict | None) -> str | None:
    """The method named in a flow-settings record ("method" key), or None."""
    if not settings:
        return None
    return settings.get("method", settings.get("flow_method"))


def describe_run(video_set, stream: str, classes: list[str], flow_dir: Path | None = None) -> dict:
    """The part of a checkpoint's description that is the same for every checkpoint of a run.

    Args:
        video_set: the videoset.VideoSet trained on.
        stream: "flow", "rgb" (or "both" for the LSTM path).
        classes: the sorted sClass list.
        flow_dir: the flow folder the clips came from (its flows-settings.json names the method); None for rgb.
    """
    settings = read_flow_settings(flow_dir) if flow_dir is not None and stream != "rgb" else None
    return {
        "stream": stream, "flow_method": flow_method_of(settings), "flow_settings": settings,
        "num_frames": video_set.num_frames, "min_dim_px": video_set.min_dim_px, "crop_px": video_set.crop_px,
        "classes": list(classes),
        "set": {"name": video_set.name, "tag": video_set.tag, "video_dir": str(Path(video_set.video_dir).resolve())},
    }


def check_flow_method(info: dict, method: str, checkpoint: Path | str = "the model") -> None:
    """Raises ValueError when a flow model was trained on another flow method than `method`.

    A model whose record has no flow method (flows made before opticalflow.py recorded it) passes.
    """
    trained = info.get("flow_method")
    if info.get("stream") in ("flow", "both") and trained and trained != method:
        raise ValueError(f"{checkpoint} was trained on {trained} flow, not {method}: use --flow-method {trained} "
                         f"or leave the option out (or retrain on {method} flow)")
