"""The ridge baseline: small, exact checks."""

import numpy as np
from sentio.export.data.datasets import Song
from sentio.export.data.windows import SongWindows
from sentio.export.evaluation.baseline import RidgeBaseline, fit_baseline, song_statistics
from sentio.export.model.metrics import regression_report


def _songs(n, rng):
    songs = []
    for i in range(n):
        v, a = rng.uniform(-0.9, 0.9, 2)
        frames = rng.normal(0, 1, (100, 4)).astype(np.float32)
        frames[:, 0] += 2 * v  # feature 0's mean carries valence
        frames[:, 1] *= 1 + a  # feature 1's spread carries arousal
        songs.append(SongWindows(Song(f"s{i}", None, float(v), float(a)), frames, np.array([0])))
    return songs


def test_ridge_learns_song_statistics():
    rng = np.random.default_rng(0)
    splits = {"train": _songs(80, rng), "val": _songs(20, rng), "test": _songs(30, rng)}
    model, scores = fit_baseline(splits)
    assert model.alpha in scores and scores[model.alpha] == max(scores.values())
    test = splits["test"]
    y = np.array([s.label for s in test])
    report = regression_report(y, model.predict(song_statistics(test)))
    assert report["valence"]["ccc"] > 0.9 and report["arousal"]["ccc"] > 0.8


def test_ridge_predictions_stay_in_range():
    x = np.linspace(-10, 10, 40)[:, None]
    model = RidgeBaseline.fit(x, np.column_stack([x[:, 0] / 10, -x[:, 0] / 10]), alpha=0.01)
    assert np.abs(model.predict(x * 5)).max() <= 1.0
