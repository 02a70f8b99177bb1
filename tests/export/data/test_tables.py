"""Reading a dataset's files: CSV rows, required columns, audio by stem."""

from pathlib import Path

import pytest
from sentio.export.data.tables import AUDIO_EXTENSIONS, find_audio, read_csv, require_columns
from sentio.runtime.errors import DatasetError


def test_rows_have_stripped_names_and_line_numbers_and_skip_blank_lines(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("\ufeff id , value\n1, 0.5\n\n, \n2,-1\n", encoding="utf-8")
    assert list(read_csv(path)) == [
        (2, {"id": "1", "value": "0.5"}),
        (5, {"id": "2", "value": "-1"}),
    ]


@pytest.mark.parametrize("content", [b"", b"\xff\xfe\x00bad"])
def test_empty_or_unreadable_csv_is_a_dataset_error(tmp_path, content):
    path = tmp_path / "a.csv"
    path.write_bytes(content)
    with pytest.raises(DatasetError, match=r"a\.csv"):
        list(read_csv(path))
    with pytest.raises(DatasetError, match="cannot read"):
        list(read_csv(tmp_path / "missing.csv"))


def test_missing_columns_are_named():
    with pytest.raises(DatasetError, match=r"lacks column\(s\) path, quadrant \(has: id\)"):
        require_columns(Path("x.csv"), {"id": "1"}, ("id", "path", "quadrant"))
    require_columns(Path("x.csv"), {"id": "1"}, ("id",))


def test_audio_is_found_by_stem_in_extension_order(tmp_path):
    assert find_audio(tmp_path, "song") is None
    (tmp_path / "song.mp3").write_bytes(b"")
    (tmp_path / "song.flac").write_bytes(b"")
    assert find_audio(tmp_path, "song") == tmp_path / "song.flac"
    assert AUDIO_EXTENSIONS.index(".flac") < AUDIO_EXTENSIONS.index(".mp3")
