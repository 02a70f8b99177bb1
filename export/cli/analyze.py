"""``sentio-analyze``: a bundle over a music catalogue -> one table, one row per file.

    sentio-analyze ~/Music --out mood                  # the bundled model, all cores
    sentio-analyze --list tracks.txt --model sentio-model --artifact model_int8.tflite
    sentio-analyze /shared/music --ray                 # a local Ray
    sentio-analyze /shared/music --ray 10.0.0.5:6379   # a Ray cluster (firmware_notes/cluster.md)

Writes OUT/analysis.csv and OUT/analysis.jsonl (path, duration, song-level valence/arousal
mean and standard deviation over the windows, quadrant, colour, artifact; --series adds each
window to the JSON lines) and OUT/summary.json (counts, every skipped file with the reason).
Only regular files are read: a symlink loop, a dangling symlink, a FIFO, a device or socket, a
symlink to a folder (not followed) and a folder that cannot be listed are skipped, each named
with the reason in the summary; nothing but a regular file is ever opened.
Each window's numbers are those ``sentio-listen --input FILE`` prints. A re-run skips files
already done (same content and same bundle, artifact, hop and smoothing) and retries the
skipped ones; a run cut short resumes from OUT/analysis.journal.jsonl. A run into an OUT that
holds another catalogue's table adds its rows to it (a file's row is replaced by its new one;
the rows of other files are kept). One run at a time writes an OUT: a second one exits 2 and
names the first (pid, start time, command).

Also writes OUT/report.html (self-contained, opens offline: every song of the table on the
valence/arousal plane by quadrant, histograms, and the windows of the files named with
--timelines, whose rows need --series); --playlists writes OUT/playlists/ (one M3U per
quadrant, and energy-ramp.m3u by arousal).

Exit codes: 0 done (skipped files are listed in the summary); 1 no file could be analysed;
2 bad input or options (no audio files, a bad bundle, --ray without Ray installed, OUT in use
by another run), or OUT cannot be written (a full disk: the files finished are kept in the
journal, and the same command resumes once there is space); 3 no Ray cluster answers at the
address (worth retrying); 130 interrupted, 143 terminated (the finished files are kept for
the re-run).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sentio.export.analyze.catalogue import AnalysisSettings, read_file_list
from sentio.export.analyze.report import write_playlists, write_report
from sentio.export.analyze.run import AnalyzeConfig, AnalyzeResult, analyze_catalogue
from sentio.export.analyze.table import JOURNAL, SUMMARY, TABLE_CSV, TABLE_JSONL, read_rows
from sentio.export.cli.common import (
    CLUSTER_UNAVAILABLE,
    INTERRUPTED,
    TERMINATED,
    Terminated,
    handle_sigterm,
    quiet_toolchain,
)
from sentio.export.distributed import LOCAL, RayOptions
from sentio.runtime.errors import ClusterUnavailableError, ConfigError, SentioError
from sentio.runtime.option_values import hop_seconds, smooth_seconds

NONE_ANALYZED = 1
BAD_INPUT = 2
#: Skipped files listed on the terminal; summary.json holds them all.
SHOWN_SKIPS = 20
MAX_PROCESSES = 1024


def count(text: str) -> int:
    """A whole number of processes or CPUs, 1 to :data:`MAX_PROCESSES`."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 1 <= value <= MAX_PROCESSES:
        raise argparse.ArgumentTypeError(f"must be from 1 to {MAX_PROCESSES}, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sentio-analyze",
        description="Valence/arousal of every file of a music catalogue, as one table.",
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("inputs", nargs="*", type=Path, metavar="PATH", help="files or folders")
    parser.add_argument(
        "--list",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="a file of paths, one a line (relative to its folder); repeatable",
    )
    parser.add_argument(
        "--model", type=Path, help="bundle folder or a model file in it (default: bundled model)"
    )
    parser.add_argument("--artifact", help="model file of the bundle (default: the export's pick)")
    parser.add_argument(
        "--hop",
        type=hop_seconds,
        metavar="SECONDS",
        help="seconds between windows (default: the bundle's, as sentio-listen)",
    )
    parser.add_argument(
        "--smooth",
        type=smooth_seconds,
        default=0.0,
        metavar="SECONDS",
        help="smoothing time constant, as sentio-listen's (default 0: off)",
    )
    parser.add_argument(
        "--series", action="store_true", help="also keep every window's t/valence/arousal"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("sentio-analysis"),
        help="output folder (default sentio-analysis)",
    )
    parser.add_argument(
        "--workers",
        type=count,
        metavar="N",
        help="processes on this machine (default: all cores; 1: no pool)",
    )
    parser.add_argument(
        "--ray",
        nargs="?",
        const=LOCAL,
        metavar="ADDRESS",
        help="run on Ray: a local one, or the cluster at ADDRESS (HOST:PORT, auto, "
        "ray://HOST:PORT); needs the ray extra",
    )
    parser.add_argument(
        "--ray-cpus",
        type=count,
        metavar="N",
        help="CPUs of a local Ray (default: all cores)",
    )
    parser.add_argument(
        "--playlists",
        action="store_true",
        help="also write OUT/playlists/: one M3U per quadrant and energy-ramp.m3u (by arousal)",
    )
    parser.add_argument(
        "--timelines",
        action="extend",
        nargs="+",
        default=[],
        metavar="FILE",
        help="draw these files' windows over time in OUT/report.html (their rows need "
        "--series); give it after the inputs",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


def config_from(args: argparse.Namespace) -> AnalyzeConfig:
    inputs = list(args.inputs)
    for listing in args.list:
        inputs += read_file_list(listing)
    if not inputs:
        raise ConfigError("nothing to analyse", hint="pass audio files, folders or --list FILE")
    if args.ray_cpus is not None and args.ray not in (None, LOCAL):
        raise ConfigError(
            "--ray-cpus sizes a local Ray; a cluster's CPUs are set by `ray start --num-cpus`",
            hint="drop --ray-cpus or the address",
        )
    settings = AnalysisSettings(args.model, args.artifact, args.hop, args.smooth, args.series)
    ray = RayOptions(args.ray, num_cpus=args.ray_cpus) if args.ray is not None else None
    return AnalyzeConfig(tuple(inputs), args.out, settings, args.workers, ray, not args.quiet)


def report(result: AnalyzeResult) -> list[str]:
    """The lines the command prints at the end."""
    summary = result.to_dict()
    lines = [
        f"analysed {result.analyzed} file(s) ({summary['audio_hours']:.2f} h of audio) in "
        f"{result.seconds:.1f} s with {result.backend}: {summary['files_per_minute']:.0f} "
        f"files/min, {summary['audio_hours_per_minute']:.2f} audio h/min; "
        f"{result.resumed} done by an earlier run; {len(result.skipped)} skipped"
    ]
    for path, reason in result.skipped[:SHOWN_SKIPS]:
        lines.append(f"  skipped {path}: {reason}")
    if len(result.skipped) > SHOWN_SKIPS:
        lines.append(f"  ... and {len(result.skipped) - SHOWN_SKIPS} more in {SUMMARY}")
    out = result.out_dir
    lines.append(f"wrote {out / TABLE_CSV}, {out / TABLE_JSONL}, {out / SUMMARY}")
    if result.kept:
        lines.append(
            f"  the table holds {result.table_rows} rows: {len(result.rows)} of this catalogue, "
            f"{result.kept} kept from earlier runs on other files"
        )
    return lines


def pictures(out_dir: Path, timelines: list[str], playlists: bool) -> list[str]:
    """OUT/report.html (and with ``playlists`` OUT/playlists/) from the table in ``out_dir``;
    the lines to print."""
    rows = read_rows(out_dir)
    made = write_report(out_dir, rows, timelines)
    lines = [f"wrote {made.path} ({made.songs} songs, {len(made.timelines)} timeline(s))"]
    lines += [f"  no timeline for {wanted}: {why}" for wanted, why in made.missing]
    if playlists:
        paths = write_playlists(out_dir, rows)
        lines.append(f"wrote {len(paths)} playlists in {paths[0].parent}")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handle_sigterm()
    quiet_toolchain(args.verbose)
    try:
        result = analyze_catalogue(config_from(args))
    except ClusterUnavailableError as err:
        print(f"error: {err}", file=sys.stderr)
        return CLUSTER_UNAVAILABLE
    except SentioError as err:
        print(f"error: {err}", file=sys.stderr)
        return BAD_INPUT
    except (Terminated, KeyboardInterrupt) as err:
        print(
            f"{'terminated' if isinstance(err, Terminated) else 'interrupted'}: the files "
            f"finished are kept in {args.out / JOURNAL}; run the same command to resume",
            file=sys.stderr,
        )
        return TERMINATED if isinstance(err, Terminated) else INTERRUPTED
    for line in report(result):
        print(line)
    try:
        for line in pictures(result.out_dir, args.timelines, args.playlists):
            print(line)
    except OSError as err:
        print(f"error: cannot write the report in {result.out_dir}: {err}", file=sys.stderr)
        return BAD_INPUT
    return NONE_ANALYZED if (result.files or result.skipped) and not result.rows else 0


if __name__ == "__main__":
    sys.exit(main())
