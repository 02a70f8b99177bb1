"""The push-audio engine: samples in, predictions out, for a program that owns its audio.

    from sentio.runtime import Engine

    engine = Engine()                         # the bundled model; or Engine("path/to/bundle")
    for block in my_audio_blocks():           # any block size, any rate, float or int16 PCM
        for p in engine.process(block, 48000):
            set_light(p.valence, p.arousal)
    engine.flush()                            # the end of the stream: the last window(s)

One call does resampling -> streaming features -> change detection -> window slicing -> the
model -> smoothing, and keeps the level bookkeeping each
:class:`~sentio.runtime.emotion.Prediction` carries (peak, silence, clipping since the
previous prediction).

Responsiveness: from ``first_s`` (3 s) into a stream the engine answers on the audio it has,
repeated to a window (``partial`` predictions, ``window_s`` < 12 s), growing until the window
is full; a change of music (``changes.ChangeSettings``: novelty in the features, or silence
and back) starts the estimate and the smoothing again from the change; while the audio is
silent the output holds its last value (before any: 0, 0 with the quadrant ``"silent"``, so a
stream or a file of silence never reads as a mood). Whatever the block sizes,
the predictions equal the offline pipeline's on the same audio (:func:`offline_predictions`:
``audio.load_audio`` -> ``features.extract_features`` -> ``changes.find_changes`` ->
``windows.window_ends`` -> ``BundleModel.predict``).
:class:`~sentio.runtime.listener.Listener` is an audio source feeding this engine.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sentio.runtime.audio import SILENCE_PEAK, to_mono
from sentio.runtime.changes import OFF, ChangeDetector, ChangeSettings
from sentio.runtime.emotion import SILENT, Prediction, Smoother, quadrant
from sentio.runtime.errors import BundleError, ConfigError
from sentio.runtime.features import extract_features
from sentio.runtime.model import BundleModel
from sentio.runtime.streaming import FramePeaks, StreamingFeatures, StreamResampler, WindowSlicer
from sentio.runtime.windows import fill_window, window_ends

FULL_SCALE = 0.999
FLOOR_DBFS = -120.0  # digital silence reads as this (JSON has no -inf)
FIRST_S = 3.0  # seconds of audio before the first (partial) estimate
#: The one minimum of audio for an estimate: a stream or clip this long still gets one at its
#: end, and the first estimate (``first_s``) comes after at least this much.
SHORTEST_S = 1.0
SILENCE_DBFS = 20 * math.log10(SILENCE_PEAK)  # -80 dBFS: digital silence


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
        first_s: seconds of audio before the first estimate, which is partial (made on the
            audio so far) until a whole window is in; at least :data:`SHORTEST_S` (1 s, the
            shortest clip that gets an estimate); ``None`` (or a whole window or more): full
            windows only, the first after one window.
        changes: how changes of music are found (``True``: the defaults; ``False``: never,
            one estimate from the start of the stream).
        silence_dbfs: audio whose peak stays below this level (per 20 ms step) is silence:
            the output holds, and sound after 0.5 s of it starts a new estimate. The default,
            -80 dBFS, is digital silence; a microphone in a quiet room hears room tone
            instead (the level-free frame reads it as tense music: experiments/non_music.md),
            which about -45 dBFS catches at a normal gain.

    Raises:
        BundleError: the bundle cannot be loaded (see :class:`BundleModel`).
        ConfigError: a hop, smoothing constant or first estimate that cannot work (not a
            finite number, a hop <= 0, a smoothing constant < 0, a first estimate under
            :data:`SHORTEST_S`);
            checked before the model loads.
    """

    def __init__(
        self,
        model: BundleModel | Path | str | None = None,
        hop_s: float | None = None,
        smooth_s: float = 0.0,
        first_s: float | None = FIRST_S,
        changes: ChangeSettings | bool = True,
        silence_dbfs: float = SILENCE_DBFS,
    ) -> None:
        hop_s, smooth_s = self.check_options(hop_s, smooth_s, first_s)  # before a model loads
        first_s = _check_first(first_s)
        self.silence_peak = _silence_peak(silence_dbfs)
        self.changes = _change_settings(changes)
        self.model = model if isinstance(model, BundleModel) else BundleModel(model)
        spec = self.model.spec
        hop_s = self.model.default_hop_s if hop_s is None else hop_s
        self.hop_frames = max(1, round(hop_s * spec.frames_per_second))
        #: seconds between predictions, as rounded to whole frames
        self.hop_s = self.hop_frames / spec.frames_per_second
        self.smooth_s = smooth_s
        #: frames before the first estimate of a segment (a whole window: no partial ones)
        self.first_frames = _first_frames(self.model, first_s)
        self.reset()

    @staticmethod
    def check_options(
        hop_s: float | None, smooth_s: float, first_s: float | None = FIRST_S
    ) -> tuple[float | None, float]:
        """``(hop_s, smooth_s)`` as floats, or a :class:`ConfigError`: a hop must be finite
        and positive (``None``: the bundle's), a smoothing constant finite and >= 0 (an
        infinite one would freeze the output, NaN would make every value NaN)."""
        hop = None if hop_s is None else _finite("hop_s", hop_s)
        if hop is not None and not hop > 0:
            raise ConfigError(f"hop must be positive, got {hop_s}", hint="pass hop_s > 0")
        _check_first(first_s)
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
        self._windows = WindowSlicer(
            self.model.window, self.hop_frames, spec.n_features, self.first_frames
        )
        self._detector = ChangeDetector(self.changes, spec.frames_per_second, self.model.estimate)
        self._frame_peaks = FramePeaks(spec.frame_step)
        self._peak_backlog = np.zeros(0, np.float32)  # frame peaks ahead of the frames
        self._silent_frames = np.zeros(0, bool)  # per frame since the last prediction's end
        self._frames_seen = 0
        self._last_end = 0
        self._held: tuple[float, float] | None = None  # nothing but silence heard yet
        self._new_segment = False
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
        out = self._push(nothing, self._resampler.push(nothing, last=True), self._rate)
        shortest = round(SHORTEST_S * self.model.spec.frames_per_second)
        for end, length, window in self._windows.finish(shortest):
            out.append(self._predict(end, length, window, self._pending_silent(end)))
        return out

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
        frames = self._features.push(samples)
        silent = self._frames_silent(samples, frames.shape[0])
        detector = self._detector
        changes = detector.push(
            self.model.stats.apply(frames) if detector.needs_frames else frames, silent
        )
        out: list[Prediction] = []
        done = 0
        for found_at, starts_at in changes:
            cut = found_at - self._frames_seen
            out += self._windows_of(frames[done:cut], silent[done:cut])
            self._windows.restart(starts_at)
            self._new_segment = True
            done = cut
        out += self._windows_of(frames[done:], silent[done:])
        self._frames_seen += frames.shape[0]
        return out

    def _frames_silent(self, samples: np.ndarray, n_frames: int) -> np.ndarray:
        """One flag per new frame: its step of audio is below the silence level."""
        backlog = np.concatenate([self._peak_backlog, self._frame_peaks.push(samples)])
        peaks, self._peak_backlog = backlog[:n_frames], backlog[n_frames:]
        if peaks.shape[0] < n_frames:  # cannot happen with whole-frame extraction; be safe
            peaks = np.concatenate([peaks, np.ones(n_frames - peaks.shape[0], np.float32)])
        return peaks < self.silence_peak

    def _windows_of(self, frames: np.ndarray, silent: np.ndarray) -> list[Prediction]:
        self._silent_frames = np.concatenate([self._silent_frames, silent])
        windows = self._windows.push(frames)
        return [
            self._predict(end, length, window, self._pending_silent(end))
            for end, length, window in windows
        ]

    def _pending_silent(self, end: int) -> bool:
        """Whether every frame since the last prediction's end, up to ``end``, was silent."""
        since = end - self._last_end
        silent = bool(self._silent_frames[:since].all()) if since > 0 else False
        self._silent_frames = self._silent_frames[max(since, 0) :]
        self._last_end = end
        return silent

    def _predict(self, end: int, length: int, window: np.ndarray, silent: bool) -> Prediction:
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
        change, self._new_segment = self._new_segment, False
        if change:
            self._smooth = Smoother(self.smooth_s, self.hop_s)  # the old song's mood is gone
        if silent:  # hold: silence has no mood, and room noise is not the music's
            valence, arousal = self._held or (0.0, 0.0)
            mood = quadrant(valence, arousal) if self._held else SILENT
        else:
            valence, arousal = self._held = self._smooth(valence_raw, arousal_raw)
            mood = quadrant(valence, arousal)
        fps = self.model.spec.frames_per_second
        stats = self.stats
        stats.windows += 1
        stats.compute_s += elapsed
        stats.compute_max_ms = max(stats.compute_max_ms, 1e3 * elapsed)
        prediction = Prediction(
            t=end / fps,
            valence=valence,
            arousal=arousal,
            quadrant=mood,
            valence_raw=valence_raw,
            arousal_raw=arousal_raw,
            compute_ms=1e3 * elapsed,
            peak_dbfs=max(FLOOR_DBFS, 20 * math.log10(max(self._peak, 1e-12))),
            silent=silent,
            clipped=self._clipped,
            overflows=0,
            dropped=0,
            window_s=length / fps,
            partial=length < self.model.window,
            change=change,
        )
        self._peak, self._clipped = 0.0, 0
        return prediction


def offline_predictions(
    model: BundleModel,
    samples: np.ndarray,
    first_s: float | None = FIRST_S,
    changes: ChangeSettings | bool = True,
    hop_frames: int | None = None,
    silence_dbfs: float = SILENCE_DBFS,
) -> tuple[list[tuple[int, int]], np.ndarray]:
    """The engine's raw predictions computed on a whole signal at once (``samples`` at the
    model's rate): features, changes, the windows :func:`windows.window_ends` names, the model.
    Returns ``([(end, length), ...], (n, 2) raw valence/arousal)``. Used to check that
    streaming equals offline, and by tools that have the whole file."""
    spec = model.spec
    settings = _change_settings(changes)
    first_frames = _first_frames(model, _check_first(first_s))
    hop = hop_frames or max(1, round(model.default_hop_s * spec.frames_per_second))
    features = extract_features(samples, spec)
    peaks = FramePeaks(spec.frame_step).push(samples)[: len(features)]
    detector = ChangeDetector(settings, spec.frames_per_second, model.estimate)
    normalized = model.stats.apply(features) if detector.needs_frames else features
    found = detector.push(normalized, peaks < _silence_peak(silence_dbfs))
    shortest = round(SHORTEST_S * spec.frames_per_second)
    ends = window_ends(len(features), model.window, hop, first_frames, found, shortest)
    raw = [model.predict(fill_window(features[e - n : e], model.window)) for e, n in ends]
    return ends, np.array(raw, dtype=np.float32).reshape(-1, 2)


def _first_frames(model: BundleModel, first_s: float | None) -> int:
    """Frames before the first estimate of a segment (a whole window: no partial ones)."""
    if first_s is None:
        return model.window
    return min(model.window, max(1, round(first_s * model.spec.frames_per_second)))


def _silence_peak(silence_dbfs: float) -> float:
    level = _finite("silence_dbfs", silence_dbfs)
    if not -140.0 <= level <= 0.0:
        raise ConfigError(
            f"the silence level must be from -140 to 0 dBFS, got {silence_dbfs}",
            hint="e.g. -80 (digital silence) or -45 (room tone through a microphone)",
        )
    return 10 ** (level / 20)


def _check_first(first_s: float | None) -> float | None:
    if first_s is None:
        return None
    first = _finite("first_s", first_s)
    if not first >= SHORTEST_S:  # a 0.5 s file gets no estimate: neither does a stream
        raise ConfigError(
            f"the first estimate needs at least {SHORTEST_S:g} s of audio (the shortest clip "
            f"that gets one), got first_s {first_s}",
            hint=f"pass first_s >= {SHORTEST_S:g} (e.g. 3), or None for full windows only",
        )
    return first


def _change_settings(changes: ChangeSettings | bool) -> ChangeSettings:
    if isinstance(changes, ChangeSettings):
        return changes
    return ChangeSettings() if changes else OFF


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
