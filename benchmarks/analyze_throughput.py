"""``python -m benchmarks.analyze_throughput``: how fast ``sentio-analyze`` scores a catalogue,
in files and audio hours per minute, on one machine and on Ray.

    python -m benchmarks.analyze_throughput                      # 40 files x 30 s (BENCHMARKS.md)
    python -m benchmarks.analyze_throughput --files 8 --seconds 20 --json out.json

Generated music (``sentio.export.data.synthetic``) is written once; then the same catalogue is
analysed, each time into a fresh output folder (nothing resumed), by:

- one process (``--workers 1``);
- a process pool of every core (the default of ``sentio-analyze``);
- Ray started locally for the run (``--ray``): the wall time includes Ray's start-up, which a
  user pays on every run, and is also shown without it (``--ray ADDRESS`` of a running Ray);
- a two-node Ray cluster on this machine (``ray start --head`` + ``ray start --address``, one
  process group each, :mod:`benchmarks.ray_cluster`), with as many CPUs in all as the pool:
  what a cluster costs over a pool on the same cores (the nodes are started before the clock).

Every run must write the same table (checked), so the numbers compare like with like. The
machine's other load moves absolute numbers; read the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
from sentio.export.analyze.table import SUMMARY, TABLE_JSONL
from sentio.export.data.synthetic import synth_song

from benchmarks.ray_cluster import LoopbackCluster

#: Tracks of a typical catalogue, for the projection.
TRACK_MINUTES = 4.0
PROJECTED_TRACKS = 100_000
PROJECTED_NODES = (1, 4, 16, 64)
PROJECTED_CPUS_PER_NODE = 16


@dataclass
class Measured:
    """One run: ``wall_s`` from the command's start to its exit (Python start-up and the model
    load included, the same for every run); ``analysis_s`` the command's own clock (from the
    model loaded to the table written: Ray's start or connection included)."""

    name: str
    files: int
    audio_s: float
    wall_s: float
    analysis_s: float = 0.0

    @property
    def files_per_min(self) -> float:
        return self.files / self.analysis_s * 60

    @property
    def audio_h_per_min(self) -> float:
        return self.audio_s / 3600 / self.analysis_s * 60


def write_music(folder: Path, files: int, seconds: float) -> float:
    """``files`` generated songs of random moods; returns the seconds of audio."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        valence, arousal = rng.uniform(-1, 1, size=2)
        audio = synth_song(valence, arousal, seconds, 22050, seed=i)
        soundfile.write(folder / f"track{i:03d}.flac", audio, 22050)
    return files * seconds


def run(name: str, music: Path, out: Path, *options: str, env: dict | None = None):
    """``sentio-analyze MUSIC --out OUT OPTIONS`` in a fresh process, as a user runs it (one
    Ray session per process, as the CLI has): ``(Measured, the table's bytes)``."""
    command = [sys.executable, "-m", "sentio.export.cli.analyze", str(music), "--out", str(out)]
    start = time.perf_counter()
    done = subprocess.run(
        [*command, "--quiet", *options],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{name}: exit {done.returncode}\n{done.stderr[-3000:]}")
    summary = json.loads((out / SUMMARY).read_text())
    if summary["skipped"]:
        raise RuntimeError(f"{name}: files skipped: {summary['skipped_files']}")
    measured = Measured(name, summary["analyzed"], summary["audio_hours"] * 3600, wall)
    measured.analysis_s = summary["seconds"]
    return measured, (out / TABLE_JSONL).read_bytes()


def measure(files: int, seconds: float, rounds: int, root: Path) -> list[Measured]:
    """Every contender once per round, round-robin (the machine's other load then falls on all
    of them alike); each row is the round with the median analysis time."""
    music = root / "music"
    write_music(music, files, seconds)
    cores = os.cpu_count() or 1
    half = max(1, cores // 2)
    with (
        LoopbackCluster(root / "c1", nodes=1, cpus=cores) as one,
        LoopbackCluster(root / "c2", nodes=2, cpus=half) as two,
    ):
        contenders = [
            ("one process", ["--workers", "1"], None),
            (f"process pool ({cores} processes)", ["--workers", str(cores)], None),
            (
                f"Ray local ({cores} CPUs), started by the run",
                ["--ray", "--ray-cpus", str(cores)],
                None,
            ),
            (f"Ray one node ({cores} CPUs), running", ["--ray", one.address], one.driver_env),
            (
                f"Ray two nodes on loopback ({2 * half} CPUs), running",
                ["--ray", two.address],
                two.driver_env,
            ),
        ]
        runs: dict[str, list[Measured]] = {name: [] for name, _, _ in contenders}
        tables = set()
        for round_ in range(rounds):
            for index, (name, options, env) in enumerate(contenders):
                out = root / f"out-{round_}-{index}"
                measured, written = run(name, music, out, *options, env=env)
                runs[name].append(measured)
                tables.add(written)
                shutil.rmtree(out)
    if len(tables) != 1:
        raise RuntimeError("the contenders wrote different tables")
    return [sorted(r, key=lambda m: m.analysis_s)[len(r) // 2] for r in runs.values()]


def table(rows: list[Measured]) -> str:
    base = rows[1].analysis_s  # the process pool: the one-machine default
    lines = [
        "| run | files | wall s | analysis s | files/min | audio h/min | time vs pool |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r.name} | {r.files} | {r.wall_s:.1f} | {r.analysis_s:.1f} | "
            f"{r.files_per_min:.0f} | "
            f"{r.audio_h_per_min:.2f} | {r.analysis_s / base:.2f}x |"
        )
    return "\n".join(lines)


def projection(rows: list[Measured]) -> str:
    """PROJECTION, not a measurement: 100k tracks of 4 min on N nodes, scaled linearly from the
    two-node run's audio hours per minute of its own clock (connection included, so a little
    pessimistic) per CPU."""
    two = rows[-1]
    cpus = 2 * max(1, (os.cpu_count() or 1) // 2)
    per_cpu = two.audio_s / 3600 / (two.analysis_s / 60) / cpus
    hours = PROJECTED_TRACKS * TRACK_MINUTES / 60
    lines = [
        f"PROJECTION (linear scaling from the two-node run: {per_cpu:.3f} audio h/min per CPU; "
        f"{PROJECTED_TRACKS:,} tracks of {TRACK_MINUTES:g} min = {hours:,.0f} h of audio; "
        f"{PROJECTED_CPUS_PER_NODE} CPUs per node):",
        "| nodes | CPUs | hours |",
        "| ---: | ---: | ---: |",
    ]
    for nodes in PROJECTED_NODES:
        total = nodes * PROJECTED_CPUS_PER_NODE
        lines.append(f"| {nodes} | {total} | {hours / (per_cpu * total) / 60:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.analyze_throughput")
    parser.add_argument("--files", type=int, default=40, help="generated files (default 40)")
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds each (default 30)")
    parser.add_argument("--rounds", type=int, default=3, help="round-robin rounds (default 3)")
    parser.add_argument("--json", type=Path, help="also write the measurements as JSON")
    args = parser.parse_args(argv)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # Ray's sockets live under the node folders: a short root (AF_UNIX paths: 107 bytes)
    root = Path(tempfile.mkdtemp(prefix="sentio-bench-", dir="/tmp"))
    try:
        rows = measure(args.files, args.seconds, args.rounds, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(table(rows))
    print()
    print(projection(rows))
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in rows], indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
