import numpy as np
import pytest
from sentio.runtime.audio import is_silent, load_audio
from sentio.runtime.errors import AudioError

from tests.helpers import write_tone


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg", ".mp3"])
def test_formats_decode_to_mono_at_the_requested_rate(tmp_path, suffix):
    path = write_tone(tmp_path / f"tone{suffix}", seconds=2.0, rate=44100, channels=2)
    audio = load_audio(path, 22050)
    assert audio.ndim == 1 and audio.dtype == np.float32
    assert abs(audio.size - 44100) < 2500  # MP3/Vorbis add encoder padding
    assert 0.2 < np.abs(audio).max() < 0.4


def test_resampling_keeps_the_pitch(tmp_path):
    path = write_tone(tmp_path / "a.wav", seconds=1.0, rate=48000, freq=1000.0)
    audio = load_audio(path, 22050)
    spectrum = np.abs(np.fft.rfft(audio))
    peak_hz = np.argmax(spectrum) * 22050 / audio.size
    assert abs(peak_hz - 1000.0) < 2.0


def test_missing_and_corrupt_files_raise_audio_errors(tmp_path):
    with pytest.raises(AudioError, match="not found"):
        load_audio(tmp_path / "nope.wav", 22050)
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(b"this is not audio at all" * 10)
    with pytest.raises(AudioError, match="cannot decode") as info:
        load_audio(bad, 22050)
    assert info.value.hint


def test_silence_is_detected(tmp_path):
    assert is_silent(np.zeros(100, dtype=np.float32))
    assert not is_silent(np.full(100, 0.01, dtype=np.float32))
