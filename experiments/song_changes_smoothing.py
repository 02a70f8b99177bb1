"""Output smoothing after a change of song (issue 25, item 3), a one-off study: a bundle's raw
estimates post-processed as the engine would (restarted at each change found), either with an
exponential smoother (2, 4 s) or as the mean of the estimates since the change weighted by
window fill (boxcar 10-60 s), scored with ``benchmarks.song_changes``' criteria. From the
repository root, with the data beside it:

    python -m experiments.song_changes_smoothing BUNDLE val 40

It ran on the v2 bundle (output: experiments/song_changes_smoothing_v2_val.txt).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from sentio.runtime.audio import load_audio
from sentio.runtime.changes import ChangeSettings
from sentio.runtime.engine import offline_predictions
from sentio.runtime.model import BundleModel

from benchmarks import song_changes as sc

CRITERIA = {"hold2": (0.1, 2.0), "first": (0.1, 0.0), "w0.2": (0.2, 2.0)}


def exponential(tau_s: float, hop_s: float):
    alpha = 1.0 if tau_s <= 0 else 1 - np.exp(-hop_s / tau_s)

    def last(raw: np.ndarray, fills: np.ndarray) -> np.ndarray:
        state = raw[0]
        for value in raw[1:]:
            state = state + alpha * (value - state)
        return state

    return last


def segment_mean(span_s: float, hop_s: float, power: float = 1.0):
    keep = max(1, round(span_s / hop_s))

    def last(raw: np.ndarray, fills: np.ndarray) -> np.ndarray:
        weights = fills[-keep:] ** power
        return (raw[-keep:] * weights[:, None]).sum(axis=0) / weights.sum()

    return last


def raw_estimates(model, samples, first_s, changes, cut_s):
    if changes == "oracle":
        return sc.oracle_predictions(model, samples, cut_s)
    ends, raw = offline_predictions(model, samples, first_s, changes)
    return ends, raw, sc._changes(model, samples, changes)


def output_series(model, estimates, aggregate):
    ends, raw, found = estimates
    restarts = sorted(f for f, _ in found)
    out, segment, fills, k = [], [], [], 0
    for (end, length), value in zip(ends, raw, strict=True):
        if k < len(restarts) and end > restarts[k]:
            while k < len(restarts) and end > restarts[k]:
                k += 1
            segment, fills = [], []
        segment.append(value)
        fills.append(length / model.window)
        out.append(aggregate(np.array(segment), np.array(fills)))
    fps = model.spec.frames_per_second
    return np.array([e / fps for e, _ in ends]), np.array(out).reshape(-1, 2)


def main(bundle: Path, split: str, limit: int) -> None:
    model = BundleModel(bundle, artifact="model_float32.tflite")
    data = Path("../shared/data")
    songs = sc.songs_of(model, data / "emotify", data / "4q", split)
    songs = [songs[i] for i in np.random.default_rng(0).permutation(len(songs))][:limit]
    audio = [load_audio(s.path, model.spec.sample_rate) for s in songs]
    hop = model.default_hop_s
    aggregates = {"raw": exponential(0, hop), "ema2": exponential(2, hop)}
    aggregates |= {"ema4": exponential(4, hop), "mean10": segment_mean(10, hop)}
    aggregates |= {f"mean{s}": segment_mean(s, hop) for s in (20, 30, 60)}
    aggregates["mean20p2"] = segment_mean(20, hop, 2.0)
    steadies = [sc.steady_value(model, a) for a in audio]
    order = np.random.default_rng(0).permutation(len(audio))
    pairs = [(int(order[i]), int(order[i + 1])) for i in range(len(order) - 1)]
    configs = {"after": (3.0, ChangeSettings()), "oracle": (3.0, "oracle")}
    times: dict[str, list[float]] = {}
    began = time.time()
    for fade in (0.0, 3.0):
        for a, b in pairs:
            if np.max(np.abs(steadies[a] - steadies[b])) <= sc.VISIBLE:
                continue
            joined, cut = sc.join(audio[a], audio[b], model.spec.sample_rate, fade)
            for config, (first, changes) in configs.items():
                estimates = raw_estimates(model, joined, first, changes, cut)
                for name, aggregate in aggregates.items():
                    t, out = output_series(model, estimates, aggregate)
                    for criterion, (within, hold) in CRITERIA.items():
                        seconds = sc.response_time(t, out, cut, steadies[b], hop, within, hold)
                        times.setdefault(f"{fade}|{config}|{name}|{criterion}", []).append(seconds)
    for key, values in sorted(times.items()):
        v = np.array(values)
        never = int(np.sum(~np.isfinite(v)))
        print(f"{key} median {np.median(v):.1f}  p75 {np.percentile(v, 75):.1f}  never {never}")
    print(f"time {time.time() - began:.0f} s")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]))
