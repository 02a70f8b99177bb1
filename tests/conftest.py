"""Shared fixtures: every test makes its own audio (never the shared data folder)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def synthetic_dataset(tmp_path_factory):
    """60 generated songs of 12 s whose valence/arousal are known functions of the sound."""
    from sentio.export.synthetic import make_synthetic_dataset

    return make_synthetic_dataset(
        tmp_path_factory.mktemp("synth"), n_songs=60, duration_s=12.0, seed=0
    )


def write_tone(path, seconds=2.0, rate=22050, channels=1, freq=440.0, amplitude=0.3, subtype=None):
    """A sine tone file (format from the suffix); returns the path."""
    t = np.arange(int(seconds * rate)) / rate
    tone = amplitude * np.sin(2 * np.pi * freq * t)
    data = np.stack([tone] * channels, axis=1) if channels > 1 else tone
    soundfile.write(path, data.astype(np.float32), rate, subtype=subtype)
    return path
