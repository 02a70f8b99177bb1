"""E1.31 (sACN) output (the ``sacn`` library, pure Python; ``pip install ".[sacn]"``): the
colour of each prediction as DMX frames, for WLED, xLights, QLC+ and DMX nodes.

``--sacn HOST[:UNIVERSE]`` sends unicast to HOST (``multicast[:UNIVERSE]``: the universe's
multicast group, 239.255.x.y), universe 1 by default. The layout: ``fixtures`` fixtures of
``channels`` channels each (3: red, green, blue; 4: red, green, blue, white, the white taken
from what the three share), from DMX channel ``start`` (1-based); every fixture shows the
same colour. The colour is :func:`~sentio.runtime.outputs.color.emotion_color`'s; with
``brightness="arousal"`` (the default) its brightness follows arousal as on every output,
with ``"full"`` the colour is shown at full brightness whatever the arousal.

Frames go out at a steady rate (``fps``, 30 by default: E1.31 receivers expect a stream),
each a step of a linear fade from the colour shown to the new prediction's over ``fade_s``.
On silence the light holds (the prediction holds), or fades to black with
``blackout_on_silence``. On close: a black frame, then the E1.31 stream-terminated packets.

Why it never holds up listening: ``emit`` is :class:`BackgroundSink`'s (a bounded queue);
``deliver`` only sets the fade's target; frames are sent by their own thread, and a send
that fails (no route, a name that does not resolve) is counted and retried with the next
frame (a name is resolved again at most once a second).
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

from sentio.runtime.color import emotion_color
from sentio.runtime.emotion import Prediction
from sentio.runtime.errors import OutputError
from sentio.runtime.outputs.sinks import BackgroundSink, import_extra

DEFAULT_UNIVERSE = 1
UNIVERSE_RANGE = (1, 63999)
FPS = 30.0
FPS_RANGE = (1.0, 44.0)  # DMX512's own frame rate is at most about 44 Hz
FADE_S = 0.5
MULTICAST = "multicast"
BRIGHTNESS = ("arousal", "full")
#: Names resolved again at most this often while they fail.
RESOLVE_RETRY_S = 1.0


@dataclass(frozen=True)
class FixtureLayout:
    """Where the colour goes in the universe.

    Attributes:
        fixtures: how many fixtures (each gets the same colour).
        channels: channels per fixture: 3 (R, G, B) or 4 (R, G, B, W).
        start: the first fixture's first DMX channel, 1-based.
    """

    fixtures: int = 1
    channels: int = 3
    start: int = 1

    def __post_init__(self) -> None:
        if self.channels not in (3, 4):
            raise OutputError(
                f"--sacn-channels-per-fixture must be 3 (RGB) or 4 (RGBW), got {self.channels}"
            )
        if self.fixtures < 1 or self.start < 1 or self.end > 512:
            raise OutputError(
                f"--sacn fixture layout: {self.fixtures} fixture(s) x {self.channels} channels "
                f"from channel {self.start} ends at channel {self.end}; a universe has 512",
                hint="fewer --sacn-fixtures, or a lower --sacn-start",
            )

    @property
    def end(self) -> int:
        """The last channel used (1-based)."""
        return self.start - 1 + self.fixtures * self.channels

    def frame(self, rgb: tuple[float, float, float]) -> tuple[int, ...]:
        """The DMX values (channels 1..:attr:`end`) of one colour, 0..255 floats."""
        r, g, b = (max(0, min(255, round(c))) for c in rgb)
        if self.channels == 4:
            w = min(r, g, b)
            one = (r - w, g - w, b - w, w)
        else:
            one = (r, g, b)
        return (0,) * (self.start - 1) + one * self.fixtures


def parse_sacn_address(address: str) -> tuple[str, int]:
    """``HOST[:UNIVERSE]`` (``multicast[:UNIVERSE]``; IPv4 only, as E1.31) -> (host, universe).

    Raises:
        ValueError: no host, or a universe that is no number or out of 1-63999.
    """
    host, sep, universe_text = address.strip().rpartition(":")
    if not sep:
        host, universe_text = address.strip(), str(DEFAULT_UNIVERSE)
    if not host or "/" in host or " " in host:
        raise ValueError(f"expected HOST[:UNIVERSE], e.g. 192.168.1.60:1, got {address!r}")
    try:
        universe = int(universe_text)
    except ValueError:
        raise ValueError(f"the universe must be a whole number, got {address!r}") from None
    if not UNIVERSE_RANGE[0] <= universe <= UNIVERSE_RANGE[1]:
        raise ValueError(f"the universe must be from 1 to 63999, got {address!r}")
    return host, universe


def target_rgb(prediction: Prediction, brightness: str = "arousal") -> tuple[float, float, float]:
    """The colour a prediction asks for, as 0..255 floats."""
    color = emotion_color(prediction.valence, prediction.arousal)
    rgb = color.rgb
    if brightness == "full" and color.value > 0:
        rgb = tuple(c / color.value for c in rgb)
    r, g, b = (255.0 * min(1.0, c) for c in rgb)
    return r, g, b


class Fade:
    """A linear fade between colours, read at any time (thread-safe)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._from = self._to = (0.0, 0.0, 0.0)
        self._start = 0.0
        self._lock = threading.Lock()

    def at(self, now: float) -> tuple[float, float, float]:
        with self._lock:
            return self._at(now)

    def _at(self, now: float) -> tuple[float, float, float]:
        done = 1.0 if self.seconds <= 0 else min(1.0, max(0.0, (now - self._start) / self.seconds))
        r, g, b = (a + (b - a) * done for a, b in zip(self._from, self._to, strict=True))
        return r, g, b

    def to(self, rgb: tuple[float, float, float], now: float) -> None:
        with self._lock:
            if rgb == self._to:
                return
            self._from, self._to, self._start = self._at(now), rgb, now


class SacnSink(BackgroundSink):
    """The ``--sacn`` output.

    Args:
        host: the receiver's address or name, or ``"multicast"``.
        universe: 1-63999.
        layout: the fixtures.
        brightness: ``"arousal"`` (the colour as it is) or ``"full"``.
        blackout_on_silence: fade to black while the input is silent.
        fps: frames per second (1-44).
        fade_s: seconds a fade to a new prediction's colour takes (0: a jump).
        source_name: the E1.31 source name receivers show.
    """

    def __init__(
        self,
        host: str,
        universe: int = DEFAULT_UNIVERSE,
        layout: FixtureLayout | None = None,
        brightness: str = "arousal",
        blackout_on_silence: bool = False,
        fps: float = FPS,
        fade_s: float = FADE_S,
        source_name: str = "Sentio",
    ) -> None:
        sacn = import_extra("sacn", "sacn", "--sacn (E1.31 lighting output)")
        if brightness not in BRIGHTNESS:
            raise OutputError(f"--sacn-brightness must be one of {', '.join(BRIGHTNESS)}")
        self.host, self.universe = host, universe
        self.layout = layout or FixtureLayout()
        self.brightness = brightness
        self.blackout_on_silence = blackout_on_silence
        self.fps = fps
        self.fade = Fade(fade_s)
        self.frames = 0
        self.last_frame: tuple[int, ...] = self.layout.frame((0.0, 0.0, 0.0))
        self._socket = _FrameSocket(self)
        self._sender = sacn.sACNsender(
            source_name=source_name, universeDiscovery=False, socket=self._socket
        )
        # a socket given to the sender is not told its handler (the library's own test socket
        # is driven by hand): wire it, so that each frame goes out through the library
        self._socket.set_listener(self._sender._sender_handler)
        self._sender.activate_output(universe)
        output = self._sender[universe]
        output.multicast = host == MULTICAST
        if not output.multicast:
            output.destination = host
        output.dmx_data = self.last_frame
        where = "multicast" if output.multicast else host
        super().__init__(f"sacn {where} universe {universe}")
        self._socket.start()  # not sACNsender.start(): that stops (closes) the socket first

    @classmethod
    def from_address(cls, address: str, **kwargs) -> SacnSink:
        try:
            host, universe = parse_sacn_address(address)
        except ValueError as err:
            raise OutputError(f"--sacn: {err}", hint="e.g. --sacn 192.168.1.60:1") from None
        return cls(host, universe, **kwargs)

    def deliver(self, prediction: Prediction) -> None:
        if prediction.silent and self.blackout_on_silence:
            rgb = (0.0, 0.0, 0.0)
        else:
            rgb = target_rgb(prediction, self.brightness)
        self.fade.to(rgb, time.monotonic())

    def next_frame(self, now: float) -> tuple[int, ...]:
        """The frame to send now (the fade's current colour), and sets it on the output."""
        frame = self.layout.frame(self.fade.at(now))
        self.last_frame = frame
        output = self._sender[self.universe]
        if output is not None:
            output.dmx_data = frame
        return frame

    def shutdown(self) -> None:
        """Blackout: a black frame (a few times: UDP), then the stream-terminated packets."""
        self.fade = Fade(0.0)
        self._socket.stop_frames()
        output = self._sender[self.universe]
        for _ in range(3):
            if output is not None:
                output.dmx_data = self.layout.frame((0.0, 0.0, 0.0))
                self.last_frame = output.dmx_data
            self._socket.tick(time.monotonic())
            time.sleep(1.0 / self.fps)
        self._sender.deactivate_output(self.universe)  # three stream-terminated packets
        self._sender.stop()


class _FrameSocket:
    """The sender's socket (the ``sacn`` library's extension point): a UDP socket and the
    frame thread that, ``fps`` times a second, sets the fade's frame on the output and lets
    the library send it. Send failures are counted on the sink, never raised."""

    def __init__(self, sink: SacnSink) -> None:
        from sacn.sending.sender_socket_base import DEFAULT_PORT

        self.sink = sink
        self.port = DEFAULT_PORT
        self._listener = None
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("0.0.0.0", 0))  # any port: 5568 is the receivers'
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._resolved: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    # the library's SenderSocketBase interface
    def set_listener(self, listener) -> None:
        self._listener = listener

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sentio sacn frames", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stop_frames()
        self._sock.close()

    def send_unicast(self, data, destination: str) -> None:
        self._send(data.getBytes(), destination)

    def send_multicast(self, data, destination: str, ttl: int) -> None:
        self._sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
        self._send(data.getBytes(), destination)

    def send_broadcast(self, data) -> None:  # universe discovery is off
        pass

    # the frames
    def stop_frames(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(2.0)

    def tick(self, now: float) -> None:
        with self._lock:
            if self._listener is not None:
                self._listener.on_periodic_callback(now)

    def _run(self) -> None:
        period = 1.0 / self.sink.fps
        next_at = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            self.sink.next_frame(now)
            self.tick(now)
            next_at += period
            if next_at < now:  # fell behind (a stalled machine): start the beat again
                next_at = now + period
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def _send(self, payload: bytes, destination: str) -> None:
        try:
            address = self._address(destination)
            self._sock.sendto(bytes(payload), (address, self.port))
        except OSError as err:
            self.sink._record_failure(err)
        else:
            self.sink.frames += 1

    def _address(self, name: str) -> str:
        cached = self._resolved.get(name)
        now = time.monotonic()
        if cached is not None and (cached[0] or now - cached[1] < RESOLVE_RETRY_S):
            if not cached[0]:
                raise OSError(f"cannot resolve {name}")
            return cached[0]
        try:
            found = socket.getaddrinfo(name, self.port, socket.AF_INET, socket.SOCK_DGRAM)
            address = found[0][4][0]
        except (OSError, UnicodeError) as err:
            self._resolved[name] = ("", now)
            raise OSError(f"cannot resolve {name}: {err}") from err
        self._resolved[name] = (address, now)
        return address
