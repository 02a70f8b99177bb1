"""End to end, two versions side by side: ``sentio-listen --input`` as a git revision has it
(a temporary worktree) and as the working tree has it, alternating runs, the same measurement
as ``benchmarks/end_to_end.py`` (one pinned core, CPU s per audio s from the child's rusage).

    python -m benchmarks.end_to_end_revisions --before 2a58a46 --runs 5

Each child imports ``sentio`` from its own tree (``PYTHONPATH``: a folder whose ``sentio``
links to the tree's ``runtime`` and ``export``), so both run the same bundle, audio and Python.
Prints a Markdown table; writes nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile

from benchmarks.context import DEFAULT_CACHE
from benchmarks.end_to_end import RATE, STATS, pinned
from benchmarks.measured_child import measure
from benchmarks.music import music_file
from benchmarks.timing import Spread

REPO = Path(__file__).resolve().parent.parent


def importable(tree: Path, folder: Path) -> Path:
    """``folder/sentio`` -> the tree's runtime and export: a PYTHONPATH entry for ``tree``."""
    package = folder / "sentio"
    package.mkdir(parents=True)
    (package / "runtime").symlink_to(tree / "runtime")
    (package / "export").symlink_to(tree / "export")
    return folder


def run_once(path_entry: Path, bundle: Path, audio: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(path_entry), str(REPO)])}
    command = pinned([sys.executable, "-m", "sentio.runtime.cli", "--model", str(bundle)])
    previous = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        result = measure([*command, "--input", str(audio)])
    finally:
        os.environ.clear()
        os.environ.update(previous)
    if result["returncode"]:
        raise RuntimeError(f"sentio-listen exited {result['returncode']}: {result['stderr']}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.end_to_end_revisions", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--before", required=True, help="git revision to compare with")
    parser.add_argument("--model", type=Path, default=REPO / "runtime" / "default_model")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--audio-s", type=float, default=600.0)
    args = parser.parse_args(argv)
    audio = music_file(DEFAULT_CACHE, args.audio_s, RATE)
    seconds = soundfile.info(str(audio)).duration
    bundle = args.model.resolve()
    with tempfile.TemporaryDirectory() as scratch:
        worktree = Path(scratch) / "before"
        git = ["git", "-C", str(REPO)]
        subprocess.run([*git, "worktree", "add", "--detach", str(worktree), args.before],
                       check=True, capture_output=True)  # fmt: skip
        try:
            trees = {
                f"before ({args.before})": importable(worktree, Path(scratch) / "path-before"),
                "now (working tree)": importable(REPO, Path(scratch) / "path-now"),
            }
            cpu: dict[str, list[float]] = {name: [] for name in trees}
            inference: dict[str, list[float]] = {name: [] for name in trees}
            for _ in range(args.runs):
                for name, entry in trees.items():
                    result = run_once(entry, bundle, audio)
                    cpu[name].append(result["cpu_s"] / seconds)
                    stats = STATS.search(result["stderr"])
                    inference[name].append(float(stats.group(1)) if stats else float("nan"))
        finally:
            subprocess.run([*git, "worktree", "remove", "--force", str(worktree)], check=False)
    now = np.array(cpu["now (working tree)"])
    print(
        f"`sentio-listen --model {args.model} --input` over {seconds:.0f} s of generated music "
        f"(FLAC, {RATE:,} Hz: decoding and resampling included), default artifact, pinned to "
        f"one core; {args.runs} runs each, alternating; median (p10-p90); ratio = time / now's "
        "time, run by run.\n"
    )
    print("| version | CPU s per audio s | ratio to now | inference mean |")
    print("| --- | ---: | ---: | ---: |")
    for name, values in cpu.items():
        ratio = Spread.of(np.array(values) / now)
        print(
            f"| {name} | {Spread.of(values).format(4)} | {ratio.format(2, 'x')} | "
            f"{np.median(inference[name]):.2f} ms |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
