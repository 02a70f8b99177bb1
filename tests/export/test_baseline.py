"""The ridge baseline, bootstrap intervals and the CCC loss: small, exact checks."""

import numpy as np
import pytest
from sentio.export.data.datasets import Song
from sentio.export.data.windows import SongWindows
from sentio.export.evaluation.baseline import RidgeBaseline, fit_baseline, song_statistics
from sentio.export.evaluation.metrics import bootstrap_intervals, regression_report


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


def test_bootstrap_interval_brackets_the_estimate_and_narrows_with_more_songs():
    rng = np.random.default_rng(1)
    widths = []
    for n in (30, 300):
        y = rng.uniform(-1, 1, (n, 2))
        p = y + rng.normal(0, 0.3, (n, 2))
        report = regression_report(y, p)
        ci = bootstrap_intervals(y, p, n_resamples=300)
        lo, hi = ci["valence"]["ccc"]
        assert lo <= report["valence"]["ccc"] <= hi
        widths.append(hi - lo)
    assert widths[1] < widths[0]


def test_ccc_loss_rewards_spread_not_just_closeness():
    keras = pytest.importorskip("keras", reason="the export extra is not installed")
    from sentio.export.model.train import CCCLoss

    loss = CCCLoss()
    y = np.array([[-0.8, 0.5], [0.0, -0.5], [0.8, 0.1], [0.4, -0.9]], np.float32)
    perfect = float(keras.ops.convert_to_numpy(loss(y, y)))
    assert perfect == pytest.approx(0.0, abs=1e-5)
    mean_only = float(
        keras.ops.convert_to_numpy(loss(y, np.repeat(y.mean(0, keepdims=True), 4, 0)))
    )
    assert mean_only > 1.0  # CCC 0 whatever the MSE


def test_paired_ccc_difference_favours_the_better_predictor():
    from sentio.export.evaluation.metrics import paired_ccc_difference

    rng = np.random.default_rng(0)
    y = rng.uniform(-1, 1, (60, 2))
    good = y + rng.normal(0, 0.2, y.shape)
    poor = y + rng.normal(0, 0.8, y.shape)
    diff = paired_ccc_difference(y, good, poor, n_resamples=300)
    for dim in ("valence", "arousal"):
        lo, hi = diff[dim]["interval"]
        assert 0 < lo <= diff[dim]["difference"] <= hi
        assert diff[dim]["a_better"] > 0.97
    same = paired_ccc_difference(y, good, good, n_resamples=50)
    assert same["valence"]["difference"] == 0 and same["valence"]["a_better"] == 0
