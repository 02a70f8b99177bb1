"""Evaluation per window and per song (a song's prediction is the mean of its windows)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

import numpy as np
from sentio.export.data.windows import PreparedData, SongWindows
from sentio.export.evaluation.metrics import DIMENSIONS, regression_report

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


def evaluate_predictions(
    songs: list[SongWindows], predictions: list[np.ndarray], threshold: float = 0.5
) -> dict:
    """Metrics per window, per song, and per song group (e.g. Emotify genre)."""
    kept = [(s, p) for s, p in zip(songs, predictions, strict=True) if p.shape[0]]
    if not kept:
        return {"windows": {"n": 0}, "songs": {"n": 0}, "groups": {}, "per_song": []}
    window_y = np.concatenate([np.repeat(s.label[None], p.shape[0], 0) for s, p in kept])
    window_p = np.concatenate([p for _, p in kept])
    song_y = np.stack([s.label for s, _ in kept])
    song_p = np.stack([p.mean(axis=0) for _, p in kept])
    groups: dict[str, list[int]] = defaultdict(list)
    for i, (s, _) in enumerate(kept):
        if s.song.group:
            groups[s.song.group].append(i)
    return {
        "windows": regression_report(window_y, window_p, threshold),
        "songs": regression_report(song_y, song_p, threshold),
        "groups": {
            g: regression_report(song_y[idx], song_p[idx], threshold)
            for g, idx in sorted(groups.items())
        },
        "per_song": [
            {
                "song_id": s.song.song_id,
                "group": s.song.group,
                "windows": int(p.shape[0]),
                "label": s.label.tolist(),
                "prediction": p.mean(axis=0).tolist(),
            }
            for s, p in kept
        ],
    }


def metrics_table(results: dict[str, dict], level: str = "songs", title: str = "") -> str:
    """A fixed-width table of ``results[name][level]`` reports, one row per name."""
    width = max([12, *(len(name) + 1 for name in results)])
    head = f"{'':<{width}}{'n':>6}"
    for dim in DIMENSIONS:
        head += f" | {dim[0].upper()}: RMSE  MAE    R2     CCC    acc"
    head += " | emo.acc"
    lines = [title, head, "-" * len(head)] if title else [head, "-" * len(head)]
    for name, result in results.items():
        rep = result.get(level, {})
        if not rep.get("n"):
            lines.append(f"{name:<{width}}{0:>6} | (no windows)")
            continue
        row = f"{name:<{width}}{rep['n']:>6}"
        for dim in DIMENSIONS:
            d = rep[dim]
            row += f" | {d['rmse']:8.3f} {d['mae']:6.3f} {d['r2']:6.3f} {d['ccc']:6.3f}"
            row += f" {d['accuracy']:5.2f}"
        row += f" | {rep['emotion_accuracy']:7.2f}"
        lines.append(row)
    return "\n".join(lines)


def keras_predictor(model):
    """A batch predictor over a Keras model that skips ``predict``'s per-call overhead."""
    import keras

    return lambda x: keras.ops.convert_to_numpy(model(x, training=False))


def evaluate_model(model, prepared: PreparedData, threshold: float) -> dict[str, dict]:
    predict = keras_predictor(model)
    return {
        name: evaluate_predictions(
            songs, predict_windows(predict, songs, prepared.window), threshold
        )
        for name, songs in prepared.splits.items()
    }
