"""The spec dispatch: a manifest's ``feature_spec`` -> the spec of the kind it names."""

import json

import pytest
from sentio.runtime.errors import FeatureSpecError
from sentio.runtime.feature_specs import feature_spec_from_dict
from sentio.runtime.features import FeatureSpec
from sentio.runtime.mixed_features import MixedFeatureSpec

SPEC = MixedFeatureSpec()
BINS = MixedFeatureSpec(n_mfcc=20, chroma_dft=False, onset=False)


def test_spec_round_trips_through_json_and_dispatches_by_algorithm():
    data = json.loads(json.dumps(BINS.to_dict()))
    assert data["algorithm"] == "sentio-mix/1"
    assert feature_spec_from_dict(data) == BINS
    assert feature_spec_from_dict(FeatureSpec().to_dict()) == FeatureSpec()
    assert BINS.fingerprint() != SPEC.fingerprint() != FeatureSpec().fingerprint()


def test_unknown_algorithm_and_fields_are_clear_errors():
    with pytest.raises(FeatureSpecError, match="unknown feature algorithm 'sentio-mel/9'") as e:
        feature_spec_from_dict({"algorithm": "sentio-mel/9"})
    assert "newer Sentio" in e.value.hint
    with pytest.raises(FeatureSpecError, match="unknown feature spec fields: n_bogus"):
        feature_spec_from_dict({"algorithm": "sentio-mix/1", "n_bogus": 1})
