"""Streaming: resampling, feature frames and windows computed incrementally as audio arrives.

Each stage produces exactly what the offline pipeline produces for the same samples
(``audio.load_audio`` -> ``features.extract_features`` -> ``windows.window_starts``):

- :class:`StreamResampler` is soxr's streaming resampler at the same quality as the offline
  one-shot call (the two give identical samples, tested).
- :class:`StreamingFeatures` carries each feature kind's state (the unfinished frame, pre-emphasis,
  running references); only new complete frames are computed, each as offline computes it.
- :class:`WindowSlicer` keeps the last ``window`` frames and emits a window every ``hop`` frames,
  starting at frame 0: the windows ``window_starts(n, window, hop)`` names offline.
"""

from __future__ import annotations

import numpy as np
import soxr
from sentio.runtime.features import FrameSpec


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
    """The last ``window`` frames, handed out every ``hop`` frames once the window is full.

    ``push`` returns a list of (first frame index, (window, n_features) array) for every window
    the new frames complete; arrays are copies the caller may keep.
    """

    def __init__(self, window: int, hop: int, n_features: int) -> None:
        if window < 1 or hop < 1:
            raise ValueError("window and hop must be at least 1 frame")
        self.window, self.hop = window, hop
        # Twice the window: appends are plain copies; compaction moves one window, rarely.
        self._buffer = np.zeros((2 * window, n_features), dtype=np.float32)
        self._filled = 0  # valid rows in _buffer
        self._seen = 0  # frames pushed so far
        self._next_start = 0  # first frame of the next window to emit

    def push(self, frames: np.ndarray) -> list[tuple[int, np.ndarray]]:
        out = []
        for row in range(0, frames.shape[0], self.window):
            out += self._push_block(frames[row : row + self.window])
        return out

    def _push_block(self, frames: np.ndarray) -> list[tuple[int, np.ndarray]]:
        n = frames.shape[0]
        if self._filled + n > self._buffer.shape[0]:
            keep = self.window - 1 if self._filled >= self.window else self._filled
            self._buffer[:keep] = self._buffer[self._filled - keep : self._filled]
            self._filled = keep
        self._buffer[self._filled : self._filled + n] = frames
        self._filled += n
        self._seen += n
        out = []
        first_in_buffer = self._seen - self._filled
        while self._next_start + self.window <= self._seen:
            offset = self._next_start - first_in_buffer
            out.append((self._next_start, self._buffer[offset : offset + self.window].copy()))
            self._next_start += self.hop
        return out
