"""Streaming: resampling, feature frames and windows computed incrementally as audio arrives.

Each stage produces exactly what the offline pipeline produces for the same samples
(``audio.load_audio`` -> ``features.extract_features`` -> ``windows.window_starts``):

- :class:`StreamResampler` is soxr's streaming resampler at the same quality as the offline
  one-shot call (the two give identical samples, tested).
- :class:`StreamingFeatures` carries each feature kind's state (the unfinished frame, pre-emphasis,
  running references); only new complete frames are computed, each as offline computes it.
- :class:`WindowSlicer` keeps the last ``window`` frames and emits a window every ``hop`` frames
  (partial ones, repeated to the window's length, from ``first`` frames into a segment; a
  segment starts again at a change of music): the windows ``windows.window_ends`` names
  offline.
"""

from __future__ import annotations

import numpy as np
import soxr
from sentio.runtime.features import FrameSpec
from sentio.runtime.windows import fill_window, first_end, next_end


class StreamResampler:
    """Mono float32 from ``rate_in`` to ``rate_out``, chunk by chunk (soxr 'HQ')."""

    def __init__(self, rate_in: int, rate_out: int) -> None:
        self.rate_in, self.rate_out = int(rate_in), int(rate_out)
        self._stream = (
            None
            if self.rate_in == self.rate_out
            else soxr.ResampleStream(self.rate_in, self.rate_out, 1, dtype="float32", quality="HQ")
        )

    def push(self, samples: np.ndarray, last: bool = False) -> np.ndarray:
        """Resampled output for ``samples``; ``last`` flushes the filter's tail."""
        samples = np.ascontiguousarray(samples, dtype=np.float32)
        if self._stream is None:
            return samples
        return self._stream.resample_chunk(samples, last=last)


class StreamingFeatures:
    """Frames of a signal that arrives in pieces of any size, for any feature-spec kind.

    ``push`` returns the frames completed by the new samples, shape (k, n_features); the
    concatenation of all returned frames equals ``extract_features`` of the concatenated
    samples. The state each kind carries lives with the kind (``features.MfccExtractor``,
    ``mixed_features.MixedExtractor``).
    """

    def __init__(self, spec: FrameSpec) -> None:
        self.spec = spec
        self._extractor = spec.extractor()

    def push(self, samples: np.ndarray) -> np.ndarray:
        return self._extractor.push(samples)


class WindowSlicer:
    """Windows of the current segment of frames, handed out every ``hop`` frames.

    A segment starts at frame 0 and again at each :meth:`restart` (a change of music). Within
    a segment, once ``first`` frames are in (default: a whole window) a window is made every
    ``hop`` frames: from the segment's frames so far, repeated to the window's length
    (:func:`~sentio.runtime.windows.fill_window`) until ``window`` frames are in, then the
    last ``window`` frames. ``push`` returns ``(end, length, window array)`` for every window
    the new frames complete: the window ends before frame ``end`` and holds ``length`` real
    frames; arrays are copies the caller may keep. :func:`~sentio.runtime.windows.window_ends`
    names the same windows offline.
    """

    def __init__(self, window: int, hop: int, n_features: int, first: int | None = None) -> None:
        if window < 1 or hop < 1:
            raise ValueError("window and hop must be at least 1 frame")
        self.window, self.hop = window, hop
        self.first = window if first is None else min(max(1, int(first)), window)
        # Twice the window: appends are plain copies; compaction moves one window, rarely.
        self._buffer = np.zeros((2 * window, n_features), dtype=np.float32)
        self._filled = 0  # valid rows in _buffer
        self._seen = 0  # frames pushed so far
        self._segment = 0  # first frame of the current segment
        self._next_end = first_end(self.first, window, hop)
        self._made = False  # a window of the current segment was made

    @property
    def segment_start(self) -> int:
        return self._segment

    def push(self, frames: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
        out = []
        for row in range(0, frames.shape[0], self.window):
            out += self._push_block(frames[row : row + self.window])
        return out

    def restart(self, start: int) -> None:
        """Begin a new segment at frame ``start`` (at most ``window - 1`` frames back). Its
        windows that would end at or before the frames already in are not made: predictions
        stay in time order."""
        oldest = self._seen - self._filled
        self._segment = min(max(start, oldest), self._seen)
        end = first_end(self.first, self.window, self.hop)
        while self._segment + end <= self._seen:  # windows never go back in time
            end = next_end(end, self.window, self.hop)
        self._next_end = self._segment + end
        self._made = False

    def _push_block(self, frames: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
        n = frames.shape[0]
        if self._filled + n > self._buffer.shape[0]:
            keep = min(self._filled, self.window - 1)
            self._buffer[:keep] = self._buffer[self._filled - keep : self._filled]
            self._filled = keep
        self._buffer[self._filled : self._filled + n] = frames
        self._filled += n
        self._seen += n
        return self._emit()

    def _emit(self) -> list[tuple[int, int, np.ndarray]]:
        out = []
        first_in_buffer = self._seen - self._filled
        while self._next_end <= self._seen:
            end = self._next_end
            length = min(end - self._segment, self.window)
            rows = self._buffer[end - length - first_in_buffer : end - first_in_buffer]
            out.append((end, length, fill_window(rows, self.window).copy()))
            self._next_end = next_end(end - self._segment, self.window, self.hop) + self._segment
            self._made = True
        return out

    def finish(self, shortest: int) -> list[tuple[int, int, np.ndarray]]:
        """At the end of the stream: the one window of a segment that has none yet (a clip
        shorter than ``first``), made of all its frames if there are ``shortest`` or more."""
        length = self._seen - self._segment
        if self._made or length < max(1, shortest):
            return []
        self._made = True
        rows = self._buffer[self._filled - length : self._filled]
        return [(self._seen, length, fill_window(rows, self.window).copy())]


class FramePeaks:
    """The peak magnitude of each frame step (``step`` samples), as samples arrive: the level
    by which a frame counts as silent. Frame ``i``'s step is samples ``[i * step, (i + 1) *
    step)``, the start of its own samples; a step is complete before its frame is, so the peak
    of each new frame is always known."""

    def __init__(self, step: int) -> None:
        self.step = int(step)
        self._tail = np.zeros(0, np.float32)

    def push(self, samples: np.ndarray) -> np.ndarray:
        x = np.concatenate([self._tail, np.abs(np.asarray(samples, np.float32))])
        n = x.shape[0] // self.step
        self._tail = x[n * self.step :]
        return x[: n * self.step].reshape(n, self.step).max(axis=1, initial=0.0)
