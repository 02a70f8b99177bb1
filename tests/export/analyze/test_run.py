"""A catalogue run: the table, resuming (by content and bundle), an interrupted run, a worker
process that dies, a process pool that writes what one process writes, a second catalogue
merged into the same table, and the bundle a Ray task writes (private, verified)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import stat
import tempfile
import types
from pathlib import Path

import pytest
from sentio.export.analyze import run as run_module
from sentio.export.analyze.catalogue import (
    AnalysisSettings,
    analyze_file,
    identify_bundle,
    load_model,
)
from sentio.export.analyze.run import AnalyzeConfig, analyze_catalogue, bundle_shipment
from sentio.export.analyze.table import (
    COLUMNS,
    JOURNAL,
    SUMMARY,
    TABLE_CSV,
    TABLE_JSONL,
    Journal,
)
from sentio.runtime.errors import BundleError, ConfigError
from sentio.runtime.manifest import MANIFEST_NAME, sha256_file
from sentio.runtime.model import BundleModel

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


def test_a_disk_that_fills_during_the_run_keeps_the_rows_written_and_resumes(
    music, tmp_path, monkeypatch
):
    out = tmp_path / "out"
    real = Journal.append

    def fills_at_the_third_row(self, row):
        if self.rows == 2:  # half a line reaches the disk, then it is full
            self._fh.write(json.dumps(row)[:30].encode())
            self._fh.flush()
            raise OSError(28, "No space left on device")
        real(self, row)

    monkeypatch.setattr(Journal, "append", fills_at_the_third_row)
    with pytest.raises(ConfigError, match="No space left on device") as caught:
        analyze_catalogue(config(music, out))
    assert "the 2 file(s) finished before are kept" in caught.value.message
    assert "run the same command" in caught.value.hint
    assert not (out / TABLE_CSV).exists()
    monkeypatch.undo()
    result = analyze_catalogue(config(music, out))  # the torn row is ended, never glued on
    assert (result.resumed, result.analyzed, len(result.rows)) == (2, 2, 4)


def test_entries_that_are_not_regular_files_are_counted_in_the_summary(music, tmp_path):
    os.mkfifo(music / "pipe.wav")
    (music / "loop.flac").symlink_to("loop.flac")
    (music / "gone.wav").symlink_to(tmp_path / "deleted.wav")
    out = tmp_path / "out"
    result = analyze_catalogue(config(music, out, workers=2))
    assert (result.files, len(result.rows)) == (5, 4)
    summary = json.loads((out / SUMMARY).read_text())
    assert summary["skipped"] == 4
    reasons = {Path(s["path"]).name: s["reason"] for s in summary["skipped_files"]}
    assert reasons["pipe.wav"] == "a named pipe (FIFO), not a regular file: not opened"
    assert reasons["loop.flac"] == "a symlink loop"
    assert reasons["gone.wav"].startswith("a dangling symlink")
    assert "cannot decode" in reasons["broken.wav"]


def test_a_second_catalogue_into_the_same_out_keeps_the_first_ones_rows(music, tmp_path):
    out = tmp_path / "out"
    first = analyze_catalogue(config(music, out))
    other = tmp_path / "other"
    write_catalogue(other, songs=2, seconds=12.0)
    shutil.copy(music / "album0" / "track00.flac", other / "copy.flac")
    second = analyze_catalogue(config(other, out))
    assert (second.analyzed, second.resumed) == (2, 1)  # the copy's content was done already
    assert (second.kept, second.table_rows) == (4, 7)
    table = [json.loads(line) for line in (out / TABLE_JSONL).read_text().splitlines()]
    by_path = {row["path"]: row for row in table}
    assert len(by_path) == 7 and {r["path"] for r in first.rows} <= set(by_path)
    assert [by_path[r["path"]] for r in first.rows] == first.rows
    assert json.loads((out / SUMMARY).read_text())["kept_from_earlier_runs"] == 4
    with open(out / TABLE_CSV) as fh:
        assert len(list(csv.DictReader(fh))) == 7
    # the first catalogue again: its rows are resumed, the second's kept
    again = analyze_catalogue(config(music, out))
    assert (again.analyzed, again.resumed, again.kept, again.table_rows) == (0, 4, 3, 7)


def test_an_interrupted_run_of_another_analysis_is_kept_in_the_table(music, tmp_path):
    out = tmp_path / "out"
    analyze_catalogue(config(music, out))
    cut = json.loads((out / TABLE_JSONL).read_text().splitlines()[0])
    cut.update(path=str(tmp_path / "elsewhere.flac"), sha256="0" * 64, analysis_id="other hop")
    (out / JOURNAL).write_text(json.dumps(cut) + "\n")  # what a cut run on other files left
    result = analyze_catalogue(config(music, out))
    assert (result.kept, result.table_rows) == (1, 5)
    assert cut in [json.loads(line) for line in (out / TABLE_JSONL).read_text().splitlines()]


# ----------------------------------------------------------------------------- Ray, no cluster


@pytest.fixture
def ray_task(monkeypatch, tmp_path):
    """``ray_analyze`` as a Ray worker runs it, in this process: a temporary folder of its
    own (``tempfile.gettempdir()``), no model loaded yet, a node id without a cluster."""
    ray = pytest.importorskip("ray")
    shared_tmp = tmp_path / "tmp"
    shared_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(shared_tmp))
    monkeypatch.setattr(run_module, "_ray_models", {})
    node = types.SimpleNamespace(get_node_id=lambda: "0123456789abcdef")
    monkeypatch.setattr(ray, "get_runtime_context", lambda: node)
    return shared_tmp


def _shipment():
    settings = AnalysisSettings()
    model = load_model(settings)
    identity = identify_bundle(settings, model)
    return model, identity, bundle_shipment(model, identity)


def test_a_bundle_planted_at_the_old_shared_temp_path_changes_nothing(ray_task, music):
    model, identity, shipment = _shipment()
    # another local user makes the folder the bundle used to be written to, first: the
    # default model with a shifted normalization mean (every sha256 in it still matches)
    planted = ray_task / "sentio-bundles" / identity.analysis_id
    shutil.copytree(model.path, planted)
    manifest = json.loads((planted / MANIFEST_NAME).read_text())
    manifest["normalization"]["mean"] = [m + 3.0 for m in manifest["normalization"]["mean"]]
    (planted / MANIFEST_NAME).write_text(json.dumps(manifest))
    track = str(music / "album0" / "track00.flac")
    settings = AnalysisSettings(artifact=model.artifact)
    steered = analyze_file(Path(track), BundleModel(planted, model.artifact), settings)
    expected = analyze_file(Path(track), model, settings)
    assert steered["valence_mean"] != expected["valence_mean"]  # the plant would steer it
    status, row, node = run_module.ray_analyze(track, shipment, settings)
    assert (status, node) == ("ok", "01234567")
    assert row == expected
    assert not [p for p in ray_task.iterdir() if p.name != "sentio-bundles"]  # cleaned up


def test_a_shipped_bundle_is_written_private_and_verified(ray_task, monkeypatch):
    model, identity, shipment = _shipment()
    folder = run_module._materialize(shipment)
    try:
        assert folder.parent == ray_task and folder.name != identity.analysis_id
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {0o600}
        assert sorted(p.name for p in folder.iterdir()) == sorted(shipment["files"])
        assert sha256_file(folder / MANIFEST_NAME) == shipment["manifest_sha256"]
    finally:
        shutil.rmtree(folder)
    # a manifest that is not the one the driver sent
    files = dict(shipment["files"])
    files[MANIFEST_NAME] = files[MANIFEST_NAME].replace(b'"mean"', b'"mean" ', 1)
    with pytest.raises(BundleError, match="not the one the driver sent"):
        run_module._materialize({**shipment, "files": files})
    # a model file changed on the way: its sha256 in the manifest catches it
    files = dict(shipment["files"])
    artifact = bytearray(files[model.artifact])
    artifact[len(artifact) // 2] ^= 0xFF
    files[model.artifact] = bytes(artifact)
    settings = AnalysisSettings(artifact=model.artifact)
    with pytest.raises(BundleError, match="sha256 mismatch"):
        run_module._load_shipment({**shipment, "files": files}, settings)
    status, reason, _ = run_module.ray_analyze("x.wav", {**shipment, "files": files}, settings)
    assert status == "skip" and "sha256 mismatch" in reason
    assert list(ray_task.iterdir()) == []  # nothing left behind
