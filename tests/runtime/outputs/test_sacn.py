"""``--sacn``: E1.31 frames checked by the same library's receiver on loopback (unicast to
127.0.0.1:5568): the fixture layout, the fade at a steady frame rate, blackout on silence
and on exit, the options."""

from __future__ import annotations

import fcntl
import tempfile
import threading
import time
from pathlib import Path

import pytest
from sentio.runtime.cli import main
from sentio.runtime.color import emotion_color
from sentio.runtime.errors import OutputError
from sentio.runtime.outputs.e131 import FixtureLayout, SacnSink, parse_sacn_address

from tests.helpers import fake_prediction, wait_until, write_song

pytest.importorskip("sacn")


class Receiver:
    """The ``sacn`` library's receiver on port 5568 (one test at a time holds it: a lock
    file, since test workers run in parallel), recording every DMX frame of one universe."""

    def __init__(self, universe: int) -> None:
        import sacn

        self._lock = open(Path(tempfile.gettempdir()) / "sentio-sacn-5568.lock", "w")  # noqa: SIM115
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        self.frames: list[tuple[int, ...]] = []
        self.availability: list[str] = []
        self._guard = threading.Lock()
        self.receiver = sacn.sACNreceiver(bind_address="127.0.0.1")
        self.receiver.register_listener("universe", self._on_data, universe=universe)
        self.receiver.register_listener("availability", self._on_availability)
        self.receiver.start()

    def _on_data(self, packet) -> None:
        with self._guard:
            self.frames.append(tuple(packet.dmxData))

    def _on_availability(self, universe: int, changed: str) -> None:
        self.availability.append(changed)

    def last(self, channels: int) -> tuple[int, ...] | None:
        with self._guard:
            return self.frames[-1][:channels] if self.frames else None

    def close(self) -> None:
        self.receiver.stop()
        fcntl.flock(self._lock, fcntl.LOCK_UN)
        self._lock.close()


@pytest.fixture
def receiver():
    made = Receiver(universe=7)
    yield made
    made.close()


def test_layout_frames():
    assert FixtureLayout(1, 3, 1).frame((226, 226, 2)) == (226, 226, 2)
    # RGBW: the white takes what the three share
    assert FixtureLayout(2, 4, 3).frame((226, 226, 2.4)) == (0, 0, *(224, 224, 0, 2) * 2)
    assert FixtureLayout(170, 3, 3).end == 512
    with pytest.raises(OutputError, match="ends at channel 513"):
        FixtureLayout(171, 3, 1)


def test_addresses():
    assert parse_sacn_address("10.0.0.5") == ("10.0.0.5", 1)
    assert parse_sacn_address("wled.local:3") == ("wled.local", 3)
    assert parse_sacn_address("multicast:2") == ("multicast", 2)
    for bad in (":1", "host:0", "host:64000", "host:x"):
        with pytest.raises(ValueError):
            parse_sacn_address(bad)


def test_frames_fade_to_the_colour_at_a_steady_rate_and_black_out(receiver):
    layout = FixtureLayout(fixtures=2, channels=3, start=5)
    sink = SacnSink("127.0.0.1", 7, layout, fade_s=0.4, blackout_on_silence=True)
    try:
        happy = emotion_color(0.7, 0.7).rgb8  # (226, 226, 2), README's table
        started, frames_before = time.monotonic(), sink.frames
        sink.emit(fake_prediction(1.0, valence=0.7, arousal=0.7))
        expected = (0, 0, 0, 0, *happy, *happy)
        wait_until(lambda: receiver.last(10) == expected, what="the colour on the wire")
        time.sleep(0.5)
        rate = (sink.frames - frames_before) / (time.monotonic() - started)
        assert 20 <= rate <= 40  # a steady stream at 30 fps, changed or not
        reds = sorted({frame[4] for frame in receiver.frames})
        assert len([r for r in reds if 0 < r < happy[0]]) >= 5  # faded in, not jumped
        silent = fake_prediction(2.0, valence=0.7, arousal=0.7)
        silent.silent = True
        sink.emit(silent)
        wait_until(lambda: receiver.last(10) == (0,) * 10, what="blackout on silence")
        sink.emit(fake_prediction(3.0, valence=-0.7, arousal=0.7))  # tense: red
        red = emotion_color(-0.7, 0.7).rgb8
        wait_until(lambda: receiver.last(10) == (0, 0, 0, 0, *red, *red), what="red")
    finally:
        sink.close()
    wait_until(lambda: receiver.last(10) == (0,) * 10, what="blackout on exit")
    wait_until(lambda: "timeout" in receiver.availability, what="stream terminated")
    assert sink.stats.failed == 0 and sink.stats.sent == 3


def test_brightness_full_and_rgbw(receiver):
    sink = SacnSink("127.0.0.1", 7, FixtureLayout(1, 4, 1), brightness="full", fade_s=0)
    try:
        sink.emit(fake_prediction(1.0, valence=0.7, arousal=-0.7))  # calm: a dim green...
        wait_until(lambda: receiver.last(4) not in (None, (0, 0, 0, 0)), what="a frame")
        r, g, b, w = receiver.last(4)
        assert g == 255 - w and r == 0 and b == 0  # ... at full brightness
    finally:
        sink.close()


def test_an_unreachable_receiver_is_counted_never_raised():
    sink = SacnSink("no-such-host.invalid", 1, fade_s=0)
    try:
        sink.emit(fake_prediction(1.0))
        wait_until(lambda: sink.stats.failed > 0, what="a failure counted")
        assert sink.stats.sent == 1  # the prediction reached the sink's thread
    finally:
        sink.close()
    assert "cannot resolve" in sink.stats.last_error


def test_sentio_listen_drives_the_receiver(receiver, tmp_path, capsys):
    song = write_song(tmp_path / "song.wav", seconds=8.0)
    code = main(
        [
            "--input",
            str(song),
            "--format",
            "none",
            "--hop",
            "1",
            "--sacn",
            "127.0.0.1:7",
            "--sacn-fixtures",
            "3",
            "--sacn-fade",
            "0",
        ]
    )
    seen = [f[:9] for f in receiver.frames]
    assert code == 0
    lit = [f for f in seen if any(f)]
    assert lit, "no lit frame reached the receiver"
    assert all(f[0:3] == f[3:6] == f[6:9] for f in lit)  # three fixtures, one colour
    wait_until(lambda: receiver.last(9) == (0,) * 9, what="blackout on exit")
    assert "sacn 127.0.0.1 universe 7:" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--sacn", "host:70000"], "--sacn"),
        (["--sacn", "h", "--sacn-fixtures", "0"], "--sacn-fixtures"),
        (["--sacn", "h", "--sacn-channels-per-fixture", "5"], "--sacn-channels-per-fixture"),
        (["--sacn", "h", "--sacn-fps", "100"], "--sacn-fps"),
        (["--sacn", "h", "--sacn-fade", "nan"], "--sacn-fade"),
        (["--sacn-fixtures", "2"], "--sacn-fixtures"),
        (["--sacn", "h", "--sacn-fixtures", "170", "--sacn-start", "10"], "519"),
    ],
)
def test_bad_options_exit_2_naming_them(argv, named, capsys, tmp_path):
    song = write_song(tmp_path / "song.wav", seconds=2.0)
    try:
        code = main(["--input", str(song), *argv])
    except SystemExit as exit_:
        code = exit_.code
    assert code == 2
    assert named in capsys.readouterr().err
