"""OSC output (python-osc, ``pip install ".[osc]"``): every prediction as OSC messages
over UDP, for lighting software, VJ tools and WLED-style receivers.

Address scheme (``/sentio`` is the default prefix; ``--osc HOST:PORT/my/prefix`` changes it):

==================  ==========  ==================================================
address             arguments   meaning
==================  ==========  ==================================================
/sentio/valence     f           valence in [-1, 1]
/sentio/arousal     f           arousal in [-1, 1]
/sentio/quadrant    s           happy/excited, tense/angry, sad/depressed, calm/content (silent)
/sentio/color       f f f       red, green, blue as floats in [0, 1]
/sentio/color8      i i i       red, green, blue as integers in 0..255
/sentio/hsv         f f f       hue, saturation, value, each in [0, 1]
/sentio/time        f           audio time of the window's end (s)
/sentio/silent      i           1 if nothing above the silence level was heard (output held)
/sentio/window      f           seconds of audio the estimate is made on (12 once full)
/sentio/partial     i           1 for an early estimate (less than a whole window), else 0
/sentio/change      i           1 on the first estimate after a change of music, else 0
==================  ==========  ==================================================

Each message is its own UDP datagram (what simple receivers understand); ``bundle=True``
sends one OSC bundle per window instead, so a receiver sees all values change at once.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from sentio.runtime.emotion import Prediction
from sentio.runtime.errors import OutputError
from sentio.runtime.outputs.sinks import BackgroundSink, import_extra

DEFAULT_PREFIX = "/sentio"


def parse_osc_address(address: str) -> tuple[str, int, str]:
    """``HOST:PORT[/PREFIX]`` (IPv6 as ``[::1]:9000``) -> (host, port, prefix)."""
    try:
        parts = urlsplit("osc://" + address)
        host, port = parts.hostname, parts.port
    except ValueError:  # a port that is no number or out of range
        host = port = None
    if not host or not port:
        raise OutputError(
            f"--osc {address!r}: expected HOST:PORT or HOST:PORT/PREFIX",
            hint="e.g. --osc 192.168.1.50:9000 or --osc localhost:7700/lights/sentio",
        )
    return host, port, parts.path.rstrip("/") or DEFAULT_PREFIX


def osc_values(prediction: Prediction) -> list[tuple[str, list]]:
    """(address suffix, arguments) of every message for one prediction."""
    color = prediction.color
    return [
        ("/valence", [float(prediction.valence)]),
        ("/arousal", [float(prediction.arousal)]),
        ("/quadrant", [prediction.quadrant]),
        ("/color", [float(c) for c in color.rgb]),
        ("/color8", list(color.rgb8)),
        ("/hsv", [color.hue / 360.0, color.saturation, color.value]),
        ("/time", [float(prediction.t)]),
        ("/silent", [int(prediction.silent)]),
        ("/window", [float(prediction.window_s)]),
        ("/partial", [int(prediction.partial)]),
        ("/change", [int(prediction.change)]),
    ]


class OscSink(BackgroundSink):
    """Sends each prediction to an OSC receiver over UDP (address scheme: module docstring).

    The host name is resolved in the sink's own thread, and again until it works: a
    receiver that is not up yet (or a name the network cannot resolve yet at boot) only
    counts failures. UDP cannot tell whether anyone listens; ``sent`` counts datagrams that
    left this machine.

    Args:
        host, port: the receiver.
        prefix: the addresses' common start (default ``/sentio``).
        bundle: one OSC bundle per window instead of one datagram per value.
        queue_size: predictions waiting at most before the oldest is dropped.
    """

    def __init__(
        self,
        host: str,
        port: int,
        prefix: str = DEFAULT_PREFIX,
        bundle: bool = False,
        queue_size: int = 32,
    ) -> None:
        self._osc = import_extra("pythonosc.udp_client", "osc", "OSC output")
        self._builders = import_extra("pythonosc.osc_message_builder", "osc", "OSC output")
        self._bundles = import_extra("pythonosc.osc_bundle_builder", "osc", "OSC output")
        self.host, self.port, self.prefix, self.bundle = host, port, prefix, bundle
        self._client = None
        super().__init__(f"osc {host}:{port}{prefix}", queue_size)

    @classmethod
    def from_address(cls, address: str, **kwargs) -> OscSink:
        """From ``HOST:PORT[/PREFIX]`` as given to ``sentio-listen --osc``."""
        host, port, prefix = parse_osc_address(address)
        return cls(host, port, prefix, **kwargs)

    def messages(self, prediction: Prediction) -> list:
        """The OSC messages of one prediction (built, not sent)."""
        built = []
        for suffix, args in osc_values(prediction):
            builder = self._builders.OscMessageBuilder(self.prefix + suffix)
            for arg in args:
                builder.add_arg(arg)
            built.append(builder.build())
        return built

    def deliver(self, prediction: Prediction) -> None:
        if self._client is None:
            self._client = self._osc.UDPClient(self.host, self.port)
        messages = self.messages(prediction)
        if self.bundle:
            bundle = self._bundles.OscBundleBuilder(self._bundles.IMMEDIATELY)
            for message in messages:
                bundle.add_content(message)
            self._client.send(bundle.build())
            return
        for message in messages:
            self._client.send(message)

    def shutdown(self) -> None:
        if self._client is not None:
            self._client.close()
