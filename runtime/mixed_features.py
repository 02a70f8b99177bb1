"""The mixed, level-free frame (``sentio-mix/1``): MFCCs, chroma, spectral contrast, energy.

One STFT per frame feeds every block (the same 40 ms Hamming frames every 20 ms as the MFCC
spec, 1024-point FFT), in this order:

- ``mfcc``: c1..cN of the log mel energies. c0 is never kept: it is the absolute level. The
  log uses a floor *relative* to the frame's mean band energy, so a quiet band is floored the
  same way at any microphone gain.
- ``chroma``: librosa's ``chroma_stft`` (tuning 0, per-frame max normalization) on the power
  spectrum, its filter bank computed here exactly as librosa builds it (tested equal); by
  default kept as ``chroma_dft``, the magnitudes of its DFT over the 12 pitch classes
  (k = 1..6): key-free, which scored better for valence (experiments/frontend_v2_candidates.md).
- ``contrast``: librosa's ``spectral_contrast`` on the magnitude spectrum, except that it is not
  clipped to 80 dB below the loudest value of the whole signal (``top_db``): a stream cannot
  know that maximum in advance.
- ``energy``: the frame's level in dB relative to a running reference (time constant
  ``energy_tau_s``): loudness changes (a drop, a crescendo) stay, the microphone's gain goes.
- ``onset`` (optional): mean positive change of the log mel energies from the previous frame,
  a spectral-flux onset strength, level-free because it is a difference of logs.

Level invariance: every block is a ratio of energies of the same frame (MFCC c1.., chroma,
contrast) or of the same stream (energy, onset), so a gain cancels. Each frame's mean is
removed before windowing, so a DC offset cancels too. Frames quieter than ``silence_db`` dBFS
(mean square of the frame) are *silent*: they get a fixed frame (zeros, energy at
``-energy_range_db``) and leave the running reference alone, so a silent gap neither produces
NaNs nor makes the level after it jump.

The running state (the unfinished frame, the previous frame's log mel, the energy reference)
is what :class:`MixedExtractor` carries between pushes; the batch path is the same extractor
fed the whole signal at once, so streaming equals offline by construction (and by test).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

import numpy as np
from python_speech_features import base as psf_base
from scipy.fft import dct, rfft
from sentio.runtime.errors import FeatureSpecError
from sentio.runtime.features import SpecCommon

MIXED_ALGORITHM = "sentio-mix/1"
_TINY = np.finfo(np.float64).tiny
_CONTRAST_AMIN = 1e-10  # librosa's power_to_db floor
_WINDOWS = {"hamming": np.hamming, "hanning": np.hanning}


@dataclass(frozen=True)
class MixedFeatureSpec(SpecCommon):
    """A mixed frame of MFCC, chroma, spectral contrast and relative energy (see module doc).

    Attributes:
        sample_rate: audio rate the features are computed at (Hz).
        frame_length_s: analysis frame length in seconds.
        frame_step_s: hop between frames in seconds.
        nfft: FFT size; must be >= the frame length in samples.
        window: frame window, ``hamming`` or ``hanning``.
        high_hz: every block ignores the spectrum above this (Hz): a capture path's resampler
            rolls off near Nyquist (soxr HQ 48 -> 22.05 kHz: -7.5 dB at 10.5 kHz), and the top
            bins would then differ between a 22,050 Hz file and a 48 kHz microphone.
        n_mels: mel filters (0 Hz to ``high_hz``) behind the MFCCs and the onset strength.
        mel_floor_db: log-mel floor relative to the frame's mean band energy (dB, negative).
        n_mfcc: cepstral coefficients kept, c1..c``n_mfcc`` (c0 never).
        n_chroma: chroma bins (12), or 0 for none.
        chroma_dft: keep, instead of the chroma bins, the magnitudes of their DFT over pitch
            class (k = 1..n_chroma/2): the shape of the pitch-class profile (how tonal, which
            intervals) without the key, which a song-level mean of raw chroma mistakes for mood.
        contrast_bands: spectral-contrast octave bands from ``contrast_fmin`` (rows = bands + 1),
            or 0 for none.
        contrast_fmin: lower edge of the first contrast band (Hz).
        contrast_quantile: share of a band's bins averaged as its peak and valley.
        energy: include the frame level relative to the running reference.
        energy_tau_s: time constant of the running level reference (s).
        energy_range_db: the relative level is clipped to +-this; silent frames get the minus.
        onset: include the spectral-flux onset strength.
        silence_db: frames whose mean square is below this (dBFS) are silent.
    """

    algorithm: ClassVar[str] = MIXED_ALGORITHM

    sample_rate: int = 22050
    frame_length_s: float = 0.040
    frame_step_s: float = 0.020
    nfft: int = 1024
    window: str = "hamming"
    high_hz: float = 10000.0
    n_mels: int = 64
    mel_floor_db: float = -80.0
    n_mfcc: int = 25
    n_chroma: int = 12
    chroma_dft: bool = True
    contrast_bands: int = 6
    contrast_fmin: float = 200.0
    contrast_quantile: float = 0.02
    energy: bool = True
    energy_tau_s: float = 4.0
    energy_range_db: float = 60.0
    onset: bool = True
    silence_db: float = -120.0

    def __post_init__(self) -> None:
        problems = self._problems()
        if problems:
            raise FeatureSpecError(
                "invalid feature spec: " + "; ".join(problems),
                hint="fix the spec values (see runtime/FEATURES.md for the defaults and why)",
            )

    def _problems(self) -> list[str]:
        problems = []
        if self.sample_rate <= 0:
            problems.append(f"sample_rate must be positive, got {self.sample_rate}")
        if not 0 < self.frame_step_s <= self.frame_length_s:
            problems.append("need 0 < frame_step_s <= frame_length_s")
        elif self.frame_length > self.nfft:
            problems.append(f"nfft {self.nfft} is shorter than a frame ({self.frame_length})")
        if self.window not in _WINDOWS:
            problems.append(f"window must be one of {sorted(_WINDOWS)}, got {self.window!r}")
        if not 0 <= self.n_mfcc < self.n_mels:
            problems.append("need 0 <= n_mfcc < n_mels (c0 is never kept)")
        if self.n_chroma not in (0, 12, 24, 36):
            problems.append(f"n_chroma must be 0 or a multiple of 12 up to 36, got {self.n_chroma}")
        if self.contrast_bands < 0:
            problems.append("contrast_bands must be >= 0")
        elif self.contrast_bands and (
            self.contrast_fmin <= 0
            or self.contrast_fmin * 2 ** (self.contrast_bands - 1) >= self.high_hz
        ):
            problems.append("contrast bands exceed high_hz: lower contrast_fmin or contrast_bands")
        if not 0 < self.high_hz <= self.sample_rate / 2:
            problems.append("need 0 < high_hz <= sample_rate / 2")
        if not 0 < self.contrast_quantile < 1:
            problems.append("contrast_quantile must lie in (0, 1)")
        if self.energy_tau_s <= 0 or self.energy_range_db <= 0:
            problems.append("energy_tau_s and energy_range_db must be positive")
        if self.mel_floor_db >= 0:
            problems.append("mel_floor_db must be negative")
        if self.n_features == 0:
            problems.append("the frame has no features: enable at least one block")
        return problems

    @property
    def blocks(self) -> dict[str, slice]:
        """Which columns of a frame hold which block, in frame order."""
        sizes = {
            "mfcc": self.n_mfcc,
            "chroma": 0 if self.chroma_dft else self.n_chroma,
            "chroma_dft": self.n_chroma // 2 if self.chroma_dft else 0,
            "contrast": self.contrast_bands + 1 if self.contrast_bands else 0,
            "energy": int(self.energy),
            "onset": int(self.onset),
        }
        out, start = {}, 0
        for name, size in sizes.items():
            if size:
                out[name] = slice(start, start + size)
                start += size
        return out

    @property
    def n_features(self) -> int:
        return sum(s.stop - s.start for s in self.blocks.values())

    def extractor(self) -> MixedExtractor:
        return MixedExtractor(self)

    def extract(self, signal: np.ndarray) -> np.ndarray:
        """Frames of a whole signal: a fresh extractor fed everything at once."""
        return MixedExtractor(self).push(signal)


# ----------------------------------------------------------------------------- filter banks


def chroma_filterbank(sample_rate: int, nfft: int, n_chroma: int = 12) -> np.ndarray:
    """librosa.filters.chroma(sr, n_fft, n_chroma, tuning=0) (defaults: ctroct 5, octwidth 2,
    column 2-norm, base C, float32), shape (n_chroma, nfft // 2 + 1)."""
    frequencies = np.linspace(0, sample_rate, nfft, endpoint=False)[1:]
    a440_over_16 = 440.0 / 16
    frqbins = n_chroma * np.log2(frequencies / a440_over_16)
    frqbins = np.concatenate(([frqbins[0] - 1.5 * n_chroma], frqbins))
    binwidthbins = np.concatenate((np.maximum(frqbins[1:] - frqbins[:-1], 1.0), [1]))
    distance = np.subtract.outer(frqbins, np.arange(0, n_chroma, dtype="d")).T
    half = np.round(float(n_chroma) / 2)
    distance = np.remainder(distance + half + 10 * n_chroma, n_chroma) - half
    weights = np.exp(-0.5 * (2 * distance / np.tile(binwidthbins, (n_chroma, 1))) ** 2)
    norms = np.sqrt(np.sum(weights**2, axis=0, keepdims=True))
    weights = weights / np.where(norms < _TINY, 1.0, norms)
    octave_weight = np.exp(-0.5 * (((frqbins / n_chroma - 5.0) / 2.0) ** 2))
    weights = weights * np.tile(octave_weight, (n_chroma, 1))
    weights = np.roll(weights, -3 * (n_chroma // 12), axis=0)
    return np.ascontiguousarray(weights[:, : 1 + nfft // 2], dtype=np.float32)


def contrast_bands(spec: MixedFeatureSpec) -> list[tuple[slice, int]]:
    """Per band: the FFT bins it spans (contiguous) and how many of them make its peak and its
    valley, exactly as librosa.feature.spectral_contrast chooses them for the spectrum up to
    ``high_hz`` (``S=M[:kept], freq=freq[:kept]``)."""
    freq = _bin_frequencies(spec)[: _kept_bins(spec)]
    edges = np.zeros(spec.contrast_bands + 2)
    edges[1:] = spec.contrast_fmin * 2.0 ** np.arange(0, spec.contrast_bands + 1)
    out = []
    for k, (low, high) in enumerate(itertools.pairwise(edges)):
        idx = np.flatnonzero(np.logical_and(freq >= low, freq <= high))
        first = idx[0] - 1 if k > 0 else idx[0]
        stop = freq.size if k == spec.contrast_bands else idx[-1] + 1
        count = max(int(np.rint(spec.contrast_quantile * (stop - first))), 1)
        if k < spec.contrast_bands:
            stop -= 1  # librosa leaves out each band's top bin but counts it for the quantile
        out.append((slice(int(first), int(stop)), count))
    return out


def _bin_frequencies(spec: MixedFeatureSpec) -> np.ndarray:
    return np.linspace(0, spec.sample_rate / 2, 1 + spec.nfft // 2)


def _kept_bins(spec: MixedFeatureSpec) -> int:
    """How many FFT bins, from 0 Hz, lie at or below ``high_hz``."""
    return int(np.searchsorted(_bin_frequencies(spec), spec.high_hz, side="right"))


@dataclass(frozen=True)
class _Banks:
    window: np.ndarray
    mel: np.ndarray  # (bins, n_mels)
    chroma: np.ndarray  # (bins, n_chroma)
    chroma_dft: np.ndarray  # (n_chroma, 2 * n_chroma // 2): cos | sin of DFT bins 1..n/2
    contrast: _ContrastPlan


@dataclass(frozen=True)
class _ContrastPlan:
    """Spectral contrast bands grouped for speed: runs of adjacent one-bin-quantile bands
    (peak = max, valley = min: one ``reduceat`` per run, not a call per band), and the bands
    whose quantile spans several bins (sorted, as librosa does)."""

    n_bands: int
    runs: tuple[tuple[slice, np.ndarray, np.ndarray], ...]  # (bins, starts in it, columns)
    sorted_bands: tuple[tuple[int, slice, int], ...]  # (column, bins, count)

    @classmethod
    def of(cls, bands: list[tuple[slice, int]]) -> _ContrastPlan:
        runs: list[list[tuple[int, slice]]] = []
        sorted_bands = []
        for k, (bins, count) in enumerate(bands):
            if count > 1:
                sorted_bands.append((k, bins, count))
            elif runs and runs[-1][-1][1].stop == bins.start:
                runs[-1].append((k, bins))
            else:
                runs.append([(k, bins)])
        grouped = tuple(
            (
                slice(run[0][1].start, run[-1][1].stop),
                np.array([b.start - run[0][1].start for _, b in run]),
                np.array([k for k, _ in run]),
            )
            for run in runs
        )
        return cls(len(bands), grouped, tuple(sorted_bands))


@lru_cache(maxsize=8)
def _banks(spec: MixedFeatureSpec) -> _Banks:
    mel = psf_base.get_filterbanks(spec.n_mels, spec.nfft, spec.sample_rate, 0, spec.high_hz)
    chroma = (
        chroma_filterbank(spec.sample_rate, spec.nfft, spec.n_chroma).T.astype(np.float64)
        if spec.n_chroma
        else np.zeros((1 + spec.nfft // 2, 0))
    )
    chroma[_kept_bins(spec) :] = 0.0  # = chroma_stft of the spectrum with those bins zeroed
    return _Banks(
        window=_WINDOWS[spec.window](spec.frame_length),
        mel=np.ascontiguousarray(mel.T),
        chroma=np.ascontiguousarray(chroma),
        chroma_dft=_dft_matrix(spec.n_chroma),
        contrast=_ContrastPlan.of(contrast_bands(spec) if spec.contrast_bands else []),
    )


def _dft_matrix(n: int) -> np.ndarray:
    """``x @ M`` = the real and imaginary parts of ``rfft(x)[1 : 1 + n // 2]`` (a 12-point FFT
    per frame costs more in call overhead than this product)."""
    k = np.arange(1, 1 + n // 2)
    angle = 2 * np.pi * np.outer(np.arange(n), k) / max(n, 1)
    return np.ascontiguousarray(np.concatenate([np.cos(angle), -np.sin(angle)], axis=1))


# ----------------------------------------------------------------------------- the extractor


class MixedExtractor:
    """Mixed frames of a signal that arrives in pieces of any size.

    ``push`` returns the frames completed by the new samples, float32 (k, n_features); the
    concatenation of everything returned equals ``spec.extract`` of the concatenated samples.
    """

    def __init__(self, spec: MixedFeatureSpec) -> None:
        self.spec = spec
        self._banks = _banks(spec)
        self._pending = np.zeros(0)
        self._previous_log_mel: np.ndarray | None = None  # None: stream start or after silence
        self._reference_db: float | None = None  # None until the first non-silent frame
        self._alpha = 1.0 - math.exp(-spec.frame_step / spec.sample_rate / spec.energy_tau_s)
        self._silent_frame = np.zeros(spec.n_features)
        if spec.energy:
            self._silent_frame[spec.blocks["energy"]] = -spec.energy_range_db

    def push(self, samples: np.ndarray) -> np.ndarray:
        samples = np.asarray(samples, dtype=np.float64)
        if samples.ndim != 1:
            raise FeatureSpecError(
                f"expected a mono 1-D signal, got shape {samples.shape}",
                hint="mix channels down first (sentio.runtime.audio.load_audio does)",
            )
        if not np.isfinite(samples.sum()):
            # NaN/inf from a broken driver must not poison the stream's state: they count as 0.
            samples = np.where(np.isfinite(samples), samples, 0.0)
        buffer = np.concatenate([self._pending, samples]) if self._pending.size else samples
        n = self.spec.n_frames(buffer.shape[0])
        self._pending = buffer[n * self.spec.frame_step :].copy()
        if n == 0:
            return np.zeros((0, self.spec.n_features), dtype=np.float32)
        view = np.lib.stride_tricks.sliding_window_view(buffer, self.spec.frame_length)
        return self._frames(view[:: self.spec.frame_step][:n])

    def _frames(self, frames: np.ndarray) -> np.ndarray:
        spec, banks = self.spec, self._banks
        frames = frames - frames.mean(axis=1, keepdims=True)
        level_db = 10 * np.log10(
            np.maximum(np.einsum("ij,ij->i", frames, frames) / frames.shape[1], _TINY)
        )
        silent = level_db < spec.silence_db
        spectrum = rfft(frames * banks.window, n=spec.nfft, axis=1)
        power = spectrum.real**2 + spectrum.imag**2
        mel = power @ banks.mel
        floor = np.maximum(mel.mean(axis=1, keepdims=True) * 10 ** (spec.mel_floor_db / 10), _TINY)
        log_mel = np.log(mel + floor)
        columns = []
        if spec.n_mfcc:
            columns.append(dct(log_mel, type=2, axis=1, norm="ortho")[:, 1 : 1 + spec.n_mfcc])
        if spec.n_chroma:
            chroma = _max_normalized(power @ banks.chroma)
            if spec.chroma_dft:
                parts = chroma @ banks.chroma_dft
                half = spec.n_chroma // 2
                chroma = np.sqrt(parts[:, :half] ** 2 + parts[:, half:] ** 2)
            columns.append(chroma)
        if spec.contrast_bands:
            columns.append(_contrast(np.sqrt(power), banks.contrast))
        if spec.energy:
            columns.append(self._relative_level(level_db, silent)[:, None])
        if spec.onset:
            columns.append(self._onset(log_mel, silent)[:, None])
        out = np.concatenate(columns, axis=1)
        if silent.any():
            out[silent] = self._silent_frame
        return out.astype(np.float32)

    def _relative_level(self, level_db: np.ndarray, silent: np.ndarray) -> np.ndarray:
        """Level minus the running reference of the frames before it (dB), clipped.

        A plain loop: the reference is a recursion, and the same scalar steps in the same order
        are what make any chunking give the same numbers.
        """
        limit = self.spec.energy_range_db
        out = np.full(level_db.shape, -limit)
        reference, alpha = self._reference_db, self._alpha
        for i, (level, quiet) in enumerate(zip(level_db.tolist(), silent.tolist(), strict=True)):
            if quiet:
                continue
            if reference is None:
                reference = level
            out[i] = min(max(level - reference, -limit), limit)
            reference += alpha * (level - reference)
        self._reference_db = reference
        return out

    def _onset(self, log_mel: np.ndarray, silent: np.ndarray) -> np.ndarray:
        previous = np.empty_like(log_mel)
        previous[1:] = log_mel[:-1]
        previous[0] = log_mel[0] if self._previous_log_mel is None else self._previous_log_mel
        valid = ~silent
        valid[1:] &= ~silent[:-1]
        if self._previous_log_mel is None:
            valid[0] = False
        self._previous_log_mel = None if silent[-1] else log_mel[-1].copy()
        flux = np.maximum(log_mel - previous, 0.0).mean(axis=1)
        return np.where(valid, flux, 0.0)


def _max_normalized(chroma: np.ndarray) -> np.ndarray:
    """librosa.util.normalize(norm=inf) per frame: all-zero frames stay zero."""
    peak = np.max(np.abs(chroma), axis=1, keepdims=True)
    return chroma / np.where(peak < _TINY, 1.0, peak)


def _contrast(magnitude: np.ndarray, plan: _ContrastPlan) -> np.ndarray:
    peak = np.empty((magnitude.shape[0], plan.n_bands))
    valley = np.empty_like(peak)
    for bins, starts, columns in plan.runs:
        band = magnitude[:, bins]
        valley[:, columns] = np.minimum.reduceat(band, starts, axis=1)
        peak[:, columns] = np.maximum.reduceat(band, starts, axis=1)
    for k, bins, count in plan.sorted_bands:
        ordered = np.sort(magnitude[:, bins], axis=1)
        valley[:, k] = ordered[:, :count].sum(axis=1) / count
        peak[:, k] = ordered[:, -count:].sum(axis=1) / count
    out = np.log10(np.maximum(peak, _CONTRAST_AMIN) / np.maximum(valley, _CONTRAST_AMIN))
    out *= 10
    return out
