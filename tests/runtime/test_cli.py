"""``sentio-listen``: exit codes and messages, signals, output formats, the default model."""

import os
import re
import shutil
import signal
import subprocess
import sys

import pytest
import soundfile
from sentio.export.data.synthetic import synth_song
from sentio.runtime.cli import EXIT_DEVICE_UNAVAILABLE, main

from tests.helpers import read_json_lines, write_song


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    return write_song(tmp_path_factory.mktemp("audio") / "song.wav")


def test_listen_runs_with_no_model_argument(tmp_path, capsys):
    path = tmp_path / "clip.wav"
    soundfile.write(path, synth_song(0.5, 0.5, 14.0, 44100, seed=3), 44100)
    assert main(["--input", str(path)]) == 0
    lines = read_json_lines(capsys.readouterr().out)
    # 14 s = 699 complete frames: windows start at frames 0, 25, 50, 75 (hop 0.5 s)
    assert len(lines) == 4


def test_sigterm_stops_cleanly_with_a_stats_line(exported, song):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sentio.runtime.cli",
            "--model",
            str(exported / "bundle"),
            "--input",
            str(song),
            "--realtime",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    first = proc.stdout.readline()  # the first window (4 s of audio in real time)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert read_json_lines(first)[0]["t"] == pytest.approx(4.0)
    assert "windows over" in err and "overflows 0" in err


def _tamper(bundle, tmp_path):
    copy = tmp_path / "tampered"
    shutil.copytree(bundle, copy)
    with open(copy / "model_float32.tflite", "r+b") as fh:
        fh.seek(1000)
        fh.write(b"\xff\xff")
    return copy


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (lambda b, t: ["--model", str(_tamper(b, t)), "--input", "x.wav"], "sha256 mismatch"),
        (lambda b, t: ["--model", str(t), "--input", "x.wav"], "not a Sentio bundle"),
        (lambda b, t: ["--model", str(b), "--input", str(t / "none.wav")], "not found"),
        (lambda b, t: ["--model", str(b), "--input", str(_junk(t))], "cannot decode"),
        (lambda b, t: ["--model", str(b), "--artifact", "model.h5", "--input", "x"], "no runnable"),
        (lambda b, t: ["--model", str(b), "--hop", "0", "--input", "x"], "--hop must be"),
    ],
)
def test_bad_input_is_a_clear_error_exit_2(exported, tmp_path, make_args, message, capsys):
    assert main(make_args(exported / "bundle", tmp_path)) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def _junk(tmp_path):
    path = tmp_path / "junk.wav"
    path.write_bytes(b"RIFF....WAVEfmt not really")
    return path


def test_cli_exits_3_for_a_microphone_that_is_not_there(capsys):
    assert main(["--device", "no-such-microphone-xyz"]) == EXIT_DEVICE_UNAVAILABLE == 3
    # with no sound card: "no audio input device found"; with one: "no input device matches"
    assert re.search(r"no (audio )?input device", capsys.readouterr().err)


def test_cli_ui_refuses_a_pipe(tmp_path, capsys):
    assert main(["--input", str(tmp_path / "x.wav"), "--ui"]) == 2  # capsys: not a terminal
    assert "--ui draws on a terminal" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["none", "text"])
def test_format_none_and_text(tmp_path, fmt, capsys):
    song = write_song(tmp_path / "song.wav")
    assert main(["--input", str(song), "--hop", "2", "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert (out == "") if fmt == "none" else (len(out.splitlines()) == 3 and "#" in out)
