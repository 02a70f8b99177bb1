"""Music-like test audio, generated once and cached: chords, a melody, noise drums and a
noise floor (``sentio.export.synthetic.synth_song``), 30-s pieces of changing mood."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile
from sentio.export.data.synthetic import synth_song

PIECE_S = 30.0
MOODS = [(v, a) for a in (-0.8, -0.2, 0.4, 0.9) for v in (-0.7, 0.0, 0.7)]


def music(duration_s: float, sample_rate: int, seed: int = 0) -> np.ndarray:
    """Mono float32 music of ``duration_s`` seconds at ``sample_rate``."""
    pieces, total, i = [], 0.0, 0
    while total < duration_s:
        length = min(PIECE_S, duration_s - total)
        valence, arousal = MOODS[i % len(MOODS)]
        pieces.append(synth_song(valence, arousal, length, sample_rate, seed=seed + i))
        total += length
        i += 1
    return np.concatenate(pieces)


def music_file(cache_dir: Path, duration_s: float, sample_rate: int = 44100) -> Path:
    """A 16-bit FLAC of :func:`music`, written on first use."""
    path = Path(cache_dir) / f"music-{sample_rate}hz-{duration_s:g}s.flac"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.stem + ".partial.flac")
        soundfile.write(partial, music(duration_s, sample_rate), sample_rate, subtype="PCM_16")
        partial.replace(path)
    return path
