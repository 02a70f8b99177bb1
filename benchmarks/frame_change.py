"""How much a change to the mixed frame's code moves the frames and the shipped model's output.

The mixed frame (``sentio-mix/1``) as one git revision computes it (``--before``, default
``HEAD``) against the working tree's, on generated music, for the same spec: the largest change
of each block in raw feature units and in units of the bundle's normalization (z-scores), and
the largest change of the bundle's valence and arousal over every window the engine would
predict (the engine's windows: a first partial estimate after 3 s, then every hop).

    python -m benchmarks.frame_change --before 2a58a46 --songs 12 --seconds 60 \
        --artifact model_dynamic.tflite --artifact model_float32.tflite --hops 300

Prints Markdown tables; writes nothing. ``--hops N`` also times the two frames per hop, side by
side with the MFCC frame (N interleaved rounds, one BLAS thread). ``--end-to-end N`` also runs
``sentio-listen --input`` (benchmarks/end_to_end.py's measurement: one pinned core, CPU s per
audio s from the child's rusage) N times with each frame, alternating; the "before" child
imports the revision's module in place of the runtime's, the "now" child runs the same wrapper
without it.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

import numpy as np
from sentio.runtime.features import FeatureSpec
from sentio.runtime.mixed_features import MixedExtractor, MixedFeatureSpec
from sentio.runtime.model import BundleModel
from sentio.runtime.windows import fill_window, window_ends
from threadpoolctl import threadpool_limits

from benchmarks.music import MOODS
from benchmarks.timing import Spread

REPO = Path(__file__).resolve().parent.parent
MODULE = "runtime/mixed_features.py"


def module_at(revision: str, scratch: Path) -> ModuleType:
    """``runtime/mixed_features.py`` as ``revision`` has it, imported under another name."""
    source = subprocess.run(
        ["git", "-C", str(REPO), "show", f"{revision}:{MODULE}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path = scratch / "mixed_features_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("mixed_features_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def songs(count: int, seconds: float, rate: int) -> list[np.ndarray]:
    """Generated songs of every mood in turn, each with a little noise floor."""
    from sentio.export.data.synthetic import synth_song

    out = []
    for i in range(count):
        valence, arousal = MOODS[i % len(MOODS)]
        rng = np.random.default_rng(i)
        song = synth_song(valence, arousal, seconds, rate, seed=i)
        out.append(song + 0.003 * rng.standard_normal(song.size))
    return out


def predictions(model: BundleModel, features: np.ndarray) -> np.ndarray:
    """(valence, arousal) of every window the engine predicts on a song, no changes."""
    spec = model.spec
    hop = max(1, round(model.default_hop_s * spec.frames_per_second))
    first = round(3.0 * spec.frames_per_second)
    ends = window_ends(len(features), model.window, hop, first)
    return np.array(
        [model.predict(fill_window(features[e - n : e], model.window)) for e, n in ends]
    )


def compare(before: ModuleType, model: BundleModel, signals: list[np.ndarray]) -> list[str]:
    spec = model.spec
    if not isinstance(spec, MixedFeatureSpec):
        raise SystemExit(f"{model.path} uses {spec.algorithm}, not the mixed frame")
    blocks = spec.blocks
    worst_raw = {name: 0.0 for name in blocks}
    worst_z = {name: 0.0 for name in blocks}
    worst_out = np.zeros(2)
    frames = windows = 0
    for signal in signals:
        old = before.MixedExtractor(spec).push(signal)
        new = MixedExtractor(spec).push(signal)
        change = np.abs(new - old)
        z = change / model.stats.std
        for name, columns in blocks.items():
            worst_raw[name] = max(worst_raw[name], float(change[:, columns].max()))
            worst_z[name] = max(worst_z[name], float(z[:, columns].max()))
        moved = np.abs(predictions(model, new) - predictions(model, old))
        worst_out = np.maximum(worst_out, moved.max(axis=0))
        frames += len(new)
        windows += len(moved)
    lines = [
        f"{len(signals)} generated songs, {frames:,} frames, {windows:,} windows; "
        f"model {model.path.name}/{model.artifact}.",
        "",
        "| block | largest change, raw | largest change, z-score |",
        "| --- | ---: | ---: |",
    ]
    for name in blocks:
        lines.append(f"| {name} | {worst_raw[name]:.2e} | {worst_z[name]:.2e} |")
    lines += [
        "",
        f"Largest change of the model's output: valence {worst_out[0]:.2e}, "
        f"arousal {worst_out[1]:.2e}.",
    ]
    return lines


def per_hop(
    before: ModuleType, spec: MixedFeatureSpec, rounds: int, push_s: float = 0.5
) -> list[str]:
    """ms per push of ``push_s`` seconds (default one 0.5 s hop) of the MFCC frame, the frame
    before and the frame now, interleaved."""
    from benchmarks.music import music

    signal = music(60.0, spec.sample_rate)
    hop = round(push_s * spec.sample_rate)
    extractors = {
        "MFCC frame (`sentio-mfcc/1`)": FeatureSpec(sample_rate=spec.sample_rate).extractor(),
        "mixed frame, before": before.MixedExtractor(spec),
        "mixed frame, now": MixedExtractor(spec),
    }
    times: dict[str, list[float]] = {name: [] for name in extractors}
    position = 0
    with threadpool_limits(1):
        for round_ in range(rounds + 5):
            if position + hop > signal.size:
                position = 0
            chunk = signal[position : position + hop]
            position += hop
            for name, extractor in extractors.items():
                start = time.perf_counter()
                extractor.push(chunk)
                if round_ >= 5:  # warm-up
                    times[name].append(time.perf_counter() - start)
    reference = np.array(times["MFCC frame (`sentio-mfcc/1`)"])
    lines = [
        f"{rounds} rounds of one push of {hop:,} samples ({push_s:g} s) each, interleaved, one "
        "BLAS thread; "
        "median (p10-p90); ratio = time / the MFCC frame's time in the same round.",
        "",
        "| extractor | ms per push | ratio to the MFCC frame |",
        "| --- | ---: | ---: |",
    ]
    for name, values in times.items():
        ms = Spread.of(np.array(values) * 1e3)
        ratio = Spread.of(np.array(values) / reference)
        lines.append(f"| {name} | {ms.format(3)} | {ratio.format(2, 'x')} |")
    return lines


#: The child for --end-to-end: ``python -c CHILD MODULE|- SENTIO-LISTEN-ARGS...``.
CHILD = """
import importlib.util, sys
import sentio.runtime.mixed_features as now
path = sys.argv.pop(1)
if path != "-":  # the spec's extractor is looked up in the module: the revision's takes over
    spec = importlib.util.spec_from_file_location("mixed_features_before", path)
    before = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(before)
    now.MixedExtractor = before.MixedExtractor
from sentio.runtime.cli import main
sys.exit(main(sys.argv[1:]))
"""


def end_to_end(before: ModuleType, bundle: Path, runs: int, audio_s: float) -> list[str]:
    """CPU s per audio s of ``sentio-listen --input`` with each frame, alternating runs."""
    import soundfile

    from benchmarks.context import DEFAULT_CACHE
    from benchmarks.end_to_end import RATE, measure_run, pinned
    from benchmarks.music import music_file

    audio = music_file(DEFAULT_CACHE, audio_s, RATE)
    seconds = soundfile.info(str(audio)).duration
    modules = {"mixed frame, before": str(before.__file__), "mixed frame, now": "-"}
    cpu: dict[str, list[float]] = {name: [] for name in modules}
    for _ in range(runs):
        for name, module in modules.items():
            command = [sys.executable, "-c", CHILD, module, "--model", str(bundle)]
            result = measure_run(pinned([*command, "--input", str(audio)]))
            cpu[name].append(result.cpu_s / seconds)
    now = np.array(cpu["mixed frame, now"])
    lines = [
        f"`sentio-listen --model {bundle.name} --input` over {seconds:.0f} s of generated music "
        f"(FLAC, {RATE:,} Hz: decoding and resampling included), pinned to one core, {runs} "
        "runs each, alternating; median (p10-p90); ratio = before / now, run by run.",
        "",
        "| frame | CPU s per audio s | ratio to now |",
        "| --- | ---: | ---: |",
    ]
    for name, values in cpu.items():
        ratio = Spread.of(np.array(values) / now)
        lines.append(f"| {name} | {Spread.of(values).format(4)} | {ratio.format(2, 'x')} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.frame_change", description=__doc__)
    parser.add_argument("--before", default="HEAD", help="git revision of the frame before")
    parser.add_argument("--model", type=Path, default=REPO / "runtime" / "default_model")
    parser.add_argument(
        "--artifact", action="append", help="model file(s) to run (default: the bundle's pick)"
    )
    parser.add_argument("--songs", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--hops", type=int, default=0, help="also time N hops (0: no timing)")
    parser.add_argument(
        "--push-s", type=float, default=0.5, help="--hops' push size (s; 0.5 = the default hop)"
    )
    parser.add_argument(
        "--end-to-end", type=int, default=0, help="also N sentio-listen runs with each frame"
    )
    parser.add_argument("--audio-s", type=float, default=600.0, help="--end-to-end's audio")
    args = parser.parse_args(argv)
    models = [BundleModel(args.model, artifact) for artifact in args.artifact or [None]]
    with tempfile.TemporaryDirectory() as scratch:
        before = module_at(args.before, Path(scratch))
        spec = models[0].spec
        signals = songs(args.songs, args.seconds, spec.sample_rate)
        print(f"## The mixed frame at {args.before} vs the working tree")
        for model in models:
            print()
            print("\n".join(compare(before, model, signals)))
        if args.hops:
            print()
            print("\n".join(per_hop(before, spec, args.hops, args.push_s)))
        if args.end_to_end:
            print()
            print("\n".join(end_to_end(before, args.model, args.end_to_end, args.audio_s)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
