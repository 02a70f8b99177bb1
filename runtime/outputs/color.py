"""The colour of a prediction, where the outputs used to import it: it lives in
:mod:`sentio.runtime.color` (the emotion model's ``Prediction.color``); kept importable here."""

from sentio.runtime.color import HUE_ANCHORS, MIN_BRIGHTNESS, Color, emotion_color

__all__ = ["HUE_ANCHORS", "MIN_BRIGHTNESS", "Color", "emotion_color"]
