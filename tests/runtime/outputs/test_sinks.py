"""BackgroundSink, the base of the network outputs: emit never blocks or raises, whatever
the peer does; failures and drops are counted; close delivers what is queued and never
hangs; Sinks closes every sink; the text sink shows each prediction's colour."""

import io
import threading
import time

import pytest
from sentio.runtime.color import emotion_color
from sentio.runtime.outputs.sinks import BackgroundSink, Sinks, TextSink

from tests.helpers import fake_prediction


class Peer(BackgroundSink):
    """A peer whose behaviour the test controls: blocks until released, or fails."""

    def __init__(self, fail: bool = False, queue_size: int = 4) -> None:
        self.delivered: list[float] = []
        self.release = threading.Event()
        self.entered = threading.Event()
        self.fail = fail
        self.shut = False
        super().__init__("peer", queue_size)

    def deliver(self, prediction) -> None:
        self.entered.set()
        self.release.wait()
        if self.fail:
            raise ConnectionRefusedError("peer refused")
        self.delivered.append(prediction.t)

    def shutdown(self) -> None:
        self.shut = True


def test_a_stuck_peer_neither_blocks_emit_nor_grows_the_queue():
    peer = Peer(queue_size=4)
    peer.emit(fake_prediction(0.0))
    assert peer.entered.wait(5)  # the worker now hangs in deliver
    started = time.perf_counter()
    for t in range(1, 101):
        peer.emit(fake_prediction(float(t)))
    assert time.perf_counter() - started < 0.1
    assert peer.stats.dropped == 96  # 100 queued into 4 places: the oldest made room
    peer.release.set()
    peer.close()
    assert peer.delivered == [0.0, 97.0, 98.0, 99.0, 100.0]  # the newest got out
    assert (peer.stats.sent, peer.stats.failed, peer.stats.dropped) == (5, 0, 96)
    assert peer.shut


def test_failures_are_counted_and_never_raised():
    peer = Peer(fail=True)
    peer.release.set()
    for t in range(3):
        peer.emit(fake_prediction(float(t)))
    peer.close()
    assert (peer.stats.sent, peer.stats.failed) == (0, 3)
    assert "peer refused" in peer.stats.line()


def test_close_gives_up_on_a_hung_peer_and_counts_what_was_left():
    peer = Peer(queue_size=8)
    for t in range(3):
        peer.emit(fake_prediction(float(t)))
    assert peer.entered.wait(5)
    started = time.perf_counter()
    peer.close(timeout=0.2)
    assert time.perf_counter() - started < 2
    assert peer.stats.dropped == 2 and peer.shut  # the one in deliver is neither
    peer.emit(fake_prediction(9.0))  # after close: counted, not queued
    assert peer.stats.dropped == 3
    peer.release.set()


def test_sinks_fans_out_and_closes_every_sink_even_when_one_fails():
    class Broken:
        closed = False

        def emit(self, p):
            pass

        def close(self):
            Broken.closed = True
            raise OSError("flush failed")

    a, b = Peer(), Peer()
    a.release.set()
    b.release.set()
    sinks = Sinks(Broken(), a, b)
    sinks.emit(fake_prediction(1.0))
    with pytest.raises(OSError, match="flush failed"):
        sinks.close()
    assert Broken.closed and a.shut and b.shut
    assert a.delivered == b.delivered == [1.0]
    assert [s.name for s in sinks.stats()] == ["peer", "peer"]
    assert sinks.report_lines() == ["sentio: peer: 1 sent, 0 failed, 0 dropped"] * 2


def test_every_sink_sees_the_predictions_colour():
    p = fake_prediction(12.0, valence=-0.6, arousal=0.5)
    assert p.color == emotion_color(-0.6, 0.5)
    assert p.color.to_dict()["hex"] == p.color.hex
    out = io.StringIO()
    TextSink(out).emit(p)
    assert p.color.hex in out.getvalue()
