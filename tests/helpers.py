"""Helpers shared by the tests: the reference MFCC and the offline pipeline that streaming is
compared with, generated audio, fake predictions, and real peers for the output tests started
on loopback by the tests themselves (a mosquitto broker, an MQTT subscriber).

(``tests/conftest.py`` keeps only the pytest fixtures.)"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import socket
import struct
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile
from sentio.export.data.synthetic import synth_song
from sentio.runtime.audio import load_audio
from sentio.runtime.emotion import Prediction, quadrant
from sentio.runtime.engine import FIRST_S
from sentio.runtime.engine import offline_predictions as engine_offline
from sentio.runtime.features import FeatureSpec, FeatureStats
from sentio.runtime.manifest import Manifest, Window
from sentio.runtime.model import BundleModel

from benchmarks.features import python_speech_features_mfcc as reference_mfcc
from benchmarks.soak import MOSQUITTO, Broker

__all__ = [
    "DEAM_CSV_1",
    "TINY",
    "Mosquitto",
    "Subscriber",
    "as_another_user",
    "fake_prediction",
    "free_port",
    "make_deam_tree",
    "make_emotify_tree",
    "offline_predictions",
    "random_chunks",
    "read_json_lines",
    "reference_mfcc",  # python-speech-features' own mfcc() with a spec's parameters
    "scramble_int8_scales",
    "sink_counts",
    "tiny_manifest",
    "wait_until",
    "world_dir",
    "write_catalogue",
    "write_song",
    "write_tone",
]


#: ``sentio-listen`` options for a window every hop from the first full one, one segment: the
#: pipeline before issue 15, for tests that count windows or compare with it.
WHOLE_WINDOWS = ("--first", "full", "--changes", "off")


def offline_predictions(
    model: BundleModel, path, hop_frames: int, first_s: float | None = FIRST_S, changes=True
):
    """Whole file -> features -> changes -> windows every ``hop_frames`` -> the model, no
    streaming (``engine.offline_predictions``): (window end - window length, so that a
    partial window's "start" is negative and ``(start + window) / fps`` is still its time;
    (n, 2) raw valence/arousal)."""
    samples = load_audio(path, model.spec.sample_rate)
    ends, raw = engine_offline(model, samples, first_s, changes, hop_frames)
    return np.array([end - model.window for end, _ in ends], dtype=np.int64), raw


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


class Mosquitto(Broker):
    """The soak harness's broker (``benchmarks/soak.py``: 127.0.0.1, no persistence, so a
    restart forgets every retained message) on a free port unless one is given; a missing
    mosquitto fails the test with what to install."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        if not Path(MOSQUITTO).exists():
            pytest.fail(f"{MOSQUITTO} not found: apt-get install mosquitto (.ci/run does)")
        super().__init__(workdir, port or free_port())


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


# ----------------------------------------------------------------------------- audio files


def write_catalogue(folder: Path, songs: int = 4, seconds: float = 14.0) -> list[Path]:
    """Generated songs of different moods in a small folder tree (FLAC at 22.05 kHz, stereo
    WAV at 44.1 kHz, so decoding, mixing and resampling all run); returns their paths."""
    rng = np.random.default_rng(len(str(folder)))
    paths = []
    for i in range(songs):
        valence, arousal = rng.uniform(-1, 1, size=2)
        stereo = i % 2 == 1
        rate = 44100 if stereo else 22050
        audio = synth_song(valence, arousal, seconds, rate, seed=i)
        path = Path(folder) / f"album{i % 2}" / f"track{i:02d}.{'wav' if stereo else 'flac'}"
        path.parent.mkdir(parents=True, exist_ok=True)
        soundfile.write(path, np.stack([audio, 0.5 * audio], axis=1) if stereo else audio, rate)
        paths.append(path)
    return paths


def write_tone(path, seconds=2.0, rate=22050, channels=1, freq=440.0, amplitude=0.3, subtype=None):
    """A sine tone file (format from the suffix); returns the path."""
    t = np.arange(int(seconds * rate)) / rate
    tone = amplitude * np.sin(2 * np.pi * freq * t)
    data = np.stack([tone] * channels, axis=1) if channels > 1 else tone
    soundfile.write(path, data.astype(np.float32), rate, subtype=subtype)
    return path


# ----------------------------------------------------------------------------- training

#: CLI options of a tiny CRNN that trains in seconds (the session fixtures and CLI tests).
TINY = [
    "--window",
    "200",
    "--stride",
    "50",
    "--conv-filters",
    "16,16,32,32",
    "--lstm-units",
    "32,16",
    "--dense-units",
    "16,8",
    "--dropout",
    "0.1",
    "--l2",
    "0",
    "--batch-size",
    "16",
    "--quiet",
    "--no-cache",
]


# ----------------------------------------------------------------------------- dataset trees
# Shaped like the real downloads, built from generated audio.

DEAM_CSV_1 = (
    "song_id, valence_mean, valence_std, arousal_mean, arousal_std\n"
    "2,3.1,0.94,7,0.63\n"  # id <= 1000: columns swapped in the official file
    "3,nan,1.75,3.3,1.62\n"  # NaN label: skipped with a warning
    "5,4.0,1.0,5.0,1.0\n"  # audio missing: skipped
    "1001,8.0,1.0,2.0,1.0\n"  # id > 1000: columns as labelled
)
DEAM_CSV_2 = (
    "song_id, valence_mean, valence_std, valence_ max_mean, valence_max_std, valence_min_mean, "
    "valence_min_std, arousal_mean, arousal_std, arousal_max_mean, arousal_max_std, "
    "arousal_min_mean, arousal_min_std\n"
    "2001,6.4,0.49,8.2,0.98,5.0,1.1,5.2,1.17,7.4,1.36,2.2,1.17\n"
)


def make_deam_tree(root: Path, csv_1: str = DEAM_CSV_1) -> Path:
    audio = root / "DEAM_audio" / "MEMD_audio"
    audio.mkdir(parents=True)
    for song_id in (2, 3, 1001, 2001):
        write_tone(audio / f"{song_id}.mp3", seconds=1.0, rate=44100, freq=200.0 + song_id % 500)
    ann = root / "DEAM_Annotations" / "annotations" / "annotations averaged per song" / "song_level"
    ann.mkdir(parents=True)
    (ann / "static_annotations_averaged_songs_1_2000.csv").write_text(csv_1)
    (ann / "static_annotations_averaged_songs_2000_2058.csv").write_text(DEAM_CSV_2)
    return root


EMOTIFY_HEADER = (
    "track id, genre, amazement, solemnity, tenderness, nostalgia, calmness, power, "
    "joyful_activation, tension, sadness, mood, liked, disliked, age, gender, mother tongue\n"
)


def make_emotify_tree(root: Path) -> Path:
    rows = [
        # track 1 classical: two listeners, both only "joyful_activation" -> valence 1, arousal 1
        "1,classical,0,0,0,0,0,0,1,0,0,3,1,0,30,1,Dutch",
        "1,classical,0,0,0,0,0,0,1,0,0,4,1,0,22,0,English",
        # track 101 rock: sadness only -> valence -1, arousal -1
        "101,rock,0,0,0,0,0,0,0,0,1,2,0,1,40,1,Dutch",
        # track 102 rock: tension + calmness -> valence (-1 + .5)/1.5, arousal (1 - 1)/2 = 0
        "102,rock,0,0,0,0,1,0,0,1,0,3,0,0,35,0,Dutch",
        "102,rock,0,0,0,0,x,0,0,1,0,3,0,0,35,0,Dutch",  # malformed: skipped, counted
        # track 201 electronic: has ratings but no audio -> skipped
        "201,electronic,0,0,0,0,0,1,0,0,0,3,0,0,35,0,Dutch",
    ]
    (root / "ratings.csv").parent.mkdir(parents=True, exist_ok=True)
    (root / "ratings.csv").write_text(EMOTIFY_HEADER + "\n".join(rows) + "\n")
    for genre, track in (("classical", 1), ("rock", 101), ("rock", 102)):
        (root / "audio" / genre).mkdir(parents=True, exist_ok=True)
        write_tone(root / "audio" / genre / f"{track}.ogg", seconds=1.0, rate=22050)
    return root


# ----------------------------------------------------------------------------- broken models


def scramble_int8_scales(flatbuffer: bytes, seed: int = 0) -> bytes:
    """A deliberately broken model: the per-channel scales of every int8 conv/dense weight
    shuffled (what a bad quantization tool or a corrupted file would do)."""
    from tensorflow.lite.python import schema_py_generated as schema

    buf = bytearray(flatbuffer)
    model = schema.Model.GetRootAs(buf, 0)
    graph = model.Subgraphs(0)
    rng = np.random.default_rng(seed)
    for t in range(graph.TensorsLength()):
        tensor = graph.Tensors(t)
        q = tensor.Quantization()
        if tensor.Type() != schema.TensorType.INT8 or q is None or q.ScaleLength() < 2:
            continue
        scales = q.ScaleAsNumpy().copy()
        start = q._tab.Vector(q._tab.Offset(8))  # QuantizationParameters.scale
        for i, value in enumerate(scales[rng.permutation(len(scales))] * 3.0):
            struct.pack_into("<f", buf, start + 4 * i, float(value))
    return bytes(buf)


# ----------------------------------------------------------------------------- permissions


NOBODY = 65534


def as_another_user(fn):
    """Run ``fn`` where file permissions apply: in a forked child as uid/gid 65534 when this
    test runs as root (root reads everything), else here. Returns (result, stderr text)."""
    if os.geteuid() != 0:
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            return fn(), err.getvalue()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 99
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                result = fn()
            os.write(write_end, f"{result!r}\n{err.getvalue()}".encode())
            code = 0
        except BaseException as exc:
            os.write(write_end, f"RAISED {type(exc).__name__}: {exc}\n".encode())
        finally:
            os._exit(code)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 65536):
        chunks.append(chunk)
    os.close(read_end)
    os.waitpid(pid, 0)
    result, _, err = b"".join(chunks).decode().partition("\n")
    return result, err


def world_dir(tmp_path=None):
    """A folder uid 65534 can reach (pytest's tmp root is 0700 when run as root)."""
    folder = Path(tempfile.mkdtemp(prefix="sentio-perm-"))
    folder.chmod(0o755)
    return folder


def pool_task_dying_on_track01(path: str):
    """``sentio.export.analyze.run._pool_task``, except that a worker given ``track01.wav``
    dies as one killed by the OOM killer. Module-level so that spawned pool workers (the pool
    spawns once TensorFlow is loaded) import it, as forked ones inherit it."""
    import os

    from sentio.export.analyze import run

    if path.endswith("track01.wav"):
        os._exit(1)
    # not run._pool_task: a forked worker inherits the test's patch of it, which is this
    return run.analyze_or_skip(path, run._worker_model, run._worker_settings)
