"""Evaluation per window and per song (a song's prediction is the mean of its windows)."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sentio.export.data.windows import PreparedData, SongWindows
from sentio.export.model.metrics import DIMENSIONS, auc, regression_report
from sentio.runtime.codec import decode
from sentio.runtime.manifest import Metrics, Scores, SplitScores

Predictor = Callable[[np.ndarray], np.ndarray]  # (n, window, features) -> (n, 2)


def predict_windows(
    predict: Predictor, songs: list[SongWindows], window: int, batch_size: int = 64
) -> list[np.ndarray]:
    """Predictions of every window of every song, one (n_windows, 2) array per song."""
    out = []
    for song in songs:
        windows = (
            np.stack([song.frames[s : s + window] for s in song.starts])
            if song.starts.size
            else None
        )
        if windows is None:
            out.append(np.zeros((0, 2), dtype=np.float32))
            continue
        parts = [predict(windows[i : i + batch_size]) for i in range(0, len(windows), batch_size)]
        out.append(np.concatenate(parts).astype(np.float32))
    return out


@dataclass(frozen=True)
class SongPrediction:
    """One song's label and its prediction (the mean of its windows)."""

    song_id: str
    group: str
    windows: int
    label: list[float]
    prediction: list[float]


@dataclass(frozen=True)
class SplitEvaluation(SplitScores):
    """One split's scores, plus per song group (e.g. Emotify genre) and every song's
    prediction (``metrics.json``; the manifest records the :class:`SplitScores`)."""

    groups: dict[str, Scores] = field(default_factory=dict)
    per_song: tuple[SongPrediction, ...] = ()

    def scores(self) -> SplitScores:
        return SplitScores(self.windows, self.songs, self.datasets)


@dataclass(frozen=True)
class Evaluation(Metrics):
    """A model's :class:`SplitEvaluation` per split."""

    train: SplitEvaluation | None = None
    val: SplitEvaluation | None = None
    test: SplitEvaluation | None = None
    all: SplitEvaluation | None = None

    def splits(self) -> dict[str, SplitEvaluation]:  # type: ignore[override]
        return super().splits()  # type: ignore[return-value]

    def scores(self) -> Metrics:
        """What the manifest records: each split's windows, songs and datasets."""
        return Metrics(**{name: split.scores() for name, split in self.splits().items()})


def sign_report(y: np.ndarray, p: np.ndarray) -> Scores:
    """Songs whose labels are only signs (quadrants): how well predictions rank and place them.
    AUC of valence and of arousal (the label's sign vs the prediction), quadrant accuracy."""
    y, p = np.asarray(y, dtype=np.float64), np.asarray(p, dtype=np.float64)
    return Scores(
        n=int(y.shape[0]),
        valence_auc=auc(y[:, 0], p[:, 0]),
        arousal_auc=auc(y[:, 1], p[:, 1]),
        quadrant_accuracy=float(np.mean(np.all(np.sign(p) == np.sign(y), axis=1))),
    )


def scores(y: np.ndarray, p: np.ndarray, threshold: float) -> Scores:
    """:func:`~sentio.export.model.metrics.regression_report`, typed."""
    return decode(Scores, regression_report(y, p, threshold))


def evaluate_predictions(
    songs: list[SongWindows], predictions: list[np.ndarray], threshold: float = 0.5
) -> SplitEvaluation:
    """Scores per window, per song, per song group (e.g. Emotify genre) and per dataset.

    ``windows`` and ``songs`` score the songs with values (all songs when none has values);
    songs with only signs (4Q) are scored in ``datasets`` by AUC and quadrant accuracy."""
    kept = [(s, p) for s, p in zip(songs, predictions, strict=True) if p.shape[0]]
    if not kept:
        return SplitEvaluation()
    valued = [(s, p) for s, p in kept if not s.song.sign_only]
    per_song = tuple(
        SongPrediction(
            s.song.song_id,
            s.song.group,
            int(p.shape[0]),
            s.label.tolist(),
            p.mean(axis=0).tolist(),
        )
        for s, p in kept
    )
    return dataclasses.replace(
        _value_reports(valued or kept, threshold),
        datasets=_dataset_reports(kept, threshold),
        per_song=per_song,
    )


def _dataset_reports(kept: list, threshold: float) -> dict[str, Scores]:
    by_dataset: dict[str, list] = defaultdict(list)
    for s, p in kept:
        by_dataset[s.song.dataset].append((s, p))
    out = {}
    for name, members in sorted(by_dataset.items()):
        y = np.stack([s.label for s, _ in members])
        p = np.stack([q.mean(axis=0) for _, q in members])
        if all(s.song.sign_only for s, _ in members):
            out[name or "all"] = sign_report(y, p)
        else:
            out[name or "all"] = scores(y, p, threshold)
    return out


def _value_reports(kept: list, threshold: float) -> SplitEvaluation:
    window_y = np.concatenate([np.repeat(s.label[None], p.shape[0], 0) for s, p in kept])
    window_p = np.concatenate([p for _, p in kept])
    song_y = np.stack([s.label for s, _ in kept])
    song_p = np.stack([p.mean(axis=0) for _, p in kept])
    groups: dict[str, list[int]] = defaultdict(list)
    for i, (s, _) in enumerate(kept):
        if s.song.group and not s.song.sign_only:  # 4Q's groups are artists: hundreds
            groups[s.song.group].append(i)
    return SplitEvaluation(
        windows=scores(window_y, window_p, threshold),
        songs=scores(song_y, song_p, threshold),
        groups={
            g: scores(song_y[idx], song_p[idx], threshold) for g, idx in sorted(groups.items())
        },
    )


def metrics_table(rows: dict[str, Scores], title: str = "") -> str:
    """A fixed-width table of :class:`Scores`, one row per name."""
    width = max([12, *(len(name) + 1 for name in rows)])
    head = f"{'':<{width}}{'n':>6}"
    for dim in DIMENSIONS:
        head += f" | {dim[0].upper()}: RMSE  MAE    R2     CCC    acc"
    head += " | emo.acc"
    lines = [title, head, "-" * len(head)] if title else [head, "-" * len(head)]
    for name, rep in rows.items():
        if not rep.n or rep.signs_only:
            lines.append(f"{name:<{width}}{rep.n:>6} | (no windows)")
            continue
        row = f"{name:<{width}}{rep.n:>6}"
        for dim in DIMENSIONS:
            d = rep.dimension(dim)
            row += f" | {d.rmse:8.3f} {d.mae:6.3f} {d.r2:6.3f} {d.ccc:6.3f}"
            row += f" {d.accuracy:5.2f}"
        row += f" | {rep.emotion_accuracy:7.2f}"
        lines.append(row)
    return "\n".join(lines)


def level(results: Metrics, name: str) -> dict[str, Scores]:
    """Each split's ``windows`` or ``songs`` scores, for :func:`metrics_table`."""
    return {split: getattr(scored, name) for split, scored in results.splits().items()}


def datasets_table(results: Metrics) -> str:
    """Per split and dataset: CCC for datasets with values, AUCs for sign-only ones."""
    lines = ["per dataset (songs): CCC V/A where labels are values; AUC V/A + quadrant acc"]
    for split, result in results.splits().items():
        for name, rep in result.datasets.items():
            if rep.signs_only:
                text = (
                    f"AUC V {rep.valence_auc:.3f}  AUC A {rep.arousal_auc:.3f}  "
                    f"quadrant acc {rep.quadrant_accuracy:.3f}"
                )
            else:
                text = (
                    f"CCC V {rep.dimension('valence').ccc:.3f}  "
                    f"CCC A {rep.dimension('arousal').ccc:.3f}"
                )
            lines.append(f"  {split:<6} {name:<12} n={rep.n:<4} {text}")
    return "\n".join(lines)


def keras_predictor(model):
    """A batch predictor over a Keras model: one traced graph (``tf.function``), so the LSTMs
    are not stepped in eager Python on every call (30x faster on the tests' small CRNN; the
    same outputs to 1e-7), without ``predict``'s per-call overhead."""
    import tensorflow as tf

    call = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    return lambda x: call(x).numpy()


def evaluate_model(model, prepared: PreparedData, threshold: float) -> Evaluation:
    predict = keras_predictor(model)
    return Evaluation(
        **{
            name: evaluate_predictions(
                songs, predict_windows(predict, songs, prepared.window), threshold
            )
            for name, songs in prepared.splits.items()
        }
    )
