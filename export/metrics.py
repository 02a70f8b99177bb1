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
