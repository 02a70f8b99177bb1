"""The push-audio engine: samples in, predictions out, for a program that owns its audio.

    from sentio.runtime import Engine

    engine = Engine()                         # the bundled model; or Engine("path/to/bundle")
    for block in my_audio_blocks():           # any block size, any rate, float or int16 PCM
        for p in engine.process(block, 48000):
            set_light(p.valence, p.arousal)
    engine.flush()                            # the end of the stream: the last window(s)

One call does resampling -> streaming MFCC -> window slicing -> the model -> smoothing, and
keeps the level bookkeeping each :class:`~sentio.runtime.emotion.Prediction` carries (peak,
silence, clipping since the previous prediction). Whatever the block sizes, the predictions
equal the offline pipeline's on the same audio (``audio.load_audio`` ->
``features.extract_features`` -> ``windows.window_starts`` -> ``BundleModel.predict``).
:class:`~sentio.runtime.listener.Listener` is an audio source feeding this engine.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sentio.runtime.audio import SILENCE_PEAK, to_mono
from sentio.runtime.emotion import Prediction, Smoother, quadrant
from sentio.runtime.errors import BundleError, ConfigError
from sentio.runtime.model import BundleModel
from sentio.runtime.streaming import StreamingFeatures, StreamResampler, WindowSlicer

FULL_SCALE = 0.999
FLOOR_DBFS = -120.0  # digital silence reads as this (JSON has no -inf)


@dataclass
class EngineStats:
    """What the engine has done since the last :meth:`Engine.reset`.

    Attributes:
        audio_s: seconds of audio processed (at the rate it was given).
        windows: predictions made.
        compute_s: total inference time.
        compute_max_ms: the slowest inference.
    """

    audio_s: float = 0.0
    windows: int = 0
    compute_s: float = 0.0
    compute_max_ms: float = 0.0

    @property
    def compute_mean_ms(self) -> float:
        return 1e3 * self.compute_s / self.windows if self.windows else 0.0


class Engine:
    """Predictions from audio pushed in blocks.

    Args:
        model: a loaded bundle, a bundle folder (or a model file in one), or ``None`` for the
            model that ships with the runtime.
        hop_s: seconds between predictions (default: the bundle's ``window.default_hop_s``);
            rounded to whole feature frames, see :attr:`hop_s`.
        smooth_s: exponential smoothing time constant in seconds (0: off).

    Raises:
        BundleError: the bundle cannot be loaded (see :class:`BundleModel`).
        ConfigError: a hop or smoothing constant that cannot work (not a finite number,
            a hop <= 0, a smoothing constant < 0); checked before the model loads.
    """

    def __init__(
        self,
        model: BundleModel | Path | str | None = None,
        hop_s: float | None = None,
        smooth_s: float = 0.0,
    ) -> None:
        hop_s, smooth_s = self.check_options(hop_s, smooth_s)  # before a model loads
        self.model = model if isinstance(model, BundleModel) else BundleModel(model)
        spec = self.model.spec
        hop_s = self.model.default_hop_s if hop_s is None else hop_s
        self.hop_frames = max(1, round(hop_s * spec.frames_per_second))
        #: seconds between predictions, as rounded to whole frames
        self.hop_s = self.hop_frames / spec.frames_per_second
        self.smooth_s = smooth_s
        self.reset()

    @staticmethod
    def check_options(hop_s: float | None, smooth_s: float) -> tuple[float | None, float]:
        """``(hop_s, smooth_s)`` as floats, or a :class:`ConfigError`: a hop must be finite
        and positive (``None``: the bundle's), a smoothing constant finite and >= 0 (an
        infinite one would freeze the output, NaN would make every value NaN)."""
        hop = None if hop_s is None else _finite("hop_s", hop_s)
        if hop is not None and not hop > 0:
            raise ConfigError(f"hop must be positive, got {hop_s}", hint="pass hop_s > 0")
        smooth = _finite("smooth_s", smooth_s)
        if not smooth >= 0:
            raise ConfigError(
                f"smoothing must be 0 (off) or positive, got {smooth_s}", hint="pass smooth_s >= 0"
            )
        return hop, smooth

    @property
    def sample_rate(self) -> int | None:
        """The rate of the current stream (set by its first :meth:`process`), or None."""
        return self._rate

    @property
    def window_s(self) -> float:
        """Seconds of audio in one model window (the delay before the first prediction)."""
        return self.model.window / self.model.spec.frames_per_second

    def reset(self) -> None:
        """Start a new stream: forget buffered audio, smoothing state, the sample rate and the
        stats. Prediction times start from 0 again."""
        spec = self.model.spec
        self._rate: int | None = None
        self._resampler: StreamResampler | None = None
        self._features = StreamingFeatures(spec)
        self._windows = WindowSlicer(self.model.window, self.hop_frames, spec.n_features)
        self._smooth = Smoother(self.smooth_s, self.hop_s)
        self._peak = 0.0
        self._clipped = 0
        self._ended = False
        self.stats = EngineStats()

    def process(self, samples: np.ndarray, sample_rate: int) -> list[Prediction]:
        """Push the next block of the stream; returns the predictions it completes (often none).

        Args:
            samples: mono, or (frames, channels) mixed down; float in [-1, 1], or signed
                integer PCM (scaled by its full scale, e.g. int16 / 32768).
            sample_rate: the block's rate in Hz; fixed for a stream (change it via
                :meth:`reset`).

        Raises:
            ConfigError: the rate differs from the stream's, the stream was flushed, or the
                samples are not audio (NaN or infinite values included).
            BundleError: the model returned NaN/inf (a broken model file).
        """
        rate = self._stream_rate(sample_rate)
        if self._ended:
            raise ConfigError(
                "this stream has ended (flush() was called)",
                hint="call reset() before pushing a new stream",
            )
        raw = _as_float_mono(samples)
        if not np.isfinite(raw).all():
            raise ConfigError(
                "samples hold NaN or infinite values",
                hint="pass finite samples (float in [-1, 1] or integer PCM)",
            )
        assert self._resampler is not None
        return self._push(raw, self._resampler.push(raw), rate)

    def flush(self) -> list[Prediction]:
        """End the stream: push the resampler's remaining output through; returns the windows
        that completes. After this, :meth:`process` needs a :meth:`reset`."""
        if self._resampler is None or self._ended:
            self._ended = True
            return []
        self._ended = True
        nothing = np.zeros(0, np.float32)
        assert self._rate is not None
        return self._push(nothing, self._resampler.push(nothing, last=True), self._rate)

    # -- internals

    def _stream_rate(self, sample_rate: int) -> int:
        if isinstance(sample_rate, bool) or int(sample_rate) != sample_rate or sample_rate <= 0:
            raise ConfigError(
                f"sample rate must be a positive whole number of Hz, got {sample_rate!r}",
                hint="pass the rate the samples were recorded at, e.g. 48000",
            )
        rate = int(sample_rate)
        if self._rate is None:
            self._rate = rate
            self._resampler = StreamResampler(rate, self.model.spec.sample_rate)
        elif rate != self._rate:
            raise ConfigError(
                f"sample rate changed from {self._rate} Hz to {rate} Hz within one stream",
                hint="call reset() to start a new stream at another rate (or resample first)",
            )
        return rate

    def _push(self, raw: np.ndarray, samples: np.ndarray, rate: int) -> list[Prediction]:
        self.stats.audio_s += raw.shape[0] / rate
        if raw.size:
            magnitude = np.abs(raw)
            self._peak = max(self._peak, float(magnitude.max()))
            self._clipped += int(np.count_nonzero(magnitude >= FULL_SCALE))
        windows = self._windows.push(self._features.push(samples))
        return [self._predict(start, window) for start, window in windows]

    def _predict(self, start: int, window: np.ndarray) -> Prediction:
        began = time.perf_counter()
        valence_raw, arousal_raw = (float(v) for v in self.model.predict(window))
        elapsed = time.perf_counter() - began
        if not (math.isfinite(valence_raw) and math.isfinite(arousal_raw)):
            # finite audio in, NaN out: a broken model; never pass NaN on (invalid JSON, a
            # smoother stuck at NaN, a wrong quadrant)
            raise BundleError(
                f"{self.model.artifact} returned valence {valence_raw}, arousal {arousal_raw} "
                "for a window of finite audio",
                hint="the model file is broken: re-export it, or pick another --artifact",
            )
        valence, arousal = self._smooth(valence_raw, arousal_raw)
        stats = self.stats
        stats.windows += 1
        stats.compute_s += elapsed
        stats.compute_max_ms = max(stats.compute_max_ms, 1e3 * elapsed)
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
            overflows=0,
            dropped=0,
        )
        self._peak, self._clipped = 0.0, 0
        return prediction


def _finite(name: str, value: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {value!r}", hint=f"pass {name}") from None
    if not math.isfinite(number):
        raise ConfigError(f"{name} must be finite, got {value!r}", hint=f"pass a finite {name}")
    return number


def _as_float_mono(samples: np.ndarray) -> np.ndarray:
    """Mono float32 of a block as a caller may hold it (float or integer PCM, 1 or 2 axes)."""
    samples = np.asarray(samples)
    if samples.ndim not in (1, 2):
        raise ConfigError(
            f"expected mono samples or (frames, channels), got shape {samples.shape}",
            hint="pass one block of audio as a 1-D array",
        )
    if np.issubdtype(samples.dtype, np.signedinteger):
        samples = samples.astype(np.float32) / np.float32(-np.iinfo(samples.dtype).min)
    elif not np.issubdtype(samples.dtype, np.floating):
        raise ConfigError(
            f"samples of dtype {samples.dtype} are not audio",
            hint="pass float samples in [-1, 1] or signed integer PCM (e.g. int16)",
        )
    return np.ascontiguousarray(to_mono(samples), dtype=np.float32)
