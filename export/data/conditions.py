"""What a device would hear: named, seeded, deterministic transforms of a mono signal.

A :class:`Condition` is a name and a chain of steps, each a small frozen dataclass:
:class:`Level` (microphone gain), :class:`Speaker` (a small speaker's band-pass and EQ),
:class:`Room` (a shoebox room's impulse response from pyroomacoustics' image source model),
:class:`Noise` (pink/brown/white background noise at an SNR) and :class:`Capture` (a capture
card's rate: the signal is resampled up with soxr, the device resamples it back). Rendering
returns the signal and the rate it was captured at, so the caller feeds the device's own path.

Randomness comes only from the seed: what stays the same for every song of a condition (a
room's geometry) from ``(seed, condition name)``, what differs per song (the noise) from
``(seed, condition name, song index)``. No shared files: noise is generated, rooms simulated.

    signal, rate = CONDITIONS["device"].render(clean, 22050, seed=0, song=3)
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import numpy as np
import soxr
from scipy import fft as sp_fft
from scipy import signal as sps
from sentio.runtime.errors import ConfigError


@dataclass(frozen=True)
class Draw:
    """The randomness of one rendering.

    Attributes:
        condition_seed: fixes what every song of a condition shares (a room's geometry).
        rng: what differs per song (noise samples).
    """

    condition_seed: int
    rng: np.random.Generator


@dataclass(frozen=True)
class Rendered:
    """A rendered signal: mono float32 samples at ``rate`` Hz (the capture rate)."""

    samples: np.ndarray
    rate: int

    @property
    def seconds(self) -> float:
        return self.samples.shape[0] / self.rate


class Step(Protocol):
    """One transform of a chain."""

    def apply(self, samples: np.ndarray, rate: int, draw: Draw) -> tuple[np.ndarray, int]: ...

    def describe(self) -> str: ...


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if samples.size else 0.0


@dataclass(frozen=True)
class Level:
    """A gain in dB (the microphone's gain, or where it sits); clipped at full scale as an
    ADC would clip a positive gain.

    Attributes:
        gain_db: the gain (-12, -24, -36: quieter).
    """

    gain_db: float

    def apply(self, samples: np.ndarray, rate: int, draw: Draw) -> tuple[np.ndarray, int]:
        out = samples * np.float32(10 ** (self.gain_db / 20))
        return np.clip(out, -1.0, 1.0), rate

    def describe(self) -> str:
        return f"level {self.gain_db:+g} dB"


@dataclass(frozen=True)
class Speaker:
    """A small speaker: 2nd-order Butterworth band-pass (12 dB/octave each side) and a
    presence peak, the response of a laptop or smart-speaker driver. Not re-levelled: the lost
    bass lowers the level as a real small speaker's does.

    Attributes:
        low_hz: high-pass corner (no bass below it).
        high_hz: low-pass corner (clamped below the Nyquist frequency).
        peak_hz: centre of the presence peak.
        peak_db: its gain (0: none).
        peak_q: its quality factor.
    """

    low_hz: float = 150.0
    high_hz: float = 8000.0
    peak_hz: float = 2500.0
    peak_db: float = 3.0
    peak_q: float = 1.0

    def apply(self, samples: np.ndarray, rate: int, draw: Draw) -> tuple[np.ndarray, int]:
        high = min(self.high_hz, 0.45 * rate)
        sos = sps.butter(2, [self.low_hz, high], btype="bandpass", fs=rate, output="sos")
        if self.peak_db:
            sos = np.vstack([sos, _peaking(self.peak_hz, self.peak_db, self.peak_q, rate)])
        return sps.sosfilt(sos, samples).astype(np.float32), rate

    def describe(self) -> str:
        return (
            f"small speaker: band-pass {self.low_hz:g} Hz-{self.high_hz / 1000:g} kHz, "
            f"{self.peak_db:+g} dB at {self.peak_hz / 1000:g} kHz"
        )


def _peaking(freq: float, gain_db: float, q: float, rate: int) -> np.ndarray:
    """RBJ audio-EQ-cookbook peaking biquad as one second-order section."""
    a = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * freq / rate
    alpha = np.sin(w0) / (2 * q)
    b = np.array([1 + alpha * a, -2 * np.cos(w0), 1 - alpha * a])
    den = np.array([1 + alpha / a, -2 * np.cos(w0), 1 - alpha / a])
    return np.concatenate([b / den[0], den / den[0]])[None]


#: The simulated room (a living room): metres.
ROOM_DIMS = (7.0, 5.5, 3.0)


@dataclass(frozen=True)
class Room:
    """A shoebox room (pyroomacoustics' image source model): the speaker and the microphone
    ``distance_m`` apart at seeded positions, walls absorbing so that the impulse response's
    measured RT60 is ``rt60_s`` (the inverse Sabine formula overshoots in ISM by 20-50%, so
    the absorption is corrected until the measured RT60 is within 5%).

    The output is re-levelled to the input's RMS and aligned on the direct sound: distance
    attenuation in a simulation is in arbitrary units and a 12 ms delay means nothing to a
    12 s window, and level is its own condition; what is left is reverberation and the
    direct-to-reverberant ratio.

    Attributes:
        rt60_s: reverberation time (0.3 dry living room .. 0.9 bare hall).
        distance_m: speaker to microphone.
        dims: room size in metres.
    """

    rt60_s: float
    distance_m: float
    dims: tuple[float, float, float] = ROOM_DIMS

    def apply(self, samples: np.ndarray, rate: int, draw: Draw) -> tuple[np.ndarray, int]:
        rir, direct = room_impulse_response(self, rate, draw.condition_seed)
        # overlap-add: a song is 100x longer than the impulse response
        wet = sps.oaconvolve(samples.astype(np.float64), rir)[direct : direct + samples.size]
        gain = rms(samples) / max(rms(wet), 1e-12)
        return (wet * gain).astype(np.float32), rate

    def describe(self) -> str:
        return f"room RT60 {self.rt60_s:g} s, mic at {self.distance_m:g} m"


@lru_cache(maxsize=64)
def room_impulse_response(room: Room, rate: int, seed: int) -> tuple[np.ndarray, int]:
    """The room's impulse response at ``rate`` and the index of its direct sound (cached: every
    song of a condition is played in the same room)."""
    import pyroomacoustics as pra

    source, mic = _positions(room, np.random.default_rng(seed))
    target, asked = room.rt60_s, room.rt60_s
    rir = np.zeros(1)
    for _ in range(6):
        rir = _simulate(pra, room.dims, asked, source, mic, rate)
        measured = float(pra.experimental.measure_rt60(rir, rate))
        if abs(measured - target) <= 0.05 * target:
            break
        asked *= target / measured
    direct = round(room.distance_m / pra.constants.get("c") * rate)
    direct += pra.constants.get("frac_delay_length") // 2
    return rir, direct


def _simulate(pra, dims, rt60: float, source, mic, rate: int) -> np.ndarray:
    absorption, max_order = pra.inverse_sabine(rt60, list(dims))
    room = pra.ShoeBox(list(dims), fs=rate, materials=pra.Material(absorption), max_order=max_order)
    room.add_source(list(source))
    room.add_microphone(np.asarray(mic, dtype=float))
    room.compute_rir()
    return np.asarray(room.rir[0][0], dtype=np.float64)


def _positions(room: Room, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A speaker 0.5 m or more from the walls at 0.8-1.8 m height, and a microphone
    ``distance_m`` away in a random horizontal direction (at 1.0-1.6 m height), inside."""
    dims = np.asarray(room.dims)
    margin = 0.3
    for _ in range(1000):
        source = np.array(
            [
                rng.uniform(0.5, dims[0] - 0.5),
                rng.uniform(0.5, dims[1] - 0.5),
                rng.uniform(0.8, 1.8),
            ]
        )
        height = rng.uniform(1.0, 1.6) - source[2]
        horizontal = np.sqrt(max(room.distance_m**2 - height**2, 0.0))
        angle = rng.uniform(0, 2 * np.pi)
        mic = source + np.array([horizontal * np.cos(angle), horizontal * np.sin(angle), height])
        if np.all(mic > margin) and np.all(mic < dims - margin):
            return source, mic
    raise ConfigError(
        f"a microphone {room.distance_m} m from the speaker does not fit in a "
        f"{'x'.join(f'{d:g}' for d in room.dims)} m room",
        hint="use a shorter distance or a larger room",
    )


NOISE_COLORS = {"white": 0.0, "pink": 0.5, "brown": 1.0}  # amplitude ~ 1 / f**exponent
#: Noise has nothing below this: a microphone's own high-pass, and brown noise would otherwise
#: spend its whole SNR budget on inaudible rumble.
NOISE_LOW_HZ = 20.0


@dataclass(frozen=True)
class Noise:
    """Background noise added at ``snr_db`` below the signal (whole-song power ratio).

    Attributes:
        snr_db: signal-to-noise ratio in dB.
        color: ``pink`` (-3 dB/octave, room tone and fans), ``brown`` (-6 dB/octave, traffic
            and HVAC rumble) or ``white``.
    """

    snr_db: float
    color: str = "pink"

    def __post_init__(self) -> None:
        if self.color not in NOISE_COLORS:
            raise ConfigError(
                f"unknown noise colour {self.color!r}", hint=f"use one of {sorted(NOISE_COLORS)}"
            )

    def apply(self, samples: np.ndarray, rate: int, draw: Draw) -> tuple[np.ndarray, int]:
        noise = colored_noise(samples.size, rate, self.color, draw.rng)
        scale = rms(samples) / 10 ** (self.snr_db / 20)
        return (samples + scale * noise).astype(np.float32), rate

    def describe(self) -> str:
        return f"{self.color} noise at {self.snr_db:g} dB SNR"


def colored_noise(n: int, rate: int, color: str, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of unit-RMS noise of ``color`` (spectrally shaped white noise, nothing
    below :data:`NOISE_LOW_HZ`)."""
    if n == 0:
        return np.zeros(0)
    # exactly n samples: cutting a longer noise to n would leak its rumble below 20 Hz back
    # (-26 dB for brown); scipy's FFT is O(n log n) at any length
    spectrum = sp_fft.rfft(rng.standard_normal(n))
    freqs = sp_fft.rfftfreq(n, 1 / rate)
    shape = np.zeros_like(freqs)
    audible = freqs >= NOISE_LOW_HZ
    shape[audible] = freqs[audible] ** -NOISE_COLORS[color]
    noise = sp_fft.irfft(spectrum * shape, n)
    return noise / max(rms(noise), 1e-12)


@dataclass(frozen=True)
class Capture:
    """A capture card at another rate: the signal is resampled up (soxr HQ) and handed on at
    ``rate``; the device's own path resamples it back, as it does for a 48 kHz microphone.

    Attributes:
        rate: the capture rate in Hz (44100, 48000).
    """

    rate: int

    def apply(self, samples: np.ndarray, rate: int, draw: Draw) -> tuple[np.ndarray, int]:
        if rate == self.rate:
            return samples, rate
        out = soxr.resample(samples.astype(np.float32), rate, self.rate, quality="HQ")
        return out.astype(np.float32, copy=False), self.rate

    def describe(self) -> str:
        return f"captured at {self.rate / 1000:g} kHz"


@dataclass(frozen=True)
class Condition:
    """A named chain of steps (no steps: the clean signal).

    Attributes:
        name: how the report and ``--conditions`` call it.
        steps: the transforms, in the order sound meets them.
    """

    name: str
    steps: tuple[Step, ...] = ()

    @property
    def description(self) -> str:
        return " -> ".join(s.describe() for s in self.steps) or "clean"

    def render(self, samples: np.ndarray, rate: int, seed: int = 0, song: int = 0) -> Rendered:
        """What the device hears when ``samples`` (mono, at ``rate``) play under this
        condition; the same ``seed`` and ``song`` give the same samples."""
        key = zlib.crc32(self.name.encode())
        draw = Draw(
            condition_seed=int(np.random.SeedSequence([seed, key]).generate_state(1)[0]),
            rng=np.random.default_rng([seed, key, song]),
        )
        out = np.asarray(samples, dtype=np.float32)
        for step in self.steps:
            out, rate = step.apply(out, rate, draw)
        return Rendered(np.ascontiguousarray(out, dtype=np.float32), int(rate))


#: The composite chain of a device in a living room (issue 13's simulated path, captured at
#: 48 kHz as USB microphones are).
DEVICE = (
    Speaker(),
    Room(0.45, 2.0),
    Noise(25.0, "pink"),
    Level(-20.0),
    Capture(48000),
)


def _all_conditions() -> dict[str, Condition]:
    conditions = [Condition(f"level{g:+d}dB", (Level(g),)) for g in (0, -12, -24, -36)]
    conditions.append(Condition("speaker", (Speaker(),)))
    conditions += [
        Condition(f"room-rt{rt:g}s-{d:g}m", (Room(rt, d),))
        for rt in (0.3, 0.6, 0.9)
        for d in (0.5, 2.0, 4.0)
    ]
    conditions += [
        Condition(f"noise-pink-{snr}dB", (Noise(float(snr), "pink"),)) for snr in (10, 20, 30)
    ]
    conditions.append(Condition("noise-brown-20dB", (Noise(20.0, "brown"),)))
    conditions += [Condition(f"capture-{r}", (Capture(r),)) for r in (44100, 48000)]
    conditions.append(Condition("device", DEVICE))
    return {c.name: c for c in conditions}


#: Every named condition, in report order.
CONDITIONS: dict[str, Condition] = _all_conditions()
#: The export report's set: one of each kind, cheap enough to run on every export.
DEFAULT_SET = (
    "level-24dB",
    "speaker",
    "room-rt0.6s-2m",
    "noise-pink-20dB",
    "capture-48000",
    "device",
)
FULL_SET = tuple(CONDITIONS)
SETS = {"default": DEFAULT_SET, "full": FULL_SET, "none": ()}


def resolve(spec: str | tuple[str, ...] | list[str]) -> tuple[Condition, ...]:
    """Conditions by set name (``default``, ``full``, ``none``) or comma-separated names.

    Raises:
        ConfigError: an unknown name (the message lists the known ones).
    """
    if isinstance(spec, str):
        spec = spec.strip()
        names = SETS[spec] if spec in SETS else tuple(filter(None, map(str.strip, spec.split(","))))
    else:
        names = tuple(spec)
    unknown = [n for n in names if n not in CONDITIONS]
    if unknown:
        raise ConfigError(
            f"unknown live condition(s): {', '.join(unknown)}",
            hint=f"use default, full, none, or names from: {', '.join(CONDITIONS)}",
        )
    return tuple(CONDITIONS[n] for n in names)
