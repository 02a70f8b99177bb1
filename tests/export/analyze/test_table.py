"""The table on disk: written whole or not at all; a journal's torn last line is ignored."""

from __future__ import annotations

import json
import os

import pytest
from sentio.export.analyze import table
from sentio.export.analyze.table import JOURNAL, TABLE_CSV, load_done, write_tables

ROW = {
    "path": "/music/a.flac",
    "duration_s": 30.0,
    "windows": 37,
    "valence_mean": 0.1,
    "valence_std": 0.01,
    "arousal_mean": -0.2,
    "arousal_std": 0.02,
    "quadrant": "calm/content",
    "color": "#00ff00",
    "artifact": "model_dynamic.tflite",
    "bundle": "/b",
    "analysis_id": "abc",
    "sha256": "f" * 64,
    "size_bytes": 10,
    "mtime_ns": 5,
}


def test_a_failed_write_leaves_the_previous_table_and_no_temporary_file(tmp_path, monkeypatch):
    write_tables(tmp_path, [ROW])
    before = (tmp_path / TABLE_CSV).read_text()

    def full_disk(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(table.os, "replace", full_disk)
    with pytest.raises(OSError, match="No space"):
        write_tables(tmp_path, [ROW, {**ROW, "path": "/music/b.flac"}])
    assert (tmp_path / TABLE_CSV).read_text() == before
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_done_rows_come_from_the_table_and_the_journal_for_this_analysis_only(tmp_path):
    write_tables(tmp_path, [ROW])
    other = {**ROW, "sha256": "e" * 64, "path": "/music/b.flac"}
    foreign = {**ROW, "sha256": "d" * 64, "analysis_id": "another bundle"}
    nan = {**ROW, "sha256": "c" * 64, "valence_mean": float("nan")}
    lines = [json.dumps(r) for r in (other, foreign, nan)]
    (tmp_path / JOURNAL).write_text("\n".join(lines) + "\n" + json.dumps(ROW)[:30])
    done = load_done(tmp_path, "abc")
    assert sorted(done.by_sha) == ["e" * 64, "f" * 64]
    assert done.by_stat[("/music/a.flac", 10, 5)] == "f" * 64
