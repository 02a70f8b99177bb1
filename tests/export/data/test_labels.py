"""The GEMS -> valence/arousal mapping; quadrant names and signs."""

import pytest
from sentio.export.data.labels import QUADRANT_SIGNS, gems_to_valence_arousal, parse_quadrant


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


def test_quadrant_names():
    assert [parse_quadrant(t) for t in ("Q1", " q4 ", "Q0", "Q5", "1", "QQ", "")] == [
        1,
        4,
        None,
        None,
        None,
        None,
        None,
    ]


def test_quadrant_signs_follow_russell():
    assert QUADRANT_SIGNS == {1: (1.0, 1.0), 2: (-1.0, 1.0), 3: (-1.0, -1.0), 4: (1.0, -1.0)}


def test_center_valued_removes_each_valued_datasets_mean_and_leaves_signs():
    from sentio.export.data.datasets import Song
    from sentio.export.data.labels import center_valued

    songs = [
        Song("e1", None, 0.6, 0.2, dataset="emotify"),
        Song("e2", None, 0.2, -0.4, dataset="emotify"),
        Song("d1", None, -0.9, 0.9, dataset="deam"),
        Song("d2", None, -0.5, 0.5, dataset="deam"),
        Song("q1", None, 1.0, -1.0, sign_only=True, dataset="4q"),
    ]
    out = center_valued(songs)
    assert [s.song_id for s in out] == [s.song_id for s in songs]
    assert [round(s.valence, 6) for s in out[:4]] == [0.2, -0.2, -0.2, 0.2]
    assert [round(s.arousal, 6) for s in out[:2]] == [0.3, -0.3]
    assert (out[4].valence, out[4].arousal) == (1.0, -1.0)
    assert songs[0].valence == 0.6  # the input is not changed
