"""What an early estimate is worth: accuracy on crops of 3, 6, 9, 12 s of each song.

The runtime answers from 3 s into a stream on the audio it has, repeated to a window
(``runtime.windows.fill_window``). Here every song (clean, or as a live condition renders
it) is cut into crops of each length every ``stride_s`` (up to ``max_crops`` per song),
each crop predicted the runtime's way; crops are scored together per dataset (AUC of the
valence and arousal signs on quadrant-labelled data, CCC on valued data), with 95% intervals
from resampling songs (a song's crops stay together). "song" scores the mean of each song's
crops.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sentio.export.data.conditions import Condition
from sentio.export.data.datasets import Song
from sentio.export.evaluation.robustness import WindowModel
from sentio.export.evaluation.targets import scores
from sentio.runtime.audio import load_audio, resample
from sentio.runtime.features import extract_features
from sentio.runtime.windows import fill_window

LENGTHS_S = (3.0, 6.0, 9.0, 12.0)


@dataclass
class SongCrops:
    """One song's crop predictions per length (frames -> (n_crops, 2))."""

    song: Song
    predictions: dict[int, np.ndarray] = field(default_factory=dict)


def crop_predictions(
    model: WindowModel,
    samples: np.ndarray,
    rate: int,
    lengths: Sequence[int],
    stride: int,
    max_crops: int,
) -> dict[int, np.ndarray]:
    """Predictions of crops of each length (frames), taken every ``stride`` frames from the
    start, each repeated to the model's window: ``{length: (n, 2)}``."""
    spec = model.spec
    features = extract_features(resample(samples, rate, spec.sample_rate), spec)
    out = {}
    for length in lengths:
        starts = range(0, max(0, len(features) - length + 1), stride)
        crops = [features[s : s + length] for s in list(starts)[:max_crops]]
        out[length] = np.array(
            [model.predict(fill_window(c, model.window)) for c in crops], dtype=np.float32
        ).reshape(-1, 2)
    return out


def predict_songs(
    model: WindowModel,
    songs: Sequence[Song],
    lengths_s: Sequence[float] = LENGTHS_S,
    condition: Condition | None = None,
    seed: int = 0,
    stride_s: float = 3.0,
    max_crops: int = 8,
) -> tuple[list[SongCrops], list[int]]:
    """Every song's crop predictions (clean, or rendered through ``condition``) and the
    lengths in frames."""
    fps = model.spec.frames_per_second
    lengths = [min(model.window, max(1, round(s * fps))) for s in lengths_s]
    stride = max(1, round(stride_s * fps))
    out = []
    for index, song in enumerate(songs):
        samples = load_audio(song.path, model.spec.sample_rate)
        rate = model.spec.sample_rate
        if condition is not None:
            rendered = condition.render(samples, rate, seed, index)
            samples, rate = rendered.samples, rendered.rate
        out.append(
            SongCrops(song, crop_predictions(model, samples, rate, lengths, stride, max_crops))
        )
    return out, lengths


def length_table(
    crops: list[SongCrops], lengths: Sequence[int], n_resamples: int = 300, seed: int = 0
) -> dict[str, dict[int, dict[str, list[float]]]]:
    """``{dataset: {length: {metric: [value, low, high]}}}`` over crops (and ``song_``
    metrics over each song's mean)."""
    by_dataset: dict[str, list[SongCrops]] = {}
    for item in crops:
        by_dataset.setdefault(item.song.dataset or "all", []).append(item)
    rng = np.random.default_rng(seed)
    table: dict[str, dict[int, dict[str, list[float]]]] = {}
    for name, members in sorted(by_dataset.items()):
        sign_only = all(m.song.sign_only for m in members)
        resamples = [rng.integers(0, len(members), len(members)) for _ in range(n_resamples)]
        table[name] = {}
        for length in lengths:
            kept = [m for m in members if len(m.predictions.get(length, ()))]
            point = _scores(kept, length, sign_only)
            spread: dict[str, list[float]] = {k: [] for k in point}
            for pick in resamples:
                chosen = [members[i] for i in pick if len(members[i].predictions.get(length, ()))]
                for key, value in _scores(chosen, length, sign_only).items():
                    spread[key].append(value)
            table[name][length] = {
                key: [round(value, 4), *_interval(spread[key])] for key, value in point.items()
            }
    return table


def _scores(members: list[SongCrops], length: int, sign_only: bool) -> dict[str, float]:
    if not members:
        return {}
    y = np.concatenate(
        [
            np.repeat([[m.song.valence, m.song.arousal]], len(m.predictions[length]), 0)
            for m in members
        ]
    )
    p = np.concatenate([m.predictions[length] for m in members])
    crop = scores(y, p, sign_only)
    song_y = np.array([[m.song.valence, m.song.arousal] for m in members])
    song_p = np.stack([m.predictions[length].mean(axis=0) for m in members])
    return crop | {f"song_{k}": v for k, v in scores(song_y, song_p, sign_only).items()}


def _interval(values: list[float]) -> list[float]:
    values = [v for v in values if np.isfinite(v)]
    if not values:
        return [float("nan"), float("nan")]
    low, high = np.percentile(values, [2.5, 97.5])
    return [round(float(low), 4), round(float(high), 4)]


def table_markdown(table: dict, lengths: Sequence[int], fps: float, title: str) -> str:
    """One row per length, one column per dataset metric: ``value [low, high]``."""
    columns = [(name, key) for name, rows in table.items() for key in next(iter(rows.values()))]
    head = "| window | " + " | ".join(f"{n} {k}" for n, k in columns) + " |"
    lines = [f"### {title}", "", head, "|" + "---|" * (len(columns) + 1)]
    for length in lengths:
        cells = []
        for name, key in columns:
            value, low, high = table[name][length].get(key, [float("nan")] * 3)
            cells.append(f"{value:.3f} [{low:.2f}, {high:.2f}]")
        lines.append(f"| {length / fps:g} s | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
