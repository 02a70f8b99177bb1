"""Generated music whose valence and arousal are known functions of the sound.

Used by the demo and the tests (which must never need real data):
- arousal drives tempo (70-170 BPM), loudness, brightness (number and strength of
  harmonics) and how hard a noise percussion hits each beat;
- valence drives the mode (major at valence >= 0, minor below) and the register (the key's
  root rises an octave from -1 to +1), the cues listeners use for happy vs sad music.
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import numpy as np
import soundfile

MAJOR_TRIADS = [(0, 4, 7), (5, 9, 12), (7, 11, 14), (0, 4, 7)]  # I IV V I
MINOR_TRIADS = [(0, 3, 7), (5, 8, 12), (7, 10, 14), (0, 3, 7)]  # i iv v i


def _tone(
    freq: float, length: int, sr: int, harmonics: int, tilt: float, decay: float
) -> np.ndarray:
    t = np.arange(length) / sr
    envelope = np.exp(-t * decay) * np.minimum(1.0, t / 0.005)  # 5 ms attack, no clicks
    tone = np.zeros(length)
    for k in range(1, harmonics + 1):
        if freq * k < sr / 2:
            tone += np.sin(2 * np.pi * freq * k * t) / k**tilt
    return tone * envelope


def synth_song(
    valence: float, arousal: float, duration_s: float, sample_rate: int = 22050, seed: int = 0
) -> np.ndarray:
    """A mono float32 clip whose mood is (valence, arousal), both in [-1, 1]."""
    rng = np.random.default_rng(seed)
    a01, v01 = (arousal + 1) / 2, (valence + 1) / 2
    n = int(duration_s * sample_rate)
    beat = int(sample_rate * 60.0 / (70 + 100 * a01))
    out = np.zeros(n + 2 * beat)  # tail room for the last chord, cut at the end
    root = 45 + 12 * v01 + rng.uniform(-1, 1)  # MIDI note: A2 .. A3, slightly detuned per song
    triads = MAJOR_TRIADS if valence >= 0 else MINOR_TRIADS
    harmonics, tilt, decay = 2 + round(6 * a01), 2.0 - 1.2 * a01, 2.0 + 6 * a01
    level = 0.05 + 0.15 * a01
    for b, start in enumerate(range(0, n, beat)):
        chord = triads[(b // 2) % len(triads)]
        for interval in chord:
            freq = 440.0 * 2 ** ((root + interval - 69) / 12)
            out[start : start + 2 * beat] += level * _tone(
                freq, 2 * beat, sample_rate, harmonics, tilt, decay
            )
        melody = 440.0 * 2 ** ((root + 12 + chord[rng.integers(3)] - 69) / 12)
        out[start : start + beat] += (
            0.6 * level * _tone(melody, beat, sample_rate, harmonics, tilt, decay * 2)
        )
        hit = min(int(0.03 * sample_rate), n - start)
        out[start : start + hit] += (
            0.4 * a01 * rng.standard_normal(hit) * np.exp(-np.arange(hit) / (0.006 * sample_rate))
        )
    out = out[:n] + 1e-3 * rng.standard_normal(n)  # a noise floor, as any recording has
    return (out / max(1.0, np.abs(out).max() / 0.95)).astype(np.float32)


#: The names :func:`make_synthetic_dataset` writes: ``manifest.csv`` and ``audio/songNNNN.wav``.
SYNTHETIC_MANIFEST = "manifest.csv"
_SONG = re.compile(r"song\d{4,}\.wav")


def synthetic_foreign(folder: Path) -> list[str] | None:
    """The entries of ``folder`` that :func:`make_synthetic_dataset` did not write, or None
    when it holds no generated dataset (see :func:`~sentio.runtime.bundle.check_out_dir`)."""
    folder = Path(folder)
    names = os.listdir(folder)
    if SYNTHETIC_MANIFEST not in names:
        return None
    extra = [name for name in names if name not in (SYNTHETIC_MANIFEST, "audio")]
    audio = folder / "audio"
    if audio.is_dir() and not audio.is_symlink():
        extra += [f"audio/{name}" for name in os.listdir(audio) if not _SONG.fullmatch(name)]
    elif "audio" in names:
        extra.append("audio")
    return sorted(extra)


def make_synthetic_dataset(
    folder: Path,
    n_songs: int = 60,
    duration_s: float = 12.0,
    sample_rate: int = 22050,
    seed: int = 0,
) -> Path:
    """Write ``n_songs`` WAVs with random moods and a ``manifest.csv`` (-1..1 labels).

    Returns:
        The manifest's path.
    """
    folder = Path(folder)
    (folder / "audio").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    manifest = folder / "manifest.csv"
    with open(manifest, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "valence", "arousal"])
        for i in range(n_songs):
            valence, arousal = rng.uniform(-1, 1, size=2)
            audio = synth_song(valence, arousal, duration_s, sample_rate, seed=seed * 100_003 + i)
            name = f"audio/song{i:04d}.wav"
            soundfile.write(folder / name, audio, sample_rate, subtype="PCM_16")
            writer.writerow([name, f"{valence:.4f}", f"{arousal:.4f}"])
    return manifest
