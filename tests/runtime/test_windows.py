"""Fixed-length windows of feature frames."""

import numpy as np
from sentio.runtime.windows import sliding_windows, window_starts


def test_sliding_windows_are_the_frames_they_claim():
    frames = np.arange(50 * 4, dtype=np.float32).reshape(50, 4)
    windows = sliding_windows(frames, 20, 7)
    starts = window_starts(50, 20, 7)
    assert starts.tolist() == [0, 7, 14, 21, 28]
    assert windows.shape == (5, 20, 4)
    for w, s in zip(windows, starts, strict=True):
        np.testing.assert_array_equal(w, frames[s : s + 20])
    assert sliding_windows(frames[:10], 20, 7).shape == (0, 20, 4)
