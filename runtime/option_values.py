"""Option values, parsed and range-checked: argparse ``type=`` functions that raise
``ArgumentTypeError`` (argparse exits 2 naming the option). ``sentio-listen`` and
``sentio-analyze`` share them, so a hop or a smoothing time means the same in both."""

from __future__ import annotations

import argparse
import math

from sentio.runtime.engine import SHORTEST_S

#: The ranges the numeric options accept (argparse rejects anything else with exit 2).
HOP_RANGE_S = (0.0, 3600.0)  # exclusive of 0
SMOOTH_RANGE_S = (0.0, 3600.0)
RATE_RANGE_HZ = (8000, 384000)
THREADS_RANGE = (1, 256)


def _number(text: str, kind: type) -> float | int:
    try:
        value = kind(text)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _seconds(low: float, high: float, zero_ok: bool, what: str):
    def parse(text: str) -> float:
        value = _number(text, float)
        if not (low <= value if zero_ok else low < value) or value > high:
            bound = f"{low:g} to" if zero_ok else f"more than {low:g} and at most"
            raise argparse.ArgumentTypeError(
                f"{what} must be {bound} {high:g} seconds, got {text!r}"
            )
        return value

    parse.__name__ = "seconds"  # argparse names the type in some messages
    return parse


def _whole(low: int, high: int, what: str):
    def parse(text: str) -> int:
        value = _number(text, int)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{what} must be from {low} to {high}, got {text!r}")
        return value

    parse.__name__ = "whole number"
    return parse


hop_seconds = _seconds(*HOP_RANGE_S, zero_ok=False, what="the hop")
smooth_seconds = _seconds(*SMOOTH_RANGE_S, zero_ok=True, what="the smoothing time constant")
_first = _seconds(SHORTEST_S, 3600.0, zero_ok=True, what="the first estimate")


def first_seconds(text: str) -> float | None:
    """``--first``: seconds, at least :data:`~sentio.runtime.engine.SHORTEST_S` (1 s: the
    shortest clip that gets an estimate), or ``full`` (None: whole windows only)."""
    return None if text.strip().lower() == "full" else _first(text)


first_seconds.__name__ = "seconds"


def silence_level(text: str) -> float:
    """``--silence-below``: dBFS from -140 to 0."""
    value = _number(text, float)
    if not -140.0 <= value <= 0.0:
        raise argparse.ArgumentTypeError(f"the silence level must be -140 to 0 dBFS, got {text!r}")
    return value


silence_level.__name__ = "dBFS"
capture_rate = _whole(*RATE_RANGE_HZ, what="the capture rate in Hz")
thread_count = _whole(*THREADS_RANGE, what="the number of inference threads")
