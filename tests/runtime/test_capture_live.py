"""``capture.py`` for real, through PortAudio (it needs a sound server, hence its own file):
the test starts a PulseAudio server with a virtual microphone (a null sink at 48 kHz and a
source remapped from its monitor, exposed to ALSA and hence to PortAudio by name), plays known
audio into it, runs ``sentio-listen --device NAME`` against a 22,050 Hz model, and checks the
emitted windows against offline predictions of the same audio. No sound card needed (see
../shared/notes/capture-rig.md); CI installs pulseaudio, pulseaudio-utils and
libasound2-plugins.

Tolerance: at the sink's own rate PulseAudio passes 16-bit samples through unchanged, so the
microphone hears exactly the played samples (checked: max difference 0). The only other
difference from the offline path is *where* the music starts: the stream begins with the
silence before playback, so Sentio resamples the whole recording (silence + music) in one
stream while the offline reference resamples the same silence + music in one call; soxr's
streaming and one-shot outputs are identical (test_streaming), so predictions agree to float
rounding, 1e-4 (the JSON carries 5 decimals).
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile
from sentio.export.data.synthetic import synth_song
from sentio.runtime.audio import resample
from sentio.runtime.features import extract_features
from sentio.runtime.model import BundleModel
from sentio.runtime.windows import window_starts

DEVICE_RATE = 48000
SINK, SOURCE, PCM = "sentio_sink", "sentio_source", "sentio_mic"


@pytest.fixture(scope="module")
def virtual_mic(tmp_path_factory):
    """A running PulseAudio server with a virtual microphone; yields the client environment."""
    missing = [b for b in ("pulseaudio", "paplay") if shutil.which(b) is None]
    if missing:
        pytest.fail(
            f"{missing} not installed: apt-get install pulseaudio pulseaudio-utils "
            "libasound2-plugins (.ci/run does)"
        )
    root = tmp_path_factory.mktemp("pulse")
    runtime_dir = root / "run"
    runtime_dir.mkdir(mode=0o700)
    (root / "config" / "alsa").mkdir(parents=True)
    (root / "config" / "alsa" / "asoundrc").write_text(
        f'pcm.{PCM} {{ type pulse device "{SOURCE}" }}\n'
    )
    script = root / "server.pa"
    script.write_text(
        f"load-module module-native-protocol-unix auth-anonymous=1 socket={root}/native\n"
        f"load-module module-null-sink sink_name={SINK} rate={DEVICE_RATE} channels=1 "
        "format=s16le\n"
        f"load-module module-remap-source source_name={SOURCE} master={SINK}.monitor\n"
        f"set-default-sink {SINK}\nset-default-source {SOURCE}\n"
    )
    env = {
        **os.environ,
        "PULSE_SERVER": f"unix:{root}/native",
        "HOME": str(root),
        "XDG_CONFIG_HOME": str(root / "config"),
        "XDG_RUNTIME_DIR": str(runtime_dir),
        "PYTHONUNBUFFERED": "1",
    }
    server = subprocess.Popen(
        [
            "pulseaudio",
            "-n",
            "-F",
            str(script),
            "--daemonize=no",
            "--exit-idle-time=-1",
            "--disallow-exit",
            "--log-level=error",
        ],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while not (root / "native").exists():
        if server.poll() is not None or time.monotonic() > deadline:
            pytest.fail("PulseAudio did not start")
        time.sleep(0.1)
    yield env
    server.terminate()
    server.wait(timeout=10)


def lag_of(played, recorded):
    """Sample offset of ``played`` inside ``recorded`` (cross-correlation by FFT)."""
    n = 1 << int(np.ceil(np.log2(len(played) + len(recorded))))
    corr = np.fft.irfft(np.fft.rfft(recorded, n) * np.conj(np.fft.rfft(played, n)), n)
    return int(np.argmax(corr[: len(recorded)]))


def test_list_devices_shows_the_virtual_mic(virtual_mic):
    out = subprocess.run(
        [sys.executable, "-m", "sentio.runtime.cli", "--list-devices"],
        env=virtual_mic,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert PCM in out.stdout


def test_live_capture_at_48k_matches_offline_predictions(virtual_mic, exported, tmp_path):
    bundle = exported / "bundle"
    music = synth_song(0.5, 0.6, 9.0, DEVICE_RATE, seed=5)
    played = np.round(music * 0.5 * 32767).astype(np.int16)
    wav = tmp_path / "played.wav"
    soundfile.write(wav, played, DEVICE_RATE, subtype="PCM_16")
    listener = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sentio.runtime.cli",
            "--model",
            str(bundle),
            "--device",
            PCM,
            "--rate",
            str(DEVICE_RATE),
            "--hop",
            "0.5",
            "--first",  # whole windows, one segment: the offline side below is that pipeline
            "full",
            "--changes",
            "off",
            "--record",
            str(tmp_path / "heard.wav"),
        ],
        env=virtual_mic,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(3.0)  # PortAudio's first stream takes ~2 s to deliver audio
        subprocess.run(
            ["paplay", f"--device={SINK}", str(wav)], env=virtual_mic, check=True, timeout=60
        )
        time.sleep(1.0)
    finally:
        listener.send_signal(signal.SIGTERM)
        out, err = listener.communicate(timeout=30)
    assert listener.returncode == 0, err
    assert "recording from" in err and f"at {DEVICE_RATE} Hz" in err
    lines = [json.loads(line) for line in out.splitlines()]

    heard, rate = soundfile.read(tmp_path / "heard.wav", dtype="float32")
    assert rate == DEVICE_RATE
    lag = lag_of(played.astype(np.float32), heard)
    segment = heard[lag : lag + len(played)]
    assert np.abs(segment * 32768 - played).max() <= 1.0  # the mic heard what was played

    # Offline: the same audio (silence up to the lag, then the music) in one pass.
    same_audio = np.zeros(len(heard), np.float32)
    same_audio[lag : lag + len(played)] = played / 32768
    model = BundleModel(bundle)
    features = extract_features(resample(same_audio, DEVICE_RATE, 22050), model.spec)
    starts = window_starts(len(features), model.window, 25)
    expected = np.array([model.predict(features[s : s + model.window]) for s in starts])
    music_windows = [
        i
        for i, s in enumerate(starts)
        if s / model.spec.frames_per_second > lag / DEVICE_RATE
        and (s + model.window) / model.spec.frames_per_second < (lag + len(played)) / DEVICE_RATE
    ]
    assert len(music_windows) >= 5
    got = np.array([[p["valence_raw"], p["arousal_raw"]] for p in lines])
    assert len(got) >= music_windows[-1] + 1
    np.testing.assert_allclose(got[music_windows], expected[music_windows], atol=1e-4)
    assert all(p["overflows"] == 0 and p["dropped"] == 0 for p in lines)
