"""Bootstrap intervals and the paired CCC difference."""

import numpy as np
from sentio.export.model.metrics import (
    bootstrap_intervals,
    paired_ccc_difference,
    regression_report,
)


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


def test_paired_ccc_difference_favours_the_better_predictor():
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
