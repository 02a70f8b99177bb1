import numpy as np
import pytest
from sentio.export.data.synthetic import synth_song
from sentio.runtime.errors import FeatureSpecError
from sentio.runtime.features import FeatureSpec, FeatureStats, extract_features

from tests.helpers import reference_mfcc

SPEC = FeatureSpec()


@pytest.mark.parametrize("kind", ["noise", "music"])
def test_batch_features_equal_python_speech_features(kind):
    rng = np.random.default_rng(1)
    if kind == "noise":
        signal = (0.1 * rng.standard_normal(SPEC.sample_rate * 3)).astype(np.float32)
    else:
        signal = synth_song(0.5, -0.2, 3.0, SPEC.sample_rate, seed=3)
    ours = extract_features(signal, SPEC)
    ref = reference_mfcc(signal, SPEC)
    # psf zero-pads a final partial frame; we only compute complete ones
    assert ours.shape == (SPEC.n_frames(signal.size), 40)
    assert ref.shape[0] - ours.shape[0] in (0, 1)
    np.testing.assert_allclose(ours, ref[: ours.shape[0]], rtol=1e-5, atol=1e-4)


def test_features_of_a_prefix_are_a_prefix_of_the_features():
    signal = synth_song(-0.3, 0.7, 4.0, SPEC.sample_rate, seed=5)
    whole = extract_features(signal, SPEC)
    for cut in (SPEC.frame_length - 1, SPEC.frame_length, 12_345, 50_000):
        part = extract_features(signal[:cut], SPEC)
        assert part.shape[0] == SPEC.n_frames(cut)
        np.testing.assert_array_equal(part, whole[: part.shape[0]])


def test_default_spec_is_the_documented_one():
    assert SPEC.frame_length == 882 and SPEC.frame_step == 441
    assert SPEC.n_features == 40
    assert 0.020 <= SPEC.frame_length_s <= 0.040 and 0.020 <= SPEC.frame_step_s <= 0.040
    assert 600 / SPEC.frames_per_second == pytest.approx(12.0)


def test_spec_round_trips_and_fingerprints():
    again = FeatureSpec.from_dict(SPEC.to_dict())
    assert again == SPEC and again.fingerprint() == SPEC.fingerprint()
    assert FeatureSpec(n_filters=40).fingerprint() != SPEC.fingerprint()


@pytest.mark.parametrize(
    "kwargs, fragment",
    [({"nfft": 512}, "nfft"), ({"n_features": 80}, "n_features"), ({"window": "kaiser"}, "window")],
)
def test_invalid_spec_is_a_clear_error(kwargs, fragment):
    with pytest.raises(FeatureSpecError, match=fragment) as info:
        FeatureSpec(**kwargs)
    assert info.value.hint


def test_unknown_spec_field_is_rejected():
    with pytest.raises(FeatureSpecError, match="unknown feature spec fields: bogus"):
        FeatureSpec.from_dict({**SPEC.to_dict(), "bogus": 1})


def test_stereo_input_is_refused_with_a_hint():
    with pytest.raises(FeatureSpecError, match="mono"):
        extract_features(np.zeros((1000, 2)), SPEC)


def test_stats_standardize_training_frames():
    rng = np.random.default_rng(0)
    arrays = [rng.normal(5, 3, size=(n, 40)).astype(np.float32) for n in (100, 250, 37)]
    stats = FeatureStats.fit(arrays)
    z = stats.apply(np.concatenate(arrays))
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(z.std(axis=0), 1, atol=1e-4)
    assert FeatureStats.from_dict(stats.to_dict()).mean.tolist() == stats.mean.tolist()


def test_constant_feature_does_not_divide_by_zero():
    stats = FeatureStats.fit([np.ones((10, 3), dtype=np.float32)])
    assert np.isfinite(stats.apply(np.ones((2, 3), dtype=np.float32))).all()
