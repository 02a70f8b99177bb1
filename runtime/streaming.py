"""Streaming: resampling, MFCC frames and windows computed incrementally as audio arrives.

Each stage produces exactly what the offline pipeline produces for the same samples
(``audio.load_audio`` -> ``features.extract_features`` -> ``windows.window_starts``):

- :class:`StreamResampler` is soxr's streaming resampler at the same quality as the offline
  one-shot call (the two give identical samples, tested).
- :class:`StreamingFeatures` carries the pre-emphasis state and the samples of the frame not yet
  complete; only new complete frames are computed, each from the same samples as offline.
- :class:`WindowSlicer` keeps the last ``window`` frames and emits a window every ``hop`` frames,
  starting at frame 0: the windows ``window_starts(n, window, hop)`` names offline.
"""

from __future__ import annotations

import numpy as np
import soxr
from sentio.runtime.features import FeatureSpec, features_from_frames, frame_signal, preemphasize


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
    """MFCC frames of a signal that arrives in pieces of any size.

    ``push`` returns the frames completed by the new samples, shape (k, n_features); the
    concatenation of all returned frames equals ``extract_features`` of the concatenated
    samples.
    """

    def __init__(self, spec: FeatureSpec) -> None:
        self.spec = spec
        self._previous = 0.0  # last raw sample: pre-emphasis needs it across chunks
        self._pending = np.zeros(0)  # pre-emphasised samples from the next frame's start on

    def push(self, samples: np.ndarray) -> np.ndarray:
        samples = np.asarray(samples, dtype=np.float32)
        if samples.size == 0:
            return np.zeros((0, self.spec.n_features), dtype=np.float32)
        emphasized = preemphasize(samples, self.spec.preemphasis, self._previous)
        self._previous = float(samples[-1])
        buffer = np.concatenate([self._pending, emphasized]) if self._pending.size else emphasized
        frames = frame_signal(buffer, self.spec)
        consumed = frames.shape[0] * self.spec.frame_step
        self._pending = buffer[consumed:].copy()
        return features_from_frames(frames, self.spec)


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
