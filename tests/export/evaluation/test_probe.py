"""The ridge probe: a weight of 0 is the same fit as leaving the song out, per dimension."""

import numpy as np
from sentio.export.data.datasets import Song
from sentio.export.data.windows import SongWindows
from sentio.export.evaluation.probe import ridge_probe


def _songs(rng, n, offset=0.0):
    out = []
    for i in range(n):
        v, a = rng.uniform(-1, 1, 2)
        frames = rng.normal(0, 1, (30, 3)).astype(np.float32)
        frames[:, 0] += v
        frames[:, 1] += a
        out.append(
            SongWindows(
                Song(f"s{offset}{i}", None, float(v + offset), float(a)), frames, np.array([0])
            )
        )
    return out


def test_zero_weight_on_a_dimension_equals_leaving_those_songs_out_of_it():
    rng = np.random.default_rng(0)
    kept, extra, val, test = (
        _songs(rng, 60),
        _songs(rng, 40, offset=0.5),
        _songs(rng, 20),
        _songs(rng, 25),
    )
    weights = np.r_[np.ones((60, 2)), np.c_[np.zeros(40), np.ones(40)]]
    with_zero = ridge_probe(kept + extra, weights, val, seed=0)(test)
    without = ridge_probe(kept, np.ones((60, 2)), val, seed=0)(test)
    np.testing.assert_allclose(with_zero[:, 0], without[:, 0], atol=0.05)
    plain = ridge_probe(kept + extra, np.ones((100, 2)), val, seed=0)(test)
    assert np.mean(plain[:, 0] - without[:, 0]) > 0.1  # the offset songs pull valence up


def test_probe_predictions_are_clipped_to_the_label_range():
    rng = np.random.default_rng(1)
    train = _songs(rng, 50)
    far = _songs(rng, 5)
    for s in far:
        s.frames[:, 0] += 50
    p = ridge_probe(train, np.ones((50, 2)), _songs(rng, 10), seed=0)(far)
    assert np.all(np.abs(p) <= 1.0)
