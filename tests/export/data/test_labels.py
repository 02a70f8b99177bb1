"""The GEMS -> valence/arousal mapping."""

import pytest
from sentio.export.data.labels import gems_to_valence_arousal


def test_gems_mapping_is_bounded_and_ignores_tick_count():
    one = gems_to_valence_arousal({"power": 0.5, "tenderness": 0.25})
    doubled = gems_to_valence_arousal({"power": 1.0, "tenderness": 0.5})
    assert one == pytest.approx(doubled)
    assert gems_to_valence_arousal({}) is None
    for shares in (
        {"tension": 1.0},
        {"calmness": 0.3, "amazement": 0.9},
        {"solemnity": 1, "sadness": 1},
    ):
        v, a = gems_to_valence_arousal(shares)
        assert -1 <= v <= 1 and -1 <= a <= 1
