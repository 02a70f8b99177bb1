"""The listener (an audio source feeding the engine), through ``sentio-listen --input`` and the
Python API: over a file its predictions must be the offline pipeline's on the same windows;
smoothing, silence and clipping behave (signals and bad input: test_cli.py)."""

import numpy as np
import pytest
import soundfile
from sentio.export.data.synthetic import synth_song
from sentio.runtime.cli import main
from sentio.runtime.listener import Listener
from sentio.runtime.model import BundleModel

from tests.helpers import offline_predictions, read_json_lines, write_tone


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    """14 s of generated music at 44.1 kHz stereo (the listener must resample and mix)."""
    path = tmp_path_factory.mktemp("audio") / "song.wav"
    left = synth_song(0.6, -0.4, 7.0, 44100, seed=1)
    right = synth_song(-0.5, 0.7, 7.0, 44100, seed=2)
    stereo = np.stack([np.concatenate([left, right]), np.concatenate([right, left])], axis=1)
    soundfile.write(path, 0.8 * stereo, 44100, subtype="FLOAT")
    return path


@pytest.mark.parametrize("artifact", ["model_float32.tflite", "model_int8.tflite", "model.onnx"])
def test_input_predictions_equal_offline_predictions(exported, song, artifact, capsys):
    bundle = exported / "bundle"
    assert (
        main(["--model", str(bundle), "--artifact", artifact, "--input", str(song), "--hop", "0.5"])
        == 0
    )
    lines = read_json_lines(capsys.readouterr().out)
    model = BundleModel(bundle, artifact)
    starts, expected = offline_predictions(model, song, hop_frames=25)
    assert len(lines) == len(starts) > 10
    got = np.array([[p["valence_raw"], p["arousal_raw"]] for p in lines])
    np.testing.assert_allclose(got, expected, atol=1e-5)  # JSON rounds to 5 decimals
    times = [p["t"] for p in lines]
    np.testing.assert_allclose(times, (starts + model.window) / model.spec.frames_per_second)
    assert {p["quadrant"] for p in lines} <= {
        "happy/excited",
        "tense/angry",
        "sad/depressed",
        "calm/content",
    }


def test_python_api_iterator_and_callback_agree(exported, song):
    bundle = exported / "bundle"
    via_iterator = list(Listener.from_file(song, bundle, hop_s=1.0))
    received = []
    stats = Listener.from_file(song, bundle, hop_s=1.0).run(received.append)
    assert [p.to_dict() | {"compute_ms": 0} for p in via_iterator] == [
        p.to_dict() | {"compute_ms": 0} for p in received
    ]
    assert stats.windows == len(received) and stats.audio_s == pytest.approx(14.0, abs=0.01)


def test_smoothing_follows_a_change_with_the_time_constant(exported, song):
    raw = list(Listener.from_file(song, exported / "bundle", hop_s=0.5))
    smooth = list(Listener.from_file(song, exported / "bundle", hop_s=0.5, smooth_s=2.0))
    raw_v = np.array([p.valence for p in raw])
    smooth_v = np.array([p.valence for p in smooth])
    np.testing.assert_allclose([p.valence_raw for p in smooth], raw_v)
    assert np.abs(np.diff(smooth_v)).max() < np.abs(np.diff(raw_v)).max()
    alpha = 1 - np.exp(-0.5 / 2.0)
    np.testing.assert_allclose(
        smooth_v[1], smooth_v[0] + alpha * (raw_v[1] - smooth_v[0]), atol=1e-9
    )


def test_silence_and_clipping_are_flagged_not_fatal(exported, tmp_path, capsys):
    path = tmp_path / "quiet_then_loud.wav"
    audio = np.concatenate([np.zeros(22050 * 5), np.clip(4 * synth_song(0.5, 0.9, 5.0), -1, 1)])
    soundfile.write(path, audio.astype(np.float32), 22050, subtype="FLOAT")
    assert main(["--model", str(exported / "bundle"), "--input", str(path), "--hop", "1"]) == 0
    lines = read_json_lines(capsys.readouterr().out)
    assert lines[0]["silent"] is True and lines[0]["peak_dbfs"] == -120.0
    assert lines[-1]["silent"] is False and lines[-1]["clipped"] > 0
    assert all(np.isfinite([p["valence"], p["arousal"]]).all() for p in lines)


def test_record_writes_what_was_heard(exported, song, tmp_path):
    heard = tmp_path / "heard.wav"
    stats = Listener.from_file(song, exported / "bundle", hop_s=2.0, record=heard).run(
        lambda p: None
    )
    info = soundfile.info(heard)
    assert info.samplerate == 44100 and info.channels == 1 and info.subtype == "FLOAT"
    assert info.frames / info.samplerate == pytest.approx(stats.audio_s)


def test_the_listener_refuses_its_own_input_as_record(tmp_path):
    """The library's rule (``Listener.from_file``/``Listener``), not only the CLI's."""
    from sentio.runtime.errors import OutputPathError
    from sentio.runtime.replay import FileSource

    song = write_tone(tmp_path / "s.wav", seconds=1.0)
    not_a_bundle = tmp_path / "not-a-bundle"  # loading it would raise a BundleError
    with pytest.raises(OutputPathError, match="is the --input file"):
        Listener.from_file(song, not_a_bundle, record=song, overwrite_record=True)
    with pytest.raises(OutputPathError, match="is the --input file"):
        Listener(None, FileSource(song), record=song, overwrite_record=True)


def test_a_record_path_that_cannot_work_is_refused_before_the_model_loads(song, tmp_path):
    from sentio.runtime.errors import ConfigError

    not_a_bundle = tmp_path / "not-a-bundle"  # loading it would raise a BundleError
    for record, message in [
        (tmp_path, "is a folder"),
        (tmp_path / "missing" / "x.wav", "does not exist"),
        (tmp_path / "x.mp3", "needs one of .wav"),
    ]:
        with pytest.raises(ConfigError, match=message):
            Listener.from_file(song, not_a_bundle, record=record)
    assert sorted(tmp_path.iterdir()) == []  # nothing created


# ----------------------------------------------------------- a full disk (issue 22 #8)


def test_a_recording_disk_that_fills_stops_the_recording_not_the_listening(
    tmp_path, monkeypatch, caplog
):
    """The writer raises as libsndfile does on a full disk after 3 blocks: the recording stops
    with one warning and what was written kept (a valid WAV); every prediction still comes."""
    import errno

    from sentio.runtime import listener as listener_module

    song = write_tone(tmp_path / "song.wav", seconds=14.0)
    expected = Listener.from_file(song, None).run(lambda p: None).windows
    real_write, calls = soundfile.SoundFile.write, []

    def full_disk(self, data):
        calls.append(len(data))
        if len(calls) > 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(soundfile.SoundFile, "write", full_disk)
    monkeypatch.setattr(listener_module.os, "statvfs", lambda p: type("V", (), {"f_bavail": 0})())
    heard = tmp_path / "heard.wav"
    predictions = []
    with caplog.at_level("WARNING", logger="sentio"):
        stats = Listener.from_file(song, None, record=heard).run(predictions.append)
    assert stats.windows == expected and len(predictions) >= expected
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "the disk is full: recording stopped" in warnings[0]
    assert "listening goes on" in warnings[0]
    written = sum(calls[:3])
    assert soundfile.info(str(heard)).frames == written
    assert stats.record_error == "the disk is full"
    assert stats.recorded_s == pytest.approx(written / 22050)
    assert "recording stopped after" in stats.line() and "(the disk is full)" in stats.line()


def test_sentio_listen_at_a_file_size_limit_keeps_listening_and_a_valid_recording(tmp_path):
    """A real short write: a child process under RLIMIT_FSIZE (SIGXFSZ ignored), as a full
    disk gives it. Before: a LibsndfileError traceback, exit 1, a part-written WAV."""
    import resource
    import signal
    import subprocess
    import sys

    song = write_tone(tmp_path / "song.wav", seconds=14.0)
    heard = tmp_path / "heard.wav"

    def limited():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))

    run = subprocess.run(
        [sys.executable, "-m", "sentio.runtime.cli", "--input", str(song), "--record", str(heard)],
        preexec_fn=limited,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert run.stderr.count("recording stopped, listening goes on") == 1
    assert "file-size limit" in run.stderr
    assert len(read_json_lines(run.stdout)) >= 22  # every window of the 14 s
    kept = soundfile.read(str(heard))[0]
    assert 0 < len(kept) < 14 * 22050
    assert "; recording stopped after " in run.stderr.strip().splitlines()[-1]
