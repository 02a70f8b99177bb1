"""Keeping the converters' native stderr lines off a user's terminal.

The TFLite converter's C++ quantizer prints ``fully_quantize: 0, inference_type: 6, ...`` and
LiteRT prints ``INFO: Created TensorFlow Lite XNNPACK delegate for CPU.`` straight to file
descriptor 2, past Python's logging. :func:`native_stderr_quiet` sends fd 2 to a scratch file
for the duration of such a call and shows what was written only if the call fails, or always
when the ``sentio`` logger is at DEBUG (``-v``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator


@contextlib.contextmanager
def native_stderr_quiet() -> Iterator[None]:
    """Capture file descriptor 2 (native code's stderr) unless debug logging is on."""
    if logging.getLogger("sentio").isEnabledFor(logging.DEBUG):
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real fd 2 (embedded, pytest capture)
        yield
        return
    with tempfile.TemporaryFile(mode="w+b") as scratch:
        os.dup2(scratch.fileno(), 2)
        try:
            yield
        except BaseException:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os.dup2(saved, 2)
            scratch.seek(0)
            sys.stderr.write(scratch.read().decode(errors="replace"))
            raise
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
