"""The mixed, level-free frame (sentio-mix/1): librosa equality, level/DC/capture-rate
invariance, streaming == offline with running state, and bad input."""

import librosa
import numpy as np
import pytest
import soxr
from python_speech_features import base as psf_base
from scipy.fft import dct, rfft
from sentio.export.data.synthetic import synth_song
from sentio.runtime.errors import FeatureSpecError
from sentio.runtime.features import FeatureSpec, extract_features
from sentio.runtime.mixed_features import MixedFeatureSpec, _kept_bins, chroma_filterbank
from sentio.runtime.streaming import StreamingFeatures, StreamResampler

from tests.helpers import random_chunks

SPEC = MixedFeatureSpec()
#: Raw chroma bins, no onset (candidate C of experiments/frontend_v2_candidates.md).
BINS = MixedFeatureSpec(n_mfcc=20, chroma_dft=False, onset=False)
RATE = SPEC.sample_rate


def music(seconds: float = 8.0, seed: int = 3, noise: float = 0.003) -> np.ndarray:
    """Generated music with a little noise floor, as any recording has."""
    rng = np.random.default_rng(seed)
    signal = synth_song(0.5, 0.3, seconds, RATE, seed=seed)
    return signal + noise * rng.standard_normal(signal.size)


def same_stft(signal: np.ndarray, spec: MixedFeatureSpec) -> np.ndarray:
    """The power spectrum the extractor computes: complete frames, mean removed, Hamming."""
    frames = np.lib.stride_tricks.sliding_window_view(signal, spec.frame_length)[:: spec.frame_step]
    frames = frames - frames.mean(axis=1, keepdims=True)
    return np.abs(rfft(frames * np.hamming(spec.frame_length), n=spec.nfft, axis=1)) ** 2


# ----------------------------------------------------------------------------- the spec


def test_default_frame_is_40_features_in_named_blocks():
    """Candidate G of experiments/frontend_v2_candidates.md."""
    assert SPEC.n_features == 40
    assert SPEC.blocks == {
        "mfcc": slice(0, 25),
        "chroma_dft": slice(25, 31),
        "contrast": slice(31, 38),
        "energy": slice(38, 39),
        "onset": slice(39, 40),
    }
    assert BINS.n_features == 40 and BINS.blocks["chroma"] == slice(20, 32)


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"n_mfcc": 64}, "n_mfcc < n_mels"),
        ({"n_chroma": 7}, "n_chroma must be 0 or a multiple of 12"),
        ({"contrast_bands": 7}, "contrast bands exceed high_hz"),
        ({"high_hz": 20000.0}, "high_hz <= sample_rate / 2"),
        ({"mel_floor_db": 3.0}, "mel_floor_db must be negative"),
        (
            {"n_mfcc": 0, "n_chroma": 0, "contrast_bands": 0, "energy": False, "onset": False},
            "the frame has no features",
        ),
    ],
)
def test_invalid_specs_say_what_is_wrong(changes, problem):
    with pytest.raises(FeatureSpecError, match=problem):
        MixedFeatureSpec(**changes)


# ----------------------------------------------------------------------------- librosa equality


@pytest.mark.parametrize(("rate", "nfft"), [(22050, 1024), (48000, 2048), (16000, 512)])
def test_chroma_filter_bank_is_librosas(rate, nfft):
    np.testing.assert_array_equal(
        chroma_filterbank(rate, nfft), librosa.filters.chroma(sr=rate, n_fft=nfft, tuning=0.0)
    )


def test_chroma_and_contrast_equal_librosa_for_the_same_stft():
    signal = music()
    features = extract_features(signal, BINS)
    key_free = extract_features(signal, SPEC)
    power = same_stft(signal, SPEC)
    kept = _kept_bins(SPEC)
    band_limited = power.copy()
    band_limited[:, kept:] = 0.0  # the spec ignores the spectrum above high_hz
    chroma = librosa.feature.chroma_stft(S=band_limited.T, sr=RATE, n_fft=SPEC.nfft, tuning=0.0)
    contrast = librosa.feature.spectral_contrast(
        S=np.sqrt(power[:, :kept]).T,
        sr=RATE,
        freq=librosa.fft_frequencies(sr=RATE, n_fft=SPEC.nfft)[:kept],
        fmin=SPEC.contrast_fmin,
        n_bands=SPEC.contrast_bands,
    )
    np.testing.assert_allclose(features[:, BINS.blocks["chroma"]], chroma.T, atol=1e-6)
    np.testing.assert_allclose(features[:, BINS.blocks["contrast"]], contrast.T, atol=1e-4)
    dft = np.abs(np.fft.rfft(chroma.T, axis=1))[:, 1:7]
    np.testing.assert_allclose(key_free[:, SPEC.blocks["chroma_dft"]], dft, atol=1e-5)
    np.testing.assert_allclose(key_free[:, SPEC.blocks["contrast"]], contrast.T, atol=1e-4)


def straightforward_frame(signal: np.ndarray, spec: MixedFeatureSpec) -> dict[str, np.ndarray]:
    """The mfcc, chroma_dft and onset blocks the plain way, in float64: each block from its own
    product (no fused pass, no mean-mel column), scipy's DCT, the DFT of the normalized chroma."""
    power = same_stft(signal, spec)[:, : _kept_bins(spec)]
    mel_bank = psf_base.get_filterbanks(spec.n_mels, spec.nfft, RATE, 0, spec.high_hz)
    mel = power @ mel_bank[:, : power.shape[1]].T
    log_mel = np.log(mel + mel.mean(axis=1, keepdims=True) * 10 ** (spec.mel_floor_db / 10))
    chroma = power @ chroma_filterbank(RATE, spec.nfft).T[: power.shape[1]].astype(np.float64)
    chroma /= chroma.max(axis=1, keepdims=True)
    onset = np.maximum(np.diff(log_mel, axis=0), 0.0).mean(axis=1)
    return {
        "mfcc": dct(log_mel, type=2, axis=1, norm="ortho")[:, 1 : 1 + spec.n_mfcc],
        "chroma_dft": np.abs(np.fft.rfft(chroma, axis=1))[:, 1 : 1 + spec.n_chroma // 2],
        "onset": np.concatenate([[0.0], onset])[:, None],
    }


def test_the_one_pass_frame_is_the_plain_computation_of_each_block():
    signal = music()
    features = extract_features(signal, SPEC)
    for name, expected in straightforward_frame(signal, SPEC).items():
        got = features[:, SPEC.blocks[name]]
        # float32 from the power spectrum on: a millionth of each block's spread
        np.testing.assert_allclose(got, expected, atol=1e-6 * max(expected.std(), 1.0) * 10)


def test_the_key_free_chroma_does_not_change_with_transposition():
    """Shifting every pitch class by the same interval rotates the chroma: |DFT| is unchanged."""
    chroma = np.random.default_rng(0).uniform(size=(5, 12))
    magnitudes = [np.abs(np.fft.rfft(np.roll(chroma, k, axis=1), axis=1)) for k in range(12)]
    for m in magnitudes[1:]:
        np.testing.assert_allclose(m, magnitudes[0], atol=1e-12)


# ----------------------------------------------------------------------------- invariance

#: Stated tolerance: the frame changes by less than this (absolute, raw feature units) for any
#: gain from 0 to -40 dB. Measured: exactly 0 in float32 for every block.
LEVEL_TOLERANCE = 1e-4


@pytest.mark.parametrize("spec", [SPEC, BINS], ids=["default", "chroma-bins"])
def test_every_feature_is_unchanged_by_gains_from_0_to_minus_40_db(spec):
    signal = music(seconds=10.0)
    signal[4 * RATE : 5 * RATE] = 0.0  # a digital-silence gap must not break it either
    reference = extract_features(signal, spec)
    worst = 0.0
    for gain_db in range(0, -41, -4):
        shifted = extract_features(signal * 10 ** (gain_db / 20), spec)
        worst = max(worst, float(np.abs(shifted - reference).max()))
    assert worst < LEVEL_TOLERANCE


def test_the_old_mfcc_frame_is_not_level_free():
    """Why the new kind exists: c0 of the MFCC frame is the absolute level."""
    signal = music()
    change = extract_features(signal * 0.1, FeatureSpec()) - extract_features(signal, FeatureSpec())
    assert np.abs(change[:, 0]).mean() > 4.0  # -20 dB = -4.6 in natural-log energy


def test_a_dc_offset_changes_nothing():
    signal = music()
    np.testing.assert_allclose(
        extract_features(signal + 0.25, SPEC), extract_features(signal, SPEC), atol=1e-4
    )


def test_loudness_changes_within_the_stream_are_kept():
    """A drop of 12 dB mid-song shows in the energy column; only the absolute level goes."""
    signal = music(seconds=10.0)
    signal[5 * RATE :] *= 10 ** (-12 / 20)
    energy = extract_features(signal, SPEC)[:, SPEC.blocks["energy"]].ravel()
    at_drop = int(5 * SPEC.frames_per_second)
    before = energy[at_drop - 50 : at_drop - 1].mean()
    after = energy[at_drop + 2 : at_drop + 50].mean()
    assert before - after > 8.0


@pytest.mark.parametrize("capture_rate", [44100, 48000])
def test_a_44k1_or_48k_capture_gives_the_frames_of_the_22k_file(capture_rate):
    """Within the resampler's tolerance: mean |difference| under 5 % of each feature's spread.
    (high_hz keeps every block below the resampler's roll-off.)"""
    signal = music(seconds=10.0)
    captured = soxr.resample(signal, RATE, capture_rate, quality="HQ").astype(np.float32)
    back = StreamResampler(capture_rate, RATE).push(captured, last=True)[: signal.size]
    direct = extract_features(signal, SPEC)
    via_capture = extract_features(back, SPEC)
    n = min(len(direct), len(via_capture))
    relative = np.abs(via_capture[:n] - direct[:n]).mean(axis=0) / direct.std(axis=0)
    assert relative.max() < 0.05, relative.round(3)


# ----------------------------------------------------------------------------- streaming


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("spec", [SPEC, BINS], ids=["default", "chroma-bins"])
def test_streaming_equals_offline_for_random_chunks(spec, seed):
    rng = np.random.default_rng(seed)
    signal = music(seconds=6.0, seed=seed)
    signal[2 * RATE : 2 * RATE + 3000] = 0.0  # silence resets the onset and holds the reference
    stream = StreamingFeatures(spec)
    streamed = np.concatenate([stream.push(c) for c in random_chunks(signal, rng, 3 * RATE)])
    batch = extract_features(signal, spec)
    assert streamed.shape == batch.shape == (spec.n_frames(signal.size), 40)
    np.testing.assert_array_equal(streamed, batch)


@pytest.mark.parametrize("frames_per_push", [1, 2, 3, 7, 25, 64])
def test_a_frame_does_not_depend_on_how_many_are_computed_with_it(frames_per_push):
    """BLAS sums a matrix product's rows differently for different row counts; the one pass
    over the bins must not (one matrix product over all frames failed this for most counts)."""
    signal = music(seconds=24.0, seed=5)
    step = SPEC.frame_step * frames_per_push
    stream = StreamingFeatures(SPEC)
    streamed = np.concatenate(
        [stream.push(signal[i : i + step]) for i in range(0, signal.size, step)]
    )
    np.testing.assert_array_equal(streamed, extract_features(signal, SPEC))


def test_one_sample_at_a_time_equals_offline():
    signal = music(seconds=0.6)
    stream = StreamingFeatures(SPEC)
    streamed = np.concatenate([stream.push(signal[i : i + 1]) for i in range(signal.size)])
    np.testing.assert_array_equal(streamed, extract_features(signal, SPEC))


# ----------------------------------------------------------------------------- bad input


def _silent_frame(spec: MixedFeatureSpec) -> np.ndarray:
    frame = np.zeros(spec.n_features, np.float32)
    frame[spec.blocks["energy"]] = -spec.energy_range_db
    return frame


@pytest.mark.parametrize(
    "make",
    [
        lambda: np.zeros(RATE),
        lambda: np.full(RATE, 0.5),  # pure DC is silence once each frame's mean is removed
        lambda: np.full(RATE, 1e-9) * np.sin(np.arange(RATE)),  # -190 dBFS: below the floor
    ],
    ids=["digital-zero", "dc-only", "below-floor"],
)
def test_silence_is_a_defined_frame(make):
    features = extract_features(make(), SPEC)
    assert features.shape[0] == SPEC.n_frames(RATE)
    np.testing.assert_array_equal(features, np.tile(_silent_frame(SPEC), (len(features), 1)))


def test_clipping_and_unfinite_samples_give_finite_frames_in_stream_and_batch():
    signal = np.clip(music(seconds=3.0) * 8.0, -1.0, 1.0)
    signal[1000:1010] = np.nan
    signal[30000] = np.inf
    signal[40000] = -np.inf
    batch = extract_features(signal, SPEC)
    assert np.all(np.isfinite(batch))
    stream = StreamingFeatures(SPEC)
    rng = np.random.default_rng(0)
    streamed = np.concatenate([stream.push(c) for c in random_chunks(signal, rng, RATE)])
    np.testing.assert_array_equal(streamed, batch)


def test_a_stereo_array_is_refused_with_a_hint():
    with pytest.raises(FeatureSpecError, match="mono") as e:
        extract_features(np.zeros((100, 2)), SPEC)
    assert "mix channels down" in e.value.hint
