"""Training-time augmentation of feature windows (numpy only, applied batch by batch).

Emotify has 224 training songs; the CRNN memorizes their 12 s windows within a few epochs
(training valence CCC 0.83 against 0.31 on validation). Each epoch therefore sees every window
slightly different:

- **jitter**: each window's start moves by up to ``jitter`` frames either way (within the
  song), so the model never sees the same 600 frames twice;
- **time masks** (SpecAugment): ``time_masks`` spans of up to ``time_mask_frames`` frames set
  to 0, the normalized mean;
- **feature masks**: ``feature_masks`` bands of up to ``feature_mask_width`` adjacent
  coefficients set to 0;
- **noise**: Gaussian noise of standard deviation ``noise`` (in normalized units);
- **short crops**: a share ``short_share`` of the windows keeps only its first ``L`` frames
  (``L`` drawn from ``short_min_frames`` up to the window) repeated to fill the window — what
  the runtime feeds the model in the first seconds of a stream, after a song change, and for
  a clip shorter than a window (``runtime.windows.fill_window``), so early estimates are
  taught, not extrapolated.

Labels are left alone: none of these changes a song's emotion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sentio.runtime.windows import fill_window


@dataclass(frozen=True)
class Augmentation:
    """What to change in each training window (all zero: nothing)."""

    jitter: int = 0
    time_masks: int = 0
    time_mask_frames: int = 50
    feature_masks: int = 0
    feature_mask_width: int = 6
    noise: float = 0.0
    short_share: float = 0.0
    short_min_frames: int = 150

    def jitter_starts(
        self, starts: np.ndarray, lengths: np.ndarray, window: int, rng: np.random.Generator
    ) -> np.ndarray:
        """Window starts moved by up to ``jitter`` frames, kept inside each song."""
        if self.jitter <= 0:
            return starts
        moved = starts + rng.integers(-self.jitter, self.jitter + 1, len(starts))
        return np.clip(moved, 0, np.maximum(lengths - window, 0))

    def apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Masks and noise on a batch ``(windows, frames, features)``, in place; returns it."""
        _, frames, features = x.shape
        if self.short_share > 0:
            self._shorten(x, rng)
        if self.time_masks or self.feature_masks:  # validation batches skip the loop
            for window in x:
                _zero_spans(window, self.time_masks, self.time_mask_frames, frames, 0, rng)
                _zero_spans(window, self.feature_masks, self.feature_mask_width, features, 1, rng)
        if self.noise > 0:
            x += rng.normal(0.0, self.noise, x.shape).astype(x.dtype)
        return x

    def _shorten(self, x: np.ndarray, rng: np.random.Generator) -> None:
        frames = x.shape[1]
        shortest = min(max(1, self.short_min_frames), frames)
        for i in np.flatnonzero(rng.random(len(x)) < self.short_share):
            kept = int(rng.integers(shortest, frames + 1))
            x[i] = fill_window(x[i, :kept].copy(), frames)


def _zero_spans(
    window: np.ndarray, count: int, longest: int, size: int, axis: int, rng: np.random.Generator
) -> None:
    for _ in range(count):
        width = int(rng.integers(0, min(longest, size) + 1))
        if width == 0:
            continue
        start = int(rng.integers(0, size - width + 1))
        if axis == 0:
            window[start : start + width] = 0.0
        else:
            window[:, start : start + width] = 0.0


#: No augmentation (the default).
NONE = Augmentation()

#: The recipe ``--augment`` turns on (chosen on validation, see runtime/MODEL_CARD.md).
RECOMMENDED = Augmentation(
    jitter=75, time_masks=2, time_mask_frames=60, feature_masks=2, feature_mask_width=6, noise=0.1
)
