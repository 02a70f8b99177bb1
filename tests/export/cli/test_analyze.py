"""``sentio-analyze``: what it prints, and its exit codes; two runs on one ``--out``; a
bundle planted where the Ray path used to write it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from sentio.export.analyze.catalogue import AnalysisSettings
from sentio.export.analyze.table import JOURNAL, LOCK, TABLE_JSONL
from sentio.export.cli.analyze import main

from tests.helpers import free_port, wait_until, write_catalogue


def test_a_run_prints_the_summary_and_the_skips(tmp_path, capsys):
    write_catalogue(tmp_path / "music", songs=2)
    (tmp_path / "music" / "bad.wav").write_bytes(b"nope")
    listing = tmp_path / "list.txt"
    listing.write_text("music/album0/track00.flac\n")
    out = tmp_path / "out"
    code = main(["--list", str(listing), str(tmp_path / "music"), "--out", str(out), "--quiet"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "analysed 2 file(s)" in printed and "1 skipped" in printed
    assert "bad.wav: cannot decode" in printed
    assert json.loads((out / "summary.json").read_text())["analyzed"] == 2
    assert main([str(tmp_path / "music"), "--out", str(out), "--quiet", "--workers", "1"]) == 0
    assert "2 done by an earlier run" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "nothing to analyse"),
        (["{tmp}/nowhere"], "no such file or folder"),
        (["{tmp}", "--model", "{tmp}"], "not a Sentio bundle"),
        (["{tmp}", "--ray", "10.0.0.1:1", "--ray-cpus", "2"], "--ray-cpus sizes a local Ray"),
    ],
)
def test_bad_input_exits_2_with_the_reason(tmp_path, capsys, argv, message):
    write_catalogue(tmp_path, songs=1, seconds=1.0)
    argv = [a.format(tmp=tmp_path) for a in argv]
    assert main([*argv, "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert message in capsys.readouterr().err


def test_no_file_analysed_exits_1(tmp_path, capsys):
    (tmp_path / "bad.wav").write_bytes(b"nope")
    assert main([str(tmp_path), "--out", str(tmp_path / "out"), "--quiet"]) == 1


def test_a_catalogue_of_odd_entries_names_each_skip_and_never_hangs(tmp_path, capsys):
    music = tmp_path / "music"
    write_catalogue(music, songs=1, seconds=3.0)
    os.mkfifo(music / "pipe.wav")
    (music / "zero.wav").symlink_to("/dev/zero")
    (music / "loop.wav").symlink_to("loop.wav")
    (music / "gone.wav").symlink_to(tmp_path / "elsewhere" / "song.wav")
    assert main([str(music), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "analysed 1 file(s)" in printed and "4 skipped" in printed
    assert f"skipped {music / 'pipe.wav'}: a named pipe (FIFO)" in printed
    assert f"skipped {music / 'zero.wav'}: a character device" in printed
    assert f"skipped {music / 'loop.wav'}: a symlink loop" in printed
    assert f"skipped {music / 'gone.wav'}: a dangling symlink" in printed  # the entry's name
    # only entries that cannot be read: nothing analysed, exit 1 with the reasons written
    assert main([str(music / "pipe.wav"), "--out", str(tmp_path / "out2"), "--quiet"]) == 1
    summary = json.loads((tmp_path / "out2" / "summary.json").read_text())
    assert summary["skipped_files"][0]["path"] == str(music / "pipe.wav")


def test_a_full_disk_during_the_run_exits_2_and_the_rerun_resumes(tmp_path, capsys, monkeypatch):
    from sentio.export.analyze.table import Journal

    write_catalogue(tmp_path / "music", songs=2, seconds=3.0)
    real = Journal.append

    def full_after_one(self, row):
        if self.rows == 1:
            raise OSError(28, "No space left on device")
        real(self, row)

    monkeypatch.setattr(Journal, "append", full_after_one)
    argv = [str(tmp_path / "music"), "--out", str(tmp_path / "out"), "--quiet", "--workers", "1"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "error: cannot write the journal" in err and "No space left on device" in err
    assert "hint: free some space, then run the same command" in err and "Traceback" not in err
    monkeypatch.undo()
    assert main(argv) == 0
    assert "1 done by an earlier run" in capsys.readouterr().out


def test_ray_not_installed_names_the_extra(tmp_path, capsys, monkeypatch):
    write_catalogue(tmp_path / "music", songs=1)
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    assert main([str(tmp_path / "music"), "--ray", "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--ray needs Ray" in err and 'pip install "sentio-mer[ray]"' in err


def test_an_unreachable_cluster_exits_3_at_once(tmp_path, capsys):
    pytest.importorskip("ray")
    write_catalogue(tmp_path / "music", songs=1)
    address = f"127.0.0.1:{free_port()}"
    code = main([str(tmp_path / "music"), "--ray", address, "--out", str(tmp_path / "o")])
    assert code == 3
    assert f"no Ray cluster answers at {address}" in capsys.readouterr().err
    assert not (tmp_path / "o" / "analysis.csv").exists()


#: ``sentio-analyze ARGS`` in a child process, each file a second slower: a run that is
#: still going when the test starts another one on its folder.
SLOW_RUN = """
import sys, time
from sentio.export.analyze import run
from sentio.export.cli.analyze import main
real = run.analyze_or_skip
def slow(path, model, settings):
    time.sleep(1.0)
    return real(path, model, settings)
run.analyze_or_skip = slow
sys.argv = ["sentio-analyze", *sys.argv[1:]]
sys.exit(main(sys.argv[1:]))
"""


def test_two_runs_on_one_out_the_second_exits_2_naming_the_first_and_no_row_is_lost(
    tmp_path, capsys
):
    first_music, second_music, out = tmp_path / "first", tmp_path / "second", tmp_path / "out"
    write_catalogue(first_music, songs=3, seconds=12.0)
    write_catalogue(second_music, songs=2, seconds=12.0)
    args = [str(first_music), "--out", str(out), "--workers", "1", "--quiet"]
    first = subprocess.Popen(
        [sys.executable, "-c", SLOW_RUN, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        lock = out / LOCK
        wait_until(lambda: lock.is_file() and '"pid"' in lock.read_text(), 90, "the first run")
        second = [str(second_music), "--out", str(out), "--workers", "1", "--quiet"]
        assert main(second) == 2
        err = capsys.readouterr().err
        assert f"error: --out {out} is in use by another sentio-analyze run: pid {first.pid}" in err
        assert f"command: sentio-analyze {' '.join(args)}" in err
        assert "hint: wait for it to finish (or stop it), or pass another --out" in err
        assert (out / JOURNAL).exists()  # the first run's journal is untouched
        _, first_err = first.communicate(timeout=120)
    finally:
        first.kill()
        first.wait()
    assert first.returncode == 0, first_err
    assert not lock.exists()
    assert main(second) == 0  # now the folder is free: both catalogues in one table
    rows = [json.loads(line) for line in (out / TABLE_JSONL).read_text().splitlines()]
    assert sorted(Path(r["path"]).relative_to(tmp_path).parts[0] for r in rows) == [
        "first", "first", "first", "second", "second",
    ]  # fmt: skip
    assert "5 rows: 2 of this catalogue, 3 kept from earlier runs" in capsys.readouterr().out


def test_on_ray_a_bundle_planted_in_the_shared_temp_folder_changes_nothing(tmp_path, monkeypatch):
    pytest.importorskip("ray")
    from sentio.export.analyze.catalogue import identify_bundle, load_model

    # the temporary folder Ray's workers inherit; short: Ray's sockets live under it
    shared = Path(tempfile.mkdtemp(prefix="sentio-t-", dir="/tmp"))
    try:
        monkeypatch.setenv("TMPDIR", str(shared))
        monkeypatch.setattr(tempfile, "tempdir", None)
        model = load_model(AnalysisSettings())
        identity = identify_bundle(AnalysisSettings(), model)
        planted = shared / "sentio-bundles" / identity.analysis_id  # another user's, first
        shutil.copytree(model.path, planted)
        manifest = json.loads((planted / "sentio.json").read_text())
        manifest["normalization"]["mean"] = [m + 3.0 for m in manifest["normalization"]["mean"]]
        (planted / "sentio.json").write_text(json.dumps(manifest))
        write_catalogue(tmp_path / "music", songs=2, seconds=12.0)
        music = str(tmp_path / "music")
        assert main([music, "--out", str(tmp_path / "one"), "--workers", "1", "--quiet"]) == 0
        on_ray = [music, "--ray", "--ray-cpus", "1", "--out", str(tmp_path / "ray"), "--quiet"]
        assert main(on_ray) == 0
        assert (tmp_path / "ray" / TABLE_JSONL).read_bytes() == (
            tmp_path / "one" / TABLE_JSONL
        ).read_bytes()
        assert not list(shared.glob("sentio-bundle-*"))  # each worker removed its copy
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def _children(pid: int) -> list[int]:
    """The pids whose parent is ``pid`` (from /proc)."""
    found = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat_file.parent.name))
    return found


def _gone(pid: int) -> bool:
    """Whether ``pid`` has ended (a zombie nobody has reaped yet counts as ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in "ZX"
    except OSError:
        return True


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_pool_workers_die_with_a_killed_run(tmp_path):
    write_catalogue(tmp_path / "music", songs=6, seconds=30.0)
    run = subprocess.Popen(
        [sys.executable, "-m", "sentio.export.cli.analyze", str(tmp_path / "music"),
         "--out", str(tmp_path / "out"), "--workers", "2", "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    workers: list[int] = []
    try:
        wait_until(lambda: len(_children(run.pid)) >= 2, 60, "the pool's two workers")
        workers = _children(run.pid)
        run.kill()  # SIGKILL: no handler, no clean-up in the parent
        run.wait()
        wait_until(lambda: all(_gone(pid) for pid in workers), 5, "the workers to end")
    finally:
        run.kill()
        run.wait()
        for pid in workers:  # a failed test leaves no orphans behind
            if not _gone(pid):
                os.kill(pid, signal.SIGKILL)
