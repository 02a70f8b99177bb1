"""The baseline a CRNN must beat: ridge regression on per-song feature statistics.

Each song becomes 80 numbers (mean and standard deviation of each of the 40 features over all
its frames); ridge regression maps them to valence and arousal. Same songs, same split as the
CRNN; the penalty is chosen on the validation split (mean song CCC), never on test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sentio.export.data.windows import SongWindows
from sentio.export.model.metrics import ccc, regression_report

ALPHAS = (0.01, 0.1, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)


def song_statistics(songs: list[SongWindows]) -> np.ndarray:
    """(n_songs, 2 * n_features): per-feature mean and standard deviation of each song."""
    return np.stack([np.concatenate([s.frames.mean(axis=0), s.frames.std(axis=0)]) for s in songs])


def song_labels(songs: list[SongWindows]) -> np.ndarray:
    return np.stack([s.label for s in songs]).astype(np.float64)


@dataclass
class RidgeBaseline:
    """Standardized inputs, centred targets, closed-form ridge."""

    alpha: float
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, alpha: float) -> RidgeBaseline:
        mean, scale = x.mean(axis=0), np.maximum(x.std(axis=0), 1e-9)
        z = (x - mean) / scale
        bias = y.mean(axis=0)
        gram = z.T @ z + alpha * np.eye(z.shape[1])
        weights = np.linalg.solve(gram, z.T @ (y - bias))
        return cls(alpha, mean, scale, weights, bias)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.clip(((x - self.mean) / self.scale) @ self.weights + self.bias, -1.0, 1.0)


def fit_baseline(
    splits: dict[str, list[SongWindows]], alphas: tuple[float, ...] = ALPHAS
) -> tuple[RidgeBaseline, dict[float, float]]:
    """Ridge on the training songs with the alpha that maximizes validation song CCC
    (mean of valence and arousal). Returns the model and every alpha's validation score."""
    x_train, y_train = song_statistics(splits["train"]), song_labels(splits["train"])
    x_val, y_val = song_statistics(splits["val"]), song_labels(splits["val"])
    scores = {}
    for alpha in alphas:
        p = RidgeBaseline.fit(x_train, y_train, alpha).predict(x_val)
        scores[alpha] = float(np.mean([ccc(y_val[:, i], p[:, i]) for i in range(2)]))
    best = max(scores, key=scores.get)
    return RidgeBaseline.fit(x_train, y_train, best), scores


def evaluate_baseline(
    model: RidgeBaseline, songs: list[SongWindows], threshold: float = 0.5
) -> tuple[dict, np.ndarray, np.ndarray]:
    """Song-level report, labels and predictions of the baseline on ``songs``."""
    y, p = song_labels(songs), model.predict(song_statistics(songs))
    return regression_report(y, p, threshold), y, p
