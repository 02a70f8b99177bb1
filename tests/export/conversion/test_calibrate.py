"""The calibration set: from training songs only, spread over quadrants and songs, holding the
features' extremes, saved with provenance and refused under another feature spec."""

import numpy as np
import pytest
from sentio.export.conversion.calibrate import draw_calibration, load_calibration
from sentio.export.data.datasets import Song
from sentio.export.data.windows import SongWindows
from sentio.runtime.emotion import quadrant
from sentio.runtime.errors import CalibrationError, FeatureSpecError

WINDOW = 50


def _songs(n_per_quadrant=6, frames=400, seed=0):
    rng = np.random.default_rng(seed)
    songs = []
    for q, (v, a) in enumerate(((0.5, 0.5), (-0.5, 0.5), (-0.5, -0.5), (0.5, -0.5))):
        for k in range(n_per_quadrant):
            song = Song(f"q{q}s{k}", None, v, a)
            data = rng.normal(0, 1, (frames, 6)).astype(np.float32)
            starts = np.arange(0, frames - WINDOW + 1, 25)
            songs.append(SongWindows(song, data, starts))
    return songs


def test_set_spreads_over_quadrants_and_songs():
    songs = _songs()
    cal = draw_calibration(songs, WINDOW, 48, "f" * 64)
    assert cal.windows.shape == (48, WINDOW, 6)
    quadrants = {quadrant(s.song.valence, s.song.arousal) for s in songs}
    assert set(cal.quadrants) == quadrants
    assert min(cal.quadrants.values()) >= 48 // 4 - 4  # about even, extremes aside
    assert len({song for song, _ in cal.picks}) == len(songs)  # every song contributes
    assert len(set(cal.picks)) == len(cal.picks)  # no window twice


def test_set_holds_each_features_extremes():
    songs = _songs()
    songs[5].frames[123, 2] = 40.0  # one loud outlier in one song
    songs[17].frames[301, 4] = -35.0
    cal = draw_calibration(songs, WINDOW, 48, "f" * 64)
    assert cal.windows[:, :, 2].max() == pytest.approx(40.0)
    assert cal.windows[:, :, 4].min() == pytest.approx(-35.0)
    assert cal.coverage == pytest.approx(1.0)


def test_windows_are_the_recorded_picks():
    songs = _songs()
    cal = draw_calibration(songs, WINDOW, 20, "f" * 64)
    by_id = {s.song.song_id: s for s in songs}
    for window, (song_id, start) in zip(cal.windows, cal.picks, strict=True):
        np.testing.assert_array_equal(window, by_id[song_id].frames[start : start + WINDOW])


def test_size_is_capped_by_the_windows_there_are():
    songs = _songs(n_per_quadrant=1, frames=100)
    cal = draw_calibration(songs, WINDOW, 1000, "f" * 64)
    assert len(cal) == sum(s.starts.size for s in songs)


def test_save_and_load_round_trip_and_spec_check(tmp_path):
    cal = draw_calibration(_songs(), WINDOW, 30, "a" * 64, seed=4)
    path = cal.save(tmp_path / "cal")
    loaded = load_calibration(path, "a" * 64)
    np.testing.assert_allclose(loaded.windows, cal.windows, atol=1e-2)  # float16 on disk
    assert loaded.picks == cal.picks
    assert loaded.provenance()["seed"] == 4
    with pytest.raises(FeatureSpecError, match="feature spec"):
        load_calibration(path, "b" * 64)


def test_bad_inputs_are_clear_errors(tmp_path):
    with pytest.raises(CalibrationError, match="no training windows"):
        draw_calibration([], WINDOW, 10, "f" * 64)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(CalibrationError, match="cannot read"):
        load_calibration(tmp_path / "junk.npz", "f" * 64)
