"""Training batches: validation windows mixed once (several songs per batch), mixup blends
windows and labels alike."""

import numpy as np
import pytest

pytest.importorskip("keras", reason="the export extra (TensorFlow) is not installed")

from sentio.export.data.datasets import Song
from sentio.export.data.windows import SongWindows
from sentio.export.model.batches import WindowBatches


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


def test_augmentation_changes_training_windows_every_epoch_but_never_labels():
    from sentio.export.model.augment import Augmentation

    recipe = Augmentation(jitter=5, time_masks=1, time_mask_frames=8, feature_masks=1, noise=0.05)
    plain = WindowBatches(_songs(), 20, 8, shuffle=True, seed=3)
    augmented = WindowBatches(_songs(), 20, 8, shuffle=True, seed=3, augmentation=recipe)
    (x0, y0), (x1, y1) = plain[0], augmented[0]
    np.testing.assert_array_equal(y0, y1)
    assert x1.shape == x0.shape and not np.allclose(x0, x1)
    again, _ = augmented[0]
    assert not np.allclose(x1, again)  # drawn anew each time a batch is made
    # still the same song's frames (~its valence), or masked (0, plus noise)
    own_song = np.abs(x1 - y1[:, :1, None]) < 0.3
    masked = np.abs(x1) < 0.3
    assert (own_song | masked).all()


def test_jitter_keeps_windows_inside_their_song():
    from sentio.export.model.augment import Augmentation

    rng = np.random.default_rng(0)
    starts = np.array([0, 40, 40, 10])
    lengths = np.array([60, 60, 45, 20])
    for _ in range(50):
        moved = Augmentation(jitter=30).jitter_starts(starts, lengths, 20, rng)
        assert (moved >= 0).all() and (moved <= np.maximum(lengths - 20, 0)).all()


def test_masks_zero_whole_spans_and_no_augmentation_changes_nothing():
    from sentio.export.model.augment import NONE, Augmentation

    x = np.ones((4, 100, 12), np.float32)
    NONE.apply(x, np.random.default_rng(0))
    assert (x == 1).all()
    masked = Augmentation(time_masks=1, time_mask_frames=30).apply(x, np.random.default_rng(1))
    zero_frames = (masked == 0).all(axis=2).sum(axis=1)
    assert zero_frames.max() > 0 and zero_frames.max() <= 30
    assert ((masked == 0) | (masked == 1)).all()  # whole frames zeroed, nothing else touched


def _consistency(**kw):
    from sentio.export.model.config import Consistency

    return Consistency(**{"weight": 1.0, **kw})


def test_consistency_batches_carry_each_clean_window_then_one_view_of_it():
    songs = _songs()
    batches = WindowBatches(
        songs,
        20,
        8,
        shuffle=True,
        consistency=_consistency(
            short_share=1.0, device_share=0.0, short_min_frames=5, short_max_frames=10
        ),
    )
    x, y = batches[0]
    assert x.shape == (16, 20, 3) and y.shape == (16, 7)
    np.testing.assert_array_equal(y[:8, 3], 0.0)
    np.testing.assert_array_equal(y[8:, 3], 1.0)
    np.testing.assert_array_equal(y[:8, [0, 1, 2]], y[8:, [0, 1, 2]])  # same labels, same order
    for clean, view in zip(x[:8], x[8:], strict=True):
        kept = next(k for k in range(5, 11) if np.array_equal(view[k : 2 * k], clean[:k]))
        np.testing.assert_array_equal(view[:kept], clean[:kept])  # a crop repeated to the window


def test_views_come_from_device_copies_and_validation_has_none():
    songs = _songs()
    for s in songs:
        s.copies = [s.frames + 100.0]  # a copy no clean window could be mistaken for
    consistency = _consistency(short_share=0.0, device_share=1.0)
    x, _ = WindowBatches(songs, 20, 8, shuffle=True, consistency=consistency)[0]
    assert (x[:8] < 50).all() and (x[8:] > 50).all()  # clean windows clean, views from copies
    np.testing.assert_allclose(x[8:] - 100.0, x[:8], atol=1e-4)
    x_val, y_val = WindowBatches(songs, 20, 8, consistency=consistency, extended=True)[0]
    assert len(x_val) == 8 and y_val.shape == (8, 7) and not y_val[:, 3].any()


def test_the_teachers_prediction_on_the_clean_window_goes_into_the_labels():
    def teacher(x):
        return np.stack([x[:, :, 0].mean(axis=1), -x[:, :, 0].mean(axis=1)], axis=1)

    x, y = WindowBatches(_songs(), 20, 8, shuffle=True, teacher=teacher)[0]
    np.testing.assert_allclose(y[:, 4:6], teacher(x), atol=1e-6)
    np.testing.assert_array_equal(y[:, 6], 1.0)


def test_mixup_and_views_do_not_mix():
    with pytest.raises(ValueError, match="mixup"):
        WindowBatches(_songs(), 20, 8, shuffle=True, mixup=0.4, consistency=_consistency())
