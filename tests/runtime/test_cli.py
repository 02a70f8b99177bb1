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

from tests.helpers import WHOLE_WINDOWS, as_another_user, read_json_lines, world_dir, write_song


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    return write_song(tmp_path_factory.mktemp("audio") / "song.wav")


def test_listen_runs_with_no_model_argument(tmp_path, capsys):
    path = tmp_path / "clip.wav"
    soundfile.write(path, synth_song(0.5, 0.5, 14.0, 44100, seed=3), 44100)
    assert main(["--input", str(path)]) == 0
    lines = read_json_lines(capsys.readouterr().out)
    # 14 s = 699 complete frames: partial estimates end at frames 150, 175, .., 575 (3 s on,
    # hop 0.5 s), whole windows at 600, 625, 650, 675
    assert len(lines) == 22
    assert [line["partial"] for line in lines] == [True] * 18 + [False] * 4
    assert lines[0]["t"] == lines[0]["window_s"] == 3.0 and lines[-1]["window_s"] == 12.0


def test_skip_partial_sends_only_whole_windows_and_text_marks_partial(tmp_path, capsys):
    path = tmp_path / "clip.wav"
    soundfile.write(path, synth_song(0.5, 0.5, 14.0, 44100, seed=3), 44100)
    assert main(["--input", str(path), "--skip-partial"]) == 0
    lines = read_json_lines(capsys.readouterr().out)
    assert [line["t"] for line in lines] == [12.0, 12.5, 13.0, 13.5]
    assert not any(line["partial"] for line in lines)
    assert main(["--input", str(path), "--format", "text", "--hop", "2"]) == 0
    text = capsys.readouterr().out.splitlines()
    assert "PARTIAL(4.0s)" in text[0] and "PARTIAL" not in text[-1]  # first hop past 3 s


def test_skip_partial_on_a_clip_shorter_than_a_window_says_why_nothing_came(tmp_path, capsys):
    """Issue 22 (minor): it printed the stats line and nothing else."""
    path = tmp_path / "five.wav"
    soundfile.write(path, synth_song(0.5, 0.5, 5.0, 22050, seed=4), 22050)
    assert main(["--input", str(path), "--skip-partial"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert (
        f"no prediction sent: --skip-partial held back 4 partial estimates; {path} holds 5.0 s "
        "of audio, less than the 12 s window a whole estimate needs" in captured.err
    )


@pytest.mark.parametrize(("option", "value"), [("--first", "0"), ("--silence-below", "3")])
def test_responsiveness_options_out_of_range_are_refused(option, value, capsys):
    with pytest.raises(SystemExit) as info:
        main(["--input", "never-read.wav", option, value])
    assert info.value.code == 2 and option in capsys.readouterr().err


def test_every_file_the_help_cites_exists(capsys):
    """Issue 22: --help cited experiments/song_changes.md, which does not exist."""
    from pathlib import Path

    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps a path at a hyphen
    cited = re.findall(r"\b((?:experiments|firmware_notes|benchmarks)/[\w./-]*\w)", text)
    root = Path(__file__).resolve().parents[2]
    assert cited and all((root / path).exists() for path in cited), cited


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
    first = proc.stdout.readline()  # the first estimate (3 s of audio in real time)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert read_json_lines(first)[0]["t"] == pytest.approx(3.0)
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
    ],  # --hop 0: refused by the parser, test_every_numeric_option_is_checked_at_parse_time
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
    assert (
        main(
            [
                "--input",
                str(song),
                *WHOLE_WINDOWS,
                "--hop",
                "2",
                "--format",
                fmt,
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert (out == "") if fmt == "none" else (len(out.splitlines()) == 3 and "#" in out)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--hop", "nan", "expected a finite number"),  # was: hop must be positive (late)
        ("--hop", "inf", "expected a finite number"),  # was: OverflowError traceback, exit 1
        ("--hop", "0", "the hop must be more than 0 and at most 3600 seconds, got '0'"),
        ("--hop", "-1", "the hop must be more than 0"),
        ("--hop", "1e9", "the hop must be more than 0 and at most 3600 seconds"),
        ("--hop", "fast", "expected a number"),
        ("--smooth", "nan", "expected a finite number"),  # was: "valence": NaN on stdout
        ("--smooth", "inf", "expected a finite number"),  # was: the output froze
        ("--smooth", "-1", "the smoothing time constant must be 0 to 3600 seconds"),
        ("--rate", "0", "the capture rate in Hz must be from 8000 to 384000"),  # was: ignored
        ("--rate", "-48000", "the capture rate in Hz must be from 8000 to 384000"),
        ("--rate", "44100.5", "expected a whole number"),
        ("--threads", "0", "the number of inference threads must be from 1 to 256"),
        ("--threads", "-2", "the number of inference threads must be from 1 to 256"),
        ("--threads", "nan", "expected a whole number"),
    ],
)
def test_every_numeric_option_is_checked_at_parse_time(option, value, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(["--input", "never-read.wav", option, value])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}: {message}" in err and "Traceback" not in err
    assert "corrupt" not in err  # --threads 0 was blamed on the model file


def test_threads_0_is_about_threads_not_a_corrupt_file(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--input", "x.wav", "--threads", "0"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "inference threads" in err and "corrupt" not in err


def _no_model(monkeypatch):
    """Fail the test if the model is loaded: the check must come first."""
    import sentio.runtime.model

    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded before --record was checked")

    monkeypatch.setattr(sentio.runtime.model, "BundleModel", no_model)


def _read_only_folder(tmp_path):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    if os.access(folder, os.W_OK):  # root ignores the mode: use a read-only mount instead
        for candidate in ("/proc/sys", "/sys"):
            if os.path.isdir(candidate) and not os.access(candidate, os.W_OK):
                return candidate
        pytest.skip("running as root with no read-only folder to write into")
    return folder


@pytest.mark.parametrize(
    ("make_path", "message"),
    [
        (lambda t: os.path.join(_read_only_folder(t), "x.wav"), "is not writable"),
        (lambda t: t / "missing" / "x.wav", "does not exist"),  # was: LibsndfileError, exit 1
        (lambda t: t, "is a folder, not a file name"),  # was: TypeError, exit 1
        (lambda t: t / "heard", "records 32-bit float audio"),  # no suffix: was TypeError
        (lambda t: t / "heard.flac", "records 32-bit float audio"),  # FLAC has no float
    ],
)
def test_a_record_path_that_cannot_work_is_exit_2_before_the_model_loads(
    tmp_path, monkeypatch, make_path, message, capsys
):
    _no_model(monkeypatch)
    song = write_song(tmp_path / "song.wav", seconds=1.0)
    record = make_path(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    assert main(["--input", str(song), "--record", str(record)]) == 2
    err = capsys.readouterr().err
    assert f"error: --record {record}" in err and message in err
    assert "hint:" in err and "Traceback" not in err
    assert sorted(tmp_path.rglob("*")) == before  # nothing left behind


def test_an_existing_read_only_record_file_is_refused(monkeypatch):
    """As another user where this runs as root (root writes through any mode)."""
    _no_model(monkeypatch)
    folder = world_dir()
    folder.chmod(0o777)  # the folder is writable: only the file's own mode may refuse
    target = folder / "heard.wav"
    target.write_bytes(b"")
    target.chmod(0o444)
    try:
        code, err = as_another_user(
            lambda: main(["--input", str(folder / "x.wav"), "--record", str(target)])
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert str(code) == "2", err
    assert "the file exists and is not writable" in err


@pytest.mark.parametrize("name", ["same path", "other spelling", "symlink", "hard link"])
def test_record_onto_the_input_is_refused_before_the_model_loads(
    tmp_path, monkeypatch, name, capsys
):
    """Issue 22 #2: `--input s.wav --record s.wav` left s.wav an 80-byte WAV, exit 0.
    Refused even with --force, by any name of the same file."""
    _no_model(monkeypatch)
    song = write_song(tmp_path / "s.wav", seconds=1.0)
    original = song.read_bytes()
    record = {
        "same path": song,
        "other spelling": tmp_path / "." / "s.wav",
        "symlink": tmp_path / "link.wav",
        "hard link": tmp_path / "hard.wav",
    }[name]
    if name == "symlink":
        record.symlink_to(song)
    elif name == "hard link":
        os.link(song, record)
    assert main(["--input", str(song), "--record", str(record), "--force"]) == 2
    err = capsys.readouterr().err
    assert f"error: --record {record} is the --input file" in err, err
    assert "hint:" in err and "Traceback" not in err
    assert song.read_bytes() == original


def test_record_onto_an_existing_file_needs_force(tmp_path, monkeypatch, capsys):
    """Never overwrite a user's file silently: refused before the model loads; --force
    overwrites it."""
    song = write_song(tmp_path / "s.wav", seconds=1.0)
    take = tmp_path / "take1.wav"
    take.write_bytes(b"an earlier recording")
    with monkeypatch.context() as patch:
        _no_model(patch)
        assert main(["--input", str(song), "--record", str(take)]) == 2
    err = capsys.readouterr().err
    assert "the file exists and would be overwritten" in err and "--force" in err
    assert take.read_bytes() == b"an earlier recording"
    assert main(["--input", str(song), "--record", str(take), "--force"]) == 0
    assert soundfile.info(take).subtype == "FLOAT"


def test_a_clip_shorter_than_a_window_gets_partial_estimates(tmp_path, capsys):
    short = tmp_path / "short.wav"
    soundfile.write(short, synth_song(0.5, 0.5, 5.0, 22050, seed=4), 22050)
    assert main(["--input", str(short)]) == 0
    lines = read_json_lines(capsys.readouterr().out)
    assert [line["t"] for line in lines] == [3.0, 3.5, 4.0, 4.5]
    assert all(line["partial"] and line["window_s"] == line["t"] for line in lines)
    # whole windows only: the clip still gets one estimate, at its end, on all of it
    assert main(["--input", str(short), "--first", "full"]) == 0
    (line,) = read_json_lines(capsys.readouterr().out)
    assert line["partial"] and line["window_s"] == pytest.approx(4.98)


def test_a_clip_too_short_for_any_estimate_says_so(tmp_path, capsys):
    short = tmp_path / "short.wav"
    soundfile.write(short, synth_song(0.5, 0.5, 0.5, 22050, seed=4), 22050)
    assert main(["--input", str(short)]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "sentio: 0 windows over 0.5 s" in captured.err  # was all it said
    assert (
        f"no prediction: {short} holds 0.5 s of audio, shorter than the 1 s an estimate needs"
        in captured.err
    )


def test_list_devices_with_no_input_device_exits_3_like_listening_without_one(monkeypatch, capsys):
    import sentio.runtime.capture as capture

    class NoDevices:  # a sounddevice with PortAudio working and nothing to record from
        class default:
            device = (-1, -1)

    monkeypatch.setattr(capture, "input_devices", lambda: [])
    monkeypatch.setattr(capture, "_sounddevice", lambda: NoDevices)
    assert main(["--list-devices"]) == EXIT_DEVICE_UNAVAILABLE  # was 2
    listed = capsys.readouterr().err
    assert main([]) == EXIT_DEVICE_UNAVAILABLE  # the default device: there is none
    listening = capsys.readouterr().err
    assert "no audio input device found" in listed and "no audio input device found" in listening


def test_no_microphone_is_found_before_the_model_loads_and_the_hint_names_input(
    monkeypatch, capsys
):
    """Issue 22: the model loaded first, and the error did not suggest --input FILE."""
    import sentio.runtime.capture as capture

    class NoDevices:
        class default:
            device = (-1, -1)

    monkeypatch.setattr(capture, "input_devices", lambda: [])
    monkeypatch.setattr(capture, "_sounddevice", lambda: NoDevices)
    _no_model(monkeypatch)
    assert main([]) == EXIT_DEVICE_UNAVAILABLE
    assert main(["--device", "hw:7"]) == EXIT_DEVICE_UNAVAILABLE
    err = capsys.readouterr().err
    assert err.count("or run on a file: sentio-listen --input FILE") == 2, err


def test_the_litert_start_line_is_not_printed_and_real_errors_are(tmp_path):
    """Issue 22: every run printed `INFO: Created TensorFlow Lite XNNPACK delegate for CPU.`"""
    path = tmp_path / "clip.wav"
    soundfile.write(path, synth_song(0.5, 0.5, 4.0, 22050, seed=3), 22050)
    run = subprocess.run(
        [sys.executable, "-m", "sentio.runtime.cli", "--input", str(path)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0 and len(read_json_lines(run.stdout)) == 2  # at 3 and 3.5 s
    assert "XNNPACK" not in run.stderr and "sentio: 2 windows" in run.stderr


def test_list_devices_lists_them(monkeypatch, capsys):
    import sentio.runtime.capture as capture

    device = capture.InputDevice(1, "USB PnP Sound Device: Audio (hw:1,0)", "ALSA", 1, 48000.0)
    monkeypatch.setattr(capture, "input_devices", lambda: [device])
    assert main(["--list-devices"]) == 0
    assert "USB PnP Sound Device" in capsys.readouterr().out


def test_a_model_that_returns_nan_never_prints_nan(tmp_path, monkeypatch, capsys):
    import numpy as np
    import sentio.runtime.model

    monkeypatch.setattr(
        sentio.runtime.model.BundleModel, "predict", lambda self, window: np.full(2, np.nan)
    )
    path = tmp_path / "clip.wav"
    soundfile.write(path, synth_song(0.5, 0.5, 13.0, 22050, seed=3), 22050)
    assert main(["--input", str(path), "--smooth", "3"]) == 2
    captured = capsys.readouterr()
    assert "NaN" not in captured.out and "nan" not in captured.out
    assert "returned valence nan" in captured.err and "Traceback" not in captured.err


def test_stopped_before_the_first_window_says_so(song):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sentio.runtime.cli",
            "--input",
            str(song),
            "--realtime",
            *WHOLE_WINDOWS,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        # the model line is logged once the signal handlers are in place
        while "sentio: model" not in proc.stderr.readline():
            assert proc.poll() is None, "sentio-listen ended early"
        proc.send_signal(signal.SIGTERM)  # ~0 s of audio: long before the 12 s window
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and out == ""
    assert "no prediction: stopped after" in err and "before the first estimate at 12.0 s" in err
