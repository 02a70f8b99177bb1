"""Per-dataset song-level scores with bootstrap intervals, against the default model's
targets and the ridge baseline on the same songs.

Each dataset is scored on what its labels say: sign AUCs and quadrant accuracy where the labels
are quadrants (4Q), CCC where they are values (Emotify, DEAM, a user's manifest). Intervals
are 95% percentile bootstraps over the dataset's test songs; a CRNN-minus-ridge difference is
bootstrapped over the same resampled songs for both (paired).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from sentio.export.model.metrics import auc, ccc

SIGN_METRICS = ("valence_auc", "arousal_auc", "quadrant_accuracy")
VALUE_METRICS = ("valence_ccc", "arousal_ccc")


@dataclass(frozen=True)
class Target:
    """A floor a song-level metric must reach on one dataset's test songs."""

    dataset: str
    metric: str
    floor: float


#: The default model's targets (issue 14), song level, on held-out test songs.
DEFAULT_TARGETS = (
    Target("4q", "valence_auc", 0.80),
    Target("4q", "arousal_auc", 0.92),
    Target("4q", "quadrant_accuracy", 0.62),
    Target("emotify", "valence_ccc", 0.45),
    Target("emotify", "arousal_ccc", 0.65),
)


def scores(y: np.ndarray, p: np.ndarray, sign_only: bool) -> dict[str, float]:
    """The metrics of one dataset's song-level labels ``y`` and predictions ``p`` (n, 2)."""
    if sign_only:
        return {
            "valence_auc": auc(y[:, 0], p[:, 0]),
            "arousal_auc": auc(y[:, 1], p[:, 1]),
            "quadrant_accuracy": float(np.mean(np.all(np.sign(p) == np.sign(y), axis=1))),
        }
    return {"valence_ccc": ccc(y[:, 0], p[:, 0]), "arousal_ccc": ccc(y[:, 1], p[:, 1])}


def _resamples(n: int, n_resamples: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, n, n) for _ in range(n_resamples)]


def _interval(values: list[float], level: float) -> list[float]:
    if all(np.isnan(values)):  # one class in every resample: no AUC
        return [float("nan"), float("nan")]
    tail = 100 * (1 - level) / 2
    lo, hi = np.nanpercentile(values, [tail, 100 - tail])
    return [round(float(lo), 4), round(float(hi), 4)]


def compare_on_dataset(
    y: np.ndarray,
    predictions: dict[str, np.ndarray],
    sign_only: bool,
    reference: str = "crnn",
    n_resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict:
    """Scores with intervals for each of ``predictions`` (name -> (n, 2)) on one dataset, and
    each one's paired difference from ``reference`` with the share of resamples it is higher.
    """
    y = np.asarray(y, dtype=np.float64)
    preds = {k: np.asarray(v, dtype=np.float64) for k, v in predictions.items()}
    draws = _resamples(len(y), n_resamples, seed)
    score = functools.partial(scores, sign_only=sign_only)
    per_draw = {k: [score(y[i], p[i]) for i in draws] for k, p in preds.items()}
    out: dict = {"n": len(y), "sign_only": sign_only, "models": {}, "difference": {}}
    for name, p in preds.items():
        value = score(y, p)
        out["models"][name] = {
            metric: {
                "value": round(v, 4),
                "interval": _interval([d[metric] for d in per_draw[name]], level),
            }
            for metric, v in value.items()
        }
    base = per_draw[reference]
    for name in preds:
        if name == reference:
            continue
        diffs = {}
        for metric in out["models"][name]:
            pairs = zip(base, per_draw[name], strict=True)
            delta = np.array([a[metric] - b[metric] for a, b in pairs])
            diffs[metric] = {
                "difference": round(
                    out["models"][reference][metric]["value"]
                    - out["models"][name][metric]["value"],
                    4,
                ),
                "interval": _interval(list(delta), level),
                "reference_higher": round(float(np.nanmean(delta > 0)), 3),
            }
        out["difference"][name] = diffs
    return out


def targets_markdown(
    datasets: dict[str, dict],
    targets: tuple[Target, ...] = DEFAULT_TARGETS,
    reference: str = "crnn",
    other: str = "ridge",
) -> str:
    """One row per dataset metric: the CRNN and ridge with intervals, their paired difference,
    and the target (met or missed by how much) where there is one."""
    floors = {(t.dataset, t.metric): t.floor for t in targets}
    lines = [
        f"| dataset (n) | metric | {reference} | {other} | {reference} − {other} | target |",
        "|---|---|---|---|---|---|",
    ]
    for name, result in datasets.items():
        for metric, cell in result["models"][reference].items():
            theirs = result["models"].get(other, {}).get(metric)
            diff = result["difference"].get(other, {}).get(metric)
            floor = floors.get((name, metric))
            verdict = "-"
            if floor is not None:
                gap = cell["value"] - floor
                verdict = f"≥ {floor:g}: " + ("met" if gap >= 0 else f"missed by {-gap:.3f}")
            lines.append(
                f"| {name} ({result['n']}) | {metric} | {_cell(cell)} | "
                f"{_cell(theirs) if theirs else '-'} | "
                + (
                    f"{diff['difference']:+.3f} [{diff['interval'][0]:+.2f}, "
                    f"{diff['interval'][1]:+.2f}]; higher in {100 * diff['reference_higher']:.0f}%"
                    if diff
                    else "-"
                )
                + f" | {verdict} |"
            )
    return "\n".join(lines)


def _cell(cell: dict) -> str:
    lo, hi = cell["interval"]
    return f"{cell['value']:.3f} [{lo:.2f}, {hi:.2f}]"
