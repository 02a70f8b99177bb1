"""The accuracy-drop gate: every artifact is compared with the float model, and each one
verified is logged as it finishes (verifying takes minutes on a Pi-class CPU)."""

import logging

import numpy as np
from sentio.export.conversion.gate import DropLimits, check_artifacts
from sentio.export.data.datasets import Song
from sentio.export.data.windows import SongWindows


def _songs(n=6, frames=40, width=3):
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        v, a = rng.uniform(-1, 1, 2)
        features = rng.normal(0, 1, (frames, width)).astype(np.float32)
        out.append(
            SongWindows(Song(f"s{i}", None, float(v), float(a)), features, np.array([0, 20]))
        )
    return out


def test_each_artifact_is_gated_against_the_reference_and_logged(caplog):
    def reference(x):
        return np.tanh(x[:, :, :2].mean(axis=1))

    def close(x):
        return reference(x) + 0.001

    def broken(x):
        return -reference(x)

    with caplog.at_level(logging.INFO, logger="sentio.export"):
        checks = check_artifacts(
            reference, {"close.tflite": close, "broken.tflite": broken}, _songs(), 20, DropLimits()
        )
    assert list(checks) == ["keras", "close.tflite", "broken.tflite"]
    assert checks["close.tflite"].passed and not checks["broken.tflite"].passed
    assert "verified close.tflite (1 of 2)" in caplog.text and "passed" in caplog.text
    assert "verified broken.tflite (2 of 2)" in caplog.text and "FAILED the gate" in caplog.text
