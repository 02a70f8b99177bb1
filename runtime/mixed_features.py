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
_TINY32 = np.finfo(np.float32).tiny
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
    """What a frame is computed from; the products' matrices are float32 and cut to the bins
    at or below ``high_hz``.

    ``bins`` holds, side by side, the mel filters, the chroma filters, (for ``chroma_dft``)
    the chroma filters times the 12-point DFT's cos | sin columns, and the mean of the mel
    filters: one product with the power spectrum gives the mel energies, the chroma, its DFT
    (linear, so the DFT of the max-normalized chroma is the DFT of the raw chroma over the
    same peak) and the mean mel energy the log floor is relative to.
    """

    window: np.ndarray  # float64 (frame_length,)
    kept: int  # FFT bins from 0 Hz up to high_hz
    bins: np.ndarray  # (kept, n_mels + n_chroma [+ 2 * (n_chroma // 2)] + 1 [+ zeros])
    mean_mel: int  # the column of the mean mel energy
    dct: np.ndarray  # (n_mels, n_mfcc): DCT-II (orthonormal), columns c1..cN
    contrast: _ContrastPlan


@dataclass(frozen=True)
class _ContrastPlan:
    """Spectral contrast bands. Their bins partition ``[first, kept)`` in order, so one
    ``reduceat`` gives every band's largest power and one its smallest: the peak and valley
    where the quantile is one bin. Where it spans several (``averaged``), the band is sorted,
    as librosa does, and the picked values of all such bands are averaged in one ``reduceat``
    (``end_starts``/``end_counts``: valley then peak, band by band)."""

    n_bands: int
    first: int
    starts: np.ndarray  # each band's first bin, relative to ``first``
    averaged: tuple[tuple[int, slice, int], ...]  # (column, bins, count) where count > 1
    averaged_columns: np.ndarray
    end_starts: np.ndarray
    end_counts: np.ndarray

    @classmethod
    def of(cls, bands: list[tuple[slice, int]]) -> _ContrastPlan:
        for (before, _), (after, _) in itertools.pairwise(bands):
            if before.stop != after.start:  # librosa's bands are adjacent; reduceat needs it
                raise FeatureSpecError(
                    "spectral-contrast bands are not adjacent",
                    hint="lower contrast_bands or raise nfft (runtime/FEATURES.md)",
                )
        first = bands[0][0].start if bands else 0
        averaged = tuple((k, b, count) for k, (b, count) in enumerate(bands) if count > 1)
        counts = np.repeat([count for _, _, count in averaged], 2)
        return cls(
            n_bands=len(bands),
            first=first,
            starts=np.array([b.start - first for b, _ in bands], dtype=np.intp),
            averaged=averaged,
            averaged_columns=np.array([k for k, _, _ in averaged], dtype=np.intp),
            end_starts=np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.intp),
            end_counts=counts.astype(np.float32),
        )


@lru_cache(maxsize=8)
def _banks(spec: MixedFeatureSpec) -> _Banks:
    kept = _kept_bins(spec)
    mel = psf_base.get_filterbanks(spec.n_mels, spec.nfft, spec.sample_rate, 0, spec.high_hz).T
    # psf's filters end at high_hz: no weight above it, so cutting the spectrum there is exact
    columns = [mel[:kept]]
    if spec.n_chroma:
        # = chroma_stft of the spectrum with the bins above high_hz zeroed
        chroma = chroma_filterbank(spec.sample_rate, spec.nfft, spec.n_chroma).T[:kept]
        columns.append(chroma.astype(np.float64))
        if spec.chroma_dft:
            columns.append(chroma.astype(np.float64) @ _dft_matrix(spec.n_chroma))
    columns.append(mel[:kept].mean(axis=1, keepdims=True))  # the mean mel band, for the floor
    width = sum(c.shape[1] for c in columns)
    # zero columns up to a multiple of 16: BLAS's vector-matrix kernels run whole blocks of
    # columns (89 columns took 1.5x the time of 96 here)
    columns.append(np.zeros((kept, -width % 16)))
    dct_matrix = dct(np.eye(spec.n_mels), type=2, axis=1, norm="ortho")[:, 1 : 1 + spec.n_mfcc]
    return _Banks(
        window=_WINDOWS[spec.window](spec.frame_length),
        kept=kept,
        bins=np.ascontiguousarray(np.concatenate(columns, axis=1), dtype=np.float32),
        mean_mel=width - 1,
        dct=np.ascontiguousarray(dct_matrix, dtype=np.float32),
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
    concatenation of everything returned equals ``spec.extract`` of the concatenated samples:
    each frame is computed from its own samples only (row by row; no step mixes frames), so
    how a signal is cut into pushes cannot change a frame.

    Precision: the samples, the mean removal, the level and the FFT are float64; from the power
    spectrum on, everything is float32 (the frame's precision). The FFT stays float64 because a
    band's contrast valley is its smallest bin: with a float32 FFT a gain moved the lowest
    contrast band by up to 0.015 dB and a DC offset by 0.15 dB (float64: 0.0), for 0.04 ms
    less per 0.5 s hop (BENCHMARKS.md, issue 26).
    """

    def __init__(self, spec: MixedFeatureSpec) -> None:
        self.spec = spec
        self._banks = _banks(spec)
        self._pending = np.zeros(0)
        self._previous_log_mel: np.ndarray | None = None  # None: stream start or after silence
        self._reference_db: float | None = None  # None until the first non-silent frame
        self._alpha = 1.0 - math.exp(-spec.frame_step / spec.sample_rate / spec.energy_tau_s)
        self._blocks, self._n_features = spec.blocks, spec.n_features
        self._frame_length, self._frame_step = spec.frame_length, spec.frame_step
        self._floor_ratio = np.float32(10 ** (spec.mel_floor_db / 10))
        self._silent_frame = np.zeros(spec.n_features, dtype=np.float32)
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
        buffer = np.ascontiguousarray(buffer)
        length, step = self._frame_length, self._frame_step
        n = 1 + (buffer.shape[0] - length) // step if buffer.shape[0] >= length else 0
        self._pending = buffer[n * step :].copy()
        if n == 0:
            return np.zeros((0, self._n_features), dtype=np.float32)
        # the n complete frames, a read-only view (sliding_window_view costs 7 us more)
        frames = np.ndarray((n, length), np.float64, buffer, 0, (step * 8, 8))
        frames.flags.writeable = False
        return self._frames(frames)

    def _frames(self, frames: np.ndarray) -> np.ndarray:
        spec, banks = self.spec, self._banks
        # each frame, mean removed, goes straight into the FFT's zero-padded input
        padded = np.zeros((frames.shape[0], spec.nfft), dtype=np.float64)
        centered = padded[:, : self._frame_length]
        mean = np.add.reduce(frames, axis=1, keepdims=True) / self._frame_length  # = .mean()
        np.subtract(frames, mean, out=centered)
        mean_square = np.einsum("ij,ij->i", centered, centered) / self._frame_length
        level_db = 10 * np.log10(np.maximum(mean_square, _TINY))
        silent = level_db < spec.silence_db
        centered *= banks.window
        spectrum = rfft(padded, axis=1, overwrite_x=True)
        power = spectrum.real**2
        power += spectrum.imag**2
        power = power[:, : banks.kept].astype(np.float32)
        # One pass over the bins: mel energies | chroma | chroma's DFT (cos | sin) | mean mel
        # energy. One product per frame (a stack of vector-matrix products, not one matrix
        # product): BLAS splits a matrix product's sums differently for different numbers of
        # rows, which would let the way a stream is cut into pushes change a frame's last bits.
        binned = (power[:, None, :] @ banks.bins)[:, 0]
        mel = binned[:, : spec.n_mels]
        floor = binned[:, banks.mean_mel : banks.mean_mel + 1] * self._floor_ratio
        log_mel = np.log(mel + np.maximum(floor, _TINY32))
        out = np.empty((frames.shape[0], self._n_features), dtype=np.float32)
        blocks = self._blocks
        if spec.n_mfcc:
            out[:, blocks["mfcc"]] = (log_mel[:, None, :] @ banks.dct)[:, 0]  # per frame, as above
        if spec.n_chroma:
            chroma = binned[:, spec.n_mels : spec.n_mels + spec.n_chroma]
            peak = chroma.max(axis=1, keepdims=True)  # librosa's max |x| norm: x >= 0 here
            peak[peak < _TINY32] = 1.0  # all-zero frames stay zero
            if spec.chroma_dft:
                half = spec.n_chroma // 2
                parts = binned[:, spec.n_mels + spec.n_chroma : banks.mean_mel]
                magnitude = np.sqrt(parts[:, :half] ** 2 + parts[:, half:] ** 2)
                np.divide(magnitude, peak, out=out[:, blocks["chroma_dft"]])
            else:
                np.divide(chroma, peak, out=out[:, blocks["chroma"]])
        if spec.contrast_bands:
            out[:, blocks["contrast"]] = _contrast(power, banks.contrast)
        if spec.energy:
            out[:, blocks["energy"].start] = self._relative_level(level_db, silent)
        if spec.onset:
            out[:, blocks["onset"].start] = self._onset(log_mel, silent)
        if silent.any():
            out[silent] = self._silent_frame
        return out

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
        rise = np.subtract(log_mel, previous, out=previous)
        flux = np.add.reduce(np.maximum(rise, 0.0, out=rise), axis=1) / np.float32(rise.shape[1])
        flux[~valid] = 0.0
        return flux


def _contrast(power: np.ndarray, plan: _ContrastPlan) -> np.ndarray:
    """librosa's spectral contrast of the magnitude spectrum, from the power spectrum: a band's
    largest and smallest magnitudes are the square roots of its largest and smallest powers,
    so only the values picked are square-rooted."""
    bands = power[:, plan.first :]
    ends = np.empty((2, power.shape[0], plan.n_bands), dtype=np.float32)  # peak, valley
    np.maximum.reduceat(bands, plan.starts, axis=1, out=ends[0])
    np.minimum.reduceat(bands, plan.starts, axis=1, out=ends[1])
    np.sqrt(ends, out=ends)
    if plan.averaged:
        picked = []
        for _, bins, count in plan.averaged:
            ordered = np.sort(power[:, bins], axis=1)
            picked += [ordered[:, :count], ordered[:, -count:]]
        values = np.sqrt(np.concatenate(picked, axis=1))
        means = np.add.reduceat(values, plan.end_starts, axis=1) / plan.end_counts
        ends[1][:, plan.averaged_columns] = means[:, 0::2]
        ends[0][:, plan.averaged_columns] = means[:, 1::2]
    np.maximum(ends, np.float32(_CONTRAST_AMIN), out=ends)
    out = np.log10(ends[0] / ends[1])
    out *= 10
    return out
