"""A catalogue run: the table, resuming (by content and bundle), an interrupted run, a worker
process that dies, and a process pool that writes what one process writes."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
from sentio.export.analyze import run as run_module
from sentio.export.analyze.catalogue import AnalysisSettings
from sentio.export.analyze.run import AnalyzeConfig, analyze_catalogue
from sentio.export.analyze.table import COLUMNS, JOURNAL, SUMMARY, TABLE_CSV, TABLE_JSONL
from sentio.runtime.errors import BundleError, ConfigError

from tests.helpers import pool_task_dying_on_track01, write_catalogue


@pytest.fixture
def music(tmp_path) -> Path:
    folder = tmp_path / "music"
    write_catalogue(folder, songs=4)
    (folder / "broken.wav").write_bytes(b"RIFF....WAVEfmt garbage")
    return folder


def config(music: Path, out: Path, **changes) -> AnalyzeConfig:
    values = {"workers": 1, "progress": False, **changes}
    return AnalyzeConfig((music,), out, **values)


def test_a_run_writes_one_row_per_file_and_a_summary(music, tmp_path):
    out = tmp_path / "out"
    result = analyze_catalogue(config(music, out))
    assert (result.files, result.analyzed, result.resumed) == (5, 4, 0)
    assert [Path(p).name for p, _ in result.skipped] == ["broken.wav"]
    with open(out / TABLE_CSV) as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == COLUMNS
    assert [Path(r["path"]).name for r in rows] == [
        "track00.flac",
        "track02.flac",
        "track01.wav",
        "track03.wav",
    ]
    lines = (out / TABLE_JSONL).read_text().splitlines()
    assert [json.loads(line)["path"] for line in lines] == [r["path"] for r in rows]
    summary = json.loads((out / SUMMARY).read_text())
    assert summary["skipped"] == 1 and "cannot decode" in summary["skipped_files"][0]["reason"]
    assert summary["analysis_id"] == rows[0]["analysis_id"]
    assert not (out / JOURNAL).exists()
    assert sorted(p.name for p in out.iterdir()) == sorted([TABLE_CSV, TABLE_JSONL, SUMMARY])


def test_a_rerun_resumes_by_content_and_bundle(music, tmp_path):
    out = tmp_path / "out"
    first = analyze_catalogue(config(music, out))
    again = analyze_catalogue(config(music, out))
    assert (again.analyzed, again.resumed) == (0, 4)
    assert again.rows == first.rows
    # moved and touched: the same content is still done, under its new path
    moved = music / "album0" / "renamed.flac"
    os.rename(music / "album0" / "track00.flac", moved)
    os.utime(moved, ns=(1, 1))
    after_move = analyze_catalogue(config(music, out))
    assert (after_move.analyzed, after_move.resumed) == (0, 4)
    assert str(moved) in [r["path"] for r in after_move.rows]
    # another hop is another analysis: everything again
    other = analyze_catalogue(config(music, out, settings=AnalysisSettings(hop_s=1.0)))
    assert (other.analyzed, other.resumed) == (4, 0)


def test_an_interrupted_run_keeps_what_it_finished_and_the_rerun_completes(
    music, tmp_path, monkeypatch
):
    out = tmp_path / "out"
    real = run_module.analyze_or_skip
    calls = []

    def stop_at_the_third(path, model, settings):
        calls.append(path)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(path, model, settings)

    monkeypatch.setattr(run_module, "analyze_or_skip", stop_at_the_third)
    with pytest.raises(KeyboardInterrupt):
        analyze_catalogue(config(music, out))
    assert not (out / TABLE_CSV).exists()  # nothing half: no table until every file was tried
    journal = (out / JOURNAL).read_text().splitlines()
    assert len(journal) == 2
    with open(out / JOURNAL, "a") as fh:  # a crash mid-line leaves a torn last row
        fh.write(journal[0][:40])
    monkeypatch.setattr(run_module, "analyze_or_skip", real)
    result = analyze_catalogue(config(music, out))
    assert (result.resumed, result.analyzed, len(result.rows)) == (2, 2, 4)
    assert not (out / JOURNAL).exists()


def test_a_pool_writes_what_one_process_writes(music, tmp_path):
    one = analyze_catalogue(config(music, tmp_path / "one"))
    pool = analyze_catalogue(config(music, tmp_path / "pool", workers=2))
    assert pool.backend == "2 processes"
    assert (tmp_path / "pool" / TABLE_JSONL).read_bytes() == (
        tmp_path / "one" / TABLE_JSONL
    ).read_bytes()
    assert pool.skipped == one.skipped


def test_a_pool_worker_that_dies_leaves_the_rest_for_the_rerun(music, tmp_path, monkeypatch):
    out = tmp_path / "out"
    monkeypatch.setattr(run_module, "_pool_task", pool_task_dying_on_track01)
    first = analyze_catalogue(config(music, out, workers=2))
    lost = [p for p, reason in first.skipped if "worker process died" in reason]
    assert any(p.endswith("track01.wav") for p in lost)  # and the files not done by then
    assert len(first.rows) + len(first.skipped) == first.files
    monkeypatch.undo()
    second = analyze_catalogue(config(music, out, workers=2))
    assert len(second.rows) == 4 and second.resumed == len(first.rows)


def test_no_audio_and_a_bad_bundle_are_refused_before_any_work(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no audio files"):
        analyze_catalogue(config(tmp_path / "empty", tmp_path / "out"))
    write_catalogue(tmp_path / "music", songs=1, seconds=1.0)
    (tmp_path / "not-a-bundle").mkdir()
    settings = AnalysisSettings(bundle=tmp_path / "not-a-bundle")
    with pytest.raises(BundleError):
        analyze_catalogue(config(tmp_path / "music", tmp_path / "out", settings=settings))
    assert not (tmp_path / "out").exists()


def test_a_full_disk_at_the_end_keeps_the_journal(music, tmp_path, monkeypatch):
    out = tmp_path / "out"

    def full_disk(out_dir, rows):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(run_module, "write_tables", full_disk)
    with pytest.raises(ConfigError, match="cannot write the results"):
        analyze_catalogue(config(music, out))
    assert len((out / JOURNAL).read_text().splitlines()) == 4
    monkeypatch.undo()
    result = analyze_catalogue(config(music, out))
    assert (result.resumed, result.analyzed) == (4, 0)
