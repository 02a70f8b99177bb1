"""Keeping the converters' native stderr lines off a user's terminal.

The TFLite converter's C++ quantizer prints ``fully_quantize: 0, inference_type: 6, ...`` and
LiteRT prints ``INFO: Created TensorFlow Lite XNNPACK delegate for CPU.`` straight to file
descriptor 2, past Python's logging. :func:`native_stderr_quiet` sends fd 2 to a scratch file
for the duration of such a call and shows what was written only if the call fails, or always
when the ``sentio`` logger is at DEBUG (``-v``).

The same calls swallow Ctrl-C: the converter calls back into Python, and a KeyboardInterrupt
raised there becomes a status the C++ side drops, so the export went on and replaced ``--out``
(issue 22 #11). :func:`interrupts_kept` (part of :func:`native_stderr_quiet`) remembers a
SIGINT or SIGTERM that arrives during the call and raises it again once the call is over,
before anything is written.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

from sentio.runtime.native_stderr import fd2_captured

#: The signals a native call must not swallow.
KEPT_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def interrupts_kept() -> Iterator[None]:
    """Run a native call so that a SIGINT or SIGTERM during it is not lost.

    Each Python handler of :data:`KEPT_SIGNALS` (Python's KeyboardInterrupt for SIGINT, the
    CLI's ``Terminated`` for SIGTERM) is wrapped to remember the signal before it raises as
    usual. When the call returns, or fails (a converter turns the swallowed interrupt into an
    error of its own), a remembered signal's handler is run again: the interrupt propagates as
    if the native code had let it through. Signals left at their default or ignored are not
    touched; outside the main thread (no signal handlers there) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    seen: list[int] = []
    previous: dict[int, object] = {}

    def remember(signum, frame):
        seen.append(signum)
        previous[signum](signum, frame)  # type: ignore[operator]

    for signum in KEPT_SIGNALS:
        handler = signal.getsignal(signum)
        if callable(handler):
            previous[signum] = handler
            signal.signal(signum, remember)

    def restore() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]

    try:
        yield
    except BaseException as err:
        restore()
        if seen and not isinstance(err, KeyboardInterrupt):
            previous[seen[0]](seen[0], None)  # type: ignore[operator]
        raise
    restore()
    if seen:
        previous[seen[0]](seen[0], None)  # type: ignore[operator]


@contextlib.contextmanager
def native_stderr_quiet() -> Iterator[None]:
    """Capture file descriptor 2 (native code's stderr) unless debug logging is on, with
    Ctrl-C and SIGTERM kept (:func:`interrupts_kept`)."""
    with interrupts_kept(), _stderr_captured():
        yield


def _stderr_captured():
    """fd 2 captured; shown only if the call fails (then it holds the converter's error)."""
    return fd2_captured(lambda text, failed: text if failed else "")
