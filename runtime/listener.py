"""The live pipeline: audio source -> resampling -> streaming MFCC -> windows -> model ->
smoothing -> predictions. An iterator and a callback over one object, for embedding::

    from sentio.runtime.listener import Listener

    with Listener.from_microphone(device="hw:1") as listener:
        for p in listener:                      # blocks until each window is ready
            set_light(p.valence, p.arousal)

    Listener.from_file("song.flac").run(print)  # or a callback, until the stream ends

``stop()`` (from any thread or a signal handler) ends the iteration after the current block.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from sentio.runtime.emotion import Prediction, Smoother, quadrant
from sentio.runtime.model import BundleModel
from sentio.runtime.streaming import StreamingFeatures, StreamResampler, WindowSlicer

SILENCE_PEAK = 1e-4  # about -80 dBFS
FULL_SCALE = 0.999
FLOOR_DBFS = -120.0  # digital silence reads as this (JSON has no -inf)


class AudioSource(Protocol):
    rate: int
    overflows: int
    dropped: int

    def chunks(self) -> Iterator[np.ndarray]: ...


@dataclass
class ListenerStats:
    """Counters for the final stats line and for monitoring."""

    audio_s: float = 0.0
    windows: int = 0
    compute_s: float = 0.0
    compute_max_ms: float = 0.0
    overflows: int = 0
    dropped: int = 0
    started: float = field(default_factory=time.monotonic)
    first_window_s: float | None = None  # process-independent: from start() to first window

    def line(self) -> str:
        mean = 1e3 * self.compute_s / self.windows if self.windows else 0.0
        return (
            f"sentio: {self.windows} windows over {self.audio_s:.1f} s of audio in "
            f"{time.monotonic() - self.started:.1f} s; inference {mean:.2f} ms mean, "
            f"{self.compute_max_ms:.2f} ms max; overflows {self.overflows}, "
            f"dropped samples {self.dropped}"
        )


class Listener:
    """Predictions from an audio source through a bundle's model.

    Args:
        model: the loaded bundle.
        source: anything with ``rate``, ``overflows`` and ``chunks()`` (mono float32 blocks).
        hop_s: seconds between predictions (default: the bundle's, 0.5 s).
        smooth_s: exponential smoothing time constant in seconds (0: off).
        record: also write the audio as received (mono, the source's rate) to this WAV file:
            what the microphone really heard, for debugging placement and levels.
    """

    def __init__(
        self,
        model: BundleModel,
        source: AudioSource,
        hop_s: float | None = None,
        smooth_s: float = 0.0,
        record: Path | None = None,
    ) -> None:
        self.model, self.source = model, source
        spec = model.spec
        hop_s = model.default_hop_s if hop_s is None else hop_s
        self.hop_frames = max(1, round(hop_s * spec.frames_per_second))
        self.hop_s = self.hop_frames / spec.frames_per_second
        self._resampler = StreamResampler(source.rate, spec.sample_rate)
        self._features = StreamingFeatures(spec)
        self._windows = WindowSlicer(model.window, self.hop_frames, spec.n_features)
        self._smooth = Smoother(smooth_s, self.hop_s)
        self._stop = threading.Event()
        self.stats = ListenerStats()
        self._peak = 0.0
        self._clipped = 0
        self.record = record

    @classmethod
    def from_microphone(
        cls,
        device: str | int | None = None,
        model: BundleModel | Path | None = None,
        rate: int | None = None,
        **kwargs,
    ) -> Listener:
        from sentio.runtime.capture import Microphone

        model = model if isinstance(model, BundleModel) else BundleModel(model)
        microphone = Microphone(device, rate, preferred_rate=model.spec.sample_rate)
        return cls(model, microphone, **kwargs)

    @classmethod
    def from_file(
        cls,
        path: Path | str,
        model: BundleModel | Path | None = None,
        realtime: bool = False,
        **kwargs,
    ) -> Listener:
        from sentio.runtime.replay import FileSource

        model = model if isinstance(model, BundleModel) else BundleModel(model)
        return cls(model, FileSource(Path(path), realtime), **kwargs)

    def __enter__(self) -> Listener:
        opener = getattr(self.source, "open", None)
        if opener:
            opener()
        return self

    def __exit__(self, *exc) -> None:
        closer = getattr(self.source, "close", None)
        if closer:
            closer()

    def stop(self) -> None:
        """End the iteration after the current block (safe from signal handlers/threads)."""
        self._stop.set()

    def __iter__(self) -> Iterator[Prediction]:
        self.stats = ListenerStats()
        recorder = self._open_recorder()
        try:
            for chunk in self.source.chunks():
                if recorder is not None:
                    recorder.write(chunk)
                yield from self._process(chunk, self._resampler.push(chunk))
                if self._stop.is_set():
                    return
            nothing = np.zeros(0, np.float32)
            yield from self._process(nothing, self._resampler.push(nothing, last=True))
        finally:
            if recorder is not None:
                recorder.close()

    def _open_recorder(self):
        if self.record is None:
            return None
        import soundfile

        return soundfile.SoundFile(
            str(self.record), "w", samplerate=self.source.rate, channels=1, subtype="FLOAT"
        )

    def run(self, callback: Callable[[Prediction], None]) -> ListenerStats:
        """Call ``callback`` with every prediction until the source ends or ``stop()``."""
        for prediction in self:
            callback(prediction)
        return self.stats

    def _process(self, raw: np.ndarray, samples: np.ndarray) -> Iterator[Prediction]:
        self.stats.audio_s += raw.shape[0] / self.source.rate
        if raw.size:
            magnitude = np.abs(raw)
            self._peak = max(self._peak, float(magnitude.max()))
            self._clipped += int(np.count_nonzero(magnitude >= FULL_SCALE))
        self.stats.overflows = self.source.overflows
        self.stats.dropped = self.source.dropped
        for start, window in self._windows.push(self._features.push(samples)):
            yield self._predict(start, window)

    def _predict(self, start: int, window: np.ndarray) -> Prediction:
        began = time.perf_counter()
        valence_raw, arousal_raw = (float(v) for v in self.model.predict(window))
        elapsed = time.perf_counter() - began
        valence, arousal = self._smooth(valence_raw, arousal_raw)
        stats = self.stats
        stats.windows += 1
        stats.compute_s += elapsed
        stats.compute_max_ms = max(stats.compute_max_ms, 1e3 * elapsed)
        if stats.first_window_s is None:
            stats.first_window_s = time.monotonic() - stats.started
        prediction = Prediction(
            t=(start + self.model.window) / self.model.spec.frames_per_second,
            valence=valence,
            arousal=arousal,
            quadrant=quadrant(valence, arousal),
            valence_raw=valence_raw,
            arousal_raw=arousal_raw,
            compute_ms=1e3 * elapsed,
            peak_dbfs=max(FLOOR_DBFS, 20 * math.log10(max(self._peak, 1e-12))),
            silent=self._peak < SILENCE_PEAK,
            clipped=self._clipped,
            overflows=stats.overflows,
            dropped=stats.dropped,
        )
        self._peak, self._clipped = 0.0, 0
        return prediction
