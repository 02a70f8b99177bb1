"""The 4Q reader: quadrant signs as labels, artists as groups, every unusable row counted."""

import math

import pytest
from sentio.export.data.labels import QUADRANT_SIGNS
from sentio.export.data.quadrants import load_4q
from sentio.runtime.errors import DatasetError

from tests.helpers import write_tone

HEADER = "Song,Quadrant,PQuad,Artist,Title,MoodsStr,GenresStr\n"


def make_4q_tree(root, rows, audio=(), header=HEADER):
    """annotations.csv from ``rows`` plus a short generated tone for each (quadrant, song)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "annotations.csv").write_text(header + "\n".join(rows) + "\n")
    for quadrant, song in audio:
        folder = root / "audio" / quadrant
        folder.mkdir(parents=True, exist_ok=True)
        write_tone(folder / f"{song}.ogg", seconds=0.5, freq=220.0 + 50 * len(song))
    return root


GOOD = [
    "MT1,Q1,0.8,Artist A,Happy,Cheerful,Pop",
    "MT2,Q2,0.5,Artist B,Angry,Hostile,Metal",
    "MT3,Q3,1,Artist A,Sad,Gloomy,Folk",
    "MT4,Q4,0.25,Artist C,Calm,Serene,Jazz",
]
GOOD_AUDIO = [("Q1", "MT1"), ("Q2", "MT2"), ("Q3", "MT3"), ("Q4", "MT4")]


def by_id(dataset):
    return {s.song_id: s for s in dataset.songs}


def test_labels_are_the_quadrant_signs_and_clips_keep_their_metadata(tmp_path):
    dataset = load_4q(make_4q_tree(tmp_path, GOOD, GOOD_AUDIO))
    songs = by_id(dataset)
    assert sorted(songs) == ["MT1", "MT2", "MT3", "MT4"]
    for n in range(1, 5):
        song = songs[f"MT{n}"]
        assert (song.valence, song.arousal) == QUADRANT_SIGNS[n]
        assert song.path == tmp_path / "audio" / f"Q{n}" / f"MT{n}.ogg"
    assert (songs["MT2"].valence, songs["MT2"].arousal) == (-1.0, 1.0)
    assert (songs["MT4"].valence, songs["MT4"].arousal) == (1.0, -1.0)
    clip = dataset.clips["MT1"]
    assert (clip.quadrant, clip.pquad, clip.artist, clip.title) == (1, 0.8, "Artist A", "Happy")
    assert dataset.quadrants() == [1, 2, 3, 4]
    assert len(dataset.skipped) == 0 and dataset.name == "4q"


def test_artist_is_the_group_so_splits_can_keep_an_artist_together(tmp_path):
    songs = by_id(load_4q(make_4q_tree(tmp_path, GOOD, GOOD_AUDIO)))
    assert songs["MT1"].group == songs["MT3"].group == "Artist A"
    assert songs["MT2"].group == "Artist B"


def test_bad_rows_are_skipped_and_counted_by_kind(tmp_path, caplog):
    rows = [
        *GOOD,
        "MT5,Q5,0.5,Artist D,Nowhere,,",  # unknown quadrant
        "MT6,happy,0.5,Artist D,Nowhere,,",  # unknown quadrant
        "MT7,Q1,0.5,Artist E,Lost,,",  # no audio file
        "MT1,Q3,0.5,Artist A,Again,,",  # listed twice (in another quadrant)
        "MT2,Q2,0.5,Artist B,Again,,",  # listed twice
    ]
    dataset = load_4q(make_4q_tree(tmp_path, rows, GOOD_AUDIO))
    assert sorted(by_id(dataset)) == ["MT1", "MT2", "MT3", "MT4"]
    assert by_id(dataset)["MT1"].valence == 1.0  # the first listing wins
    assert dataset.skipped.counts() == {
        "unknown quadrant": 2,
        "audio file missing": 1,
        "song listed twice": 2,
    }
    assert "5 item(s) skipped" in dataset.skipped.summary()
    assert "unknown quadrant 'Q5' for MT5 (expected Q1..Q4)" in caplog.text
    assert "no audio file audio/Q1/MT7.*" in caplog.text


def test_audio_in_the_wrong_quadrant_folder_counts_as_missing(tmp_path):
    dataset = load_4q(make_4q_tree(tmp_path, GOOD, [*GOOD_AUDIO[:3], ("Q1", "MT4")]))
    assert "MT4" not in by_id(dataset)
    assert dataset.skipped.counts() == {"audio file missing": 1}


def test_a_missing_artist_column_is_recorded_and_songs_become_their_own_groups(tmp_path):
    rows = ["MT1,Q1,0.8", "MT2,Q2,0.5"]
    dataset = load_4q(make_4q_tree(tmp_path, rows, GOOD_AUDIO[:2], header="Song,Quadrant,PQuad\n"))
    songs = by_id(dataset)
    assert [songs[k].group for k in ("MT1", "MT2")] == ["MT1", "MT2"]
    assert dataset.skipped.counts() == {"Artist column missing": 1}
    assert any("no Artist column" in note for note in dataset.notes)
    assert dataset.clips["MT1"].artist == ""


def test_unreadable_pquad_is_nan_not_a_skip(tmp_path):
    rows = ["MT1,Q1,n/a,Artist A,Happy,,", "MT2,Q2,1.5,Artist B,Angry,,"]
    dataset = load_4q(make_4q_tree(tmp_path, rows, GOOD_AUDIO[:2]))
    assert math.isnan(dataset.clips["MT1"].pquad) and math.isnan(dataset.clips["MT2"].pquad)
    assert len(dataset.skipped) == 0


def test_missing_annotations_or_required_columns_are_errors_with_hints(tmp_path):
    with pytest.raises(DatasetError, match=r"no annotations\.csv") as err:
        load_4q(tmp_path)
    assert "data.fourq" in err.value.hint
    make_4q_tree(tmp_path / "noquad", ["MT1,Artist A"], header="Song,Artist\n")
    with pytest.raises(DatasetError, match="lacks column"):
        load_4q(tmp_path / "noquad")
    make_4q_tree(tmp_path / "empty", [], header=HEADER)
    with pytest.raises(DatasetError, match="no rows"):
        load_4q(tmp_path / "empty")
