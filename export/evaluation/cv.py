"""Cross-validation a recipe decision can rest on: artist-grouped, quadrant-stratified folds.

One untouched test split per dataset is set aside first (balanced by quadrant, whole artists);
the rest is dealt into ``folds`` parts the same way (:func:`sentio.export.data.splits.fold_songs`).
Each fold is scored by a model trained on the other folds, for every seed. Reports carry the
mean and the spread over folds and seeds, out of fold and in sample (a model that cannot fit
sad music where it was trained has a label or capacity problem, not a generalization one).

The learner is anything that fits on training songs and predicts songs (:class:`Learner`): a
ridge probe on song statistics screens labels and frames in seconds, the CRNN confirms.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from sentio.export.data.datasets import Dataset, Song
from sentio.export.data.device_copies import fit_length
from sentio.export.data.labels import center_valued
from sentio.export.data.splits import by_dataset, development_and_test, fold_songs
from sentio.export.data.windows import SongWindows, song_windows
from sentio.export.evaluation.quadrant_scores import (
    QuadrantScores,
    quadrant_of,
    quadrant_scores,
    scores_with_intervals,
)
from sentio.export.model.metrics import ccc
from sentio.runtime.features import FeatureStats
from sentio.runtime.windows import fill_window

log = logging.getLogger("sentio.cv")

EMOTIFY = "emotify"


@dataclass(frozen=True)
class CVConfig:
    """How a recipe is cross-validated.

    Attributes:
        folds: parts the development songs are dealt into.
        seeds: training seeds; every fold is trained once per seed.
        fold_seed: seed of the holdout and of the folds (the same for every recipe compared).
        holdout: share of each dataset kept out of every fold: the untouched test split.
        val_share: share of the training folds held out for early stopping / model choice.
        window, stride: frames per window and between training windows.
    """

    folds: int = 5
    seeds: tuple[int, ...] = (0,)
    fold_seed: int = 0
    holdout: float = 0.15
    val_share: float = 0.15
    window: int = 600
    stride: int = 150


@dataclass(frozen=True)
class LabelConfig:
    """How training labels are read (never the evaluation's labels).

    Attributes:
        valence_weight: weight of Emotify's valence in the loss (its arousal keeps 1): 0 trains
            valence on 4Q's signs alone.
        center: per-dataset offset used only in training: each valued dataset's valence and
            arousal have their training mean removed, so Emotify's +0.28 valence (GEMS feelings
            a piece *induced*) does not become every song's offset.
    """

    valence_weight: float = 1.0
    center: bool = False


class Learner(Protocol):
    """Fits on training songs, each dimension of each song weighted by ``weights`` (n, 2)
    (validation songs for early stopping or a penalty), and returns a predictor of (n, 2)
    valence/arousal for a list of songs. ``fold`` names the fold left out (a learner may save
    its model under it, or load that fold's teachers)."""

    def __call__(
        self,
        train: list[SongWindows],
        weights: np.ndarray,
        val: list[SongWindows],
        seed: int,
        fold: int = 0,
    ) -> Callable[[list[SongWindows]], np.ndarray]: ...


#: How close a song's 3 s estimate must come to its whole-window value (both dimensions).
SHORT_TOLERANCE = 0.1
#: The short estimate's length: 3 s of 20 ms frames.
SHORT_FRAMES = 150


@dataclass
class LiveScores:
    """What a listener sees of the songs left out, beyond their clean whole-window value.

    Attributes:
        shift_valence, shift_arousal: mean |device - clean| of a song's value over its
            device copies (same chain draws as training's, other songs).
        r_valence, r_arousal: correlation of device and clean values over songs x copies.
        accuracy_drop: 4Q quadrant accuracy clean minus through the copies.
        short_within: share of songs whose 3 s estimate (the first 3 s repeated to a window,
            as the runtime does) is within ``SHORT_TOLERANCE`` of the song's whole-window value
            on both dimensions.
        short_gap: the median over songs of the larger of the two gaps.
    """

    shift_valence: float = float("nan")
    shift_arousal: float = float("nan")
    r_valence: float = float("nan")
    r_arousal: float = float("nan")
    accuracy_drop: float = float("nan")
    short_within: float = float("nan")
    short_gap: float = float("nan")


@dataclass
class FoldResult:
    """One fold and seed: the out-of-fold and in-sample scores per dataset."""

    fold: int
    seed: int
    seconds: float
    fourq: QuadrantScores | None = None
    fourq_train: QuadrantScores | None = None
    values_ccc: tuple[float, float] | None = None  # songs with values (Emotify)
    values_train_ccc: tuple[float, float] | None = None
    live: LiveScores | None = None  # out of fold only


@dataclass
class CVResult:
    """Every fold's result, and the pooled out-of-fold predictions per seed."""

    config: CVConfig
    folds: list[FoldResult]
    pooled: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)  # seed -> id -> (2,)
    truth: dict[str, Song] = field(default_factory=dict)

    def values(self, metric: str, in_sample: bool = False) -> np.ndarray:
        """One value per fold and seed of a 4Q metric (``QuadrantScores`` field) or of
        ``ccc_valence`` / ``ccc_arousal`` (the songs labelled with values: Emotify)."""
        out = []
        for f in self.folds:
            if metric in LIVE_METRICS:
                live = None if in_sample else f.live
                out.append(np.nan if live is None else getattr(live, metric))
            elif metric.startswith("ccc_"):
                pair = f.values_train_ccc if in_sample else f.values_ccc
                out.append(np.nan if pair is None else pair[metric == "ccc_arousal"])
            else:
                scores = f.fourq_train if in_sample else f.fourq
                out.append(np.nan if scores is None else scores.value(metric))
        return np.asarray(out, dtype=np.float64)

    def pooled_fourq(self, seed: int, n_resamples: int = 1000) -> tuple[QuadrantScores, dict]:
        """4Q scores of one seed's out-of-fold predictions pooled over folds, with artist
        bootstrap intervals."""
        ids = [i for i in self.pooled[seed] if self.truth[i].sign_only]
        truth = quadrant_of(
            np.array([self.truth[i].valence for i in ids]),
            np.array([self.truth[i].arousal for i in ids]),
        )
        predicted = np.stack([self.pooled[seed][i] for i in ids])
        groups = [self.truth[i].artist or i for i in ids]
        return scores_with_intervals(truth, predicted, groups, n_resamples=n_resamples)


def cv_folds(songs: Sequence[Song], folds: int, seed: int) -> list[list[Song]]:
    """Each dataset dealt into ``folds`` parts on its own; fold i is the union of part i."""
    parts: list[list[Song]] = [[] for _ in range(folds)]
    for members in by_dataset(songs).values():
        artists = {s.song_id: s.artist for s in members if s.artist}
        for i, part in enumerate(fold_songs(members, folds, seed, artists)):
            parts[i] += part
    return parts


def training_labels(songs: list[Song], labels: LabelConfig) -> list[Song]:
    """The training songs with ``labels`` applied (valued datasets only; 4Q's signs stay)."""
    return center_valued(songs) if labels.center else list(songs)


def development_songs(
    dataset: Dataset, features: dict[str, np.ndarray], config: CVConfig
) -> list[Song]:
    """The songs CV deals into folds: those with at least a window of features, less each
    dataset's untouched holdout."""
    songs = [s for s in dataset.songs if s.song_id in features]
    songs = [s for s in songs if features[s.song_id].shape[0] >= config.window]
    return development_and_test(songs, config.holdout, config.fold_seed)[0]


def cross_validate(
    dataset: Dataset,
    features: dict[str, np.ndarray],
    learner: Learner,
    config: CVConfig = CVConfig(),
    labels: LabelConfig = LabelConfig(),
    copies: dict[str, list[np.ndarray]] | None = None,
    train_on_copies: bool = False,
) -> CVResult:
    """Train ``learner`` on all folds but one, for every fold and seed; score the fold left out
    and the training songs. The holdout split is never seen.

    ``copies``: raw features of device renderings per song id. The songs left out are scored
    through them (:class:`LiveScores`); with ``train_on_copies`` the training songs carry
    theirs (for consistency views)."""
    copies = copies or {}
    development = development_songs(dataset, features, config)
    parts = cv_folds(development, config.folds, config.fold_seed)
    result = CVResult(config, [], truth={s.song_id: s for s in development})
    for seed in config.seeds:
        pooled = result.pooled.setdefault(seed, {})
        for k, held in enumerate(parts):
            start = time.perf_counter()
            rest = [s for i, p in enumerate(parts) if i != k for s in p]
            fit_songs, val_songs = development_and_test(
                rest, config.val_share, config.fold_seed + k
            )
            fit_songs = training_labels(fit_songs, labels)
            stats = FeatureStats.fit([features[s.song_id] for s in fit_songs])

            def windows(members, stats=stats, with_copies=False):
                return [
                    _song_windows(s, features, copies if with_copies else {}, stats, config)
                    for s in members
                ]

            train_w = windows(fit_songs, with_copies=train_on_copies)
            weights = np.stack([_label_weights(s, labels) for s in fit_songs])
            predict = learner(train_w, weights, windows(val_songs), seed, fold=k)
            held_w = windows(held, with_copies=True)
            p_held, p_train = predict(held_w), predict(train_w)
            for s, p in zip(held, p_held, strict=True):
                pooled[s.song_id] = p
            fold = FoldResult(k, seed, time.perf_counter() - start)
            _score_into(fold, held, p_held, fit_songs, p_train, result.truth)
            fold.live = live_scores(
                predict, held_w, p_held, fold.fourq, result.truth, config.window
            )
            result.folds.append(fold)
            log.info("fold %d seed %d: %s (%.0f s)", k, seed, _brief(fold), fold.seconds)
    return result


def _song_windows(
    song: Song,
    features: dict[str, np.ndarray],
    copies: dict[str, list[np.ndarray]],
    stats: FeatureStats,
    config: CVConfig,
) -> SongWindows:
    frames = features[song.song_id]
    windows = song_windows(song, frames, stats, config.window, config.stride)
    windows.copies = [stats.apply(fit_length(c, len(frames))) for c in copies.get(song.song_id, [])]
    return windows


def live_scores(
    predict: Callable[[list[SongWindows]], np.ndarray],
    held: list[SongWindows],
    p_held: np.ndarray,
    clean_fourq: QuadrantScores | None,
    truth: dict[str, Song],
    window: int,
) -> LiveScores:
    """:class:`LiveScores` of the songs left out: through their device copies (when they have
    any) and from their first 3 s."""
    live = LiveScores()
    start = np.zeros(1, dtype=np.int64)
    short = [
        SongWindows(w.song, fill_window(w.frames[:SHORT_FRAMES].copy(), window), start)
        for w in held
    ]
    gap = np.abs(predict(short) - p_held).max(axis=1)
    live.short_within = float(np.mean(gap <= SHORT_TOLERANCE))
    live.short_gap = float(np.median(gap))
    n_copies = min((len(w.copies) for w in held), default=0)
    if n_copies == 0:
        return live
    device = [
        [dataclasses.replace(w, frames=w.copies[c], copies=[]) for w in held]
        for c in range(n_copies)
    ]
    p_device = np.stack([predict(songs) for songs in device])  # (copies, songs, 2)
    shift = np.abs(p_device - p_held[None]).mean(axis=(0, 1))
    live.shift_valence, live.shift_arousal = (float(x) for x in shift)
    flat_clean = np.tile(p_held, (n_copies, 1))
    flat_device = p_device.reshape(-1, 2)
    live.r_valence, live.r_arousal = (
        float(np.corrcoef(flat_clean[:, d], flat_device[:, d])[0, 1]) for d in (0, 1)
    )
    if clean_fourq is not None:
        songs = [w.song for w in held]
        accuracies = [_fourq(songs, p, truth).accuracy for p in p_device]
        live.accuracy_drop = float(clean_fourq.accuracy - np.mean(accuracies))
    return live


def _label_weights(song: Song, labels: LabelConfig) -> np.ndarray:
    if song.sign_only or song.dataset != EMOTIFY:
        return np.ones(2)
    return np.array([labels.valence_weight, 1.0])


def _score_into(
    fold: FoldResult,
    held: list[Song],
    p_held: np.ndarray,
    train: list[Song],
    p_train: np.ndarray,
    truth: dict[str, Song],
) -> None:
    fold.fourq = _fourq(held, p_held, truth)
    fold.fourq_train = _fourq(train, p_train, truth)
    fold.values_ccc = _valued(held, p_held, truth)
    fold.values_train_ccc = _valued(train, p_train, truth)


def _fourq(songs: list[Song], p: np.ndarray, truth: dict[str, Song]) -> QuadrantScores | None:
    keep = [i for i, s in enumerate(songs) if s.sign_only]
    if not keep:
        return None
    original = [truth[songs[i].song_id] for i in keep]
    quadrants = quadrant_of(
        np.array([s.valence for s in original]), np.array([s.arousal for s in original])
    )
    return quadrant_scores(quadrants, p[keep])


def _valued(songs: list[Song], p: np.ndarray, truth: dict[str, Song]) -> tuple | None:
    keep = [i for i, s in enumerate(songs) if not s.sign_only]
    if len(keep) < 3:
        return None
    y = np.array([[truth[songs[i].song_id].valence, truth[songs[i].song_id].arousal] for i in keep])
    return (ccc(y[:, 0], p[keep, 0]), ccc(y[:, 1], p[keep, 1]))


def _brief(fold: FoldResult) -> str:
    parts = []
    if fold.fourq is not None:
        q = fold.fourq
        parts.append(
            f"4Q V {q.valence_auc:.3f} A {q.arousal_auc:.3f} sad/calm {q.sad_vs_calm:.3f} "
            f"Q3 {q.recall_sad:.2f}"
        )
    if fold.values_ccc is not None:
        parts.append("CCC V {:.3f} A {:.3f}".format(*fold.values_ccc))
    if fold.live is not None:
        live = fold.live
        parts.append(
            f"device shift V {live.shift_valence:.3f} A {live.shift_arousal:.3f}; "
            f"3 s within 0.1 {live.short_within:.2f}"
        )
    return "; ".join(parts)


#: :class:`LiveScores` fields, read by ``CVResult.values``.
LIVE_METRICS = tuple(f.name for f in dataclasses.fields(LiveScores))

#: The columns of a CV table: (label, metric, out of fold).
TABLE_COLUMNS = (
    ("4Q V AUC", "valence_auc"),
    ("4Q A AUC", "arousal_auc"),
    ("happy vs angry", "happy_vs_angry"),
    ("sad vs calm", "sad_vs_calm"),
    ("quadrant acc", "accuracy"),
    ("Q1", "recall_happy"),
    ("Q2", "recall_angry"),
    ("Q3", "recall_sad"),
    ("Q4", "recall_calm"),
    ("CCC V (Emotify)", "ccc_valence"),
    ("CCC A (Emotify)", "ccc_arousal"),
)

#: The columns of a CV run's live table (out of fold only).
LIVE_COLUMNS = (
    ("device shift V", "shift_valence"),
    ("device shift A", "shift_arousal"),
    ("r(clean, device) V", "r_valence"),
    ("r(clean, device) A", "r_arousal"),
    ("quadrant acc drop", "accuracy_drop"),
    ("3 s within 0.1", "short_within"),
    ("3 s median gap", "short_gap"),
)


def cv_table(results: dict[str, CVResult]) -> str:
    """A markdown table: one row per recipe out of fold (mean ± sd over folds x seeds) and one
    in sample (the training songs of the same folds)."""
    head = "| recipe | folds x seeds | " + " | ".join(label for label, _ in TABLE_COLUMNS) + " |"
    rule = "|" + "---|" * (len(TABLE_COLUMNS) + 2)
    rows = [head, rule]
    for name, result in results.items():
        n = f"{result.config.folds} x {len(result.config.seeds)}"
        for in_sample in (False, True):
            cells = []
            for _, metric in TABLE_COLUMNS:
                values = result.values(metric, in_sample)
                cells.append(_mean_sd(values))
            where = "in sample" if in_sample else "out of fold"
            rows.append(f"| {name}, {where} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def live_table(results: dict[str, CVResult]) -> str:
    """A markdown table of the live scores out of fold (mean ± sd over folds x seeds)."""
    head = "| recipe | " + " | ".join(label for label, _ in LIVE_COLUMNS) + " |"
    rows = [head, "|" + "---|" * (len(LIVE_COLUMNS) + 1)]
    for name, result in results.items():
        cells = [_mean_sd(result.values(metric)) for _, metric in LIVE_COLUMNS]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _mean_sd(values: np.ndarray) -> str:
    values = values[np.isfinite(values)]
    if not values.size:
        return "—"
    return f"{values.mean():.3f} ± {values.std():.3f}" if values.size > 1 else f"{values[0]:.3f}"


def confusion_markdown(scores: QuadrantScores) -> str:
    """The 4x4 confusion matrix, true quadrant by row."""
    names = ["Q1 happy", "Q2 angry", "Q3 sad", "Q4 calm"]
    rows = ["| true \\ predicted | " + " | ".join(names) + " |", "|---|---|---|---|---|"]
    for name, row in zip(names, scores.confusion, strict=True):
        rows.append(f"| {name} | " + " | ".join(str(c) for c in row) + " |")
    return "\n".join(rows)


def result_dict(result: CVResult) -> dict:
    """``result`` as JSON-ready data: the config, every fold's scores, the pooled out-of-fold
    predictions per seed (song id -> [valence, arousal])."""
    return {
        "config": dataclasses.asdict(result.config),
        "folds": [dataclasses.asdict(f) for f in result.folds],
        "pooled": {
            str(seed): {song: [round(float(x), 5) for x in p] for song, p in by_song.items()}
            for seed, by_song in result.pooled.items()
        },
    }


def cv_report(name: str, result: CVResult, seconds: float, n_resamples: int = 1000) -> str:
    """The markdown a CV run writes: the table, each seed's pooled 4Q scores with artist
    intervals and its confusion matrix, and the time it took."""
    parts = [f"# Cross-validation: {name}", "", cv_table({name: result}), ""]
    if any(f.live is not None for f in result.folds):
        parts += [
            "Out of fold, through the device copies of the songs left out and from their "
            f"first 3 s ({SHORT_FRAMES} frames repeated to a window):",
            "",
            live_table({name: result}),
            "",
        ]
    for seed in sorted(result.pooled):
        if not any(result.truth[i].sign_only for i in result.pooled[seed]):
            continue
        pooled, intervals = result.pooled_fourq(seed, n_resamples)
        shown = ", ".join(
            f"{m} {pooled.value(m):.3f} [{lo:.2f}, {hi:.2f}]" for m, (lo, hi) in intervals.items()
        )
        parts += [
            f"Seed {seed}, out-of-fold predictions of all folds pooled ({pooled.n} 4Q songs; "
            f"95% intervals resampling artists): {shown}.",
            "",
            confusion_markdown(pooled),
            "",
        ]
    parts.append(
        f"{len(result.folds)} fold trainings in {seconds / 60:.1f} min "
        f"({seconds / max(len(result.folds), 1) / 60:.1f} min each)."
    )
    return "\n".join(parts) + "\n"
