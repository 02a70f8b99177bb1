"""Where predictions go: JSON lines (the machine-readable default) or readable text."""

from __future__ import annotations

import json
import sys
from typing import Protocol, TextIO

from sentio.runtime.emotion import Prediction


class Sink(Protocol):
    def emit(self, prediction: Prediction) -> None: ...


class JsonLinesSink:
    """One JSON object per prediction (schema: :class:`~sentio.runtime.emotion.Prediction`),
    flushed at once so a pipe reader sees it immediately."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def emit(self, prediction: Prediction) -> None:
        self.stream.write(json.dumps(prediction.to_dict()) + "\n")
        self.stream.flush()


class TextSink:
    """A line a person can read: time, the two values with bars, the mood."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def emit(self, p: Prediction) -> None:
        flags = " SILENT" if p.silent else ""
        flags += f" CLIPPED({p.clipped})" if p.clipped else ""
        self.stream.write(
            f"{p.t:8.1f}s  valence {p.valence:+.2f} {_bar(p.valence)}  "
            f"arousal {p.arousal:+.2f} {_bar(p.arousal)}  {p.quadrant:<14}"
            f" {p.compute_ms:5.1f} ms{flags}\n"
        )
        self.stream.flush()


def _bar(value: float, half: int = 5) -> str:
    """``[....|##...]``: a centred bar for a value in [-1, 1]."""
    n = round(max(-1.0, min(1.0, value)) * half)
    left = "." * (half + min(n, 0)) + "#" * -min(n, 0)
    right = "#" * max(n, 0) + "." * (half - max(n, 0))
    return f"[{left}|{right}]"
