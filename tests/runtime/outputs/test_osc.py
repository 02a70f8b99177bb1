"""OSC output against a real OSC UDP server on loopback (python-osc's ThreadingOSCUDPServer):
the address scheme from ``sentio-listen --osc`` and from the Python API, and a receiver that
cannot be reached never stops listening."""

import sys
import threading
import time

import pytest
from sentio.runtime.cli import main
from sentio.runtime.listener import Listener
from sentio.runtime.outputs.osc import OscSink, parse_osc_address
from sentio.runtime.outputs.sinks import Sinks

from tests.helpers import WHOLE_WINDOWS, fake_prediction, sink_counts, wait_until, write_song

ADDRESSES = {
    "valence",
    "arousal",
    "quadrant",
    "color",
    "color8",
    "hsv",
    "time",
    "silent",
    "window",
    "partial",
    "change",
}


class OscServer:
    """Records every (address, args) it receives, bundles unpacked by the dispatcher."""

    def __init__(self) -> None:
        from pythonosc.dispatcher import Dispatcher
        from pythonosc.osc_server import ThreadingOSCUDPServer

        self.received: list[tuple[str, tuple]] = []
        self._lock = threading.Lock()
        dispatcher = Dispatcher()
        dispatcher.set_default_handler(self._record)
        self.server = ThreadingOSCUDPServer(("127.0.0.1", 0), dispatcher)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def _record(self, address: str, *args) -> None:
        with self._lock:
            self.received.append((address, args))

    def values(self, address: str) -> list[tuple]:
        with self._lock:
            return [args for a, args in self.received if a == address]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def osc_server():
    server = OscServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    return write_song(tmp_path_factory.mktemp("osc") / "song.wav")


def listen_every_second(song, osc_address: str) -> int:
    """``sentio-listen --input SONG`` with a whole window every second, sent over OSC."""
    return main(["--input", str(song), *WHOLE_WINDOWS, "--hop", "1", "--osc", osc_address])


def test_cli_sends_every_window_with_the_address_scheme(osc_server, song, capsys):
    code = listen_every_second(song, f"127.0.0.1:{osc_server.port}")
    assert code == 0
    captured = capsys.readouterr()
    windows = [line for line in captured.out.splitlines() if line.startswith("{")]
    assert len(windows) == 5  # 16.5 s of audio, 12 s windows, every 1 s
    # every datagram left before the CLI returned; UDP on loopback may still be in flight
    wait_until(
        lambda: len(osc_server.values("/sentio/change")) == 5, 5, "5 windows over OSC"
    )  # last
    assert {a.split("/")[-1] for a, _ in osc_server.received} == ADDRESSES
    assert [v[0] for v in osc_server.values("/sentio/time")] == pytest.approx(
        [12.0, 13.0, 14.0, 15.0, 16.0], abs=1e-3
    )
    assert [v[0] for v in osc_server.values("/sentio/window")] == pytest.approx([12.0] * 5)
    assert [v[0] for v in osc_server.values("/sentio/partial")] == [0] * 5
    for (r, g, b), ints in zip(
        osc_server.values("/sentio/color"), osc_server.values("/sentio/color8"), strict=True
    ):
        assert all(0.0 <= c <= 1.0 for c in (r, g, b))
        assert list(ints) == [round(255 * c) for c in (r, g, b)]
    assert all(
        q[0] in {"happy/excited", "tense/angry", "sad/depressed", "calm/content"}
        for q in osc_server.values("/sentio/quadrant")
    )
    assert f"osc 127.0.0.1:{osc_server.port}/sentio: 5 sent, 0 failed, 0 dropped" in captured.err


def test_python_api_bundles_with_a_custom_prefix(osc_server, song):
    sink = OscSink("127.0.0.1", osc_server.port, prefix="/stage/mood", bundle=True)
    with Sinks(sink) as sinks:
        predictions = []
        Listener.from_file(song, hop_s=2.0, first_s=None, changes=False).run(
            lambda p: (predictions.append(p), sinks.emit(p))
        )
    assert sink.stats.sent == len(predictions) == 3 and sink.stats.failed == 0
    wait_until(lambda: len(osc_server.values("/stage/mood/valence")) == 3, 5, "3 bundles")
    got = [v[0] for v in osc_server.values("/stage/mood/valence")]
    assert got == pytest.approx([p.valence for p in predictions], abs=1e-6)  # OSC float32
    hue, saturation, value = osc_server.values("/stage/mood/hsv")[-1]
    color = predictions[-1].color
    assert (hue, saturation, value) == pytest.approx(
        (color.hue / 360, color.saturation, color.value), abs=1e-6
    )


def test_an_unresolvable_receiver_never_stops_listening(song, capsys):
    started = time.monotonic()
    code = listen_every_second(song, "no-such-host.invalid:9000")
    assert code == 0
    captured = capsys.readouterr()
    assert sum(line.startswith("{") for line in captured.out.splitlines()) == 5
    sent, failed, dropped = sink_counts(captured.err, "osc no-such-host.invalid:9000")
    # every window failed, or (a slow resolver) was still waiting for the name at exit
    assert sent == 0 and failed + dropped == 5
    assert time.monotonic() - started < 30


def test_emit_never_blocks_on_a_slow_network(osc_server):
    sink = OscSink("127.0.0.1", osc_server.port, queue_size=4)
    started = time.perf_counter()
    for i in range(200):  # far faster than the sink can send: the queue keeps the newest
        sink.emit(fake_prediction(float(i)))
    assert time.perf_counter() - started < 0.5
    sink.close()
    assert sink.stats.sent + sink.stats.dropped == 200 and sink.stats.failed == 0
    wait_until(lambda: osc_server.values("/sentio/time"), 5, "the last prediction")
    wait_until(lambda: osc_server.values("/sentio/time")[-1][0] == 199.0, 5, "t = 199")


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("192.168.1.50:9000", ("192.168.1.50", 9000, "/sentio")),
        ("localhost:7700/lights/sentio/", ("localhost", 7700, "/lights/sentio")),
        ("[::1]:9000", ("::1", 9000, "/sentio")),
    ],
)
def test_osc_addresses_parse(address, expected):
    assert parse_osc_address(address) == expected


@pytest.mark.parametrize("address", ["localhost", "localhost:notaport", ":9000", "host:70000"])
def test_a_bad_osc_address_is_a_clear_error_exit_2(address, song, capsys):
    assert main(["--input", str(song), "--osc", address]) == 2
    err = capsys.readouterr().err
    assert "expected HOST:PORT" in err and "hint:" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("option", "value", "module", "extra"),
    [
        ("--osc", "127.0.0.1:9000", "pythonosc.udp_client", "osc"),
        ("--mqtt", "mqtt://127.0.0.1", "paho.mqtt.client", "mqtt"),
    ],
)
def test_a_missing_extra_says_which_pip_command(
    option, value, module, extra, song, capsys, monkeypatch
):
    monkeypatch.setitem(sys.modules, module, None)  # makes the import fail as if not installed
    assert main(["--input", str(song), option, value]) == 2
    err = capsys.readouterr().err
    assert f'pip install ".[{extra}]"' in err and "Traceback" not in err
    assert "sentio[" not in err  # PyPI's 'sentio' is another project
