"""End to end: ``sentio-listen --input`` over generated music, as fast as it goes, pinned to
one core. CPU seconds per audio second and peak RSS come from the child's rusage (``wait4``);
"first window" is the time from process start to its first output line."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
from sentio.runtime.manifest import load

from benchmarks.context import Context
from benchmarks.music import music_file
from benchmarks.report import Section, SummaryRow, table
from benchmarks.timing import Spread

CPU_GOAL = 0.01  # CPU s per audio s
RSS_GOAL_MB = 80.0
RATE = 44100  # a common device rate: the run includes resampling to the model's 22,050 Hz
NUMPY_FLOOR, LITERT_FLOOR = "Python + numpy", "+ the runtime's imports + LiteRT"
ONNX_FLOOR = "+ the runtime's imports + onnxruntime"
MEASURED_CHILD = Path(__file__).with_name("measured_child.py")
STATS = re.compile(r"inference ([\d.]+) ms mean, ([\d.]+) ms max")


@dataclass
class ListenRun:
    cpu_s: float
    max_rss_mb: float
    first_line_s: float
    wall_s: float
    windows: int
    inference_ms: float


def listen_command() -> list[str]:
    """``sentio-listen`` of this interpreter's environment (``python -m`` where not installed)."""
    script = Path(sys.executable).with_name("sentio-listen")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "sentio.runtime.cli"]


def pinned(command: list[str]) -> list[str]:
    taskset = shutil.which("taskset")
    return [taskset, "-c", "0", *command] if taskset else command


def measured(command: list[str]) -> dict:
    """``measured_child.measure`` of ``command``, from a small process (see there why)."""
    done = subprocess.run(
        [sys.executable, "-I", str(MEASURED_CHILD), *command],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def measure_run(command: list[str]) -> ListenRun:
    """Run one ``sentio-listen`` to the end: rusage, time to first output line, stats line."""
    result = measured(command)
    if result["returncode"]:
        raise RuntimeError(
            f"{' '.join(command)} exited {result['returncode']}: {result['stderr'][-500:]}"
        )
    stats = STATS.search(result["stderr"])
    return ListenRun(
        cpu_s=result["cpu_s"],
        max_rss_mb=result["max_rss_kb"] / 1024,  # KiB on Linux
        first_line_s=result["first_line_s"],
        wall_s=result["wall_s"],
        windows=result["lines"],
        inference_ms=float(stats.group(1)) if stats else float("nan"),
    )


def import_floor_mb(modules: str) -> float:
    """Peak RSS of a Python that only imports ``modules``: the floor under a real run."""
    return measured([sys.executable, "-c", f"import {modules}"])["max_rss_kb"] / 1024


def run(ctx: Context) -> Section:
    manifest = load(ctx.bundle)
    default = manifest.default_artifact or manifest.runnable[0]
    others = [file for file in manifest.runnable if file != default]
    artifacts = [default] if ctx.quick else [default, *others]
    audio = music_file(ctx.cache_dir, ctx.audio_s or ctx.repeats(600.0, 60.0), RATE)
    audio_s = soundfile.info(str(audio)).duration
    base = pinned(listen_command())
    runs: dict[str, list[ListenRun]] = {a: [] for a in artifacts}
    for _ in range(ctx.repeats(3, 1)):
        for artifact in artifacts:  # round-robin, as everywhere
            command = [
                *base,
                "--model",
                str(ctx.bundle),
                "--artifact",
                artifact,
                "--input",
                str(audio),
            ]
            runs[artifact].append(measure_run(command))
    runtime = "sentio.runtime.listener, sentio.runtime.replay"
    floors = {
        NUMPY_FLOOR: import_floor_mb("numpy"),
        LITERT_FLOOR: import_floor_mb(f"{runtime}, ai_edge_litert.interpreter"),
    }
    if any(a.endswith(".onnx") for a in artifacts):
        floors[ONNX_FLOOR] = import_floor_mb(f"{runtime}, onnxruntime")
    return _section(ctx, default, runs, audio, audio_s, floors)


def _section(ctx, default, runs, audio, audio_s, floors) -> Section:
    rows, data = [], {}
    for artifact, measured in runs.items():
        cpu = Spread.of([r.cpu_s / audio_s for r in measured])
        rss = Spread.of([r.max_rss_mb for r in measured])
        first = Spread.of([r.first_line_s for r in measured])
        inference = np.median([r.inference_ms for r in measured])
        inference_share = inference / 1e3 * measured[0].windows / audio_s
        name = f"**{artifact}** (default)" if artifact == default else artifact
        rows.append(
            [
                name,
                cpu.format(4),
                f"{inference_share:.4f}",
                rss.format(0, " MB"),
                first.format(2, " s"),
                f"{inference:.2f} ms",
                str(measured[0].windows),
            ]
        )
        data[artifact] = {
            "cpu_per_audio_s": cpu.median,
            "max_rss_mb": rss.median,
            "first_window_s": first.median,
            "inference_share": inference_share,
            "windows_per_audio_s": measured[0].windows / audio_s,
            "windows": measured[0].windows,
        }
    n = len(next(iter(runs.values())))
    command = " ".join(
        [
            "taskset -c 0",
            "sentio-listen",
            "--model",
            _shown(ctx.bundle),
            "--artifact",
            "A",
            "--input",
            audio.name,
        ]
    )
    floor_text = "; ".join(f"{k}: {v:.0f} MB" for k, v in floors.items())
    body = [
        f"`{command}` over {audio_s / 60:.1f} min of generated music (mono 16-bit FLAC at "
        f"{RATE:,} Hz, so decoding and resampling to 22,050 Hz are included), as fast as it "
        f"goes, default hop; {n} run(s) per artifact, round-robin, median (p10-p90).",
        "",
        *table(
            [
                "artifact",
                "CPU s per audio s",
                "inference wall / audio s",
                "peak RSS",
                "first window",
                "inference mean",
                "windows",
            ],
            rows,
            "lrrrrrr",
        ),
        "",
        "CPU s per audio s = (user + sys) of the child (`os.wait4` rusage) / audio seconds; it "
        "includes process start, imports, bundle verification, decoding, resampling, MFCC and "
        'inference. "inference wall / audio s" = windows x mean inference time (the stats line '
        "`sentio-listen` prints, perf_counter wall time) / audio seconds: on a busy core it "
        "includes preemption and can exceed the CPU figure. Peak RSS = the child's "
        "`ru_maxrss`. First window = process start to the first JSON line on stdout: "
        "imports, loading and checking the bundle, decoding and MFCC of the first 12 s, "
        "one inference. The 12 s fill itself is excluded because the file is read as fast "
        "as it decodes; live, add 12 s of listening.",
        "",
        f"Memory floor, peak RSS of a Python that only imports: {floor_text}.",
    ]
    d = data[default]
    summary = [SummaryRow("process start to first window", f"{d['first_window_s']:.2f} s")]
    for artifact, values in data.items():
        for what, value, goal, unit, why in (
            ("CPU s per audio s", values["cpu_per_audio_s"], CPU_GOAL, "", _cpu_why),
            ("peak RSS", values["max_rss_mb"], RSS_GOAL_MB, " MB", _rss_why),
        ):
            if artifact != default and value < goal:
                continue  # the other artifacts appear only where they miss a goal
            summary.append(
                SummaryRow(
                    f"{what} ({artifact})",
                    f"{value:.4g}{unit}",
                    f"< {goal:g}{unit}",
                    value < goal,
                    _by_how_much(value, goal) + why(ctx, artifact, values, floors),
                    alternative=artifact != default,
                )
            )
    return Section(
        "end_to_end",
        "End to end: sentio-listen --input, one pinned core",
        body,
        summary,
        {"artifacts": data, "audio_s": audio_s, "floors_mb": floors},
    )


def _shown(path: Path) -> str:
    """A path as a reader should type it: relative to the working folder where it can be."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _cpu_why(ctx: Context, artifact: str, values: dict, floors: dict) -> str:
    """Where the CPU goes, from this run's in-process measurements where they exist."""
    parts = []
    windows_per_s = values["windows_per_audio_s"]
    inference = ctx.results.get("inference")
    backend = "onnxruntime" if artifact.endswith(".onnx") else "LiteRT"
    ms = inference.data["ms"].get(f"{artifact} · {backend}") if inference else None
    if ms:
        parts.append(
            f"inference ≈ {ms / 1e3 * windows_per_s:.4f} ({ms:.2f} ms x "
            f"{windows_per_s:.2f} windows/s, per-window benchmark)"
        )
    features = ctx.results.get("features")
    if features:
        from sentio.runtime.manifest import load
        from sentio.runtime.mixed_features import MixedFeatureSpec

        from benchmarks.features import INCREMENTAL, MIXED_INCREMENTAL

        mixed = isinstance(load(ctx.bundle).feature_spec, MixedFeatureSpec)
        hop_ms = features.data["hop_ms"][MIXED_INCREMENTAL if mixed else INCREMENTAL]
        name = "mixed frame" if mixed else "MFCC"
        parts.append(f"{name} ≈ {hop_ms / 1e3 / features.data['hop_s']:.4f}")
    if not parts:
        return "run with inference and features for a breakdown"
    return ", ".join(parts) + "; the rest is start-up, decoding, resampling and Python glue"


def _rss_why(ctx: Context, artifact: str, values: dict, floors: dict) -> str:
    key = ONNX_FLOOR if artifact.endswith(".onnx") else LITERT_FLOOR
    floor = floors.get(key, float("nan"))
    return (
        f"importing the runtime and its backend alone peaks at {floor:.0f} MB (Python + "
        f"numpy {floors[NUMPY_FLOOR]:.0f} MB); the run adds {values['max_rss_mb'] - floor:.0f} MB"
    )


def _by_how_much(value: float, goal: float) -> str:
    if value < goal:
        return f"{100 * (1 - value / goal):.0f} % under the goal; "
    return f"{100 * (value / goal - 1):.0f} % over the goal; "
