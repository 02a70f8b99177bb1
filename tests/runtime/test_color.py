"""The valence/arousal -> colour mapping: the quadrants' hues, bounds and continuity."""

import math

import numpy as np
import pytest
from sentio.runtime.color import MIN_BRIGHTNESS, emotion_color

# the README's table: quadrant centre -> hue, and the colour at (±0.7, ±0.7)
QUADRANT_COLOURS = [
    (0.7, 0.7, 60.0, "#e2e202"),  # happy/excited: yellow
    (-0.7, 0.7, 0.0, "#e20202"),  # tense/angry: red
    (-0.7, -0.7, 240.0, "#01015c"),  # sad/depressed: blue
    (0.7, -0.7, 120.0, "#015c01"),  # calm/content: green
]


@pytest.mark.parametrize(("valence", "arousal", "hue", "hex_"), QUADRANT_COLOURS)
def test_quadrant_centres_have_their_anchor_hue(valence, arousal, hue, hex_):
    color = emotion_color(valence, arousal)
    assert color.hue == pytest.approx(hue, abs=1e-9)
    assert color.hex == hex_


def test_saturation_is_distance_and_brightness_follows_arousal():
    assert emotion_color(0.0, 0.0).saturation == 0.0  # neutral: grey/white
    assert emotion_color(0.3, 0.4).saturation == pytest.approx(0.5)
    assert emotion_color(1.0, 1.0).saturation == 1.0  # capped at 1
    values = [emotion_color(0.2, a).value for a in np.linspace(-1, 1, 21)]
    assert values[0] == pytest.approx(MIN_BRIGHTNESS) and values[-1] == 1.0
    assert np.all(np.diff(values) > 0)


def test_everything_stays_in_range_even_for_bad_input():
    grid = np.linspace(-1.5, 1.5, 31)
    for v in [*grid, math.nan, math.inf]:
        for a in [*grid, -math.inf]:
            c = emotion_color(v, a)
            assert 0 <= c.hue < 360 and 0 <= c.saturation <= 1
            assert MIN_BRIGHTNESS <= c.value <= 1
            assert all(0 <= x <= 1 for x in c.rgb) and all(0 <= x <= 255 for x in c.rgb8)
            assert len(c.hex) == 7


def test_hue_and_rgb_are_continuous_around_the_circle():
    angles = np.linspace(0, 2 * np.pi, 3601)
    colors = [emotion_color(0.8 * np.cos(t), 0.8 * np.sin(t)) for t in angles]
    hues = np.array([c.hue for c in colors])
    steps = np.abs((np.diff(hues) + 180) % 360 - 180)  # circular difference
    assert steps.max() < 0.5  # 0.1° of angle never moves the hue more than 0.5°
    rgb = np.array([c.rgb for c in colors])
    assert np.abs(np.diff(rgb, axis=0)).max() < 0.02
    assert colors[0].hex == colors[-1].hex  # a full turn comes back
