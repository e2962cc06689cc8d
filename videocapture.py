"""Records one clip from the webcam or a video file and prints how fluent the capture stayed.

    python videocapture.py --source data-set/demo/010/val/circle_cw/s07_0000.avi --seconds 3 --headless

Run as a script it opens the source (default: the webcam), records one clip of --seconds while computing
the optical flow of the frames a model would see, and prints how fluent the capture stayed. With a window
(no --headless) it shows the mirrored preview; SPACE records, q quits.

The sources are signlang/sources.py's (`open_source`).

The recording of the CLI prepares the network input while recording (liveinput.ClipRecorder); the
overlays it draws are signlang/overlay.py's.
"""
import argparse
import sys
import time
from pathlib import Path

import cv2

from signlang import liveinput
from signlang.flow import DEFAULT_FLOW_METHOD, METHODS
from signlang.overlay import GREEN, RED, draw_box, flow_mosaic, preview_image
from signlang.sources import CameraError, open_source
from signlang.video import VideoError


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, help="video file or folder of .jpg frames instead of the webcam")
    parser.add_argument("--camera", type=int, default=0, help="webcam index (default 0; falls back to 0)")
    parser.add_argument("--no-pace", action="store_true", help="read --source as fast as possible, not at its fps")
    parser.add_argument("--seconds", type=float, default=3.0, help="recording length in seconds (default 3)")
    parser.add_argument("--num-frames", type=int, default=16, help="frames the model takes (default 16, DEMO_SET)")
    parser.add_argument("--min-dim", type=int, default=128, help="smaller side after resizing (default 128)")
    parser.add_argument("--crop", type=int, default=128, help="center crop in pixels (default 128)")
    parser.add_argument("--flow-method", choices=METHODS, default=DEFAULT_FLOW_METHOD, help="optical flow method")
    parser.add_argument("--headless", action="store_true", help="no window: record at once and print the timings")
    args = parser.parse_args(argv)

    try:
        source = open_source(args.source, args.camera, pace=not args.no_pace)
    except (CameraError, FileNotFoundError, VideoError) as error:
        print(f"videocapture: {error}", file=sys.stderr)
        return 2
    with source:
        recorder = None
        try:
            while True:
                image = source.read()
                if image is None:
                    break
                if recorder is None and args.headless:
                    recorder = liveinput.ClipRecorder(liveinput.clip_length(args.seconds, source.fps), args.num_frames, args.min_dim,
                                            args.crop, flow_method=args.flow_method)
                if recorder is not None and recorder.add(image):
                    break
                if not args.headless:
                    display = preview_image(image)
                    if recorder is None:
                        draw_box(display, "Press SPACE to start", GREEN)
                    else:
                        draw_box(display, f"Recording: {(recorder.num_in - recorder.num_recorded) / source.fps:.1f} s left",
                                 RED, progress=recorder.num_recorded / recorder.num_in)
                    cv2.imshow("videocapture", display)
                    key = cv2.waitKey(1) & 0xFF
                    if key == ord("q"):
                        break
                    if key == ord(" ") and recorder is None:
                        recorder = liveinput.ClipRecorder(liveinput.clip_length(args.seconds, source.fps), args.num_frames,
                                                args.min_dim, args.crop, flow_method=args.flow_method)
            if recorder is None or not recorder.done:
                print(f"Nothing recorded from {source.name}")
                return 1
            record_s = recorder.t_end - recorder.t_start
            inputs = recorder.inputs()
            wait_s = time.perf_counter() - recorder.t_end
            if not args.headless:
                cv2.imshow("videocapture", flow_mosaic(inputs["flow"][0]))
                cv2.waitKey(2000)
            print(f"Recorded {recorder.num_in} frames in {record_s:.2f} s ({(recorder.num_in - 1) / max(record_s, 1e-9):.1f} "
                  f"fps, {source.num_dropped} dropped) from {source.name}; {args.flow_method} flow of "
                  f"{args.num_frames} frames took {recorder.seconds_busy:.2f} s, ready {wait_s:.3f} s after recording")
        finally:
            if recorder is not None:
                recorder.close()
            if not args.headless:
                cv2.destroyAllWindows()
    return 0


if __name__ == "__main__":
    sys.exit(main())
