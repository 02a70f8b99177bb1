"""Streaming == offline, stage by stage (the kws_streaming pattern): run the offline path once,
feed the streaming path in arbitrary chunk sizes, compare."""

import numpy as np
import pytest
from sentio.export.data.synthetic import synth_song
from sentio.runtime.audio import resample
from sentio.runtime.features import FeatureSpec, extract_features
from sentio.runtime.streaming import StreamingFeatures, StreamResampler, WindowSlicer
from sentio.runtime.windows import fill_window, window_ends, window_starts

from tests.helpers import random_chunks, reference_mfcc

SPEC = FeatureSpec()


@pytest.mark.parametrize("seed", range(4))
def test_streaming_features_equal_batch_features(seed):
    rng = np.random.default_rng(seed)
    signal = synth_song(rng.uniform(-1, 1), rng.uniform(-1, 1), 6.0, SPEC.sample_rate, seed=seed)
    stream = StreamingFeatures(SPEC)
    pieces = [stream.push(c) for c in random_chunks(signal, rng, 3 * SPEC.sample_rate)]
    streamed = np.concatenate(pieces)
    batch = extract_features(signal, SPEC)
    reference = reference_mfcc(signal, SPEC)[: batch.shape[0]]  # psf pads a last partial frame
    assert streamed.shape == batch.shape == (SPEC.n_frames(signal.size), 40)
    np.testing.assert_allclose(streamed, batch, rtol=0, atol=1e-5)  # float32 rounding
    np.testing.assert_allclose(streamed, reference, rtol=1e-5, atol=1e-4)


def test_one_sample_at_a_time():
    signal = synth_song(0.3, 0.3, 0.5, SPEC.sample_rate, seed=9)
    stream = StreamingFeatures(SPEC)
    streamed = np.concatenate([stream.push(signal[i : i + 1]) for i in range(signal.size)])
    np.testing.assert_allclose(streamed, extract_features(signal, SPEC), atol=1e-5)


@pytest.mark.parametrize("rate", [44100, 48000, 16000])
def test_streaming_resampler_equals_one_shot(rate):
    rng = np.random.default_rng(rate)
    signal = rng.normal(0, 0.2, rate * 3).astype(np.float32)
    resampler = StreamResampler(rate, SPEC.sample_rate)
    parts = [resampler.push(c) for c in random_chunks(signal, rng, rate)]
    parts.append(resampler.push(np.zeros(0, np.float32), last=True))
    np.testing.assert_array_equal(np.concatenate(parts), resample(signal, rate, SPEC.sample_rate))


def test_resampler_passes_through_at_the_model_rate():
    x = np.arange(10, dtype=np.float32)
    np.testing.assert_array_equal(StreamResampler(22050, 22050).push(x), x)


@pytest.mark.parametrize(("window", "hop", "seed"), [(50, 7, 0), (50, 50, 1), (20, 33, 2)])
def test_windows_are_the_offline_windows(window, hop, seed):
    rng = np.random.default_rng(seed)
    frames = rng.normal(size=(400, 5)).astype(np.float32)
    slicer = WindowSlicer(window, hop, 5)
    emitted = []
    i = 0
    while i < len(frames):
        n = int(rng.integers(1, 3 * window))
        emitted += slicer.push(frames[i : i + n])
        i += n
    starts = window_starts(len(frames), window, hop)
    assert [end - window for end, _, _ in emitted] == list(starts)
    for end, length, w in emitted:
        assert length == window
        np.testing.assert_array_equal(w, frames[end - window : end])


@pytest.mark.parametrize(("window", "hop", "first", "seed"), [(50, 7, 10, 0), (50, 5, 1, 1)])
def test_partial_windows_and_restarts_are_the_offline_ones(window, hop, first, seed):
    """Streaming == offline with early (partial) windows and segments restarting at changes:
    each window is the segment's frames so far, repeated to the window's length."""
    rng = np.random.default_rng(seed)
    frames = rng.normal(size=(500, 3)).astype(np.float32)
    changes = [(130, 110), (260, 259), (300, 290)]  # (found at, starts at)
    slicer = WindowSlicer(window, hop, 3, first)
    emitted, i = [], 0
    cuts = [found for found, _ in changes] + [len(frames)]
    for cut, change in zip(cuts, [*changes, None], strict=True):
        while i < cut:
            n = min(int(rng.integers(1, 2 * window)), cut - i)
            emitted += slicer.push(frames[i : i + n])
            i += n
        if change is not None:
            slicer.restart(change[1])
    expected = window_ends(len(frames), window, hop, first, changes)
    assert [(end, length) for end, length, _ in emitted] == expected
    assert any(length < window for _, length in expected)
    starts = {0: 0, **{found: start for found, start in changes}}
    for end, length, w in emitted:
        np.testing.assert_array_equal(w, fill_window(frames[end - length : end], window))
        assert end - length >= max(s for f, s in starts.items() if f < end or f == 0)


def test_fill_window_repeats_the_frames_from_their_start():
    frames = np.arange(6, dtype=np.float32).reshape(3, 2)
    np.testing.assert_array_equal(fill_window(frames, 7)[:, 0], [0, 2, 4, 0, 2, 4, 0])
    np.testing.assert_array_equal(fill_window(frames, 2), frames[:2])
    with pytest.raises(ValueError):
        fill_window(frames[:0], 4)
