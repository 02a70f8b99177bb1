"""``sentio-analyze``: what it prints, and its exit codes."""

from __future__ import annotations

import json
import sys

import pytest
from sentio.export.cli.analyze import main

from tests.helpers import free_port, write_catalogue


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
