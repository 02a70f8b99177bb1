"""Valence/arousal -> a colour for lights, the same for every output.

The point's angle on the circumplex picks the hue, its distance from the centre the
saturation, and arousal the brightness:

- hue: the four quadrant centres (45°, 135°, 225°, 315°, counter-clockwise from +valence)
  are anchored to the colours most often associated with their moods, and the hue runs
  linearly (through the shorter way round) between neighbouring anchors:
  happy/excited yellow (60°), tense/angry red (0°), sad/depressed blue (240°),
  calm/content green (120°). The hue is continuous all the way round.
- saturation: distance from the centre, ``min(1, hypot(valence, arousal))``: a neutral point
  is white, a clear emotion a pure colour.
- value (brightness): ``MIN_BRIGHTNESS + (1 - MIN_BRIGHTNESS) * (arousal + 1) / 2``: calm
  music dims the light without switching it off.
"""

from __future__ import annotations

import colorsys
import itertools
import math
from dataclasses import dataclass

MIN_BRIGHTNESS = 0.25
# (circumplex angle, hue) in degrees; the hue is unwrapped so it falls monotonically.
HUE_ANCHORS = ((45.0, 60.0), (135.0, 0.0), (225.0, -120.0), (315.0, -240.0), (405.0, -300.0))


@dataclass(frozen=True)
class Color:
    """A colour as HSV and RGB.

    Attributes:
        hue: degrees in [0, 360).
        saturation, value: in [0, 1].
        rgb: red, green, blue floats in [0, 1].
    """

    hue: float
    saturation: float
    value: float
    rgb: tuple[float, float, float]

    @property
    def rgb8(self) -> tuple[int, int, int]:
        """Red, green, blue as integers in 0..255 (what LED strips and WLED take)."""
        r, g, b = (round(255 * c) for c in self.rgb)
        return r, g, b

    @property
    def hex(self) -> str:
        """``#rrggbb``."""
        return "#{:02x}{:02x}{:02x}".format(*self.rgb8)

    def to_dict(self) -> dict:
        """``{"hex", "rgb" (0..255), "hsv" (hue in degrees, s, v in 0..1)}`` for JSON outputs."""
        return {
            "hex": self.hex,
            "rgb": list(self.rgb8),
            "hsv": [round(self.hue, 2), round(self.saturation, 4), round(self.value, 4)],
        }


def emotion_color(valence: float, arousal: float) -> Color:
    """The colour of a (valence, arousal) point in [-1, 1]² (values outside are clipped)."""
    valence, arousal = _clip(valence), _clip(arousal)
    hue = _hue_of_angle(math.degrees(math.atan2(arousal, valence)))
    saturation = min(1.0, math.hypot(valence, arousal))
    value = MIN_BRIGHTNESS + (1.0 - MIN_BRIGHTNESS) * (arousal + 1.0) / 2.0
    rgb = colorsys.hsv_to_rgb(hue / 360.0, saturation, value)
    return Color(hue, saturation, value, (rgb[0], rgb[1], rgb[2]))


def _hue_of_angle(angle: float) -> float:
    angle = (angle - HUE_ANCHORS[0][0]) % 360.0 + HUE_ANCHORS[0][0]  # into [45, 405)
    for (a0, h0), (a1, h1) in itertools.pairwise(HUE_ANCHORS):
        if angle <= a1:
            return (h0 + (h1 - h0) * (angle - a0) / (a1 - a0)) % 360.0
    raise AssertionError("unreachable: the anchors cover a full turn")


def _clip(x: float) -> float:
    return max(-1.0, min(1.0, float(x))) if math.isfinite(x) else 0.0
