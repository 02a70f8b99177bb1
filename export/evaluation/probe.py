"""A linear probe for screening labels and frames under cross-validation in seconds.

Ridge on song statistics (each feature's mean and standard deviation over the song's frames,
:func:`sentio.export.evaluation.baseline.song_statistics`), one weighted least-squares fit per
dimension, its penalty chosen on the validation songs. 4Q's songs are fitted to their signs
(+-1). What a probe cannot see a CRNN may still learn; what it sees a CRNN usually can: a
screen, not a verdict.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sentio.export.data.windows import SongWindows
from sentio.export.evaluation.baseline import ALPHAS, song_labels, song_statistics


def ridge_probe(
    train: list[SongWindows], weights: np.ndarray, val: list[SongWindows], seed: int, fold: int = 0
) -> Callable[[list[SongWindows]], np.ndarray]:
    """Fit the probe (``seed`` and ``fold`` are unused: the fit is deterministic) and return its
    predictor."""
    del seed, fold
    x, y = song_statistics(train), song_labels(train)
    x_val, y_val = song_statistics(val), song_labels(val)
    mean, scale = x.mean(axis=0), np.maximum(x.std(axis=0), 1e-9)

    def fitted(alpha: float) -> np.ndarray:
        return np.stack(
            [_weighted_ridge((x - mean) / scale, y[:, d], weights[:, d], alpha) for d in (0, 1)],
            axis=1,
        )

    def predict_with(coef: np.ndarray, features: np.ndarray) -> np.ndarray:
        z = np.c_[(features - mean) / scale, np.ones(len(features))]
        return np.clip(z @ coef, -1.0, 1.0)

    errors = {a: np.mean((predict_with(fitted(a), x_val) - y_val) ** 2) for a in ALPHAS}
    coef = fitted(min(errors, key=errors.get))
    return lambda songs: predict_with(coef, song_statistics(songs))


def _weighted_ridge(z: np.ndarray, y: np.ndarray, w: np.ndarray, alpha: float) -> np.ndarray:
    """Coefficients (features..., intercept) of ridge with sample weights; the intercept is
    not penalized."""
    design = np.c_[z, np.ones(len(z))]
    penalty = alpha * np.eye(design.shape[1])
    penalty[-1, -1] = 0.0
    gram = design.T @ (design * w[:, None]) + penalty
    return np.linalg.solve(gram, design.T @ (w * y))
