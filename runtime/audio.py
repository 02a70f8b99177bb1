"""Decoding audio files to mono float32 at the feature spec's sample rate.

soundfile (libsndfile >= 1.1) reads WAV, FLAC, OGG/Vorbis, Opus and MP3; soxr resamples.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile
import soxr
from sentio.runtime.errors import AudioError

SILENCE_PEAK = 1e-4  # about -80 dBFS: nothing a microphone or a master ever gives as music


def to_mono(samples: np.ndarray) -> np.ndarray:
    """Average the channels of a (frames, channels) array; 1-D input is returned unchanged."""
    if samples.ndim == 1:
        return samples
    return samples.mean(axis=1, dtype=np.float32)


def resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """High-quality resampling of a whole mono signal (soxr 'HQ')."""
    if rate_in == rate_out:
        return samples
    return soxr.resample(samples, rate_in, rate_out, quality="HQ").astype(np.float32, copy=False)


def load_audio(path: str | Path, sample_rate: int) -> np.ndarray:
    """Decode a file to mono float32 at ``sample_rate``.

    Raises:
        AudioError: the file is missing, cannot be decoded, is empty or holds non-finite samples.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError(
            f"audio file not found: {path}", hint="check the path and the dataset root"
        )
    try:
        samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, ValueError, TypeError) as err:
        raise AudioError(
            f"cannot decode {path}: {err}",
            hint="convert it to WAV/FLAC/OGG/MP3 (e.g. ffmpeg -i in.m4a out.flac) or remove it",
        ) from err
    if samples.shape[0] == 0:
        raise AudioError(f"{path} holds no audio samples", hint="the file is empty or truncated")
    mono = to_mono(samples)
    if not np.isfinite(mono).all():
        raise AudioError(
            f"{path} decodes to NaN/inf samples", hint="the file is corrupt; re-encode it"
        )
    return resample(mono, rate, sample_rate)


def is_silent(samples: np.ndarray) -> bool:
    """True when the peak level is below about -80 dBFS."""
    return samples.size == 0 or float(np.max(np.abs(samples))) < SILENCE_PEAK
