"""The representative (calibration) set that int8 quantization takes its ranges from.

Drawn from the **training split only** (test windows must not tune the model that is tested),
and chosen so that it looks like what the device will hear:

1. **Range first**: for every feature, the window holding its lowest and its highest value in
   the training split (up to a quarter of the set), so the quantization ranges cover the real
   extremes instead of clipping loud or silent passages.
2. **Then spread**: the rest in turn across the four valence/arousal quadrants, and within a
   quadrant across songs (round robin, songs shuffled by ``seed``), each song giving windows
   from evenly spread positions.

The set is saved with its provenance (song ids and window starts, quadrant counts, the feature
spec fingerprint, the normalization it was drawn under, its range coverage) so a later export
can reuse exactly the same windows, and so TFLite and ONNX static quantization see one set.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sentio.export.data.windows import SongWindows
from sentio.runtime.emotion import quadrant
from sentio.runtime.errors import CalibrationError, FeatureSpecError
from sentio.runtime.manifest import Calibration

DEFAULT_SIZE = 300
CALIBRATION_FORMAT = 1


@dataclass
class CalibrationSet:
    """Normalized windows (n, frames, features) and where each came from."""

    windows: np.ndarray
    picks: list[tuple[str, int]]  # (song id, first frame)
    spec_fingerprint: str
    seed: int = 0
    quadrants: dict[str, int] = field(default_factory=dict)
    coverage: float = 1.0

    def __len__(self) -> int:
        return len(self.windows)

    def provenance(self) -> dict[str, Any]:
        return {
            "format": CALIBRATION_FORMAT,
            "windows": len(self),
            "window_frames": int(self.windows.shape[1]),
            "spec_fingerprint": self.spec_fingerprint,
            "drawn_from": "train split",
            "seed": self.seed,
            "songs": len({song for song, _ in self.picks}),
            "quadrants": self.quadrants,
            "range_coverage": round(self.coverage, 4),
            "picks": [{"song_id": s, "start": int(t)} for s, t in self.picks],
        }

    def manifest_entry(self) -> Calibration:
        """What the bundle manifest records of the set (its provenance without the picks)."""
        return Calibration(
            windows=len(self),
            window_frames=int(self.windows.shape[1]),
            spec_fingerprint=self.spec_fingerprint,
            format=CALIBRATION_FORMAT,
            seed=self.seed,
            songs=len({song for song, _ in self.picks}),
            quadrants=dict(self.quadrants),
            range_coverage=round(self.coverage, 4),
        )

    def save(self, path: Path) -> Path:
        """Windows and provenance in one ``.npz`` (float16 windows: half the size, and the
        rounding is far below int8's)."""
        path = Path(path).with_suffix(".npz")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp.npz")
        np.savez_compressed(
            tmp,
            windows=self.windows.astype(np.float16),
            provenance=np.array(json.dumps(self.provenance())),
        )
        tmp.replace(path)
        return path


def load_calibration(path: Path, spec_fingerprint: str) -> CalibrationSet:
    """A saved set, refused when it was drawn under a different feature spec."""
    try:
        with np.load(path) as data:
            windows = data["windows"].astype(np.float32)
            provenance = json.loads(str(data["provenance"]))
    except (OSError, KeyError, ValueError) as err:
        raise CalibrationError(
            f"cannot read calibration set {path}: {err}",
            hint="pass a .npz written with export.save_calibration set",
        ) from err
    if provenance.get("spec_fingerprint") != spec_fingerprint:
        raise FeatureSpecError(
            f"calibration set {path} was computed with feature spec "
            f"{provenance.get('spec_fingerprint')}, the model uses {spec_fingerprint}",
            hint="draw a new set from this model's training data (unset export.calibration)",
        )
    picks = [(p["song_id"], p["start"]) for p in provenance.get("picks", [])]
    return CalibrationSet(
        windows,
        picks,
        spec_fingerprint,
        provenance.get("seed", 0),
        provenance.get("quadrants", {}),
        provenance.get("range_coverage", float("nan")),
    )


def draw_calibration(
    songs: list[SongWindows],
    window: int,
    size: int,
    spec_fingerprint: str,
    seed: int = 0,
) -> CalibrationSet:
    """Choose ``size`` windows from training ``songs`` (see the module docstring)."""
    candidates = [(i, int(start)) for i, s in enumerate(songs) for start in s.starts]
    if not candidates or size < 1:
        raise CalibrationError(
            "no training windows to calibrate with" if size >= 1 else "calibration size < 1",
            hint="check the dataset (the run summary lists skipped songs) or "
            "export.calibration_size",
        )
    size = min(size, len(candidates))
    chosen = _range_extremes(songs, window, budget=max(1, size // 4))
    for pick in _spread(songs, seed):
        if len(chosen) >= size:
            break
        if pick not in chosen:
            chosen.append(pick)
    windows = np.stack([songs[i].frames[t : t + window] for i, t in chosen]).astype(np.float32)
    counts: dict[str, int] = defaultdict(int)
    for i, _ in chosen:
        counts[quadrant(songs[i].song.valence, songs[i].song.arousal)] += 1
    return CalibrationSet(
        windows,
        [(songs[i].song.song_id, t) for i, t in chosen],
        spec_fingerprint,
        seed,
        dict(sorted(counts.items())),
        range_coverage(windows, songs),
    )


def _range_extremes(songs: list[SongWindows], window: int, budget: int) -> list[tuple[int, int]]:
    """Windows holding each feature's minimum and maximum over the training windows."""
    extremes: list[tuple[float, int, int]] = []  # (how extreme, song, start)
    lows, highs = _feature_extremes(songs, window)
    for feature in range(lows.shape[1]):
        for table, sign in ((lows, -1.0), (highs, 1.0)):
            best = int(np.argmax(sign * table[:, feature, 0]))
            extremes.append((abs(table[best, feature, 0]), best, int(table[best, feature, 1])))
    unique: list[tuple[int, int]] = []
    for _, song, start in sorted(extremes, reverse=True):
        if (song, start) not in unique:
            unique.append((song, start))
    return unique[:budget]


def _feature_extremes(songs: list[SongWindows], window: int) -> tuple[np.ndarray, np.ndarray]:
    """Per song and feature: (lowest value, a window start holding it), same for highest."""
    lows, highs = [], []
    for s in songs:
        covered = s.frames[: s.starts[-1] + window] if s.starts.size else s.frames[:0]
        if not covered.size:
            lows.append(np.full((s.frames.shape[1], 2), [np.inf, 0]))
            highs.append(np.full((s.frames.shape[1], 2), [-np.inf, 0]))
            continue
        lo_frame, hi_frame = covered.argmin(axis=0), covered.argmax(axis=0)
        lows.append(np.stack([covered.min(axis=0), _start_holding(lo_frame, s.starts)], axis=1))
        highs.append(np.stack([covered.max(axis=0), _start_holding(hi_frame, s.starts)], axis=1))
    return np.stack(lows), np.stack(highs)


def _start_holding(frames: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """For each frame index, the last window start at or before it (a window that holds it
    when windows overlap or touch)."""
    return starts[np.clip(np.searchsorted(starts, frames, side="right") - 1, 0, None)]


def _spread(songs: list[SongWindows], seed: int):
    """Round robin over quadrants, then songs, then evenly spread positions in each song."""
    rng = np.random.default_rng(seed)
    by_quadrant: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(songs):
        if s.starts.size:
            by_quadrant[quadrant(s.song.valence, s.song.arousal)].append(i)
    queues = {q: [int(i) for i in rng.permutation(idx)] for q, idx in sorted(by_quadrant.items())}
    orders = {i: _spread_order(songs[i].starts) for idx in queues.values() for i in idx}
    rounds = max(len(o) for o in orders.values())
    for depth in range(rounds):
        for position in range(max(len(q) for q in queues.values())):
            for members in queues.values():
                if position < len(members) and depth < len(orders[members[position]]):
                    yield members[position], orders[members[position]][depth]


def _spread_order(starts: np.ndarray) -> list[int]:
    """Window starts ordered middle first, then ever finer halves: any prefix is spread out."""
    order: list[int] = []
    n = starts.size
    step = n
    while step >= 1 and len(order) < n:
        for k in range(step // 2, n, max(step, 1)):
            if int(starts[k]) not in order:
                order.append(int(starts[k]))
        step //= 2
    order += [int(s) for s in starts if int(s) not in order]
    return order


def range_coverage(windows: np.ndarray, songs: list[SongWindows]) -> float:
    """Mean over features of (set's range / training split's range): 1.0 = all extremes in."""
    set_lo, set_hi = windows.min(axis=(0, 1)), windows.max(axis=(0, 1))
    train_lo = np.min([s.frames.min(axis=0) for s in songs], axis=0)
    train_hi = np.max([s.frames.max(axis=0) for s in songs], axis=0)
    span = np.maximum(train_hi - train_lo, 1e-12)
    return float(np.mean((set_hi - set_lo) / span))
