"""Helpers shared by the tests: the reference MFCC and the offline pipeline that streaming is
compared with, generated audio, fake predictions, and real peers for the output tests started
on loopback by the tests themselves (a mosquitto broker, an MQTT subscriber).

(``tests/conftest.py`` keeps the pytest fixtures and ``write_tone``.)"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile
from sentio.export.data.synthetic import synth_song
from sentio.runtime.audio import load_audio
from sentio.runtime.emotion import Prediction, quadrant
from sentio.runtime.features import FeatureSpec, FeatureStats, extract_features
from sentio.runtime.manifest import Manifest, Window
from sentio.runtime.model import BundleModel
from sentio.runtime.windows import window_starts

from benchmarks.features import python_speech_features_mfcc as reference_mfcc

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"

__all__ = [
    "Mosquitto",
    "Subscriber",
    "fake_prediction",
    "free_port",
    "offline_predictions",
    "random_chunks",
    "read_json_lines",
    "reference_mfcc",  # python-speech-features' own mfcc() with a spec's parameters
    "sink_counts",
    "tiny_manifest",
    "wait_until",
    "write_song",
]


def offline_predictions(model: BundleModel, path, hop_frames: int):
    """Whole file -> features -> windows every ``hop_frames`` -> the model, no streaming:
    (window starts, (n, 2) raw valence/arousal)."""
    features = extract_features(load_audio(path, model.spec.sample_rate), model.spec)
    starts = window_starts(len(features), model.window, hop_frames)
    return starts, np.array([model.predict(features[s : s + model.window]) for s in starts])


def tiny_manifest(**changes) -> Manifest:
    """A valid manifest with the default feature spec, identity normalization and a 600-frame
    window, no models; ``changes`` replace fields."""
    spec = FeatureSpec()
    stats = FeatureStats(
        np.zeros(spec.n_features, np.float32), np.ones(spec.n_features, np.float32)
    )
    return Manifest(spec, stats, Window(frames=600, seconds=12.0)).replace(**changes)


def random_chunks(signal, rng, largest):
    """Chunks of 1 sample to ``largest`` samples, small ones over-represented."""
    i = 0
    while i < signal.shape[0]:
        size = int(rng.choice([1, 2, 3, 440, 441, 882, 1000, rng.integers(1, largest)]))
        yield signal[i : i + size]
        i += size


def read_json_lines(text: str) -> list[dict]:
    """The JSON lines of ``sentio-listen`` output (other lines skipped)."""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def wait_until(predicate, timeout: float = 10.0, what: str = "condition") -> None:
    """Poll ``predicate`` until it is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def sink_counts(stderr: str, name: str) -> tuple[int, int, int]:
    """(sent, failed, dropped) from the stats line of the sink called ``name``."""
    pattern = rf"sentio: {re.escape(name)}\S*: (\d+) sent, (\d+) failed, (\d+) dropped"
    match = re.search(pattern, stderr)
    assert match, f"no stats line for {name!r} in:\n{stderr}"
    sent, failed, dropped = (int(n) for n in match.groups())
    return sent, failed, dropped


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_song(path: Path, seconds: float = 16.5, rate: int = 22050) -> Path:
    """Generated music: a happy half then a sad half (so the outputs change)."""
    half = seconds / 2
    audio = np.concatenate(
        [synth_song(0.7, 0.7, half, rate, seed=1), synth_song(-0.7, -0.7, half, rate, seed=2)]
    )
    soundfile.write(path, (0.8 * audio).astype(np.float32), rate, subtype="FLOAT")
    return path


def fake_prediction(t: float, valence: float = 0.5, arousal: float = -0.25) -> Prediction:
    return Prediction(
        t=t,
        valence=valence,
        arousal=arousal,
        quadrant=quadrant(valence, arousal),
        valence_raw=valence,
        arousal_raw=arousal,
        compute_ms=1.5,
        peak_dbfs=-6.0,
        silent=False,
        clipped=0,
        overflows=0,
        dropped=0,
    )


class Mosquitto:
    """A mosquitto broker on 127.0.0.1:``port`` without persistence (a restart forgets
    every retained message); ``start()`` returns once it accepts connections."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        if not Path(MOSQUITTO).exists():
            pytest.fail(f"{MOSQUITTO} not found: apt-get install mosquitto (.ci/run does)")
        self.port = port or free_port()
        self.config = workdir / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        )
        self.proc: subprocess.Popen | None = None

    def start(self) -> Mosquitto:
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._accepts, 10.0, f"mosquitto on port {self.port}")
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None

    def _accepts(self) -> bool:
        assert self.proc is not None and self.proc.poll() is None, "mosquitto exited"
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            return True
        except OSError:
            return False


class Subscriber:
    """A paho client that records every message of ``topics`` (retained ones included)."""

    def __init__(self, port: int, topics: list[str]) -> None:
        import paho.mqtt.client as mqtt

        self.messages: list[tuple[str, str, bool]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *args: self._subscribed.set()
        self.client.on_connect = lambda c, *a: c.subscribe([(t, 1) for t in topics])
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self._subscribed.wait(10), "the test subscriber could not subscribe"

    def _on_message(self, client, userdata, message) -> None:
        with self._lock:
            self.messages.append((message.topic, message.payload.decode(), message.retain))

    def payloads(self, topic: str) -> list[str]:
        with self._lock:
            return [payload for t, payload, _ in self.messages if t == topic]

    def last(self, topic: str) -> str | None:
        found = self.payloads(topic)
        return found[-1] if found else None

    def states(self, prefix: str) -> list[dict]:
        return [json.loads(p) for p in self.payloads(f"{prefix}/state")]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
