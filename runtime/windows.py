"""Fixed-length windows of feature frames (600 frames = 12 s with the default spec)."""

from __future__ import annotations

import numpy as np


def window_starts(n_frames: int, length: int, stride: int) -> np.ndarray:
    """First frame of each complete window of ``length`` frames taken every ``stride`` frames."""
    if length <= 0 or stride <= 0:
        raise ValueError("window length and stride must be positive")
    if n_frames < length:
        return np.zeros(0, dtype=np.int64)
    return np.arange(0, n_frames - length + 1, stride, dtype=np.int64)


def sliding_windows(features: np.ndarray, length: int, stride: int) -> np.ndarray:
    """All complete windows of a (n_frames, n_features) array, as a read-only view.

    Returns:
        Array of shape (n_windows, length, n_features); no frames are copied.
    """
    starts = window_starts(features.shape[0], length, stride)
    if starts.size == 0:
        return np.zeros((0, length, features.shape[1]), dtype=features.dtype)
    view = np.lib.stride_tricks.sliding_window_view(features, length, axis=0)
    # sliding_window_view puts the window axis last: (n, features, length) -> (n, length, features)
    return view[::stride][: starts.size].transpose(0, 2, 1)


def fill_window(frames: np.ndarray, length: int) -> np.ndarray:
    """A model window of ``length`` frames made from ``n`` of them: the first ``length`` when
    there are enough, else the ``n`` frames repeated from their start (the window of a short
    clip, or of the first seconds after a stream starts or the music changes).

    Why repeat rather than pad with zeros or run the model on ``n`` frames: the exported
    models have a fixed 600-frame input (int8 calibration and LiteRT's LSTM need it), and on
    validation songs repeating, zero-padding and a variable-length model scored within noise
    of each other at 3-9 s (experiments/partial_windows.md); repeating also keeps the window's
    statistics those of the music, and it is what training's short crops and ``--short pad``
    do, so the model sees at run time what it was taught.
    """
    n = frames.shape[0]
    if n <= 0:
        raise ValueError("a window needs at least one frame")
    if n >= length:
        return frames[:length]
    return np.resize(frames, (length, frames.shape[1]))


def first_end(first: int, window: int, hop: int) -> int:
    """Frames into a segment at which its first window ends: the first multiple of ``hop``
    at or past ``first``, or the whole window if that comes sooner."""
    return min(-(-first // hop) * hop, window)


def next_end(end: int, window: int, hop: int) -> int:
    """The end (frames into a segment) of the window after the one ending at ``end``: every
    ``hop`` frames, with one at exactly ``window`` (the first full window)."""
    return min(end + hop, window) if end < window else end + hop


def window_ends(
    n_frames: int,
    window: int,
    hop: int,
    first: int | None = None,
    changes: list[tuple[int, int]] | tuple = (),
    shortest: int | None = None,
) -> list[tuple[int, int]]:
    """``(end, length)`` of each window the streaming engine makes from ``n_frames`` frames:
    windows of each segment every ``hop`` frames from ``first`` frames into it (default: a
    whole window), ``length`` real frames each (``fill_window`` repeats them to ``window``).
    ``changes`` are ``(found_at, starts_at)`` pairs (``changes.find_changes``): a segment
    starts at ``starts_at``; its windows end after ``found_at`` (when it became known) and the
    old segment's at or before it. ``shortest``: the last segment, if it has no window,
    gets one of all its frames when it has that many (the end of a short clip)."""
    first = window if first is None else min(max(1, int(first)), window)
    bounds = [(0, 0), *changes]
    out = []
    for k, (known, start) in enumerate(bounds):
        until = bounds[k + 1][0] if k + 1 < len(bounds) else n_frames
        end = first_end(first, window, hop)
        made = False
        while start + end <= until:
            if start + end > known:
                out.append((start + end, min(end, window)))
                made = True
            end = next_end(end, window, hop)
        last = k + 1 == len(bounds)
        if last and shortest is not None and not made and until - start >= max(1, shortest):
            out.append((until, until - start))
    return out
