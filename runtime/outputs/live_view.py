"""``sentio-listen --ui``: a live terminal view, drawn with plain ANSI escapes (no extra
dependency): the valence/arousal point moving on the circumplex with its recent trail, the
current colour as a swatch, the mood, and the run's counters.

``render(state)`` makes one frame as a string (what the tests check); ``LiveView`` is the
sink that keeps the state and redraws the terminal, at most ``max_fps`` times a second.
"""

from __future__ import annotations

import os
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from sentio.runtime.color import Color
from sentio.runtime.emotion import Prediction
from sentio.runtime.outputs.sinks import ClosesOnExit, SinkStats, bar

CORNERS = (("tense", "happy"), ("sad", "calm"))  # (top left, top right), (bottom ...)
RESET = "\x1b[0m"


@dataclass
class ViewState:
    """What one frame shows.

    Attributes:
        history: the latest predictions, oldest first (the last one is the current point).
        windows: predictions so far.
        compute_ms_total, compute_ms_max: inference time, for the mean and the maximum.
        sinks: the outputs' delivery counters.
    """

    history: deque[Prediction] = field(default_factory=lambda: deque(maxlen=24))
    windows: int = 0
    compute_ms_total: float = 0.0
    compute_ms_max: float = 0.0
    sinks: list[SinkStats] = field(default_factory=list)

    def add(self, prediction: Prediction) -> None:
        self.history.append(prediction)
        self.windows += 1
        self.compute_ms_total += prediction.compute_ms
        self.compute_ms_max = max(self.compute_ms_max, prediction.compute_ms)


def render(state: ViewState, width: int = 41, height: int = 15, color: bool = True) -> str:
    """One frame: the circumplex grid (``width`` x ``height`` cells inside a border) and
    the status lines. ``color=False`` gives plain text (a swatch becomes ``#rrggbb``)."""
    lines = _grid(state, width, height, color)
    if not state.history:
        lines.append(" waiting for the first window (a full window of audio)...")
    else:
        lines.extend(_status(state, color))
    lines.extend(f" {stats.line().removeprefix('sentio: ')}" for stats in state.sinks)
    return "\n".join(lines)


def _cell(valence: float, arousal: float, width: int, height: int) -> tuple[int, int]:
    """(row, column) of a point: valence left to right, arousal bottom to top."""
    col = round((max(-1.0, min(1.0, valence)) + 1) / 2 * (width - 1))
    row = round((1 - max(-1.0, min(1.0, arousal))) / 2 * (height - 1))
    return row, col


def _grid(state: ViewState, width: int, height: int, color: bool) -> list[str]:
    mid_row, mid_col = height // 2, width // 2
    cells = [[" "] * width for _ in range(height)]
    for row in range(height):
        cells[row][mid_col] = "|"
    cells[mid_row] = ["-"] * width
    cells[mid_row][mid_col] = "+"
    for row, (left, right) in zip((0, height - 1), CORNERS, strict=True):
        cells[row][: len(left)] = list(left)
        cells[row][width - len(right) :] = list(right)
    taken = set()
    for age, p in enumerate(reversed(state.history)):  # newest first: it wins its cell
        mark = "@" if age == 0 else ("o" if age < 4 else ".")
        row, col = _cell(p.valence, p.arousal, width, height)
        if (row, col) not in taken:
            taken.add((row, col))
            cells[row][col] = _paint(mark, p.color, bold=age == 0) if color else mark
    top = "+" + "-" * (width // 2 - 4) + " arousal+ " + "-" * (width - width // 2 - 6) + "+"
    body = [
        f"|{''.join(row)}|" + (" valence+" if r == mid_row else "") for r, row in enumerate(cells)
    ]
    return [top, *body, "+" + "-" * width + "+"]


def _status(state: ViewState, color: bool) -> list[str]:
    p = state.history[-1]
    c = p.color
    swatch = _swatch(c) if color else f"[{c.hex}]"
    mean = state.compute_ms_total / state.windows
    flags = "  SILENT" if p.silent else ""
    flags += f"  PARTIAL({p.window_s:.1f}s)" if p.partial else ""
    flags += "  CHANGE" if p.change else ""
    flags += f"  CLIPPED({p.clipped})" if p.clipped else ""
    return [
        f" {p.t:7.1f} s  {p.quadrant}{flags}",
        f" valence {p.valence:+.2f} {bar(p.valence)}  arousal {p.arousal:+.2f} {bar(p.arousal)}",
        f" colour {swatch} {c.hex}  hue {c.hue:3.0f}°  sat {c.saturation:.2f}  "
        f"bright {c.value:.2f}",
        f" windows {state.windows}  compute {mean:.1f} ms mean, {state.compute_ms_max:.1f} ms "
        f"max  overflows {p.overflows}  dropped samples {p.dropped}",
    ]


def _paint(text: str, c: Color, bold: bool = False) -> str:
    r, g, b = c.rgb8
    return f"\x1b[{'1;' if bold else ''}38;2;{r};{g};{b}m{text}{RESET}"


def _swatch(c: Color, cells: int = 8) -> str:
    r, g, b = c.rgb8
    return f"\x1b[48;2;{r};{g};{b}m{' ' * cells}{RESET}"


class LiveView(ClosesOnExit):
    """The ``--ui`` sink: keeps a :class:`ViewState` and redraws the terminal.

    Args:
        stream: a terminal (default stdout).
        sink_stats: called at each redraw for the outputs' counters (e.g. ``Sinks.stats``).
        trail: how many recent points the trail shows.
        max_fps: redraws per second at most (a file streamed at full speed makes hundreds
            of windows a second); the last state is always drawn on close.
        color: ANSI colours (default: on unless ``NO_COLOR`` is set).
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        sink_stats: Callable[[], list[SinkStats]] | None = None,
        trail: int = 24,
        max_fps: float = 20.0,
        color: bool | None = None,
    ) -> None:
        self.stream = stream or sys.stdout
        self.sink_stats = sink_stats
        self.state = ViewState(history=deque(maxlen=trail))
        self.min_interval = 1.0 / max_fps
        self.color = "NO_COLOR" not in os.environ if color is None else color
        self._last_draw = float("-inf")
        self._open = False

    def open(self) -> None:
        """Switch to the terminal's alternate screen and draw the empty view."""
        self.stream.write("\x1b[?1049h\x1b[?25l")  # alternate screen, hide the cursor
        self._open = True
        self.draw()

    def emit(self, prediction: Prediction) -> None:
        self.state.add(prediction)
        now = time.monotonic()
        if now - self._last_draw >= self.min_interval:
            self._last_draw = now
            self.draw()

    def frame(self) -> str:
        if self.sink_stats is not None:
            self.state.sinks = self.sink_stats()
        return render(self.state, color=self.color)

    def draw(self) -> None:
        lines = self.frame().split("\n")
        self.stream.write("\x1b[H" + "".join(line + "\x1b[K\n" for line in lines) + "\x1b[J")
        self.stream.flush()

    def close(self) -> None:
        """Leave the alternate screen and print the final frame where it stays visible."""
        if not self._open:
            return
        self._open = False
        self.stream.write("\x1b[?25h\x1b[?1049l" + self.frame() + "\n")
        self.stream.flush()

    def __enter__(self) -> LiveView:
        self.open()
        return self
