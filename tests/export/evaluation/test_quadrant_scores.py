"""Quadrant scores: per-quadrant recall, within-arousal valence AUCs, artist bootstrap."""

import numpy as np
import pytest
from sentio.export.evaluation.quadrant_scores import (
    QuadrantScores,
    artist_resamples,
    quadrant_of,
    quadrant_scores,
    scores_with_intervals,
)


def test_quadrant_of_follows_russell_and_counts_zero_as_positive():
    v = np.array([0.5, -0.5, -0.5, 0.5, 0.0])
    a = np.array([0.5, 0.5, -0.5, -0.5, 0.0])
    assert quadrant_of(v, a).tolist() == [1, 2, 3, 4, 1]


def test_sad_read_as_calm_shows_in_sad_recall_and_sad_vs_calm_not_in_whole_set_auc():
    rng = np.random.default_rng(0)
    truth = np.repeat([1, 2, 3, 4], 50)
    arousal = np.where(np.isin(truth, (1, 2)), 0.6, -0.6) + rng.normal(0, 0.1, 200)
    valence = np.select(
        [truth == 1, truth == 2, truth == 3, truth == 4], [0.6, -0.6, 0.3, 0.5]
    ) + rng.normal(0, 0.1, 200)  # sad songs get positive valence, a little below calm
    scores = quadrant_scores(truth, np.c_[valence, arousal])
    assert scores.recall_sad < 0.05 and scores.sad_valence_negative < 0.05
    assert scores.recall_happy > 0.95 and scores.recall_angry > 0.95
    assert scores.happy_vs_angry > 0.99
    assert 0.75 < scores.sad_vs_calm < 0.99  # ranked, but on the wrong side of zero
    assert scores.balanced_accuracy == pytest.approx(
        np.mean([scores.recall_happy, scores.recall_angry, scores.recall_sad, scores.recall_calm])
    )
    confusion = np.array(scores.confusion)
    assert confusion.sum() == 200 and confusion[2, 3] + confusion[2, 0] >= 48  # sad -> calm/happy
    assert scores.accuracy == pytest.approx(np.trace(confusion) / 200)


def test_metric_names_are_the_scalar_fields():
    names = QuadrantScores.metric_names()
    assert "sad_vs_calm" in names and "confusion" not in names and "n" not in names


def test_artist_resamples_take_whole_artists():
    groups = ["a"] * 5 + ["b"] * 1 + ["c"] * 3
    for draw in artist_resamples(groups, 50, seed=1):
        picked = [groups[i] for i in draw]
        for name in set(picked):
            assert picked.count(name) % groups.count(name) == 0  # all clips of an artist, k times


def test_artist_intervals_are_wider_than_song_intervals_for_clustered_artists():
    rng = np.random.default_rng(3)
    truth, predicted, groups = [], [], []
    for artist in range(30):  # each artist's clips share one offset: clustered errors
        q = artist % 4 + 1
        offset = rng.normal(0, 0.5)
        for _ in range(8):
            truth.append(q)
            sign_v = 1 if q in (1, 4) else -1
            predicted.append(
                [0.3 * sign_v + offset + rng.normal(0, 0.05), 0.5 * (1 if q < 3 else -1)]
            )
            groups.append(f"artist{artist}")
    truth, predicted = np.array(truth), np.array(predicted)
    _, by_artist = scores_with_intervals(truth, predicted, groups, ("valence_auc",), 300)
    _, by_song = scores_with_intervals(
        truth, predicted, [str(i) for i in range(len(truth))], ("valence_auc",), 300
    )
    width = lambda iv: iv["valence_auc"][1] - iv["valence_auc"][0]  # noqa: E731
    assert width(by_artist) > 1.5 * width(by_song)
