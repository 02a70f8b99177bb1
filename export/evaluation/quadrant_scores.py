"""Scores for quadrant-labelled songs (4Q) that a decision can rest on.

A whole-set valence AUC hides the product's worst error: sad music read as calm. So every
report carries, beside the two whole-set AUCs, the per-quadrant recall (both signs right), the
confusion matrix, and valence ranked *within* each arousal half: happy vs angry (Q1 vs Q2) and
sad vs calm (Q4 vs Q3). Their mean is the quadrant-balanced valence score: it cannot be won by
separating loud from soft songs, which a whole-set AUC rewards on an arousal-correlated set.

Intervals resample *artists*, not songs: clips of one artist are alike, and resampling them one
by one makes an interval too narrow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
from sentio.export.model.metrics import auc

#: Quadrant numbers in Russell's order, with the product's mood names.
QUADRANT_NAMES = {1: "happy", 2: "angry", 3: "sad", 4: "calm"}


def quadrant_of(valence: np.ndarray, arousal: np.ndarray) -> np.ndarray:
    """Russell quadrant 1..4 of each point (0 counts as positive, as the runtime's mood does)."""
    v_pos, a_pos = np.asarray(valence) >= 0, np.asarray(arousal) >= 0
    return np.where(a_pos, np.where(v_pos, 1, 2), np.where(v_pos, 4, 3))


@dataclass(frozen=True)
class QuadrantScores:
    """One model's scores on quadrant-labelled songs.

    Attributes:
        n: songs scored.
        valence_auc, arousal_auc: whole-set ranking of each dimension by its sign.
        happy_vs_angry, sad_vs_calm: valence AUC within high / low arousal (Q1 vs Q2, Q4 vs Q3).
        balanced_valence: the mean of the two within-arousal valence AUCs.
        accuracy: both signs right.
        balanced_accuracy: the mean of the four recalls.
        recall_happy .. recall_calm: per true quadrant, the share with both signs right.
        sad_valence_negative: share of sad songs given negative valence.
        confusion: 4x4 counts, rows the true quadrant 1..4, columns the predicted one.
    """

    n: int
    valence_auc: float
    arousal_auc: float
    happy_vs_angry: float
    sad_vs_calm: float
    balanced_valence: float
    accuracy: float
    balanced_accuracy: float
    recall_happy: float
    recall_angry: float
    recall_sad: float
    recall_calm: float
    sad_valence_negative: float
    confusion: tuple[tuple[int, ...], ...]

    @classmethod
    def metric_names(cls) -> list[str]:
        """The scalar metrics, in table order (everything but ``n`` and ``confusion``)."""
        return [f.name for f in fields(cls) if f.name not in ("n", "confusion")]

    def value(self, name: str) -> float:
        return float(getattr(self, name))


def quadrant_scores(truth: np.ndarray, predicted: np.ndarray) -> QuadrantScores:
    """Scores of ``predicted`` (n, 2) valence/arousal against ``truth`` quadrants (n,) 1..4."""
    truth = np.asarray(truth, dtype=int)
    predicted = np.asarray(predicted, dtype=np.float64)
    v, a = predicted[:, 0], predicted[:, 1]
    true_v = np.isin(truth, (1, 4)).astype(float) * 2 - 1
    true_a = np.isin(truth, (1, 2)).astype(float) * 2 - 1
    guess = quadrant_of(v, a)
    confusion = np.zeros((4, 4), dtype=int)
    np.add.at(confusion, (truth - 1, guess - 1), 1)
    recalls = [_share(guess[truth == q] == q) for q in (1, 2, 3, 4)]
    happy_angry = _pair_auc(truth, v, positive=1, negative=2)
    sad_calm = _pair_auc(truth, v, positive=4, negative=3)
    return QuadrantScores(
        n=int(truth.size),
        valence_auc=auc(true_v, v),
        arousal_auc=auc(true_a, a),
        happy_vs_angry=happy_angry,
        sad_vs_calm=sad_calm,
        balanced_valence=float(np.nanmean([happy_angry, sad_calm])),
        accuracy=_share(guess == truth),
        balanced_accuracy=float(np.nanmean(recalls)),
        recall_happy=recalls[0],
        recall_angry=recalls[1],
        recall_sad=recalls[2],
        recall_calm=recalls[3],
        sad_valence_negative=_share(v[truth == 3] < 0),
        confusion=tuple(tuple(int(c) for c in row) for row in confusion),
    )


def _pair_auc(truth: np.ndarray, scores: np.ndarray, positive: int, negative: int) -> float:
    keep = np.isin(truth, (positive, negative))
    return auc(np.where(truth[keep] == positive, 1.0, -1.0), scores[keep])


def _share(hits: np.ndarray) -> float:
    return float(np.mean(hits)) if hits.size else float("nan")


def artist_resamples(groups: Sequence[str], n_resamples: int, seed: int) -> list[np.ndarray]:
    """Song indices of ``n_resamples`` bootstrap draws over *groups* (artists): each draw picks
    as many groups as there are, with replacement, and takes all of each group's songs."""
    names = sorted(set(groups))
    index = {name: np.flatnonzero(np.asarray(groups) == name) for name in names}
    rng = np.random.default_rng(seed)
    return [
        np.concatenate([index[names[i]] for i in rng.integers(0, len(names), len(names))])
        for _ in range(n_resamples)
    ]


def scores_with_intervals(
    truth: np.ndarray,
    predicted: np.ndarray,
    groups: Sequence[str],
    metrics: Sequence[str] = ("valence_auc", "arousal_auc", "sad_vs_calm", "recall_sad"),
    n_resamples: int = 1000,
    seed: int = 0,
) -> tuple[QuadrantScores, dict[str, tuple[float, float]]]:
    """:func:`quadrant_scores` and an artist-bootstrap interval for each of ``metrics``."""
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    draws = [
        quadrant_scores(truth[idx], predicted[idx])
        for idx in artist_resamples(groups, n_resamples, seed)
    ]
    tail = 2.5
    intervals = {}
    for name in metrics:
        low, high = np.nanpercentile([d.value(name) for d in draws], [tail, 100 - tail])
        intervals[name] = (float(low), float(high))
    return quadrant_scores(truth, predicted), intervals
