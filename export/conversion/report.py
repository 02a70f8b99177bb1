"""The export report: ``report.md`` (sizes, ops, the accuracy-drop table, calibration) and
``report.png`` (predicted vs true valence/arousal per artifact, and the error distribution)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
from sentio.export.conversion.gate import ArtifactCheck, DropLimits, drop_table
from sentio.export.evaluation.robustness import RobustnessResult
from sentio.export.model.predict import metrics_table
from sentio.runtime.manifest import ExportInfo, Manifest, Quantization

_GENERATED = (
    "",
    "**Generated music:** the labelled training data was not here, so every artifact was "
    "calibrated and verified against the float model on generated songs. The vs-float "
    "differences (dV/dA CCC, |d|) are real; the CCC/RMSE/accuracy columns are measured "
    "against the generator's labels and say nothing about real music.",
)


def write_report_md(
    path: Path,
    manifest: Manifest,
    checks: dict[str, ArtifactCheck],
    limits: DropLimits,
    study: list[dict] | None = None,
    live: RobustnessResult | None = None,
) -> None:
    export = manifest.export or ExportInfo()
    lines = [
        "# Sentio export report",
        "",
        f"Source: {export.source}. Evaluated on {export.evaluated_on}.",
        *(_GENERATED if export.evaluated_on.startswith("generated music") else ()),
        f"Export took {export.seconds or 0:.1f} s "
        f"(convert {export.timings.get('convert', 0):.1f} s, "
        f"verify {export.timings.get('verify', 0):.1f} s).",
        "",
        "## Artifacts",
        "",
        "| file | format | kind | size (KB) | ms per window | input | output | ops |",
        "|---|---|---|---:|---:|---|---|---|",
    ]
    for m in manifest.models:
        size = "-" if m.bytes is None else f"{m.bytes / 1024:.0f}"
        ms = "-" if m.ms_per_window is None else f"{m.ms_per_window:.2f}"
        if m.file == manifest.default_artifact:
            ms = f"**{ms}** (default: the fastest LiteRT model that passed)"
        lines.append(
            f"| {m.file} | {m.format} | {m.kind} | {size} | {ms} | "
            f"{_io(m.io and m.io.input)} | {_io(m.io and m.io.output)} | {', '.join(m.ops)} |"
        )
    lines += [
        "",
        "ms per window: median on the exporting machine, one thread, batch 1, the artifacts "
        "that passed the gate timed side by side (`export/conversion/speed.py`).",
    ]
    lines += [
        "",
        "## Accuracy drop (per window, test split)",
        "",
        f"Limits: {', '.join(f'{k} {v}' for k, v in asdict(limits).items())} "
        "(drop = float reference minus artifact; |d| = |artifact - float|).",
        "",
        "```",
        drop_table(checks),
        "```",
        "",
        "## Per song (mean of a song's windows)",
        "",
        "```",
        metrics_table({n: c.metrics.songs for n, c in checks.items()}),
        "```",
    ]
    calibration = manifest.calibration
    if calibration is not None:
        coverage = calibration.range_coverage
        lines += [
            "",
            "## Calibration set",
            "",
            f"{calibration.windows} windows from {calibration.songs} training songs "
            f"(seed {calibration.seed}), quadrants {calibration.quadrants}, "
            f"range coverage {float('nan') if coverage is None else coverage:.3f} of the "
            f"training split's per-feature range. "
            f"Feature spec {calibration.spec_fingerprint[:16]}.",
        ]
    if study:
        lines += ["", "## Calibration-size study (int8, per window)", "", _study_table(study)]
    if live is not None:
        lines += ["", *live_section(live)]
    lines += ["", "![predicted vs true](report.png)", ""]
    if (path.parent / QUADRANT_PNG).exists():
        lines += [
            "## Quadrant-labelled test songs",
            "",
            f"Each song's mean prediction ({manifest.default_artifact}), coloured by its human "
            "quadrant label: a song in the right quadrant of the plane is called right.",
            "",
            f"![predictions by quadrant]({QUADRANT_PNG})",
            "",
        ]
    path.write_text("\n".join(lines))


def live_section(live: RobustnessResult) -> list[str]:
    """The "Live conditions" section: the default artifact's song-level predictions under
    what a device hears, against clean (``live_conditions.json`` holds every song's)."""
    return [
        f"## Live conditions ({live.artifact}, per song)",
        "",
        "How far the song-level predictions move from the clean ones (mean abs dV/dA, "
        "correlation r across songs) and how much accuracy is lost (drop = clean minus "
        "condition) when the test songs reach the device through a level change, a small "
        "speaker, a room, noise or a 48 kHz capture (`sentio-train robustness --bundle DIR "
        "--conditions full` runs every condition).",
        "",
        live.markdown().rstrip("\n"),
    ]


def _io(q: Quantization | None) -> str:
    if q is None:
        return "-"
    if not q.is_quantized:
        return q.dtype
    return f"{q.dtype} (s={q.scale:.4g}, z={q.zero_point})"


def _study_table(study: list[dict]) -> str:
    lines = [
        "| windows | artifact | V CCC | A CCC | dV CCC | dA CCC | mean abs diff | max abs diff |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in study:
        lines.append(
            f"| {row['size']} | {row['artifact']} | {row['valence_ccc']:.3f} | "
            f"{row['arousal_ccc']:.3f} | {row['drop_valence_ccc']:.3f} | "
            f"{row['drop_arousal_ccc']:.3f} | {row['mean_abs_diff']:.4f} | "
            f"{row['max_abs_diff']:.4f} |"
        )
    return "\n".join(lines)


#: The plot of the quadrant-labelled test songs (4Q), beside report.png.
QUADRANT_PNG = "quadrants.png"
_QUADRANT_COLORS = {
    (1, 1): "tab:orange",
    (-1, 1): "tab:red",
    (-1, -1): "tab:blue",
    (1, -1): "tab:green",
}
_QUADRANT_NAMES = {(1, 1): "Q1 happy", (-1, 1): "Q2 angry", (-1, -1): "Q3 sad", (1, -1): "Q4 calm"}


def write_quadrant_png(path: Path, labels: np.ndarray, predictions: list[np.ndarray]) -> int:
    """Song-level predicted valence/arousal of quadrant-labelled songs (labels +-1), one colour
    per human quadrant; returns how many songs were drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kept = [i for i, p in enumerate(predictions) if len(p)]
    fig, ax = plt.subplots(figsize=(5.2, 5.0))
    for quadrant, color in _QUADRANT_COLORS.items():
        idx = [i for i in kept if tuple(np.sign(labels[i]).astype(int)) == quadrant]
        if idx:
            points = np.stack([predictions[i].mean(axis=0) for i in idx])
            label = f"{_QUADRANT_NAMES[quadrant]} ({len(idx)})"
            ax.scatter(points[:, 0], points[:, 1], s=14, alpha=0.75, color=color, label=label)
    ax.axhline(0, color="grey", lw=0.8)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_xlim(-1, 1)
    ax.set_ylim(-1, 1)
    ax.set_xlabel("predicted valence")
    ax.set_ylabel("predicted arousal")
    ax.set_title(f"{len(kept)} quadrant-labelled test songs", fontsize=9)
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return len(kept)


def write_report_png(path: Path, checks: dict[str, ArtifactCheck], labels: np.ndarray) -> None:
    """One column per artifact: predicted vs true per song for valence and arousal; last row,
    the per-window error distribution against the labels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(checks)
    fig, axes = plt.subplots(3, len(names), figsize=(2.6 * len(names), 7.5), squeeze=False)
    for col, name in enumerate(names):
        predictions = checks[name].predictions
        song_p = np.stack([p.mean(axis=0) for p in predictions if len(p)])
        song_y = labels[[i for i, p in enumerate(predictions) if len(p)]]
        window_err = np.concatenate([p - labels[i] for i, p in enumerate(predictions) if len(p)])
        for row, dim in enumerate(("valence", "arousal")):
            ax = axes[row, col]
            ax.scatter(song_y[:, row], song_p[:, row], s=8, alpha=0.7)
            ax.plot([-1, 1], [-1, 1], color="grey", lw=0.8)
            ax.set_xlim(-1, 1)
            ax.set_ylim(-1, 1)
            ax.set_title(
                f"{name}\n{dim} (per song)" if row == 0 else f"{dim} (per song)", fontsize=8
            )
            ax.set_xlabel("true", fontsize=7)
            ax.set_ylabel("predicted", fontsize=7)
            ax.tick_params(labelsize=6)
        ax = axes[2, col]
        bins = np.linspace(-1.5, 1.5, 41)
        ax.hist(window_err[:, 0], bins=bins, alpha=0.6, label="valence")
        ax.hist(window_err[:, 1], bins=bins, alpha=0.6, label="arousal")
        ax.set_title("error per window", fontsize=8)
        ax.tick_params(labelsize=6)
        if col == 0:
            ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
