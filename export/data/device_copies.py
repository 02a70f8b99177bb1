"""Training copies of each song as a device would hear it: augmentation on the audio, before
the features.

A lamp's microphone hears the song through a small speaker, a room and the room's noise, at
whatever gain and capture rate the card has. The mixed frame is level-free by construction
(issue 13), but a speaker's band-limit, reverberation and noise still move its predictions
(the live-conditions harness measured 0.12-0.18 mean shift). So each training song gets
``copies`` renderings through a randomly drawn device chain, built from the same steps the
harness uses (:mod:`sentio.export.data.conditions`) but from other draws:

- **speaker** (probability ``p_speaker``): band-pass with a low corner of 60-300 Hz and a high
  corner of 5-11 kHz, a presence peak of -3..+6 dB at 1-5 kHz;
- **room** (``p_room``): one of a bank of ``rooms`` shoebox rooms (pyroomacoustics), each
  with its own size, RT60 in ``rt60_s`` and microphone distance in ``distance_m``; a bank,
  not a room per song, because simulating a room is what costs (its impulse response is
  cached and reused by every song played in it);
- **noise** (``p_noise``): pink, brown or white noise at an SNR in ``snr_db``;
- **level**: a gain in ``level_db`` (the frame ignores it; drawn anyway, so a frame that did
  not would learn from it);
- **capture** (``p_capture``): a 44.1 or 48 kHz card, resampled back as the runtime does.

Everything is seeded by ``(seed, song id, copy)``: copy 2 of a song is the same audio in every
run, so its features are cached beside the clean ones (keyed by file content, feature spec and
the fingerprint of these settings) and a second training run renders nothing. Training then
draws each window from the clean song (share ``clean_share``) or one of its copies, so an epoch
is as long as without copies (:class:`~sentio.export.model.batches.WindowBatches`).
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import asdict, dataclass

import numpy as np
from sentio.export.data.conditions import (
    Capture,
    Condition,
    Draw,
    Level,
    Noise,
    Room,
    Speaker,
)
from sentio.runtime.audio import resample
from sentio.runtime.errors import ConfigError

NOISE_COLORS = ("pink", "brown", "white")
NOISE_WEIGHTS = (0.5, 0.35, 0.15)  # room tone and fans, traffic and HVAC, hiss
CAPTURE_RATES = (44100, 48000)


@dataclass(frozen=True)
class DeviceCopies:
    """How many device renderings of each training song, and what they are drawn from.

    Attributes:
        copies: renderings per training song (0: off). Validation and test songs are never
            rendered: they are scored clean, and through the live-conditions harness.
        seed: seeds every draw (rooms, chains, noise).
        clean_share: share of training windows taken from the clean song; the rest come
            from one of its copies, drawn uniformly, anew every epoch.
        rooms: size of the room bank.
        rt60_s: range of the rooms' reverberation times (s).
        distance_m: range of speaker-to-microphone distances (m).
        snr_db: range of background-noise SNRs (dB).
        level_db: range of microphone gains (dB).
        p_speaker: probability that a copy goes through a small speaker.
        p_room: probability that it is played in a room.
        p_noise: probability that noise is added.
        p_capture: probability that it is captured at 44.1/48 kHz.
    """

    copies: int = 0
    seed: int = 0
    clean_share: float = 0.34
    rooms: int = 12
    rt60_s: tuple[float, float] = (0.2, 0.9)
    distance_m: tuple[float, float] = (0.5, 3.0)
    snr_db: tuple[float, float] = (10.0, 30.0)
    level_db: tuple[float, float] = (-36.0, 0.0)
    p_speaker: float = 0.7
    p_room: float = 0.7
    p_noise: float = 0.8
    p_capture: float = 0.5

    def __post_init__(self) -> None:
        ranges = {
            "rt60_s": self.rt60_s,
            "distance_m": self.distance_m,
            "snr_db": self.snr_db,
            "level_db": self.level_db,
        }
        for name, pair in ranges.items():
            if len(pair) != 2 or not pair[0] <= pair[1]:
                raise ConfigError(
                    f"device copies: {name} must be [low, high], got {list(pair)}",
                    hint="e.g. rt60_s = [0.2, 0.9]",
                )
        shares = (self.clean_share, self.p_speaker, self.p_room, self.p_noise, self.p_capture)
        if self.copies < 0 or self.rooms < 1 or not all(0 <= p <= 1 for p in shares):
            raise ConfigError(
                "device copies: need copies >= 0, rooms >= 1 and shares/probabilities in [0, 1]",
                hint="copies = 0 turns device copies off",
            )
        if self.rt60_s[0] <= 0 or self.distance_m[0] <= 0:
            raise ConfigError("device copies: RT60 and distance must be positive")

    @property
    def enabled(self) -> bool:
        return self.copies > 0

    def fingerprint(self) -> str:
        """What the rendered audio depends on: every setting but ``copies`` (copy k is the same
        whatever the count) and ``clean_share`` (how batches sample, not what is rendered)."""
        drawn = {k: v for k, v in asdict(self).items() if k not in ("copies", "clean_share")}
        return hashlib.sha256(json.dumps(drawn, sort_keys=True).encode()).hexdigest()

    def room(self, index: int) -> tuple[Room, int]:
        """Room ``index`` of the bank and the seed of its speaker/microphone positions."""
        rng = np.random.default_rng([self.seed, 0x524F4F4D, index])  # "ROOM"
        dims = (rng.uniform(4.0, 8.0), rng.uniform(3.5, 6.0), rng.uniform(2.5, 3.2))
        # the microphone must fit beside the speaker, 0.3 m or more from every wall
        longest = min(self.distance_m[1], min(dims[:2]) - 1.6)
        distance = rng.uniform(self.distance_m[0], max(longest, self.distance_m[0]))
        rt60 = rng.uniform(*self.rt60_s)
        room = Room(round(rt60, 3), round(distance, 2), tuple(round(d, 2) for d in dims))
        return room, int(rng.integers(2**31))

    def chain(self, song_key: str, copy: int) -> tuple[Condition, Draw]:
        """The device chain of copy ``copy`` of a song, and the draw that renders it."""
        rng = np.random.default_rng([self.seed, zlib.crc32(song_key.encode()), copy])
        steps: list = []
        room_seed = 0
        if rng.random() < self.p_speaker:
            steps.append(
                Speaker(
                    low_hz=round(rng.uniform(60, 300)),
                    high_hz=round(rng.uniform(5000, 11000)),
                    peak_hz=round(rng.uniform(1000, 5000)),
                    peak_db=round(rng.uniform(-3, 6), 1),
                )
            )
        if rng.random() < self.p_room:
            room, room_seed = self.room(int(rng.integers(self.rooms)))
            steps.append(room)
        if rng.random() < self.p_noise:
            color = str(rng.choice(NOISE_COLORS, p=NOISE_WEIGHTS))
            steps.append(Noise(round(rng.uniform(*self.snr_db), 1), color))
        steps.append(Level(round(rng.uniform(*self.level_db), 1)))
        if rng.random() < self.p_capture:
            steps.append(Capture(int(rng.choice(CAPTURE_RATES))))
        name = f"device-copy-{copy}"
        return Condition(name, tuple(steps)), Draw(room_seed, rng)

    def render(self, samples: np.ndarray, rate: int, song_key: str, copy: int) -> np.ndarray:
        """Copy ``copy`` of a song (mono at ``rate``) as the device hears it, back at ``rate``
        (the capture rate resampled as :func:`sentio.runtime.audio.resample` does)."""
        condition, draw = self.chain(song_key, copy)
        out, out_rate = np.asarray(samples, dtype=np.float32), rate
        for step in condition.steps:
            out, out_rate = step.apply(out, out_rate, draw)
        return resample(out, out_rate, rate) if out_rate != rate else out

    def describe(self, song_key: str, copy: int) -> str:
        return self.chain(song_key, copy)[0].description


#: Off (the default).
OFF = DeviceCopies()


def fit_length(frames: np.ndarray, n_frames: int) -> np.ndarray:
    """A copy's frames cut or edge-padded to the clean song's frame count (a resampled capture
    can end a frame early or late), so the clean song's window starts fit every copy."""
    if frames.shape[0] >= n_frames:
        return frames[:n_frames]
    return np.pad(frames, ((0, n_frames - frames.shape[0]), (0, 0)), mode="edge")
