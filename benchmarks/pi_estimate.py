"""A Raspberry Pi ESTIMATE (not a measurement): this machine's measured efficiency carried
over to the published per-core float32 peak of the Pi 4's and Pi 5's cores.

Method: time per window on the Pi = FLOPs per window / (fraction of peak reached here x the
Pi core's peak), assuming the same runtime reaches the same fraction of its core's peak on
ARM NEON as on x86. The whole pipeline (decode, resample, MFCC, Python) is scaled by the ratio
of this core's measured peak to the Pi core's peak: an upper estimate, because scalar Python
code loses less than SIMD code does to a narrower core.
"""

from __future__ import annotations

from dataclasses import dataclass

from sentio.runtime.manifest import load

from benchmarks.context import Context
from benchmarks.report import Section, SummaryRow, table

SOURCES = (
    "Arm Cortex-A72 and Cortex-A76 Software Optimization Guides (FP/ASIMD pipelines) and "
    'WikiChip\'s "FLOPs by microarchitecture" table (en.wikichip.org/wiki/flops); '
    "Raspberry Pi product briefs for the clocks"
)


@dataclass(frozen=True)
class PiCore:
    board: str
    core: str
    ghz: float
    flop_per_cycle: int  # float32, per core
    how: str

    @property
    def peak_gflops(self) -> float:
        return self.ghz * self.flop_per_cycle


PI_CORES = (
    PiCore("Raspberry Pi 4", "Cortex-A72", 1.5, 8, "one 128-bit NEON FMA per cycle: 4 x 2"),
    PiCore("Raspberry Pi 5", "Cortex-A76", 2.4, 16, "two 128-bit NEON FMA pipes: 2 x 4 x 2"),
)
PEERS = (
    ("Porcupine wake word (Picovoice benchmark)", "Raspberry Pi 3", "real-time factor 0.06"),
    ("Snowboy / PocketSphinx (same benchmark)", "Raspberry Pi 3", "0.19 / 0.32"),
    ("DTLN speech enhancement, 32 ms blocks", "Raspberry Pi 3B+", "15.5 ms per block (0.48)"),
)


def run(ctx: Context) -> Section:
    if "inference" not in ctx.results:  # --only pi_estimate: measure LiteRT/ORT alone
        from benchmarks import inference

        ctx.results["inference"] = inference.run(ctx.without_tensorflow())
    inference = ctx.results["inference"].data
    flops, hop_s = inference["flops"], load(ctx.bundle).window.default_hop_s
    features_ms = ctx.results["features"].data["hop_ms"] if "features" in ctx.results else {}
    feature_hop_ms = next((v for k, v in features_ms.items() if "incremental" in k), None)
    e2e = ctx.results["end_to_end"].data["artifacts"] if "end_to_end" in ctx.results else {}
    x86_peak = inference["peak_gflops"]
    rows = []
    estimates = {}
    for name, efficiency in inference["efficiency"].items():
        if name.startswith("model.keras") or "tflite-runtime" in name:
            continue
        cells = [name, f"{100 * efficiency:.0f} %"]
        for pi in PI_CORES:
            ms = flops / (efficiency * pi.peak_gflops * 1e9) * 1e3
            estimates[(name, pi.board)] = ms
            cells.append(f"{ms:.1f} ms ({100 * ms / 1e3 / hop_s:.1f} %)")
        rows.append(cells)
    cores = [
        f"{pi.board}: {pi.core} at {pi.ghz} GHz, {pi.flop_per_cycle} FLOP/cycle "
        f"({pi.how}) = {pi.peak_gflops:.1f} GFLOP/s per core"
        for pi in PI_CORES
    ]
    body = [
        "**Estimate, not measured on a Pi.** " + __doc__.split("\n\n")[1].replace("\n", " "),
        "",
        *(f"- {line}" for line in cores),
        f"- This machine: {x86_peak:.1f} GFLOP/s per core (measured above); FLOPs per window "
        f"{flops / 1e6:.1f} M. Sources: {SOURCES}.",
        "",
        *table(
            [
                "model · runtime (x86 efficiency)",
                "efficiency here",
                *(f"{pi.board}: ms per window (CPU share at {hop_s:g} s hop)" for pi in PI_CORES),
            ],
            rows,
            "lrrr",
        ),
        "",
    ]
    summary = []
    reference = inference["reference"]
    if e2e:
        default = next(iter(e2e))
        cpu = e2e[default]["cpu_per_audio_s"]
        scaled = [f"{pi.board} ≤ {cpu * x86_peak / pi.peak_gflops:.3f}" for pi in PI_CORES]
        body += [
            f"Whole pipeline ({default}), CPU s per audio s scaled by the peak ratio "
            f"(upper estimate): " + ", ".join(scaled) + ".",
            "",
        ]
    if feature_hop_ms is not None:
        body += [
            f"Streaming features per hop: {feature_hop_ms:.2f} ms here; scaled by the same "
            f"ratio: "
            + ", ".join(
                f"{pi.board} ≈ {feature_hop_ms * x86_peak / pi.peak_gflops:.1f} ms"
                for pi in PI_CORES
            )
            + ".",
            "",
        ]
    body += [
        "Peers' published Pi figures (`../shared/notes/peers.md`; real-time factor = CPU time "
        "/ audio time on one core):",
        "",
        *table(["peer", "board", "published"], [list(p) for p in PEERS], "lll"),
        "",
        "Sentio's comparable figure is the CPU share above (inference per hop / hop length). "
        "Caveats: the Pi figures above assume x86's efficiency carries over (XNNPACK and "
        "onnxruntime have NEON kernels, but the LSTM's small matrices are latency-bound, and "
        "the A72 lacks the int8 dot-product instructions the A76 has); only a run on a Pi "
        "(`python -m benchmarks` works there) replaces this estimate.",
    ]
    for pi in PI_CORES:
        if (reference, pi.board) in estimates:
            ms = estimates[(reference, pi.board)]
            summary.append(
                SummaryRow(
                    f"ESTIMATE {pi.board}, {reference.split(' ·')[0]}",
                    f"{ms:.1f} ms per window, {100 * ms / 1e3 / hop_s:.1f} % "
                    f"of a core at {hop_s:g} s hop",
                )
            )
    return Section(
        "pi_estimate",
        "Raspberry Pi: an estimate",
        body,
        summary,
        {"ms": {f"{k[0]} | {k[1]}": v for k, v in estimates.items()}},
    )
