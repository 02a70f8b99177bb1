"""Device names as Pi users type them, resolved against realistic PortAudio device lists; the
ring buffer the audio callback writes into; reopening a device that went away (a fake
sounddevice). Real capture from a virtual PulseAudio microphone: test_capture_live.py."""

import tracemalloc

import numpy as np
import pytest
from sentio.runtime.capture import InputDevice, RingBuffer, resolve_device
from sentio.runtime.errors import (
    AudioDeviceError,
    DeviceLostError,
    DeviceUnavailableError,
    PortAudioMissingError,
)

# What PortAudio lists on a Raspberry Pi 4 with a USB mic and a HAT (sounddevice query_devices)
PI_USB = [
    InputDevice(1, "USB PnP Sound Device: Audio (hw:1,0)", "ALSA", 1, 48000.0),
    InputDevice(4, "sysdefault", "ALSA", 128, 48000.0),
    InputDevice(7, "pulse", "ALSA", 32, 44100.0),
    InputDevice(8, "default", "ALSA", 32, 44100.0),
]
PI_TWO_CARDS = [
    InputDevice(
        0,
        "snd_rpi_googlevoicehat_soundcar: Google voiceHAT SoundCard HiFi voicehat-hifi-0 (hw:2,0)",
        "ALSA",
        2,
        48000.0,
    ),
    InputDevice(1, "USB Audio Device: - (hw:1,0)", "ALSA", 1, 44100.0),
    InputDevice(2, "USB Audio Device: - (hw:1,1)", "ALSA", 2, 44100.0),
    InputDevice(3, "Blue Snowball: USB Audio (hw:3,0)", "ALSA", 1, 48000.0),
    InputDevice(5, "default", "ALSA", 32, 44100.0),
]


@pytest.mark.parametrize(
    ("text", "devices", "index"),
    [
        ("hw:1", PI_USB, 1),
        ("hw:1,0", PI_USB, 1),
        ("plughw:1", PI_USB, 1),
        ("plughw:1,0", PI_USB, 1),
        ("1", PI_USB, 1),
        ("usb pnp", PI_USB, 1),
        ("default", PI_USB, 8),  # exact name beats substrings ("sysdefault")
        ("hw:1,1", PI_TWO_CARDS, 2),
        ("hw:1", PI_TWO_CARDS, 1),  # device 0 of card 1
        ("hw:CARD=Snowball,DEV=0", PI_TWO_CARDS, 3),
        ("hw:3", PI_TWO_CARDS, 3),
        ("voicehat", PI_TWO_CARDS, 0),
        ("plughw:2,0", PI_TWO_CARDS, 0),
    ],
)
def test_device_strings_resolve_like_a_pi_user_expects(text, devices, index):
    assert resolve_device(text, devices).index == index


def test_no_device_given_is_portaudios_default_else_the_first():
    assert resolve_device(None, PI_USB, default_index=8).index == 8
    assert resolve_device(None, PI_USB).index == 1


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("hw:5", "no input device matches"), ("usb audio", "3 input devices match")],
)
def test_no_or_several_matches_list_the_devices(text, fragment):
    with pytest.raises(AudioDeviceError) as info:
        resolve_device(text, PI_TWO_CARDS)
    message = str(info.value)
    assert fragment in message
    assert "USB Audio Device: - (hw:1,0)" in message  # the list a user needs to choose


def test_a_missing_device_is_retryable_but_an_ambiguous_name_is_not():
    with pytest.raises(DeviceUnavailableError):  # may appear later (USB enumerated late)
        resolve_device("hw:5", PI_TWO_CARDS)
    with pytest.raises(AudioDeviceError) as info:  # a restart cannot fix this one
        resolve_device("usb audio", PI_TWO_CARDS)
    assert not isinstance(info.value, DeviceUnavailableError)


def test_no_input_device_at_all_says_what_to_check():
    with pytest.raises(AudioDeviceError, match="arecord -l"):
        resolve_device("hw:1", [])


def test_ring_buffer_wraps_and_keeps_order():
    ring = RingBuffer(10, channels=2)
    data = np.arange(60, dtype=np.float32).reshape(30, 2)
    out = []
    for i in range(0, 30, 4):
        ring.write(data[i : i + 4])
        out.append(ring.read())
    np.testing.assert_array_equal(np.concatenate(out), data)
    assert ring.dropped == 0


def test_full_ring_drops_the_new_block_and_counts_it():
    ring = RingBuffer(8)
    ring.write(np.ones((6, 1), np.float32))
    ring.write(np.full((4, 1), 2.0, np.float32))  # does not fit: dropped, never blocks
    assert ring.dropped == 4
    np.testing.assert_array_equal(ring.read()[:, 0], np.ones(6))
    ring.write(np.full((8, 1), 3.0, np.float32))
    np.testing.assert_array_equal(ring.read()[:, 0], np.full(8, 3.0))


def test_ring_write_allocates_no_buffers():
    """The audio callback's only work: copies into preallocated memory."""
    ring = RingBuffer(48000)
    block = np.ones((480, 1), np.float32)
    ring.write(block)
    ring.read()
    tracemalloc.start()
    for _ in range(200):
        ring.write(block)
        if ring.available() > 40000:
            ring.discard()  # consume without allocating a copy
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 4096  # a few view objects, never a 1.9 KB block copy per call


class FakeStream:
    """Stands in for sounddevice.InputStream: delivers ``blocks`` through the callback when
    started, then goes inactive (a device that was unplugged)."""

    def __init__(self, owner, callback, **kwargs):
        self.owner, self.callback, self.active = owner, callback, False

    def start(self):
        if self.owner.opens_left <= 0:
            raise RuntimeError("Error opening InputStream: Device unavailable")
        self.owner.opens_left -= 1
        self.active = True
        status = type("Status", (), {"input_overflow": self.owner.overflow})()
        for _ in range(self.owner.blocks):
            self.callback(np.full((480, 1), 0.1, np.float32), 480, None, status)
        self.active = False  # unplugged right after

    def abort(self):
        self.active = False

    def close(self):
        pass


class FakeSoundDevice:
    def __init__(self, opens, blocks=3, overflow=False):
        self.opens_left, self.blocks, self.overflow = opens, blocks, overflow
        self.default = type("Default", (), {"device": [0, 0]})()

    def query_hostapis(self):
        return [{"name": "ALSA"}]

    def query_devices(self):
        return [
            {
                "name": "USB PnP Sound Device: Audio (hw:1,0)",
                "hostapi": 0,
                "max_input_channels": 1,
                "default_samplerate": 48000.0,
            }
        ]

    def check_input_settings(self, **kwargs):
        pass

    def InputStream(self, **kwargs):
        return FakeStream(self, **kwargs)

    def _terminate(self):
        pass

    def _initialize(self):
        pass


def _microphone(monkeypatch, fake):
    from sentio.runtime import capture

    monkeypatch.setattr(capture, "_sounddevice", lambda: fake)
    monkeypatch.setattr(capture.Microphone, "REOPEN_DELAYS", (0.01, 0.01, 0.01))
    monkeypatch.setattr(capture.Microphone, "STALL_S", 0.05)
    return capture.Microphone("hw:1")


def test_a_device_that_comes_back_is_reopened(monkeypatch):
    mic = _microphone(monkeypatch, FakeSoundDevice(opens=2, overflow=True))
    assert mic.rate == 48000  # the device's own rate, resampled later
    received = 0
    with mic:
        for block in mic.chunks(poll_s=0.001):
            received += block.size
            if received >= 2 * 3 * 480:
                break
    assert mic.reopens == 1 and mic.overflows == 6  # counted, never fatal


def test_a_device_that_stays_gone_ends_in_a_clear_error(monkeypatch):
    mic = _microphone(monkeypatch, FakeSoundDevice(opens=1))
    with pytest.raises(DeviceLostError, match="did not come back"), mic:
        for _ in mic.chunks(poll_s=0.001):
            pass


def test_missing_portaudio_says_what_to_install(monkeypatch):
    import builtins

    from sentio.runtime import capture

    real_import = builtins.__import__

    def no_portaudio(name, *args, **kwargs):
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_portaudio)
    with pytest.raises(PortAudioMissingError, match="libportaudio2"):
        capture.input_devices()
