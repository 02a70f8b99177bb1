"""The feature-candidate benchmark's arithmetic on generated audio: frame layout, the level-free
blocks, the folds and the scores (no shared data)."""

from __future__ import annotations

import numpy as np
import pytest
from sentio.runtime.features import FeatureSpec, extract_features

from benchmarks.feature_candidates import (
    CANDIDATES,
    CHROMA,
    CURRENT,
    ENERGY,
    ENERGY_CLIP,
    MFCC,
    ONSET,
    RATE,
    WIDTH,
    auc,
    group_folds,
    key_mode,
    song_folds,
    superset,
)


def tone(seconds: float, freq: float = 440.0, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return amplitude * np.sin(2 * np.pi * freq * t)


def test_every_candidate_is_40_distinct_columns_of_the_superset():
    for key, (_, columns) in CANDIDATES.items():
        assert len(columns) == len(set(columns)) == 40, key
        assert all(0 <= c < WIDTH for c in columns), key
        assert MFCC.start not in columns, f"{key} keeps c0 (absolute level)"


def test_superset_frames_and_the_current_frame_columns():
    signal = tone(1.0)
    frames = superset(signal)
    n = 1 + (signal.size - 882) // 441
    assert frames.shape == (n, WIDTH) and np.isfinite(frames).all()
    np.testing.assert_allclose(
        frames[:, CURRENT], extract_features(signal.astype(np.float32), FeatureSpec()), rtol=1e-5
    )
    assert np.argmax(frames[n // 2, CHROMA]) == 9  # 440 Hz is an A


def test_mixed_blocks_ignore_gain_and_the_energy_follows_a_step():
    signal = np.concatenate([tone(2.0, amplitude=0.05), tone(2.0, amplitude=0.5)])
    quiet, loud = superset(signal), superset(10 * signal)
    level_free = [*range(1, 64), *range(64, 83), ENERGY, ONSET]
    np.testing.assert_allclose(quiet[:, level_free], loud[:, level_free], atol=1e-3)
    step = int(2.0 * RATE) // 441 + 2
    assert quiet[0, ENERGY] == 0.0
    assert quiet[step, ENERGY] == pytest.approx(2 * np.log(10), abs=0.1)  # +20 dB, in nepers
    assert quiet[-1, ENERGY] < quiet[step, ENERGY]  # the reference catches up


def test_silence_gets_the_floor_and_leaves_the_reference_alone():
    signal = np.concatenate([tone(1.0), np.zeros(RATE), tone(1.0)])
    frames = superset(signal)
    middle = (int(1.5 * RATE)) // 441
    assert frames[middle, ENERGY] == -ENERGY_CLIP
    assert abs(frames[-1, ENERGY]) < 0.01  # same level as before the gap
    assert frames[0, ONSET] == 0.0


def test_key_mode_tells_major_from_minor():
    chroma = np.zeros((3, 12))
    chroma[0, [0, 4, 7]] = 1  # C major triad
    chroma[1, [9, 0, 4]] = 1  # A minor triad
    values = key_mode(chroma)
    assert values[0, 0] > values[0, 1] and values[1, 1] > values[1, 0]
    assert (values[2] == 0).all()  # flat chroma


def test_auc_counts_ties_half_and_needs_both_classes():
    y = np.array([1, 1, -1, -1])
    assert auc(y, np.array([0.9, 0.8, 0.1, 0.2])) == 1.0
    assert auc(y, np.array([0.1, 0.2, 0.9, 0.8])) == 0.0
    assert auc(y, np.zeros(4)) == 0.5
    assert np.isnan(auc(np.ones(3), np.arange(3.0)))


def test_folds_keep_groups_together_and_are_balanced():
    groups = [f"artist{i % 37}" for i in range(200)] + ["big"] * 9
    folds = group_folds(groups, 10, seed=0)
    for g in set(groups):
        assert len({folds[i] for i, h in enumerate(groups) if h == g}) == 1
    sizes = np.bincount(folds, minlength=10)
    assert sizes.max() - sizes.min() <= 9
    np.testing.assert_array_equal(folds, group_folds(groups, 10, seed=0))
    assert np.bincount(song_folds(95, 10, seed=3)).tolist() == [10] * 5 + [9] * 5
