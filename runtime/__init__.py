"""Sentio runtime: the light half that runs on the device.

Pipeline stages, one module each:
``audio`` (decode + resample) -> ``features`` (MFCC frames, normalization) ->
``windows`` (600-frame windows) -> model (later) -> sinks (later).
``bundle`` reads and writes the artifact bundle that connects the export half to this one.

Nothing here imports TensorFlow: the base install is what a Raspberry Pi needs.
"""

from sentio.runtime.errors import SentioError
from sentio.runtime.features import FeatureSpec, FeatureStats, extract_features

__all__ = ["FeatureSpec", "FeatureStats", "SentioError", "extract_features"]
