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
below are the public API::

    from sentio.runtime import Engine, Listener
"""

from sentio.runtime.audio import load_audio
from sentio.runtime.capture import Microphone, input_devices
from sentio.runtime.changes import ChangeSettings
from sentio.runtime.color import Color, emotion_color
from sentio.runtime.emotion import QUADRANTS, Prediction, Smoother, quadrant
from sentio.runtime.engine import Engine, EngineStats, offline_predictions
from sentio.runtime.errors import (
    AudioDeviceError,
    AudioError,
    BackendMissingError,
    BundleError,
    ConfigError,
    DatasetError,
    DeviceLostError,
    DeviceUnavailableError,
    FeatureSpecError,
    LabelScaleError,
    MissingExtraError,
    OutputError,
    PortAudioMissingError,
    SentioError,
)
from sentio.runtime.features import FeatureSpec, FeatureStats, FrameSpec, extract_features
from sentio.runtime.listener import AudioSource, Listener, ListenerStats
from sentio.runtime.manifest import DEFAULT_HOP_S, Manifest, ModelEntry
from sentio.runtime.manifest import load as load_manifest
from sentio.runtime.mixed_features import MixedFeatureSpec
from sentio.runtime.model import BundleModel, default_bundle
from sentio.runtime.replay import FileSource
from sentio.runtime.sinks import JsonLinesSink, Sink, Sinks, TextSink

__all__ = [
    "DEFAULT_HOP_S",
    "QUADRANTS",
    "AudioDeviceError",
    "AudioError",
    "AudioSource",
    "BackendMissingError",
    "BundleError",
    "BundleModel",
    "ChangeSettings",
    "Color",
    "ConfigError",
    "DatasetError",
    "DeviceLostError",
    "DeviceUnavailableError",
    "Engine",
    "EngineStats",
    "FeatureSpec",
    "FeatureSpecError",
    "FeatureStats",
    "FileSource",
    "FrameSpec",
    "JsonLinesSink",
    "LabelScaleError",
    "Listener",
    "ListenerStats",
    "Manifest",
    "Microphone",
    "MissingExtraError",
    "MixedFeatureSpec",
    "ModelEntry",
    "OutputError",
    "PortAudioMissingError",
    "Prediction",
    "SentioError",
    "Sink",
    "Sinks",
    "Smoother",
    "TextSink",
    "default_bundle",
    "emotion_color",
    "extract_features",
    "input_devices",
    "load_audio",
    "load_manifest",
    "offline_predictions",
    "quadrant",
]
