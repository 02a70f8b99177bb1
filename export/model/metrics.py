"""Regression metrics for valence/arousal, in plain numpy (used on windows and on songs)."""

from __future__ import annotations

import numpy as np

DIMENSIONS = ("valence", "arousal")


def rmse(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.sqrt(np.mean((y - p) ** 2)))


def mae(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean(np.abs(y - p)))


def r2(y: np.ndarray, p: np.ndarray) -> float:
    """Coefficient of determination; 0 for a constant target (nothing to explain)."""
    total = float(np.sum((y - y.mean()) ** 2))
    return 0.0 if total == 0 else 1.0 - float(np.sum((y - p) ** 2)) / total


def ccc(y: np.ndarray, p: np.ndarray) -> float:
    """Lin's concordance correlation: agreement in correlation, mean and scale (-1..1)."""
    if y.size < 2:
        return float("nan")
    cov = float(np.mean((y - y.mean()) * (p - p.mean())))
    denom = float(y.var() + p.var() + (y.mean() - p.mean()) ** 2)
    return 0.0 if denom == 0 else 2.0 * cov / denom


def within(y: np.ndarray, p: np.ndarray, threshold: float) -> float:
    """Share of predictions within ``threshold`` of the label."""
    return float(np.mean(np.abs(y - p) <= threshold))


def regression_report(y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> dict:
    """All metrics for (n, 2) labels and predictions, per dimension and overall.

    ``emotion_accuracy`` counts a prediction right when both valence and arousal are within
    ``threshold`` of the label; per dimension, ``accuracy`` is that dimension alone.
    """
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    report: dict = {"n": int(y.shape[0])}
    for i, dim in enumerate(DIMENSIONS):
        report[dim] = {
            "rmse": rmse(y[:, i], p[:, i]),
            "mae": mae(y[:, i], p[:, i]),
            "r2": r2(y[:, i], p[:, i]),
            "ccc": ccc(y[:, i], p[:, i]),
            "accuracy": within(y[:, i], p[:, i], threshold),
        }
    report["rmse"] = rmse(y, p)
    report["mae"] = mae(y, p)
    report["emotion_accuracy"] = float(np.mean(np.all(np.abs(y - p) <= threshold, axis=1)))
    return report


def bootstrap_intervals(
    y: np.ndarray,
    p: np.ndarray,
    threshold: float = 0.5,
    n_resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict:
    """Percentile bootstrap intervals of every metric in :func:`regression_report`, resampling
    items (songs) with replacement. Same nesting as the report, each leaf ``[low, high]``."""
    y, p = np.asarray(y, dtype=np.float64), np.asarray(p, dtype=np.float64)
    rng = np.random.default_rng(seed)
    draws = [
        regression_report(y[idx], p[idx], threshold)
        for idx in (rng.integers(0, len(y), len(y)) for _ in range(n_resamples))
    ]
    tail = 100 * (1 - level) / 2

    def interval(values: list[float]) -> list[float]:
        lo, hi = np.nanpercentile(values, [tail, 100 - tail])
        return [round(float(lo), 4), round(float(hi), 4)]

    out: dict = {}
    for key, value in draws[0].items():
        if key == "n":
            continue
        if isinstance(value, dict):
            out[key] = {m: interval([d[key][m] for d in draws]) for m in value}
        else:
            out[key] = interval([d[key] for d in draws])
    return out


def paired_ccc_difference(
    y: np.ndarray,
    p_a: np.ndarray,
    p_b: np.ndarray,
    n_resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, dict[str, float | list[float]]]:
    """CCC of ``p_a`` minus CCC of ``p_b`` per dimension, bootstrapped over the SAME resampled
    items for both (paired), with its interval and the share of resamples in which ``a`` wins.
    Two separate intervals overlap far more often than a paired difference is uncertain."""
    y, p_a, p_b = (np.asarray(v, dtype=np.float64) for v in (y, p_a, p_b))
    rng = np.random.default_rng(seed)
    draws = np.array(
        [
            [ccc(y[idx, d], p_a[idx, d]) - ccc(y[idx, d], p_b[idx, d]) for d in range(y.shape[1])]
            for idx in (rng.integers(0, len(y), len(y)) for _ in range(n_resamples))
        ]
    )
    tail = 100 * (1 - level) / 2
    out = {}
    for d, name in enumerate(DIMENSIONS):
        lo, hi = np.nanpercentile(draws[:, d], [tail, 100 - tail])
        out[name] = {
            "difference": round(ccc(y[:, d], p_a[:, d]) - ccc(y[:, d], p_b[:, d]), 4),
            "interval": [round(float(lo), 4), round(float(hi), 4)],
            "a_better": round(float(np.mean(draws[:, d] > 0)), 3),
        }
    return out


def auc(signs: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` ranking the positive ``signs`` (> 0) above the
    negative ones: the Mann-Whitney U statistic over ranks, ties counted half (NaN when only
    one class is present). For labels that are signs only (quadrant datasets)."""
    signs, scores = np.asarray(signs, dtype=np.float64), np.asarray(scores, dtype=np.float64)
    positive = signs > 0
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(scores.size)
    sorted_scores = scores[order]
    # average ranks over ties (1-based)
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    ends = np.r_[starts[1:], scores.size]
    for s, e in zip(starts, ends, strict=True):
        ranks[order[s:e]] = (s + e + 1) / 2
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
