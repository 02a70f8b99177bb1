"""``python -m benchmarks``: every benchmark, side by side, then a summary table; rewrites the
measured part of BENCHMARKS.md (between its marker comments).

    python -m benchmarks                      # everything (< 10 min on 2 cores)
    python -m benchmarks --quick --no-write   # a fast look: few repeats, 1 min of audio
    python -m benchmarks --only inference,features
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

from benchmarks import accuracy, end_to_end, features, inference, pi_estimate
from benchmarks.context import DEFAULT_CACHE, Context
from benchmarks.machine import versions
from benchmarks.report import Section, render, summary_text, write_section

BENCHMARKS = {
    "inference": inference.run,
    "features": features.run,
    "end_to_end": end_to_end.run,
    "accuracy": accuracy.run,
    "pi_estimate": pi_estimate.run,
}
REPO = Path(__file__).resolve().parent.parent


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="few repeats, 1 min of audio")
    parser.add_argument(
        "--only", help=f"comma-separated subset of: {', '.join(BENCHMARKS)} (default: all)"
    )
    parser.add_argument("--no-write", action="store_true", help="print only, write no file")
    parser.add_argument(
        "--out", type=Path, default=REPO / "BENCHMARKS.md", help="file whose section to rewrite"
    )
    parser.add_argument(
        "--model", type=Path, default=REPO / "runtime" / "default_model", help="bundle to measure"
    )
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument(
        "--no-tensorflow", action="store_true", help="skip the Keras baselines and float16"
    )
    parser.add_argument(
        "--no-tflite-runtime", action="store_true", help="skip tflite-runtime (and its venv)"
    )
    return parser


def selected(only: str | None) -> list[str]:
    if not only:
        return list(BENCHMARKS)
    names = [n.strip().replace("-", "_") for n in only.split(",") if n.strip()]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {unknown}; choose from {', '.join(BENCHMARKS)}")
    return [n for n in BENCHMARKS if n in names]  # always in dependency order


def header(ctx: Context, command: str, seconds: float) -> list[str]:
    found = versions()
    trt = ctx.results.get("inference")
    trt_version = trt.data.get("tflite_runtime") if trt else ""
    found["tflite-runtime"] = f"{trt_version} (own venv)" if trt_version else "not run"
    return [
        "## Measured by `python -m benchmarks`",
        "",
        "Generated: do not edit by hand; everything between the markers is rewritten by",
        "",
        "```bash",
        command,
        "```",
        "",
        f"- Date: {ctx.machine.date}; the run took {seconds:.0f} s wall"
        + (" (**--quick**: few repeats, short audio)" if ctx.quick else ""),
        f"- Machine: {ctx.machine.describe()}",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in found.items()),
        "",
    ]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    names = selected(args.only)
    command = shlex.join(["python", "-m", "benchmarks", *(sys.argv[1:] if argv is None else argv)])
    started = time.monotonic()
    sections: list[Section] = []
    with tempfile.TemporaryDirectory() as scratch, threadpool_limits(limits=1):
        ctx = Context(
            bundle=args.model,
            scratch=Path(scratch),
            quick=args.quick,
            cache_dir=args.cache_dir,
            tensorflow=not args.no_tensorflow,
            tflite_runtime=not args.no_tflite_runtime,
        )
        ctx.peak  # noqa: B018 -- measured first, before TensorFlow or the others load
        for name in names:
            began = time.monotonic()
            print(f"[benchmarks] {name} ...", file=sys.stderr, flush=True)
            section = BENCHMARKS[name](ctx)
            ctx.results[name] = section
            sections.append(section)
            print(f"[benchmarks] {name}: {time.monotonic() - began:.0f} s", file=sys.stderr)
    generated = render(sections, header(ctx, command, time.monotonic() - started))
    if args.no_write:
        print(generated)
    else:
        write_section(args.out, generated)
        print(f"[benchmarks] rewrote the measured section of {args.out}", file=sys.stderr)
    print(summary_text(sections))
    return 0


if __name__ == "__main__":
    sys.exit(main())
