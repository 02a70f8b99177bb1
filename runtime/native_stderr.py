"""Native code's stderr (file descriptor 2, past Python's logging), captured around a call.

The runtime drops LiteRT's start line with it; the export keeps the TFLite converter's
pages of MLIR output off the terminal. Nothing is captured at DEBUG logging (``-v``), or where
fd 2 is not a real descriptor (an embedding host, pytest's capture).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def fd2_captured(shown: Callable[[str, bool], str]) -> Iterator[None]:
    """Run the block with fd 2 captured; afterwards write ``shown(text, failed)`` back to
    stderr, ``failed`` telling whether the block raised."""
    if logging.getLogger("sentio").isEnabledFor(logging.DEBUG):
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    failed = False
    with tempfile.TemporaryFile(mode="w+b") as scratch:
        os.dup2(scratch.fileno(), 2)
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            scratch.seek(0)
            text = shown(scratch.read().decode(errors="replace"), failed)
            if text:
                sys.stderr.write(text)
                sys.stderr.flush()
