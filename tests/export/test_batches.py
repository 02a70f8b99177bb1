"""Training batches: validation windows mixed once (several songs per batch), mixup blends
windows and labels alike."""

import numpy as np
import pytest

pytest.importorskip("keras", reason="the export extra (TensorFlow) is not installed")

from sentio.export.datasets import Song
from sentio.export.prepare import SongWindows
from sentio.export.train import WindowBatches


def _songs():
    rng = np.random.default_rng(0)
    return [
        SongWindows(
            Song(f"s{i}", None, float(v), float(-v)),
            np.full((60, 3), float(v), np.float32)
            + rng.normal(0, 0.01, (60, 3)).astype(np.float32),
            np.arange(0, 41, 10),
        )
        for i, v in enumerate(np.linspace(-0.9, 0.9, 8))
    ]


def test_validation_batches_hold_several_songs_in_a_fixed_order():
    batches = WindowBatches(_songs(), 20, 8, shuffle=False)
    _, y = batches[0]
    assert len(np.unique(y[:, 0])) >= 4  # in song order it would be 2
    first = batches[0][1].copy()
    batches.on_epoch_end()
    np.testing.assert_array_equal(batches[0][1], first)


def test_mixup_blends_windows_and_labels_with_the_same_weight():
    plain = WindowBatches(_songs(), 20, 8, shuffle=True, seed=3)
    mixed = WindowBatches(_songs(), 20, 8, shuffle=True, seed=3, mixup=0.4)
    _, y0 = plain[0]
    x1, y1 = mixed[0]
    assert not np.allclose(y0, y1)
    # every frame value of a song is ~its valence, so a mixed window's mean is its mixed label
    np.testing.assert_allclose(x1.mean(axis=(1, 2)), y1[:, 0], atol=0.01)
    np.testing.assert_allclose(y1[:, 0], -y1[:, 1], atol=1e-6)
    assert (np.abs(y1) <= 0.9 + 1e-6).all()
