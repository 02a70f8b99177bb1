"""Sentio runtime: the light half that runs on the device.

Pipeline stages, one module each:
``audio`` (decode + resample) -> ``features`` (MFCC frames, normalization) ->
``windows`` (600-frame windows) -> ``model`` (the bundle's TFLite/ONNX file) ->
``emotion`` (predictions, quadrants, smoothing) -> ``sinks`` (JSON lines, text, ``osc``,
``mqtt``, ``live_view``). ``streaming`` computes the same stages incrementally; ``engine``
chains them for audio pushed in blocks (:class:`Engine`), and ``listener`` feeds an engine
from a ``capture.Microphone`` or a ``replay.FileSource`` (:class:`Listener`). ``manifest`` is
the bundle contract the export half writes (``bundle.write_bundle``); ``cli`` is
``sentio-listen``.

Nothing here imports TensorFlow: the base install is what a Raspberry Pi needs. The names
in ``__all__`` are the public API; every error is a :class:`SentioError` (message + hint)::

    from sentio.runtime import Engine, Listener
"""

from sentio.runtime.audio import load_audio
from sentio.runtime.capture import Microphone, input_devices
from sentio.runtime.changes import ChangeSettings
from sentio.runtime.color import Color, emotion_color
from sentio.runtime.emotion import Prediction, quadrant
from sentio.runtime.engine import Engine, offline_predictions
from sentio.runtime.errors import SentioError
from sentio.runtime.features import FeatureSpec, extract_features
from sentio.runtime.listener import Listener
from sentio.runtime.manifest import Manifest
from sentio.runtime.manifest import load as load_manifest
from sentio.runtime.mixed_features import MixedFeatureSpec
from sentio.runtime.model import BundleModel, default_bundle
from sentio.runtime.replay import FileSource

#: What an embedder uses (20 names). Everything else is importable from its module: the
#: exceptions from ``errors``, sinks from ``sinks``, ``Smoother`` from ``emotion``, ...
__all__ = [
    "BundleModel",
    "ChangeSettings",
    "Color",
    "Engine",
    "FeatureSpec",
    "FileSource",
    "Listener",
    "Manifest",
    "Microphone",
    "MixedFeatureSpec",
    "Prediction",
    "SentioError",
    "default_bundle",
    "emotion_color",
    "extract_features",
    "input_devices",
    "load_audio",
    "load_manifest",
    "offline_predictions",
    "quadrant",
]
