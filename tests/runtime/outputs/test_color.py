"""``sentio.runtime.outputs.color``: the colour's old home still imports it."""

from sentio.runtime import color
from sentio.runtime.outputs import color as old


def test_the_old_module_gives_the_core_colour():
    assert old.emotion_color is color.emotion_color and old.Color is color.Color
    assert old.emotion_color(0.7, 0.7).hex == "#e2e202"  # README's happy row
