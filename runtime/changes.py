"""Where the music changes: the points at which a live estimate starts again.

A window of 12 s needs 12 s of the new song before it describes only the new song; a lamp
that waits that long shows the old song's colour through the first verse of the next. Two
signs of a change are watched, both measured on concatenated test songs
(``experiments/responsive_output.md``, ``python -m benchmarks.song_changes``):

- **novelty**: every ``check_s`` the mean and spread of the last ``recent_s`` of feature
  frames (normalized, as the model sees them) are compared with the ``past_s`` before them
  (at least ``min_past_s``, all within the current segment). The distance is the root mean
  square over features of the standardized difference of means (a two-sample effect size:
  level-free, and the same for every feature kind). Above ``threshold`` the music has
  changed, and the new segment starts where the recent span starts.
- **silence**: a run of ``silence_s`` of silent frames (see :data:`audio.SILENCE_PEAK`) ended
  by sound starts a new segment at the first sounding frame.

Both are causal and defined frame by frame: :class:`ChangeDetector` fed frames in any pieces
finds the changes :func:`find_changes` finds in the whole array (tested), so the streaming
estimate equals the offline one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sentio.runtime.errors import ConfigError


@dataclass(frozen=True)
class ChangeSettings:
    """How changes of music are found (``enabled=False``: never; one segment per stream).

    Attributes:
        novelty: also watch the features for a change (default off: measured on test songs
            it did not shorten the response to a cut and found 53 false changes an hour,
            experiments/responsive_output.md; silence and back is always watched).
        recent_s: span compared against what came before it.
        past_s: longest span before it that is compared.
        min_past_s: shortest such span (so a new segment needs ``min_past_s + recent_s``
            before the next change can be found).
        check_s: how often the comparison is made.
        threshold: distance above which the music has changed (chosen on validation songs).
        silence_s: silent frames in a row that, once sound returns, start a new segment.
        min_jump: a novelty is a change only if the model's estimate of the recent span and
            of the span before it differ by more than this (valence or arousal; 0: any
            novelty is a change). Sections of one song differ in sound more often than in
            mood; this keeps them from restarting the estimate.
        persist: checks in a row the novelty must stay above ``threshold`` (a new song stays
            new; a fill or a break within a song passes).
    """

    enabled: bool = True
    novelty: bool = False
    recent_s: float = 3.0
    past_s: float = 9.0
    min_past_s: float = 2.0
    check_s: float = 0.5
    threshold: float = 1.0
    silence_s: float = 0.5
    min_jump: float = 0.0
    persist: int = 3

    def __post_init__(self) -> None:
        for name in ("recent_s", "past_s", "min_past_s", "check_s", "threshold", "silence_s"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ConfigError(
                    f"change detection: {name} must be a positive number, got {value!r}",
                    hint=f"pass {name} > 0, or turn change detection off",
                )
        if not (math.isfinite(self.min_jump) and self.min_jump >= 0):
            raise ConfigError(
                f"change detection: min_jump must be >= 0, got {self.min_jump!r}",
                hint="pass min_jump >= 0 (0: every novelty is a change)",
            )
        if not (isinstance(self.persist, int) and self.persist >= 1):
            raise ConfigError(
                f"change detection: persist must be a whole number >= 1, got {self.persist!r}",
                hint="pass persist >= 1",
            )
        if self.min_past_s > self.past_s:
            raise ConfigError(
                f"change detection: min_past_s {self.min_past_s} is longer than past_s "
                f"{self.past_s}",
                hint="pass min_past_s <= past_s",
            )

    def frames(self, frames_per_second: float) -> tuple[int, int, int, int, int]:
        """(recent, past, min past, check, silence) in whole frames, each at least 1."""
        return tuple(  # type: ignore[return-value]
            max(1, round(s * frames_per_second))
            for s in (self.recent_s, self.past_s, self.min_past_s, self.check_s, self.silence_s)
        )


#: No change detection: one segment from the start of the stream.
OFF = ChangeSettings(enabled=False)


def novelty(recent: np.ndarray, past: np.ndarray) -> float:
    """RMS over features of (mean difference / pooled standard deviation) of two spans of
    frames, shape (n, features) each."""
    difference = recent.mean(axis=0) - past.mean(axis=0)
    pooled = 0.5 * (recent.var(axis=0) + past.var(axis=0)) + 1e-3
    return float(np.sqrt(np.mean(difference * difference / pooled)))


class ChangeDetector:
    """The change points of a stream of frames, found as frames arrive.

    ``estimate`` (normalized frames, any number -> (2,) valence, arousal) confirms a novelty
    when ``settings.min_jump`` asks for it. ``push(frames, silent)`` takes the next frames
    (normalized) and one silence flag per frame and returns ``(found_at, starts_at)`` for
    each change the new frames reveal:
    ``found_at`` is the frame count at which it became known (the caller's estimate so far
    covers frames before it), ``starts_at`` the first frame of the new segment.
    """

    def __init__(
        self,
        settings: ChangeSettings,
        frames_per_second: float,
        estimate: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        self.settings = settings
        self.estimate = estimate
        (self.recent, self.past, self.min_past, self.check, self.silence) = settings.frames(
            frames_per_second
        )
        self._history = np.zeros((0, 0), np.float32)  # the last recent + past frames
        self._seen = 0  # frames pushed
        self._segment = 0  # first frame of the current segment
        self._silent_run = 0
        self._run: list[int] = []  # where each novel check of the current run splits

    @property
    def needs_frames(self) -> bool:
        """Whether :meth:`push` reads the frames' values (novelty on), or only their count and
        silence flags: callers may skip normalizing them."""
        return self.settings.enabled and self.settings.novelty

    def push(self, frames: np.ndarray, silent: np.ndarray) -> list[tuple[int, int]]:
        n = frames.shape[0]
        quiet_path = not self.needs_frames and self._silent_run == 0 and not silent.any()
        if not self.settings.enabled or n == 0 or quiet_path:  # nothing to find: count them
            self._seen += n
            return []
        first = self._seen
        history = frames
        if self.needs_frames and self._history.size:
            history = np.concatenate([self._history, frames])
        offset = first - (history.shape[0] - n)  # global index of history[0]
        out = []
        for i in range(n):
            change = self._step(first + i, bool(silent[i]), history, offset)
            if change is not None:
                out.append(change)
        self._seen += n
        if self.needs_frames:
            self._history = history[-(self.recent + self.past) :].copy()
        return out

    def _step(
        self, index: int, silent: bool, history: np.ndarray, offset: int
    ) -> tuple[int, int] | None:
        if silent:
            self._silent_run += 1
            return None
        if self._silent_run >= self.silence:
            self._silent_run = 0
            return self._start(index + 1, index)
        self._silent_run = 0
        end = index + 1  # frames [.., end) are known
        if not self.settings.novelty or end % self.check:
            return None
        split = end - self.recent
        begin = max(self._segment, split - self.past)
        if split - begin < self.min_past:
            return None
        recent = history[split - offset : end - offset]
        past = history[begin - offset : split - offset]
        if novelty(recent, past) <= self.settings.threshold:
            self._run = []
            return None
        self._run.append(split)
        if len(self._run) >= self.settings.persist and self._mood_moved(recent, past):
            return self._start(end, self._run[0])
        return None

    def _mood_moved(self, recent: np.ndarray, past: np.ndarray) -> bool:
        if self.settings.min_jump <= 0 or self.estimate is None:
            return True
        jump = np.abs(self.estimate(recent) - self.estimate(past))
        return bool(np.max(jump) > self.settings.min_jump)

    def _start(self, found_at: int, starts_at: int) -> tuple[int, int]:
        self._segment = starts_at
        self._run = []
        return found_at, starts_at


def find_changes(
    frames: np.ndarray,
    silent: np.ndarray,
    settings: ChangeSettings,
    frames_per_second: float,
    estimate: Callable[[np.ndarray], np.ndarray] | None = None,
) -> list[tuple[int, int]]:
    """The changes :class:`ChangeDetector` finds in a whole array of frames:
    ``[(found_at, starts_at), ...]``."""
    return ChangeDetector(settings, frames_per_second, estimate).push(frames, silent)
