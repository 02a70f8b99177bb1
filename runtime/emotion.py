"""What a prediction means: the valence/arousal point, its mood quadrant, and smoothing."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from sentio.runtime.color import Color, emotion_color
from sentio.runtime.errors import ConfigError

QUADRANTS = ("happy/excited", "tense/angry", "sad/depressed", "calm/content")
#: The quadrant of a prediction made on silence before any sound was heard (a stream, or a
#: file, of digital silence): no mood at all, not the quadrant of the neutral (0, 0).
SILENT = "silent"


def quadrant(valence: float, arousal: float) -> str:
    """Russell circumplex quadrant of a (valence, arousal) point."""
    return {
        (True, True): "happy/excited",
        (True, False): "calm/content",
        (False, True): "tense/angry",
        (False, False): "sad/depressed",
    }[(valence >= 0, arousal >= 0)]


@dataclass
class Prediction:
    """One window's result, as every sink receives it (the JSON-lines schema).

    Attributes:
        t: audio time of the window's end, seconds since the stream started.
        valence, arousal: in [-1, 1], smoothed when smoothing is on.
        quadrant: mood quadrant of (valence, arousal); ``"silent"`` (:data:`SILENT`) while
            nothing but silence has been heard (valence and arousal then read 0, 0).
        valence_raw, arousal_raw: the model's output for this window alone.
        compute_ms: inference time of this window.
        peak_dbfs: loudest sample since the previous prediction (dBFS).
        silent: nothing above the silence level (default -80 dBFS, ``--silence-below``) since
            the previous prediction: the output then holds its last value.
        clipped: samples at full scale since the previous prediction.
        overflows: input overflows reported by the audio device so far.
        dropped: samples the ring buffer had to drop so far (the consumer was too slow).
        window_s: seconds of audio the estimate is made on (the model's window, 12 s, once
            it is full; less for an early estimate).
        partial: the estimate is made on less than a whole window: the first seconds of a
            stream, after a change of music, or a clip shorter than a window.
        change: the first estimate after a change of music (smoothing starts again).
    """

    t: float
    valence: float
    arousal: float
    quadrant: str
    valence_raw: float
    arousal_raw: float
    compute_ms: float
    peak_dbfs: float
    silent: bool
    clipped: int
    overflows: int
    dropped: int
    window_s: float = 12.0
    partial: bool = False
    change: bool = False

    def to_dict(self) -> dict:
        return {k: (round(v, 5) if isinstance(v, float) else v) for k, v in asdict(self).items()}

    @property
    def color(self) -> Color:
        """The colour of (valence, arousal) for lights (``color.emotion_color``)."""
        return emotion_color(self.valence, self.arousal)


class Smoother:
    """Exponential smoothing with a time constant in seconds (0: off).

    With predictions every ``hop_s``, each new value weighs ``1 - exp(-hop_s / tau)``, so the
    response does not depend on the hop.
    """

    def __init__(self, tau_s: float, hop_s: float) -> None:
        if not (math.isfinite(tau_s) and math.isfinite(hop_s) and hop_s > 0):
            # an infinite constant would freeze the output, NaN would make it NaN
            raise ConfigError(
                f"smoothing needs a finite time constant and a positive finite hop, got "
                f"tau {tau_s}, hop {hop_s}",
                hint="pass smooth_s >= 0 (0: off) and hop_s > 0",
            )
        self.alpha = 1.0 if tau_s <= 0 else 1.0 - math.exp(-hop_s / tau_s)
        self._state: tuple[float, float] | None = None

    def __call__(self, valence: float, arousal: float) -> tuple[float, float]:
        if self._state is None or self.alpha >= 1.0:
            self._state = (valence, arousal)
        else:
            v, a = self._state
            self._state = (v + self.alpha * (valence - v), a + self.alpha * (arousal - a))
        return self._state
