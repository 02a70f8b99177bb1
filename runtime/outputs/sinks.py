"""Where predictions go: JSON lines (the machine-readable default), readable text, and the
base of the network outputs (OSC, MQTT), which deliver from their own thread.

Every sink has ``emit(prediction)`` and ``close()`` and is a context manager. ``Sinks`` fans
one prediction out to several and closes them all::

    with Sinks(JsonLinesSink(), OscSink.from_address("192.168.1.50:9000")) as sinks:
        Listener.from_microphone(device="hw:1").run(sinks.emit)
    print("\n".join(sinks.report_lines()))
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import json
import logging
import sys
import threading
from collections import deque
from dataclasses import dataclass
from typing import Protocol, TextIO

from sentio.runtime.about import extra_requirements
from sentio.runtime.emotion import Prediction
from sentio.runtime.errors import MissingExtraError

log = logging.getLogger("sentio.sinks")


def import_extra(module: str, extra: str, purpose: str):
    """Import an optional dependency, or say which pip extra brings it."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise MissingExtraError(
            f"{purpose} needs the Python package that provides '{module}' ({err})",
            hint=f'in the Sentio checkout: pip install ".[{extra}]"  '
            f"(or directly: pip install {' '.join(extra_requirements(extra)) or module})",
        ) from err


class Sink(Protocol):
    def emit(self, prediction: Prediction) -> None: ...

    def close(self) -> None: ...


class ClosesOnExit:
    """``with sink:`` closes the sink at the end of the block."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class StreamSink(ClosesOnExit):
    """Base of the sinks that write to a text stream (stdout by default); closing flushes."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError):  # the reader went away: nothing to tell
            self.stream.flush()


class JsonLinesSink(StreamSink):
    """One JSON object per prediction (schema: :class:`~sentio.runtime.emotion.Prediction`),
    flushed at once so a pipe reader sees it immediately."""

    def emit(self, prediction: Prediction) -> None:
        self.stream.write(json.dumps(prediction.to_dict()) + "\n")
        self.stream.flush()


class TextSink(StreamSink):
    """A line a person can read: time, the two values with bars, the mood, the colour."""

    def emit(self, p: Prediction) -> None:
        flags = " SILENT" if p.silent else ""
        flags += f" PARTIAL({p.window_s:.1f}s)" if p.partial else ""
        flags += " CHANGE" if p.change else ""
        flags += f" CLIPPED({p.clipped})" if p.clipped else ""
        self.stream.write(
            f"{p.t:8.1f}s  valence {p.valence:+.2f} {bar(p.valence)}  "
            f"arousal {p.arousal:+.2f} {bar(p.arousal)}  {p.quadrant:<14} {p.color.hex}"
            f" {p.compute_ms:5.1f} ms{flags}\n"
        )
        self.stream.flush()


def bar(value: float, half: int = 5) -> str:
    """``[....|##...]``: a centred bar for a value in [-1, 1]."""
    n = round(max(-1.0, min(1.0, value)) * half)
    left = "." * (half + min(n, 0)) + "#" * -min(n, 0)
    right = "#" * max(n, 0) + "." * (half - max(n, 0))
    return f"[{left}|{right}]"


@dataclass
class SinkStats:
    """What happened to the predictions given to one sink.

    Attributes:
        name: the sink as the user named it (e.g. ``osc 192.168.1.50:9000``).
        sent: predictions delivered to the peer (as far as the protocol can tell).
        failed: deliveries that raised or found the peer unreachable.
        dropped: predictions replaced in the queue by newer ones before they could be sent
            (the peer was slower than the predictions), or left unsent at close.
        last_error: the most recent failure, for the report.
    """

    name: str
    sent: int = 0
    failed: int = 0
    dropped: int = 0
    last_error: str = ""

    def line(self) -> str:
        error = f" (last error: {self.last_error})" if self.failed and self.last_error else ""
        return (
            f"sentio: {self.name}: {self.sent} sent, {self.failed} failed, "
            f"{self.dropped} dropped{error}"
        )


class BackgroundSink(ClosesOnExit):
    """A sink that delivers from its own thread, so that a slow or unreachable peer never
    holds up listening: ``emit`` only appends to a bounded queue (the oldest prediction
    makes room, counted as dropped) and never raises; ``deliver`` failures are counted.

    Subclasses implement ``deliver(prediction)`` (raise on failure) and may override
    ``shutdown()`` (called once on close, after the queue is drained).

    Args:
        name: how the sink is named in reports.
        queue_size: predictions waiting at most.
    """

    def __init__(self, name: str, queue_size: int = 32) -> None:
        self.stats = SinkStats(name)
        self._queue: deque[Prediction] = deque()
        self._queue_size = queue_size
        self._wake = threading.Condition()
        self._closing = False
        self._failing = False
        self._thread = threading.Thread(target=self._work, name=f"sentio {name}", daemon=True)
        self._thread.start()

    def deliver(self, prediction: Prediction) -> None:
        raise NotImplementedError

    def shutdown(self) -> None:
        """Release the connection (called from ``close``, after the last delivery)."""

    def emit(self, prediction: Prediction) -> None:
        with self._wake:
            if self._closing:
                self.stats.dropped += 1
                return
            if len(self._queue) >= self._queue_size:
                self._queue.popleft()
                self.stats.dropped += 1
            self._queue.append(prediction)
            self._wake.notify()

    def close(self, timeout: float = 3.0) -> None:
        """Deliver what is queued (waiting at most ``timeout`` s), then release the peer."""
        with self._wake:
            if self._closing:
                return
            self._closing = True
            self._wake.notify()
        self._thread.join(timeout)
        with self._wake:  # a peer that hangs: what is left is not going out
            self.stats.dropped += len(self._queue)
            self._queue.clear()
        try:
            self.shutdown()
        except Exception as err:  # closing must not fail the run: the report says it
            self._record_failure(err)

    def _work(self) -> None:
        while True:
            with self._wake:
                while not self._queue and not self._closing:
                    self._wake.wait()
                if not self._queue:
                    return
                prediction = self._queue.popleft()
            try:
                self.deliver(prediction)
            except Exception as err:  # any peer failure: count it, keep listening
                self._record_failure(err)
            else:
                self.stats.sent += 1
                if self._failing:
                    log.info("%s: delivering again", self.stats.name)
                    self._failing = False

    def _record_failure(self, err: Exception) -> None:
        self.stats.failed += 1
        self.stats.last_error = str(err) or type(err).__name__
        if not self._failing:  # log the change, not every window
            log.warning("%s: %s (counted; retrying)", self.stats.name, self.stats.last_error)
            self._failing = True


class Sinks(ClosesOnExit):
    """Several sinks as one: ``emit`` gives each the prediction, ``close`` closes them all.

    ``report_lines()`` gives one stats line per sink that counts deliveries
    (:class:`BackgroundSink` and subclasses).
    """

    def __init__(self, *sinks: Sink) -> None:
        self.sinks = list(sinks)

    def emit(self, prediction: Prediction) -> None:
        for sink in self.sinks:
            sink.emit(prediction)

    def close(self) -> None:
        errors = []
        for sink in self.sinks:  # one that fails to close must not keep the others open
            try:
                sink.close()
            except Exception as err:
                errors.append(err)
        if errors:
            raise errors[0]

    def stats(self) -> list[SinkStats]:
        return [s.stats for s in self.sinks if isinstance(getattr(s, "stats", None), SinkStats)]

    def report_lines(self) -> list[str]:
        return [stats.line() for stats in self.stats()]
