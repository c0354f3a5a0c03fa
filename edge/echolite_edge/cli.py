"""echolite-edge run MODEL INPUT --out DIR segments an image, a .npy stack, a DICOM or video file or a folder, checks
every mask against the published anatomical criteria and reports frames/s; echolite-edge bench MODEL times the model
like TFLite's benchmark_model; echolite-edge live MODEL SOURCE segments a scanner's feed as it arrives."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import textwrap
import time
from pathlib import Path

from echolite_edge import __version__
from echolite_edge.anatomy import qc_summary
from echolite_edge.bench import DEFAULT_RUNS, benchmark, benchmark_cine
from echolite_edge.cine import (
    MASKS_FILE,
    CineFrame,
    FramePipeline,
    MaskArchives,
    check_loop_frame,
    measure_cine,
    write_frame_outputs,
    write_loop_outputs,
    write_masks,
)
from echolite_edge.console import native_stderr_silenced
from echolite_edge.files import building_folder, check_output_folder, check_report_file, write_json
from echolite_edge.frames import frame_files, frame_names, output_stem, read_one_frame, read_source
from echolite_edge.live import feed_frames, run_live, stdin_frames
from echolite_edge.loop_report import write_loop_reports
from echolite_edge.outputs import BackgroundJobs
from echolite_edge.postprocess import CLOSE_DEFAULT, CLOSE_MODES
from echolite_edge.pretrained import NAMES as SHIPPED
from echolite_edge.pretrained import model_file
from echolite_edge.segmenter import EdgeSegmenter
from echolite_edge.sources import NotBMode, is_loop_file
from echolite_edge.tta import TTA_MODES
from echolite_edge.words import counted

QC_MODES = ("off", "report", "strict")
RESULTS = "results.json"
"""Written into --out by ``run``: per frame its files and QC verdict, the QC summary, the cine measurements."""
DESCRIPTION = (
    "The TensorFlow-free device runner of echolite: segment frames with an exported model (numpy, Pillow and a "
    "TFLite interpreter only), check every mask against the anatomical criteria, time the model, follow a live feed."
)


class _Parser(argparse.ArgumentParser):
    """Option errors as one line and exit status 1, like every other error here; help laid out as ``echolite``'s
    (click's): "Usage:", "Arguments", "Options", "-h, --help  Show this message and exit."."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, add_help=False, **kwargs)
        self._positionals.title, self._optionals.title = "Arguments", "Options"
        self.add_argument("-h", "--help", action="help", help="Show this message and exit.")

    def error(self, message):
        print(f"error: {message}", file=sys.stderr)
        sys.exit(1)


class _HelpFormatter(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, "Usage: " if prefix is None else prefix)

    def _format_action(self, action):
        if isinstance(action, argparse._SubParsersAction):  # the commands, not a line for their group above them
            return "".join(super(_HelpFormatter, self)._format_action(sub) for sub in action._get_subactions())
        return super()._format_action(action)

    def _split_lines(self, text, width):

        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)  # "[default: fill-enclosed]"


def _choices(values) -> str:
    """Choices as click writes them: [a|b|c]."""
    return "[" + "|".join(values) + "]"


SHARED_CORES = (
    "the network on all N, or on N-1 with post-processing and QC on the core left, whichever the first frame shows "
    "faster here"
)


def build_parser() -> argparse.ArgumentParser:
    """The command line: ``run``, ``bench`` and ``live``, their arguments and help."""
    parser = _Parser(prog="echolite-edge", description=DESCRIPTION)
    parser.add_argument(
        "--version",
        action="version",
        version=f"echolite-edge, version {__version__}",
        help="Show the version and exit.",
    )
    parser.add_argument("--verbose", action="store_true", help="Show the TFLite runtime's own messages.")
    sub = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser, title="Commands", metavar="COMMAND"
    )
    run = sub.add_parser(
        "run",
        help="Segment frames and write mask and overlay PNGs, with quality control.",
        description="Segment frames and write mask and overlay PNGs; check every mask against the anatomical "
        "criteria; with --cine, the loop's beats, ED and ES and ejection fraction, and a report page.",
    )
    run.add_argument(
        "model",
        type=model_file,
        metavar="MODEL",
        help=f"A shipped model ({', '.join(SHIPPED)}) or an exported .tflite (its .json metadata beside it too).",
    )
    run.add_argument(
        "input",
        type=Path,
        metavar="INPUT",
        help="PNG/JPEG/BMP/TIFF, .npy frame or stack (T, H, W), DICOM, video (MP4/AVI/GIF), or a folder of those.",
    )
    run.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="DIR",
        help="Folder for <name>_mask.png, <name>_overlay.png, results.json and, with --cine, report.html.",
    )
    run.add_argument(
        "--threads",
        type=_positive,
        default=2,
        metavar="N",
        help=f"Interpreter threads; with --cine, the cores to use: {SHARED_CORES}. [default: 2]",
    )
    run.add_argument("--skip-bad", action="store_true", help="Skip unreadable frames (listed) instead of stopping.")
    run.add_argument(
        "--cine",
        action="store_true",
        help="The frames are one cine loop: find its beats, ED and ES per beat, and give their mean EF when the "
        "loop passes the loop quality control (else say why not). Outputs fit a loop: its masks in one "
        f"{MASKS_FILE} (per loop), overlays of the ED and ES frames and of frames failing QC, report.html.",
    )
    run.add_argument(
        "--every-frame",
        action="store_true",
        help="With --cine: also each frame's overlay and mask PNG, as without --cine.",
    )
    run.add_argument(
        "--spacing",
        type=_positive_float,
        default=None,
        metavar="MM",
        help="Pixel size in mm of the input frames (for --cine).",
    )
    run.add_argument(
        "--fps",
        type=_positive_float,
        default=None,
        metavar="FPS",
        help="The loop's frame rate in frames/s, where the files carry none (for --cine: heart rate and rhythm "
        "check; without any rate the beats are counted in frames).",
    )
    run.add_argument(
        "--mitral-cut",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="With --cine: measure the ES LV cut at the ED mitral plane (in systole the annulus moves "
        "toward the apex: LV beyond that plane is atrium). [default: mitral-cut]",
    )
    run.add_argument(
        "--fill-enclosed",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Fill the background the heart encloses with the structure around it (holes, gaps). "
        "[default: fill-enclosed]",
    )
    run.add_argument(
        "--close-myocardium",
        choices=CLOSE_MODES,
        default=CLOSE_DEFAULT,
        metavar=_choices(CLOSE_MODES),
        help="LV pixels touching the background, away from the LA, become myocardium: off, when-open "
        "(only in a mask whose LV is open to the background beyond the published criterion) or "
        f"always. [default: {CLOSE_DEFAULT}]",
    )
    run.add_argument(
        "--detach-atrium",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Myocardium touching the LA but not the LV becomes background. [default: detach-atrium]",
    )
    run.add_argument(
        "--tta",
        choices=TTA_MODES,
        default="none",
        metavar=_choices(TTA_MODES),
        help="Test-time augmentation: zoom (3 views: zoomed 0.9, 1, 1.1), zoom-gamma (5 views: also gamma 0.8 "
        "and 1.25); one invoke per view, their mean probabilities decide. [default: none]",
    )
    run.add_argument(
        "--ensemble",
        type=model_file,
        action="append",
        default=[],
        metavar="MODEL",
        help="Another exported model (repeatable): the mean of all the models' class probabilities "
        "decides; one invoke per model.",
    )
    run.add_argument(
        "--qc",
        choices=QC_MODES,
        default="report",
        metavar=_choices(QC_MODES),
        help="Anatomical quality control of every mask (Painchaud et al. 2020 criteria): off; report "
        "(a verdict per frame in results.json and on its overlay; with --cine a failing frame is never ED or ES "
        "and the share of passing frames is a loop check); strict (as report, failing frames listed as "
        "rejected). [default: report]",
    )
    bench = sub.add_parser(
        "bench",
        help="Latency report like benchmark_model: invoke alone, end to end, and QC.",
        description="Latency report like TFLite's benchmark_model: invoke alone, end to end (resize, quantize, "
        "invoke, post-process, map back) and quality control; or a cine loop's frames/s.",
    )
    bench.add_argument(
        "model",
        type=model_file,
        metavar="MODEL",
        help=f"A shipped model ({', '.join(SHIPPED)}) or an exported .tflite.",
    )
    bench.add_argument(
        "--runs", type=_positive, default=DEFAULT_RUNS, metavar="N", help=f"Timed runs. [default: {DEFAULT_RUNS}]"
    )
    bench.add_argument("--warmup", type=_positive, default=5, metavar="N", help="Untimed runs first. [default: 5]")
    bench.add_argument(
        "--threads",
        type=_positive,
        default=2,
        metavar="N",
        help="Interpreter threads; with --cine, the cores the loop shares as run does. [default: 2]",
    )
    bench.add_argument("--json", type=Path, metavar="FILE", help="Also write the report as JSON.")
    bench.add_argument(
        "--image",
        type=Path,
        metavar="FILE",
        help="Frame for the end-to-end and QC timing (default: noise, a worst case for both).",
    )
    bench.add_argument(
        "--cine",
        type=Path,
        metavar="LOOP",
        help="Time a cine loop (folder of frames or .npy stack) as run --cine does it, read to written outputs with "
        "QC, in frames/s, and end to end over the invoke alone.",
    )
    bench.add_argument(
        "--scanner-fps",
        type=_positive_float,
        default=30.0,
        metavar="FPS",
        help="The scanner's frame rate the cine loop is compared with and analysed at. [default: 30]",
    )
    live = sub.add_parser(
        "live",
        help="Segment a scanner's frames as they arrive, dropping frames rather than falling behind.",
        description="Segment a live feed as its frames arrive: the newest frame first; a frame that arrives "
        "while the previous one still waits is dropped and counted, so the output never lags the scanner. "
        "Prints the frames arrived, segmented and dropped and both rates every second and at the end (the end of "
        "the feed, or Ctrl-C).",
    )
    live.add_argument(
        "model", type=model_file, metavar="MODEL", help=f"A shipped model ({', '.join(SHIPPED)}) or exported .tflite."
    )
    live.add_argument(
        "source",
        metavar="SOURCE",
        help="'-': raw 8-bit gray frames on stdin (ffmpeg -f rawvideo -pix_fmt gray), with --size; a capture "
        "device (/dev/video0), a stream address or a video file, played at its own pace (the video extra).",
    )
    live.add_argument("--size", type=_frame_size, metavar="WxH", help="The size of raw frames on stdin.")
    live.add_argument(
        "--threads", type=_positive, default=2, metavar="N", help=f"Cores to use: {SHARED_CORES}. [default: 2]"
    )
    live.add_argument(
        "--qc",
        choices=("off", "report"),
        default="report",
        metavar="[off|report]",
        help="The anatomical criteria on every frame segmented. [default: report]",
    )
    live.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help=f"Also write what was segmented: {MASKS_FILE} (frames named by their arrival) and results.json (the "
        "rates, each frame's arrival and QC verdict).",
    )
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or an option error (1, already printed)
        return int(exc.code or 0)
    previous = signal.signal(signal.SIGTERM, _stop)  # a stopped run cleans up as after an error
    try:
        with contextlib.nullcontext() if args.verbose else native_stderr_silenced():
            return {"bench": _bench, "live": _live}.get(args.command, _run)(args)
    except ValueError as exc:  # bad model, input or output: one line, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # the file system refused (a full disk, a permission): one line too
        where = f"{exc.filename}: " if exc.filename else ""  # a failed write often names no file: name none
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)


def _stop(signum, frame):
    """SIGTERM (a service manager, ``kill``): leave as Ctrl-C does, through every clean-up on the way, so no
    output is left half-written."""
    raise SystemExit(128 + signum)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _frame_size(text: str) -> tuple[int, int]:
    width, _, height = text.lower().partition("x")
    if not (width.isdigit() and height.isdigit() and int(width) > 0 and int(height) > 0):
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT in pixels, such as 640x480; got {text!r}")
    return int(width), int(height)


def _positive_float(text: str) -> float:
    value = float(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {value}")
    return value


def _run(args) -> int:
    files = _input_files(args)
    segmenter = EdgeSegmenter(
        args.model,
        args.threads,
        args.fill_enclosed,
        args.close_myocardium,
        args.tta,
        args.detach_atrium,
        tuple(args.ensemble),
    )
    start = time.perf_counter()
    with building_folder(args.out) as partial:  # nothing reaches --out unless all succeed
        seconds = {"invoke": 0.0, "qc": []}

        def finished(frame: CineFrame) -> None:  # on the pipeline's thread; the context: (its entry, its loop)
            entry, loop = frame.context
            seconds["invoke"] += frame.seg.seconds_invoke
            entry.update(frame.qc_entry())
            if args.cine:  # the mask into its loop's file, beside the next invoke
                archives.add(loop, frame)
            else:  # the PNGs on the writer's thread, mapped to the frame's size there
                writer.submit(write_frame_outputs, frame, partial)

        qc_seconds = None if args.qc == "off" else seconds["qc"]
        with (
            BackgroundJobs() as writer,
            MaskArchives(partial) as archives,
            FramePipeline(segmenter, qc_seconds, finished, share_cores=args.cine) as pipeline,
        ):
            frames, kept, skipped, loops = _segment_files(files, pipeline, args)
        results = {
            "model": str(args.model),
            "postprocess": {
                "largest_components": True,
                "fill_enclosed": args.fill_enclosed,
                "close_myocardium": args.close_myocardium,
                "detach_atrium": args.detach_atrium,
            },
            "tta": args.tta,
            "ensemble": [str(p) for p in args.ensemble],
            "frames": frames,
            "qc": qc_summary(args.qc, frames, seconds["qc"]),
        }
        if loops:  # DICOM and video: each loop's frame rate, pixel size and notes, named by file and instance
            results["loops"] = [loop.describe() | {"masks": names} for loop, names, _ in loops]
            for entry, (_, _, spacing) in zip(results["loops"], loops):
                if spacing and not entry["spacing_mm"]:  # --spacing, for a loop without a pixel size of its own
                    entry.update(spacing_mm=list(spacing), spacing_from="--spacing")
        cine_lines = _add_cine(results, kept, frames, loops, partial, archives, args) if args.cine else []
        write_json(partial / RESULTS, results)
        if args.cine:  # report.html (one per loop), from results.json and the frames in memory
            by_name = {frame.name: frame for frame in kept}
            write_loop_reports(partial, results, args.input, args.model, by_name, args.spacing)
    seconds["total"] = time.perf_counter() - start
    for line in skipped:
        print(f"skipped: {line}")
    for entry in results.get("loops", []):
        print(_loop_line(entry))
    count = len(frames)
    print(
        f"{counted(count, 'frame')} -> {args.out}: {count / seconds['total']:.1f} frames/s end to end "
        "(read, segment, QC, write), "
        f"{1000 * seconds['invoke'] / count:.1f} ms per invoke ({_threads_used(pipeline.choice)})"
    )
    if args.qc != "off":
        print(_qc_line(results["qc"], frames))
    if args.cine:
        for line in cine_lines:
            print(line)
    return 0


def _threads_used(choice: dict) -> str:
    """How a run shared the cores (``cine.split_threads``), in words."""
    threads = counted(choice["interpreter_threads"], "thread")
    return f"{threads}, finishing on a core of its own" if choice["beside"] == "own core" else threads


def _input_files(args) -> list[Path]:
    """The files ``run`` will segment, after every check that needs no model: the options agree, the paths
    exist, --out can take the outputs and is neither the input nor another command's folder, and no two files
    would give masks of one name."""
    if args.spacing is not None and not args.cine:
        raise ValueError("--spacing: the pixel size is for the volumes of a --cine loop; add --cine or leave it out")
    if args.fps is not None and not args.cine:
        raise ValueError("--fps: the frame rate is for the beats of a --cine loop; add --cine or leave it out")
    for path in (args.model, args.input):
        if not path.exists():
            raise ValueError(f"{path}: not found")
    check_output_folder(args.out)
    if args.input.is_dir() and args.out.resolve() == args.input.resolve():
        raise ValueError(
            f"{args.out}: the input folder; write the masks elsewhere (a later run would read them as frames)"
        )
    if args.out.is_dir() and any(args.out.iterdir()) and not (args.out / RESULTS).is_file():
        raise ValueError(
            f"{args.out}: holds other files; write the masks to a new or empty folder (an earlier "
            "output of echolite-edge run is replaced whole)"
        )
    files = frame_files(args.input)
    if not files:
        raise ValueError(f"{args.input}: no frames found (PNG/JPEG/BMP/TIFF, .npy, DICOM or video)")
    by_stem = {}  # outputs are named by frame: a clash known from the names alone is refused before any work
    for path in files:
        stem = output_stem(path)
        if stem in by_stem:
            raise ValueError(
                f"{path}: gives a frame named {stem!r}, as {by_stem[stem].name} does; "
                "rename one (the masks are named by frame)"
            )
        by_stem[stem] = path
    return files


def _segment_files(files, pipeline: FramePipeline, args):
    """Every frame through ``pipeline`` (finished, checked and, without --cine, written by the time it ends), with
    its results.json entry and its loop (its DICOM or video file, None for frame files) as context: (frame entries,
    for --cine each frame as a ``CineFrame``, skipped files, and for each DICOM or video file its loop, frame names
    and cine spacing)."""

    frames, kept, skipped, loops = [], [], [], []
    sources = {}  # frame name -> the file it came from: outputs are named by frame, so names must differ
    shapes = {}  # a cine loop's frame size: a DICOM or video file is a loop of its own, other files one together
    kinds = set()  # whether the files segmented are DICOM or video loops, frame files, or (refused with --cine) both
    for path in files:
        try:
            loop = read_source(path)
        except ValueError as exc:  # in a study folder, a file with no B-mode image is listed, not segmented
            if not (args.skip_bad or (isinstance(exc, NotBMode) and args.input.is_dir())):
                raise
            skipped.append(str(exc))
            continue
        own = is_loop_file(path)
        if args.cine and own and args.input.is_dir() and len(loop.frames) == 1:
            skipped.append(f"{path}: a still frame, no loop to measure")
            continue
        names = frame_names(loop)
        if own:
            loops.append((loop, names, _cine_spacing(args, loop) if args.cine else None))
        kinds.add(own)
        if args.cine and len(kinds) > 1:  # refused before more frames are segmented
            raise ValueError(
                f"{args.input}: holds DICOM or video loops and frame files together; --cine measures loops: give the "
                "frame files in a folder of their own"
            )
        for name, frame in zip(names, loop.frames):
            if name in sources:
                raise ValueError(
                    f"{path}: gives a frame named {name!r}, as {sources[name]} does; rename one "
                    "(the masks are named by frame)"
                )
            sources[name] = path.name
            key = loop.file if own else None  # the loop the frame belongs to
            if args.cine:
                check_loop_frame(path, frame, shapes.setdefault(key, frame.shape))
            frames.append(
                {"name": name}
                if args.cine
                else {"name": name, "mask": f"{name}_mask.png", "overlay": f"{name}_overlay.png"}
            )
            done = pipeline.add(frame, name, (frames[-1], key))
            if args.cine:
                kept.append(done)
    if not frames:
        raise ValueError(f"{args.input}: no readable frames ({len(skipped)} skipped)")
    return frames, kept, skipped, loops


def _cine_spacing(args, loop=None) -> tuple[float, float] | None:
    """The loop's own pixel size (a DICOM or video file's; None for frame files), else --spacing; a --spacing
    beside a file's own is refused, as for NIfTI."""
    if loop is not None and loop.spacing_mm and args.spacing is not None:
        row, col = loop.spacing_mm
        raise ValueError(
            f"{loop.file}: --spacing: the file carries its own pixel size ({row:.4g} × {col:.4g} mm, from "
            f"{loop.spacing_from}); leave the option out"
        )
    own = loop.spacing_mm if loop is not None else None
    return own or ((args.spacing,) * 2 if args.spacing else None)


def _add_cine(
    results: dict, kept: list, frames: list[dict], loops: list, partial: Path, archives: MaskArchives, args
) -> list[str]:
    """One loop analysis per loop: a DICOM or video file is a loop of its own, at its own frame rate and pixel size
    (several: each under its entry in ``loops``), the other frames of the input one loop (``cine``); then each
    loop's outputs in ``partial``: its masks file, written by ``archives`` as the frames finished, named
    (``MASKS_FILE``, or ``<loop file stem>_masks.npz`` where the input holds several loops); the overlays that
    matter (``write_loop_outputs``), named in the frame entries. Returns the console lines."""
    index = {frame["name"]: i for i, frame in enumerate(frames)}
    owned = {name for _, names, _ in loops for name in names}
    groups = [(names, spacing, loop) for loop, names, spacing in loops]
    rest = [frame["name"] for frame in frames if frame["name"] not in owned]  # never beside loops (refused)
    if rest:
        groups.append((rest, _cine_spacing(args), None))
    summaries, lines = [], []
    for names, spacing, loop in groups:
        picked = [index[name] for name in names]
        fps, fps_from = _cine_rate(args, loop)
        source = loop.file if loop else args.input
        loop_frames = [kept[i] for i in picked]
        report = measure_cine(loop_frames, spacing, fps, args.mitral_cut, source)
        summaries.append(report.as_dict() | {"fps_from": fps_from})
        masks_file = MASKS_FILE if len(groups) == 1 else f"{output_stem(loop.file)}_{MASKS_FILE}"
        archives.name(loop.file if loop else None, masks_file)  # written as the frames finished
        written = write_loop_outputs(partial, loop_frames, summaries[-1], masks_file, args.every_frame)
        for i in picked:
            frames[i].update(written[frames[i]["name"]])
        lines.append(
            report.summary_line() if loop is None or len(groups) == 1 else f"{loop.name}: " + report.summary_line()
        )
    if len(summaries) == 1:
        results["cine"] = summaries[0]
    else:
        for entry, summary in zip(results["loops"], summaries):
            entry["cine"] = summary
    return lines


def _cine_rate(args, loop) -> tuple[float | None, str | None]:
    """The loop's own frame rate, else --fps; an --fps beside a file's own is refused, as --spacing is."""
    if loop is not None and loop.fps and args.fps is not None:
        raise ValueError(
            f"{loop.file}: --fps: the file carries its own frame rate ({loop.fps:.4g} frames/s, from {loop.fps_from}); "
            "leave the option out"
        )
    if loop is not None and loop.fps:
        return loop.fps, loop.fps_from
    return (args.fps, "--fps") if args.fps is not None else (None, None)


def _loop_line(entry: dict) -> str:
    rate = f"{entry['fps']:.4g} frames/s ({entry['fps_from']})" if entry["fps"] else "frame rate unknown"
    pixel = (
        f"pixel {entry['spacing_mm'][0]:.4g} × {entry['spacing_mm'][1]:.4g} mm ({entry['spacing_from']})"
        if entry["spacing_mm"]
        else "pixel size unknown"
    )
    notes = "; ".join(entry["notes"])
    return f"{entry['name']}: {entry['frames']} frames, {rate}, {pixel}" + (f"; {notes}" if notes else "")


def _qc_line(summary: dict, frames: list[dict]) -> str:
    failing = [f"{f['name']} ({', '.join(f['qc']['failed'])})" for f in frames if not f["qc"]["passed"]]
    line = (
        f"QC: {summary['passed']} of {counted(len(frames), 'frame')} pass the anatomical criteria "
        f"({summary['ms_per_frame_median']:.1f} ms per frame)"
    )
    if not failing:
        return line
    listed = ", ".join(failing[:5]) + (f" and {len(failing) - 5} more (see {RESULTS})" if len(failing) > 5 else "")
    if summary["mode"] == "strict":
        return f"{line}; rejected (masks written, no volumes or EF from them): {listed}"
    return f"{line}; failing: {listed}"


def _bench(args) -> int:

    if not args.model.exists():
        raise ValueError(f"{args.model}: not found")
    if args.json is not None:  # before the timing, which is the work a bad path would lose
        check_report_file(args.json, "the JSON report")
    if args.cine is not None:
        return _bench_cine(args)
    frame = read_one_frame(args.image) if args.image else None
    report = benchmark(args.model, args.runs, args.warmup, args.threads, frame)
    print(f"{report['machine']}; {report['threads']} threads; model {report['model_bytes'] / 1e6:.2f} MB")
    print(
        f"init {report['init_ms']:.1f} ms, first inference {report['first_inference_ms']:.1f} ms, "
        f"warm-up mean {report['warmup_mean_ms'] or 0:.1f} ms, peak memory {report['peak_memory_mb']:.0f} MB"
    )
    for key in ("invoke_ms", "end_to_end_ms"):
        s = report[key]
        print(
            f"{key[:-3]:<11} mean {s['mean']:.2f} std {s['std']:.2f} min {s['min']:.2f} max {s['max']:.2f} "
            f"p50 {s['p50']:.2f} p90 {s['p90']:.2f} p99 {s['p99']:.2f} ms over {counted(s['runs'], 'run')}"
        )
    print(f"{'qc':<11} median {report['qc_ms']['p50']:.2f} ms per frame (anatomical criteria, after end_to_end)")
    if args.json:
        write_json(args.json, report)
    return 0


def _bench_cine(args) -> int:

    if not args.cine.exists():
        raise ValueError(f"{args.cine}: not found")
    report = benchmark_cine(args.model, args.cine, args.threads, args.scanner_fps)
    verdict = "keeps up" if report["keeps_up"] else "does not keep up"
    print(f"{report['machine']}; {report['threads']} threads")
    stages = ", ".join(f"{stage} {ms:.1f}" for stage, ms in report["stage_ms_median"].items())
    print(
        f"cine: {counted(report['frames'], 'frame')}, {report['frames_per_second']:.1f} frames/s end to end "
        f"({report['ms_per_frame']:.1f} ms per frame; medians in ms: {stages}; segment includes invoke, QC runs "
        "beside the next invoke); "
        f"{verdict} with a scanner at {report['scanner_fps']:g} frames/s"
    )
    if report["loop_ms"]:
        per_frame = report["loop_ms_per_frame"]
        words = {"analysis": "loop analysis and loop QC", "write": "writing the loop's outputs"}
        loop = ", ".join(
            f"{words[stage]} {ms:.1f} ms ({per_frame[stage]:.2f} ms per frame)"
            for stage, ms in report["loop_ms"].items()
        )
        print(f"once per loop, at {report['scanner_fps']:g} frames/s: {loop}")
    print(
        f"end to end / invoke alone: {report['ms_per_frame']:.2f} / {report['invoke_alone_ms']:.2f} ms = "
        f"{report['end_to_end_over_invoke_alone']:.2f} (the network on {_threads_used(report['cores_shared'])})"
    )
    if report["interpreter_threads"] != report["threads"]:
        print(
            f"end to end / invoke on {report['threads']} threads alone: {report['ms_per_frame']:.2f} / "
            f"{report['all_thread_invoke_alone_ms']:.2f} ms = {report['end_to_end_over_all_thread_invoke_alone']:.2f}"
        )
    if args.json:
        write_json(args.json, report)
    return 0


def _live(args) -> int:
    if (args.source == "-") != (args.size is not None):
        raise ValueError("--size: raw frames on stdin ('-') need their size, and only they take it")
    addresses = ("-", "/dev/", "rtsp:", "rtp:", "udp:", "tcp:", "http:", "https:")  # not files to look for
    if not args.source.startswith(addresses) and not Path(args.source).exists():
        raise ValueError(f"{args.source}: not found")
    if not args.model.exists():
        raise ValueError(f"{args.model}: not found")
    if args.out is not None:
        check_output_folder(args.out)
    segmenter = EdgeSegmenter(args.model, args.threads)
    frames = stdin_frames(*args.size) if args.source == "-" else feed_frames(args.source)
    qc_seconds = None if args.qc == "off" else []
    shown = [time.perf_counter()]

    def status(report) -> None:  # a line a second
        if time.perf_counter() - shown[0] >= 1:
            shown[0] = time.perf_counter()
            print(_live_line(report.as_dict()), flush=True)

    report = run_live(segmenter, frames, qc_seconds, status)
    summary = report.as_dict()
    print(
        _live_line(summary) + f"; median latency {summary['latency_ms_median'] or 0:.1f} ms, ended by "
        f"{summary['ended_by']}"
    )
    if args.out is not None and report.frames:
        with building_folder(args.out) as partial:
            write_masks(partial / MASKS_FILE, report.frames)
            entries = [
                {"name": f.name, "arrival": i, "mask": MASKS_FILE} | f.qc_entry()
                for f, i in zip(report.frames, report.arrival)
            ]
            results = {"model": str(args.model), "source": args.source, "live": summary, "frames": entries}
            if qc_seconds is not None:
                results["qc"] = qc_summary(args.qc, entries, qc_seconds)
            write_json(partial / RESULTS, results)
        print(f"-> {args.out}: {MASKS_FILE}, {RESULTS}")
    return 0


def _live_line(summary: dict) -> str:
    rate = summary["segmented_fps"] or 0
    return (
        f"{summary['seconds']:.1f} s: {summary['arrived']} frames arrived ({summary['arrival_fps'] or 0:.1f}/s), "
        f"{summary['segmented']} segmented ({rate:.1f}/s), {summary['dropped']} dropped"
    )


if __name__ == "__main__":
    sys.exit(main())
