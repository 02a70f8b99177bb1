"""MFCC frames: the one feature pipeline that training and the device share.

The spec's choices (written down in ``FEATURES.md`` beside this file):
22,050 Hz, 40 ms Hamming frames every 20 ms (a 600-frame window is 12 s of music),
1024-point FFT, 64 mel filters up to Nyquist, 40 cepstral coefficients with c0 replaced by
the log frame energy, pre-emphasis 0.97, no lifter (z-scoring undoes any per-coefficient gain).

Only *complete* frames are computed: python-speech-features pads the last partial frame
with zeros, which a stream cannot know in advance. Frame ``i`` covers samples
``[i*step, i*step + length)``, so features of a prefix of a signal are a prefix of the
signal's features -- the property that makes streaming equal to offline.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any, ClassVar, Protocol

import numpy as np
from python_speech_features import base as psf_base
from python_speech_features import sigproc as psf_sigproc
from scipy.fft import dct
from sentio.runtime.errors import FeatureSpecError

FEATURE_ALGORITHM = "sentio-mfcc/1"
_EPS = np.finfo(float).eps  # python-speech-features' floor for zero energies
_WINDOWS = {"hamming": np.hamming, "hanning": np.hanning, "rectangular": np.ones}


def round_half_up(x: float) -> int:
    return int(Decimal(repr(x)).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


class SpecCommon:
    """What every frame spec shares: the framing arithmetic and the JSON form, checked on load
    (``algorithm`` names the kind; a manifest's spec is read back by it)."""

    algorithm: ClassVar[str]
    sample_rate: int
    frame_length_s: float
    frame_step_s: float

    @property
    def frame_length(self) -> int:
        """Frame length in samples (rounded half up, as python-speech-features does)."""
        return round_half_up(self.frame_length_s * self.sample_rate)

    @property
    def frame_step(self) -> int:
        """Frame hop in samples."""
        return round_half_up(self.frame_step_s * self.sample_rate)

    @property
    def frames_per_second(self) -> float:
        return self.sample_rate / self.frame_step

    def n_frames(self, n_samples: int) -> int:
        """Number of complete frames in ``n_samples`` samples."""
        if n_samples < self.frame_length:
            return 0
        return 1 + (n_samples - self.frame_length) // self.frame_step

    def to_dict(self) -> dict[str, Any]:
        return {"algorithm": self.algorithm, **dataclasses.asdict(self)}  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Any:
        data = dict(data)
        algorithm = data.pop("algorithm", cls.algorithm)
        if algorithm != cls.algorithm:
            raise FeatureSpecError(
                f"feature algorithm {algorithm!r} is not {cls.algorithm!r}",
                hint="this model was made by another Sentio version; re-export it with this one",
            )
        known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - known)
        if unknown:
            raise FeatureSpecError(
                f"unknown feature spec fields: {', '.join(unknown)}",
                hint=f"known fields: {', '.join(sorted(known))}",
            )
        return cls(**data)

    def fingerprint(self) -> str:
        """sha256 of the canonical JSON form; equal specs give equal fingerprints."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class FeatureSpec(SpecCommon):
    """Everything needed to reproduce the features a model was trained on.

    Attributes:
        sample_rate: audio rate the features are computed at (Hz); input is resampled to it.
        frame_length_s: analysis frame length in seconds.
        frame_step_s: hop between frames in seconds.
        nfft: FFT size; must be >= the frame length in samples.
        n_filters: mel filters.
        n_features: cepstral coefficients kept per frame.
        low_hz: lowest filter edge.
        high_hz: highest filter edge; ``None`` means Nyquist.
        preemphasis: first-order pre-emphasis coefficient (0 disables it).
        lifter: cepstral lifter ``L`` (0 disables it).
        append_energy: replace c0 by the log of the frame's total energy.
        window: frame window, one of ``hamming``, ``hanning``, ``rectangular``.
    """

    algorithm: ClassVar[str] = FEATURE_ALGORITHM

    sample_rate: int = 22050
    frame_length_s: float = 0.040
    frame_step_s: float = 0.020
    nfft: int = 1024
    n_filters: int = 64
    n_features: int = 40
    low_hz: float = 0.0
    high_hz: float | None = None
    preemphasis: float = 0.97
    lifter: int = 0
    append_energy: bool = True
    window: str = "hamming"

    def __post_init__(self) -> None:
        problems = []
        if self.sample_rate <= 0:
            problems.append(f"sample_rate must be positive, got {self.sample_rate}")
        if not 0 < self.frame_step_s <= self.frame_length_s:
            problems.append("need 0 < frame_step_s <= frame_length_s")
        if self.frame_length > self.nfft:
            problems.append(f"nfft {self.nfft} is shorter than a frame ({self.frame_length})")
        if not 0 < self.n_features <= self.n_filters:
            problems.append("need 0 < n_features <= n_filters")
        if self.window not in _WINDOWS:
            problems.append(f"window must be one of {sorted(_WINDOWS)}, got {self.window!r}")
        top = self.high_hz if self.high_hz is not None else self.sample_rate / 2
        if not 0 <= self.low_hz < top <= self.sample_rate / 2:
            problems.append("need 0 <= low_hz < high_hz <= sample_rate / 2")
        if problems:
            raise FeatureSpecError(
                "invalid feature spec: " + "; ".join(problems),
                hint="fix the spec values (see runtime/FEATURES.md for the defaults and why)",
            )

    def extract(self, signal: np.ndarray) -> np.ndarray:
        """MFCC frames of a whole signal (see :func:`extract_features`)."""
        emphasized = preemphasize(signal, self.preemphasis)
        return features_from_frames(frame_signal(emphasized, self), self)

    def extractor(self) -> MfccExtractor:
        return MfccExtractor(self)


class FrameSpec(Protocol):
    """What every feature-spec kind offers: :class:`FeatureSpec` (``sentio-mfcc/1``, 40 MFCCs)
    and ``mixed_features.MixedFeatureSpec`` (``sentio-mix/1``, the mixed level-free frame)."""

    sample_rate: int

    @property
    def frame_length(self) -> int: ...
    @property
    def frame_step(self) -> int: ...
    @property
    def frames_per_second(self) -> float: ...
    @property
    def n_features(self) -> int: ...
    def n_frames(self, n_samples: int) -> int: ...
    def to_dict(self) -> dict[str, Any]: ...
    def fingerprint(self) -> str: ...
    def extract(self, signal: np.ndarray) -> np.ndarray: ...
    def extractor(self) -> FrameExtractor: ...


class FrameExtractor(Protocol):
    """Incremental extraction: ``push`` returns the frames the new samples complete."""

    def push(self, samples: np.ndarray) -> np.ndarray: ...


@lru_cache(maxsize=8)
def _filterbank(spec: FeatureSpec) -> np.ndarray:
    high = spec.high_hz if spec.high_hz is not None else spec.sample_rate / 2
    fb = psf_base.get_filterbanks(spec.n_filters, spec.nfft, spec.sample_rate, spec.low_hz, high)
    return np.ascontiguousarray(fb.T)  # (nfft//2+1, n_filters)


@lru_cache(maxsize=8)
def _window(spec: FeatureSpec) -> np.ndarray:
    return _WINDOWS[spec.window](spec.frame_length)


def preemphasize(signal: np.ndarray, coeff: float, previous: float = 0.0) -> np.ndarray:
    """``y[n] = x[n] - coeff * x[n-1]``, with ``x[-1] = previous`` (0 at the start of a signal)."""
    signal = np.asarray(signal, dtype=np.float64)
    out = np.empty_like(signal)
    if signal.size:
        out[0] = signal[0] - coeff * previous
        np.subtract(signal[1:], coeff * signal[:-1], out=out[1:])
    return out


def features_from_frames(frames: np.ndarray, spec: FeatureSpec) -> np.ndarray:
    """MFCCs of already pre-emphasised, un-windowed frames of shape (n, frame_length)."""
    if frames.shape[0] == 0:
        return np.zeros((0, spec.n_features), dtype=np.float32)
    pspec = psf_sigproc.powspec(frames * _window(spec), spec.nfft)
    energy = pspec.sum(axis=1)
    energy = np.where(energy == 0, _EPS, energy)
    mel = pspec @ _filterbank(spec)
    mel = np.where(mel == 0, _EPS, mel)
    cepstra = dct(np.log(mel), type=2, axis=1, norm="ortho")[:, : spec.n_features]
    cepstra = psf_base.lifter(cepstra, spec.lifter)
    if spec.append_energy:
        cepstra[:, 0] = np.log(energy)
    return cepstra.astype(np.float32)


def frame_signal(emphasized: np.ndarray, spec: FeatureSpec) -> np.ndarray:
    """The complete frames of a pre-emphasised signal, shape (n_frames, frame_length)."""
    n = spec.n_frames(emphasized.shape[0])
    if n == 0:
        return np.zeros((0, spec.frame_length))
    view = np.lib.stride_tricks.sliding_window_view(emphasized, spec.frame_length)
    return view[:: spec.frame_step][:n]


def extract_features(signal: np.ndarray, spec: FrameSpec) -> np.ndarray:
    """Features of a whole mono signal at ``spec.sample_rate``: float32 (n_frames, n_features)."""
    signal = np.asarray(signal)
    if signal.ndim != 1:
        raise FeatureSpecError(
            f"expected a mono 1-D signal, got shape {signal.shape}",
            hint="mix channels down first (sentio.runtime.audio.load_audio does)",
        )
    return spec.extract(signal)


class MfccExtractor:
    """MFCC frames of a signal that arrives in pieces of any size: carries the pre-emphasis
    state and the samples of the frame not yet complete, so only new complete frames are
    computed, each from the same samples as offline."""

    def __init__(self, spec: FeatureSpec) -> None:
        self.spec = spec
        self._previous = 0.0  # last raw sample: pre-emphasis needs it across chunks
        self._pending = np.zeros(0)  # pre-emphasised samples from the next frame's start on

    def push(self, samples: np.ndarray) -> np.ndarray:
        samples = np.asarray(samples, dtype=np.float32)
        if samples.size == 0:
            return np.zeros((0, self.spec.n_features), dtype=np.float32)
        emphasized = preemphasize(samples, self.spec.preemphasis, self._previous)
        self._previous = float(samples[-1])
        buffer = np.concatenate([self._pending, emphasized]) if self._pending.size else emphasized
        frames = frame_signal(buffer, self.spec)
        consumed = frames.shape[0] * self.spec.frame_step
        self._pending = buffer[consumed:].copy()
        return features_from_frames(frames, self.spec)


@dataclass(frozen=True)
class FeatureStats:
    """Per-feature z-score statistics, computed on the training split only.

    Attributes:
        mean: per-feature mean, length ``n_features``.
        std: per-feature standard deviation (floored so no feature divides by ~0).
    """

    mean: np.ndarray
    std: np.ndarray

    STD_FLOOR = 1e-6

    @classmethod
    def fit(cls, feature_arrays: list[np.ndarray]) -> FeatureStats:
        """Statistics over all frames of the given (n_frames, n_features) arrays."""
        if not feature_arrays:
            raise FeatureSpecError(
                "cannot compute normalization statistics from no songs",
                hint="the training split is empty: give the run more songs",
            )
        # Accumulate in float64 so a dataset of millions of frames does not lose precision.
        count = sum(a.shape[0] for a in feature_arrays)
        total = sum(a.sum(axis=0, dtype=np.float64) for a in feature_arrays)
        mean = total / count
        sq = sum(((a - mean) ** 2).sum(axis=0, dtype=np.float64) for a in feature_arrays)
        std = np.sqrt(sq / count)
        return cls(
            mean=mean.astype(np.float32), std=np.maximum(std, cls.STD_FLOOR).astype(np.float32)
        )

    def apply(self, features: np.ndarray) -> np.ndarray:
        return ((features - self.mean) / self.std).astype(np.float32)

    def to_dict(self) -> dict[str, list[float]]:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, list[float]]) -> FeatureStats:
        mean = np.asarray(data["mean"], dtype=np.float32)
        std = np.asarray(data["std"], dtype=np.float32)
        if mean.shape != std.shape or mean.ndim != 1:
            raise FeatureSpecError(
                "normalization mean and std must be 1-D and of equal length",
                hint="the manifest's normalization block is damaged; re-export the model",
            )
        return cls(mean=mean, std=std)
