"""Frames to optical flow: the folder step that computes the flow of every frame folder (operations in signlang/flow.py).

    python opticalflow.py data-temp/demo/010-16/image data-temp/demo/010-16/oflow --method tvl1-lite

Reads FRAME_DIR/<split>/<label>/<video>/frame0000.jpg ... (written by `python frame.py`) and writes
FLOW_DIR/<split>/<label>/<video>/flow000.jpg ...: one flow image per frame, the first all zeros.
Re-running skips finished videos; a killed run leaves no half-written folder (folderstep.py).

Encoding, as DeepMind's I3D flow stream expects (kinetics-i3d README): TV-L1 flow on grayscale
frames, in pixels, clipped to [-20, 20] and scaled to [-1, 1]. On disk (the seed's format): a
3-channel JPEG, x in channel 0, y in channel 1, a zero-flow third channel, byte = round((f + 1) * 127.5).
FLOW_DIR must lie outside FRAME_DIR. Exit status: 0 all fine, 1 some videos failed, 2 user error.
"""
import argparse
import functools
import json
import sys
import warnings
from pathlib import Path

from signlang.engine import add_step_arguments
from signlang.flow import (BOUND_PX, DEFAULT_FLOW_METHOD, DIS_WARNING, METHODS, METHOD_HELP, check_method,
                           flows_to_files, frames_to_flows)
from signlang.folderstep import (EXIT_HELP, StepSummary, check_separate, check_settings, exit_status, is_complete,
                                 is_jpg_folder, prepare_output, remove_stale, run_step, threads_per_worker, visible)
from signlang.safeio import atomic_dir, clean_leftovers
from signlang.video import files_to_frames, jpg_files, set_cv2_threads


def check_pipeline_flow(flow_dir: Path, method: str, script: str) -> None:
    """Before a pipeline's flow step: flow_dir may hold flow of another method (e.g. the seed's tvl1-fast from
    before tvl1-lite became the default). The pipelines have no --overwrite, so say what to do instead.

    Raises:
        ValueError: flow_dir/flows-settings.json names another method.
    """
    path = Path(flow_dir) / "flows-settings.json"
    try:
        recorded = json.loads(path.read_text()).get("method")
    except (OSError, ValueError, AttributeError):
        return  # none yet (or unreadable: frames_dir_to_flows_dir replaces it)
    if recorded and recorded != method:
        raise ValueError(
            f"{Path(flow_dir).resolve()} holds {recorded} flow but this run computes {method} (FLOW_METHOD at the "
            f"top of {script}, or a folder set's videoset.json). Delete that folder to compute {method} flow "
            f"(models trained on {recorded} keep working: the live demo computes each model's own flow), or set "
            f"FLOW_METHOD = \"{recorded}\" at the top of {script}")


def flow_video(frame_folder: Path, target_dir: Path, method: str, overwrite: bool) -> str:
    """One job of `frames_dir_to_flows_dir`: writes the flow of one frame folder; "done" or "skipped"."""
    num_frames = len(jpg_files(frame_folder))
    if num_frames == 0:
        raise FileNotFoundError(f"No .jpg frames in {frame_folder}; re-run `python frame.py`")
    if not overwrite and is_complete(target_dir, "*.jpg", num_frames):
        return "skipped"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 'dis' was already warned about once, in the main process
        flows = frames_to_flows(files_to_frames(frame_folder), method)
    with atomic_dir(target_dir) as tmp:
        flows_to_files(flows, tmp)
    return "done"


def frames_dir_to_flows_dir(
    frame_dir: Path, flow_dir: Path, method: str = DEFAULT_FLOW_METHOD, workers: int = 1, overwrite: bool = False,
    engine: str = "local", address: str | None = None,
) -> StepSummary:
    """Computes flow_dir/<split>/<label>/<video>/flow000.jpg ... for every frame_dir/<split>/<label>/<video>/.

    A video is skipped when its flow folder already holds as many flow files as it has frames
    (unless overwrite). Failures are listed in flow_dir/failed-flows.txt. engine, address: where the jobs
    run, "local" (`workers` processes) or "ray" (folderstep.run_step, engine.py).

    Raises:
        ValueError: unknown method, or flow_dir holds flow of another method (flow_dir/flows-settings.json)
            and overwrite is False.
        FileNotFoundError: no frame folders under frame_dir.
    """
    check_method(method)
    frame_dir, flow_dir = Path(frame_dir), Path(flow_dir)
    check_separate(frame_dir, flow_dir)
    folders = [
        folder
        for split in (visible(frame_dir.iterdir()) if frame_dir.is_dir() else [])
        if split.is_dir()
        for label in visible(split.iterdir())
        if label.is_dir()
        for folder in visible(label.iterdir())
        if folder.is_dir()
    ]
    if not folders:
        raise FileNotFoundError(
            f"No frame folders under {frame_dir.resolve()} (expected <split>/<label>/<video>/frame0000.jpg); "
            "run `python frame.py` first"
        )
    jobs = [(folder, flow_dir / folder.relative_to(frame_dir)) for folder in folders]
    prepare_output(flow_dir)
    check_settings(flow_dir, "flows", {"method": method, "bound_px": BOUND_PX}, overwrite)
    remove_stale(flow_dir, [target for _, target in jobs], is_jpg_folder, "flows")
    clean_leftovers(flow_dir)
    print(f"Computing {method} flow of {len(folders)} frame folders in {frame_dir.resolve()} to {flow_dir.resolve()} ...")
    summary = run_step(
        jobs,
        functools.partial(flow_video, method=method, overwrite=overwrite),
        workers=workers,
        desc=f"flow {method}",
        verb="computed",
        initializer=set_cv2_threads,
        initargs=(threads_per_worker(workers),),
        engine=engine,
        address=address,
    )
    summary.write_failures(flow_dir, "flows")
    print(summary.line("flows"))
    return summary


def main(argv=None) -> int:
    method_lines = "\n".join(f"  {name:13s} {text}" for name, text in METHOD_HELP.items())
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=f"methods:\n{method_lines}\n\n{DIS_WARNING}\n\n{EXIT_HELP}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("frame_dir", type=Path, help="folder holding <split>/<label>/<video>/frame0000.jpg ... (frame.py)")
    parser.add_argument("flow_dir", type=Path, help="output folder; gets <split>/<label>/<video>/flow000.jpg ...")
    parser.add_argument(
        "--method", default=DEFAULT_FLOW_METHOD, choices=METHODS,
        help=f"flow algorithm (default {DEFAULT_FLOW_METHOD}); 'dis' is fast but NOT TV-L1, see below",
    )
    add_step_arguments(parser, "recompute videos whose flow folder is already complete")
    args = parser.parse_args(argv)
    return exit_status(lambda: frames_dir_to_flows_dir(
        args.frame_dir, args.flow_dir, method=args.method, workers=args.workers, overwrite=args.overwrite,
        engine=args.engine, address=args.address))


if __name__ == "__main__":
    sys.exit(main())
