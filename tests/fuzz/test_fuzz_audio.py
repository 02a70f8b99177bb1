"""Fuzzing the decode path: random, truncated and mutated WAV/OGG/FLAC bytes give mono finite
float32 samples or an AudioError, never another exception (nor a crash)."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import numpy as np
import soundfile
from hypothesis import given
from hypothesis import strategies as st
from sentio.runtime.audio import load_audio
from sentio.runtime.errors import AudioError


def _encoded(fmt: str, subtype: str | None, channels: int = 1) -> bytes:
    t = np.arange(4410) / 22050
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    data = np.stack([tone] * channels, axis=1) if channels > 1 else tone
    buffer = io.BytesIO()
    soundfile.write(buffer, data, 22050, format=fmt, subtype=subtype)
    return buffer.getvalue()


SEEDS = {
    ".wav": _encoded("WAV", "PCM_16"),
    ".flac": _encoded("FLAC", "PCM_16", channels=2),
    ".ogg": _encoded("OGG", "VORBIS"),
    ".f32.wav": _encoded("WAV", "FLOAT"),
}


def _decode(data: bytes, suffix: str) -> None:
    fd, name = tempfile.mkstemp(suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        try:
            samples = load_audio(Path(name), 16000)
        except AudioError as err:
            assert err.message
            return
        assert samples.dtype == np.float32 and samples.ndim == 1
        assert np.isfinite(samples).all()
    finally:
        os.unlink(name)


@given(st.binary(max_size=2048), st.sampled_from([".wav", ".ogg", ".flac", ".mp3", ".bin"]))
def test_random_bytes(data, suffix):
    _decode(data, suffix)


@given(st.sampled_from(sorted(SEEDS)), st.data())
def test_truncated_files(kind, data):
    seed = SEEDS[kind]
    cut = data.draw(st.integers(min_value=0, max_value=len(seed)))
    _decode(seed[:cut], kind)


@given(
    st.sampled_from(sorted(SEEDS)),
    st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), min_size=1, max_size=16),
)
def test_mutated_files(kind, flips):
    data = bytearray(SEEDS[kind])
    for where, value in flips:
        data[where % min(len(data), 256 if where % 2 else len(data))] = value  # headers often
    _decode(bytes(data), kind)
