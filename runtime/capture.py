"""Microphone capture: device names the way Pi users type them, a PortAudio input stream whose
callback only copies into a preallocated ring buffer, and reopening a device that went away.

The callback runs on PortAudio's thread: it must not allocate, block, log or raise. It copies
the block into :class:`RingBuffer` and counts overflows; everything else (mixing down,
resampling, features, inference) happens in the consumer.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from sentio.runtime.errors import (
    AudioDeviceError,
    DeviceLostError,
    DeviceUnavailableError,
    PortAudioMissingError,
    SentioError,
)

log = logging.getLogger("sentio.capture")


class RingBuffer:
    """Single-producer, single-consumer ring of float32 frames, preallocated.

    The producer (audio callback) calls :meth:`write`; the consumer calls :meth:`read`. Indices
    only grow and each is written by one side only, so no lock is needed. When the consumer
    falls behind by more than the capacity, the newest block is dropped and counted: an audio
    callback must never wait.
    """

    def __init__(self, capacity: int, channels: int = 1) -> None:
        self.capacity = int(capacity)
        self._data = np.zeros((self.capacity, channels), dtype=np.float32)
        self._written = 0  # total frames written (producer)
        self._read = 0  # total frames read (consumer)
        self.dropped = 0  # frames lost because the ring was full

    def write(self, block: np.ndarray) -> None:
        """Copy a (frames, channels) block in. Never allocates a buffer, blocks or raises."""
        n = block.shape[0]
        if n > self.capacity - (self._written - self._read):
            self.dropped += n
            return
        start = self._written % self.capacity
        first = min(n, self.capacity - start)
        self._data[start : start + first] = block[:first]
        if first < n:
            self._data[: n - first] = block[first:]
        self._written += n

    def available(self) -> int:
        return self._written - self._read

    def discard(self) -> int:
        """Drop everything written since the last read without copying it; returns the frames
        dropped (a consumer that gives up on a backlog)."""
        end = self._written
        n, self._read = end - self._read, end
        return n

    def read(self) -> np.ndarray:
        """Everything written since the last read, as a new (frames, channels) array."""
        end = self._written  # one snapshot: the producer may go on writing meanwhile
        n = end - self._read
        start = self._read % self.capacity
        if start + n <= self.capacity:
            out = self._data[start : start + n].copy()
        else:
            out = np.concatenate([self._data[start:], self._data[: n - (self.capacity - start)]])
        self._read = end
        return out


# ----------------------------------------------------------------------------- devices


@dataclass(frozen=True)
class InputDevice:
    index: int
    name: str
    hostapi: str
    channels: int
    default_samplerate: float

    def describe(self) -> str:
        return (
            f"{self.index:>3}  {self.name}  [{self.hostapi}, {self.channels} ch, "
            f"{self.default_samplerate:g} Hz]"
        )


_ALSA_HW = re.compile(r"^(?:plug)?hw:(?:CARD=)?([^,]+?)(?:,(?:DEV=)?(\d+))?$", re.IGNORECASE)


def resolve_device(
    text: str | int | None, devices: list[InputDevice], default_index: int | None = None
) -> InputDevice:
    """The input device the user means.

    Accepts a PortAudio index (``2``), ALSA names as typed on a Pi (``hw:1``, ``hw:1,0``,
    ``plughw:1``, ``plughw:1,0``, ``hw:CARD=Device,DEV=0``), an exact device name, or a
    case-insensitive substring of it. ``None`` is PortAudio's default input (``default_index``),
    else the first input device.

    Raises:
        DeviceUnavailableError: no input device, or none matches (the message lists them).
        AudioDeviceError: several match (the message lists them).
    """
    if not devices:
        raise DeviceUnavailableError(
            "no audio input device found",
            hint="plug in a microphone (on Linux check `arecord -l` and that your user is in "
            "the 'audio' group), or run on a file: sentio-listen --input FILE",
        )
    if text is None:
        return next((d for d in devices if d.index == default_index), devices[0])
    text = str(text).strip()
    if text.isdigit():
        matches = [d for d in devices if d.index == int(text)]
    elif _ALSA_HW.match(text):
        matches = _match_alsa(text, devices)
    else:
        exact = [d for d in devices if d.name.lower() == text.lower()]
        matches = exact or [d for d in devices if text.lower() in d.name.lower()]
    if len(matches) == 1:
        return matches[0]
    listing = "\n".join(d.describe() for d in (matches or devices))
    if not matches:
        raise DeviceUnavailableError(
            f"no input device matches {text!r}; input devices:\n{listing}",
            hint="pass --device with an index, hw:CARD[,DEV] or part of a name from this "
            "list, or run on a file: sentio-listen --input FILE",
        )
    raise AudioDeviceError(
        f"{len(matches)} input devices match {text!r}:\n{listing}",
        hint="pass the index, or more of the name",
    )


def find_input_device(device: str | int | None = None) -> InputDevice:
    """The input device ``device`` names (:func:`resolve_device` over the devices there now),
    without opening it: ``sentio-listen`` checks it before the model loads.

    Raises:
        AudioDeviceError: PortAudio is missing, or several devices match.
        DeviceUnavailableError: no input device, or none matches.
    """
    sd = _sounddevice()
    index = sd.default.device[0]
    default = int(index) if index is not None and index >= 0 else None
    return resolve_device(device, input_devices(), default)


def _match_alsa(text: str, devices: list[InputDevice]) -> list[InputDevice]:
    """``hw:1`` / ``plughw:1,0`` / ``hw:CARD=Device,DEV=0`` against PortAudio's ALSA names, which
    end in ``(hw:CARD,DEV)``; the ``plug`` prefix only asks ALSA to convert formats, which
    Sentio does itself."""
    match = _ALSA_HW.match(text)
    assert match is not None
    card, dev = match.group(1), int(match.group(2) or 0)
    found = []
    for d in devices:
        tag = re.search(r"\(hw:(\d+),(\d+)\)", d.name)
        if tag is None or int(tag.group(2)) != dev:
            continue
        same_card = card == tag.group(1) if card.isdigit() else card.lower() in d.name.lower()
        if same_card:
            found.append(d)
    return found


def _sounddevice():
    try:
        import sounddevice
    except OSError as err:  # raised when libportaudio is absent
        raise PortAudioMissingError(
            f"PortAudio is not available: {err}",
            hint="install it: sudo apt-get install libportaudio2 (Raspberry Pi OS / Debian)",
        ) from None
    return sounddevice


def _rescan(sd) -> None:
    """Make PortAudio list the devices again. sounddevice has no public call for it; its
    maintainer's advice is to restart PortAudio with these two (python-sounddevice#125)."""
    sd._terminate()
    sd._initialize()


def input_devices() -> list[InputDevice]:
    """PortAudio's devices that can record."""
    sd = _sounddevice()
    hostapis = sd.query_hostapis()
    return [
        InputDevice(
            i,
            d["name"],
            hostapis[d["hostapi"]]["name"],
            int(d["max_input_channels"]),
            float(d["default_samplerate"]),
        )
        for i, d in enumerate(sd.query_devices())
        if d["max_input_channels"] > 0
    ]


# ----------------------------------------------------------------------------- the microphone


class Microphone:
    """A PortAudio input stream feeding a ring buffer, opened at a rate the device supports.

    Iterate :meth:`chunks` for mono float32 blocks at :attr:`rate`. If the device fails or
    disappears, it is reopened with backoff (0.5, 1, 2, 4, 8 s) before giving up.

    Args:
        device: what the user typed (see :func:`resolve_device`), or ``None``.
        rate: open at exactly this rate (Hz); default: the device's own default rate if it
            accepts it (USB mics often do only 44.1/48 kHz; an audio server would otherwise
            resample with a worse filter than Sentio's), else ``preferred_rate``, 48k, 44.1k.
        preferred_rate: the model's rate, tried second (no resampling needed).
        block_s: PortAudio block length in seconds.
        buffer_s: ring capacity in seconds.
    """

    REOPEN_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)
    STALL_S = 3.0  # no audio for this long from an active stream: the device is gone

    def __init__(
        self,
        device: str | int | None = None,
        rate: int | None = None,
        preferred_rate: int = 22050,
        block_s: float = 0.05,
        buffer_s: float = 30.0,
    ) -> None:
        self._sd = _sounddevice()
        self.device = resolve_device(device, input_devices(), self._default_index())
        self.channels = min(self.device.channels, 2)
        self.rate = self._pick_rate(rate, preferred_rate)
        self.block = max(1, int(self.rate * block_s))
        self.ring = RingBuffer(int(self.rate * buffer_s), self.channels)
        self.overflows = 0
        self.reopens = 0
        self._stream = None
        self._requested = device

    def _default_index(self) -> int | None:
        index = self._sd.default.device[0]
        return int(index) if index is not None and index >= 0 else None

    def _pick_rate(self, forced: int | None, preferred: int) -> int:
        default = int(self.device.default_samplerate)
        candidates = (forced,) if forced else (default, preferred, 48000, 44100)
        for rate in candidates:
            try:
                self._sd.check_input_settings(
                    device=self.device.index, channels=self.channels, samplerate=rate
                )
                return int(rate)
            except Exception:  # PortAudio says no with several exception types
                continue
        raise AudioDeviceError(
            f"{self.device.name} accepts none of the rates {', '.join(map(str, candidates))} Hz",
            hint="check the device with `arecord --dump-hw-params -D hw:N`",
        )

    @property
    def dropped(self) -> int:
        return self.ring.dropped

    def _callback(self, indata, frames, time_info, status) -> None:  # PortAudio's thread
        if status.input_overflow:
            self.overflows += 1
        self.ring.write(indata)

    def open(self) -> None:
        try:
            self._stream = self._sd.InputStream(
                device=self.device.index,
                channels=self.channels,
                samplerate=self.rate,
                blocksize=self.block,
                dtype="float32",
                latency="low",
                callback=self._callback,
            )
            self._stream.start()
        except Exception as err:
            self._stream = None
            raise DeviceUnavailableError(
                f"cannot open {self.device.name}: {err}",
                hint="is another program using it? try plughw: or another --device",
            ) from err
        log.info("recording from %s at %d Hz", self.device.name, self.rate)

    def close(self) -> None:
        if self._stream is not None:
            try:
                self._stream.abort()
                self._stream.close()
            except Exception:  # closing a dead device may fail too; nothing left to do
                pass
            self._stream = None

    def __enter__(self) -> Microphone:
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def chunks(self, poll_s: float = 0.02) -> Iterator[np.ndarray]:
        """Mono float32 blocks as they arrive, until the caller stops iterating."""
        last_audio = time.monotonic()
        while True:
            if self.ring.available():
                block = self.ring.read()
                last_audio = time.monotonic()
                yield block.mean(axis=1, dtype=np.float32) if block.shape[1] > 1 else block[:, 0]
                continue
            if not self._alive() or time.monotonic() - last_audio > self.STALL_S:
                self._reopen()
                last_audio = time.monotonic()
            time.sleep(poll_s)

    def _alive(self) -> bool:
        return self._stream is not None and self._stream.active

    def _reopen(self) -> None:
        self.close()
        for delay in self.REOPEN_DELAYS:
            log.warning("audio device %s stopped; reopening in %.1f s", self.device.name, delay)
            time.sleep(delay)
            try:
                _rescan(self._sd)  # a replugged USB mic gets a new index
                self.device = resolve_device(
                    self._requested, input_devices(), self._default_index()
                )
                self.open()
                self.reopens += 1
                return
            except SentioError as err:
                log.warning("%s", err.message.splitlines()[0])
        raise DeviceLostError(
            f"audio device {self.device.name} is gone and did not come back",
            hint="check the cable/USB port and `arecord -l`; sentio-listen exits so that "
            "systemd can restart it",
        )
