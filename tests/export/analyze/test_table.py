"""The table on disk: written whole or not at all; a journal's torn last line is ignored; a
run's rows merge with the folder's earlier rows; one run at a time holds the folder."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sentio.export.analyze import table
from sentio.export.analyze.table import (
    JOURNAL,
    LOCK,
    TABLE_CSV,
    folder_lock,
    load_done,
    merge_rows,
    write_tables,
)
from sentio.runtime.errors import OutputBusyError

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


def test_a_merge_keeps_other_files_rows_and_replaces_what_this_run_redid(tmp_path):
    def file_row(name: str, sha: str, **changes) -> dict:
        path = tmp_path / name
        if not path.exists():
            path.write_bytes(sha.encode())
        stat = path.stat()
        size, mtime = stat.st_size, stat.st_mtime_ns
        return {**ROW, "path": str(path), "sha256": sha * 64, "size_bytes": size,
                "mtime_ns": mtime, **changes}  # fmt: skip

    other_catalogue = file_row("other.flac", "a")
    redone = file_row("redone.flac", "b", analysis_id="older hop")
    skipped_unchanged = file_row("flaky.flac", "c")
    skipped_changed = file_row("changed.flac", "d", size_bytes=999)
    moved = {**ROW, "path": str(tmp_path / "gone.flac"), "sha256": "e" * 64}
    unmounted = {**ROW, "path": "/mnt/offline/x.flac", "sha256": "f" * 64}
    copy = file_row("copy.flac", "9")
    earlier = [other_catalogue, redone, skipped_unchanged, skipped_changed, moved, unmounted, copy]
    new = [
        file_row("redone.flac", "b"),
        file_row("moved-here.flac", "e"),
        file_row("copy2.flac", "9"),
    ]
    found = [r["path"] for r in new] + [skipped_unchanged["path"], skipped_changed["path"]]
    merged, kept = merge_rows(earlier, new, found)
    assert kept == 4
    assert merged == sorted(
        [*new, other_catalogue, skipped_unchanged, unmounted, copy], key=lambda r: r["path"]
    )
    assert merge_rows([], new, found) == (sorted(new, key=lambda r: r["path"]), 0)


def _hold_the_lock(folder: str, ready, release) -> None:
    import sys

    sys.argv = ["sentio-analyze", "music", "--out", folder]
    with folder_lock(Path(folder)):
        ready.set()
        release.wait(30)


def test_the_folder_lock_is_exclusive_across_processes_and_names_its_holder(tmp_path):
    context = multiprocessing.get_context("spawn")
    ready, release = context.Event(), context.Event()
    holder = context.Process(target=_hold_the_lock, args=(str(tmp_path), ready, release))
    holder.start()
    try:
        assert ready.wait(60), "the child never took the lock"
        with pytest.raises(OutputBusyError) as caught, folder_lock(tmp_path):
            pass
        message = str(caught.value)
        assert f"--out {tmp_path} is in use by another sentio-analyze run" in message
        assert f"pid {holder.pid} on " in message
        assert f"command: sentio-analyze music --out {tmp_path}" in message
        assert "pass another --out" in caught.value.hint
    finally:
        release.set()
        holder.join(30)
    with folder_lock(tmp_path) as lock:  # free once its holder is done
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    assert not (tmp_path / LOCK).exists()


def test_a_lock_left_by_a_killed_run_does_not_block_the_next(tmp_path):
    holder = subprocess.Popen(  # takes the lock, then is SIGKILLed while holding it
        [sys.executable, "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'w'); "
         "fcntl.flock(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(60)",
         str(tmp_path / LOCK)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(OutputBusyError, match="one that is starting"), folder_lock(tmp_path):
        pass
    holder.kill()
    holder.wait()
    with folder_lock(tmp_path):
        pass
