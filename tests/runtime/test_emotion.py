"""Quadrants, the JSON schema's rounding, and smoothing that never freezes or turns NaN."""

import math

import pytest
from sentio.runtime.emotion import Smoother, quadrant
from sentio.runtime.errors import ConfigError

from tests.helpers import fake_prediction


def test_quadrants():
    assert quadrant(0.5, 0.5) == "happy/excited"
    assert quadrant(-0.5, 0.5) == "tense/angry"
    assert quadrant(-0.5, -0.5) == "sad/depressed"
    assert quadrant(0.5, -0.5) == "calm/content"


def test_smoothing_weighs_new_values_by_the_time_constant():
    smooth = Smoother(2.0, 0.5)
    assert smooth(1.0, -1.0) == (1.0, -1.0)
    alpha = 1 - math.exp(-0.5 / 2.0)
    assert smooth(0.0, 0.0) == pytest.approx((1 - alpha, -(1 - alpha)))
    assert Smoother(0.0, 0.5)(0.3, 0.4) == (0.3, 0.4)  # off


@pytest.mark.parametrize(
    ("tau", "hop"), [(math.inf, 0.5), (math.nan, 0.5), (1.0, math.nan), (1.0, 0.0)]
)
def test_smoothing_that_would_freeze_or_turn_nan_is_refused(tau, hop):
    # tau inf: alpha 0, the output never moved again; nan: every value NaN
    with pytest.raises(ConfigError, match="finite time constant"):
        Smoother(tau, hop)


def test_prediction_dict_rounds_floats_only():
    d = fake_prediction(12.123456789).to_dict()
    assert d["t"] == 12.12346 and d["clipped"] == 0 and d["silent"] is False
