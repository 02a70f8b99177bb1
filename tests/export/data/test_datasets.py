"""Dataset readers: DEAM, Emotify and manifest CSVs, with their skips and errors."""

import pytest
from sentio.export.data.datasets import load_deam, load_emotify, load_manifest_csv
from sentio.export.data.labels import LabelScale
from sentio.runtime.errors import DatasetError, LabelScaleError

from tests.helpers import make_deam_tree, make_emotify_tree, write_tone


def by_id(dataset):
    return {s.song_id: s for s in dataset.songs}


def test_deam_swap_is_corrected_for_ids_up_to_1000(tmp_path, caplog):
    caplog.set_level("INFO")
    songs = by_id(load_deam(make_deam_tree(tmp_path)))
    # row "2,3.1,...,7": published valence 3.1 / arousal 7 are really arousal 3.1 / valence 7
    assert songs["2"].valence == pytest.approx((7 - 5) / 4)
    assert songs["2"].arousal == pytest.approx((3.1 - 5) / 4)
    # ids above 1000 are taken as published
    assert songs["1001"].valence == pytest.approx(0.75) and songs["1001"].arousal == pytest.approx(
        -0.75
    )
    assert songs["2001"].valence == pytest.approx((6.4 - 5) / 4)
    assert "corrected DEAM's valence/arousal column swap for 2 song(s)" in caplog.text


def test_deam_swap_fix_can_be_turned_off(tmp_path):
    songs = by_id(load_deam(make_deam_tree(tmp_path), fix_swap=False))
    assert songs["2"].valence == pytest.approx((3.1 - 5) / 4)


def test_deam_bad_rows_are_skipped_counted_and_listed(tmp_path):
    dataset = load_deam(make_deam_tree(tmp_path))
    assert sorted(by_id(dataset)) == ["1001", "2", "2001"]
    counts = dataset.skipped.counts()
    assert counts == {"label is NaN": 1, "audio file missing": 1}
    assert "2 item(s) skipped" in dataset.skipped.summary()


def test_deam_label_off_scale_names_file_and_row(tmp_path):
    csv = "song_id, valence_mean, valence_std, arousal_mean, arousal_std\n2,3.1,0.9,12,0.6\n"
    with pytest.raises(
        LabelScaleError, match=r"static_annotations_averaged_songs_1_2000.csv row 2"
    ):
        load_deam(make_deam_tree(tmp_path, csv))


def test_deam_without_annotations_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetError, match="no song-level annotations") as info:
        load_deam(tmp_path)
    assert "DEAM_Annotations" in info.value.hint


def test_emotify_gems_mapping_and_skips(tmp_path):
    dataset = load_emotify(make_emotify_tree(tmp_path))
    songs = by_id(dataset)
    assert sorted(songs) == ["1", "101", "102"]
    assert (songs["1"].valence, songs["1"].arousal) == (1.0, 1.0)
    assert (songs["101"].valence, songs["101"].arousal) == (-1.0, -1.0)
    assert songs["102"].valence == pytest.approx(-0.5 / 1.5) and songs["102"].arousal == 0.0
    assert songs["101"].group == "rock"
    assert dataset.skipped.counts() == {"a GEMS column is not 0 or 1": 1, "audio file missing": 1}


def test_manifest_with_declared_scale_and_bad_rows(tmp_path):
    write_tone(tmp_path / "a.wav")
    (tmp_path / "sub").mkdir()
    write_tone(tmp_path / "sub" / "b.flac")
    (tmp_path / "m.csv").write_text(
        "path,valence,arousal\na.wav,9,1\nsub/b.flac,5,5\nmissing.wav,5,5\na2.wav,,3\n"
    )
    dataset = load_manifest_csv(tmp_path / "m.csv", LabelScale(1, 9))
    songs = by_id(dataset)
    assert (songs["a.wav"].valence, songs["a.wav"].arousal) == (1.0, -1.0)
    assert (songs["sub/b.flac"].valence, songs["sub/b.flac"].arousal) == (0.0, 0.0)
    assert dataset.skipped.counts() == {"label not a number": 1, "audio file missing": 1}


def test_manifest_label_off_scale_is_an_error_with_the_row(tmp_path):
    (tmp_path / "m.csv").write_text("path,valence,arousal\na.wav,0.5,0.5\nb.wav,7,0.1\n")
    with pytest.raises(
        LabelScaleError, match=r"m.csv row 3: label 7 is outside the declared scale -1..1"
    ):
        load_manifest_csv(tmp_path / "m.csv")


def test_manifest_without_required_columns(tmp_path):
    (tmp_path / "m.csv").write_text("file,v,a\nx.wav,0,0\n")
    with pytest.raises(DatasetError, match="lacks column"):
        load_manifest_csv(tmp_path / "m.csv")
