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
