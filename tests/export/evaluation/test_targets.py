"""Per-dataset scores with bootstrap intervals, paired differences and the targets table."""

import numpy as np
import pytest
from sentio.export.evaluation.targets import (
    Target,
    compare_on_dataset,
    scores,
    targets_markdown,
)
from sentio.export.model.metrics import auc, ccc


@pytest.fixture
def quadrants():
    rng = np.random.default_rng(0)
    y = rng.choice([-1.0, 1.0], (80, 2))
    good = 0.6 * y + rng.normal(0, 0.5, y.shape)
    poor = 0.1 * y + rng.normal(0, 0.5, y.shape)
    return y, good, poor


def test_sign_datasets_are_scored_by_auc_and_quadrant_accuracy(quadrants):
    y, good, _ = quadrants
    got = scores(y, good, sign_only=True)
    assert got["valence_auc"] == auc(y[:, 0], good[:, 0])
    assert got["quadrant_accuracy"] == np.mean(np.all(np.sign(good) == y, axis=1))
    values = scores(good, good + 0.1, sign_only=False)
    assert set(values) == {"valence_ccc", "arousal_ccc"}
    assert values["arousal_ccc"] == ccc(good[:, 1], good[:, 1] + 0.1)


def test_intervals_hold_the_value_and_paired_differences_favour_the_better_model(quadrants):
    y, good, poor = quadrants
    result = compare_on_dataset(y, {"crnn": good, "ridge": poor}, True, n_resamples=300)
    assert result["n"] == 80 and result["sign_only"]
    for model in ("crnn", "ridge"):
        for cell in result["models"][model].values():
            lo, hi = cell["interval"]
            assert lo <= cell["value"] <= hi and lo < hi
    diff = result["difference"]["ridge"]["valence_auc"]
    crnn, ridge = (result["models"][m]["valence_auc"]["value"] for m in ("crnn", "ridge"))
    assert diff["difference"] == pytest.approx(crnn - ridge, abs=1e-4)
    assert diff["interval"][0] > 0 and diff["reference_higher"] > 0.95
    again = compare_on_dataset(y, {"crnn": good, "ridge": poor}, True, n_resamples=300)
    assert again == result  # seeded


def test_the_table_says_which_targets_are_met_and_by_how_much_one_is_missed(quadrants):
    y, good, poor = quadrants
    result = compare_on_dataset(y, {"crnn": good, "ridge": poor}, True, n_resamples=100)
    value = result["models"]["crnn"]["valence_auc"]["value"]
    targets = (Target("4q", "valence_auc", 0.5), Target("4q", "arousal_auc", 0.999))
    table = targets_markdown({"4q": result}, targets)
    assert "| 4q (80) | valence_auc |" in table and "≥ 0.5: met" in table
    missed = 0.999 - result["models"]["crnn"]["arousal_auc"]["value"]
    assert f"missed by {missed:.3f}" in table
    assert f"{value:.3f}" in table
    assert table.count("\n") == 4  # header, rule, three metrics
