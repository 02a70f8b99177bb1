"""Typed errors. Each carries a hint that tells the user what to do about it."""

from __future__ import annotations


class SentioError(Exception):
    """Base class of every error Sentio raises on purpose.

    Args:
        message: what went wrong.
        hint: what the user can do about it.
    """

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class AudioError(SentioError):
    """An audio file is missing, cannot be decoded, or holds unusable audio."""


class FeatureSpecError(SentioError):
    """A feature spec is invalid, or two specs that must agree do not."""


class DatasetError(SentioError):
    """A dataset folder, annotation file or manifest cannot be used."""


class LabelScaleError(DatasetError):
    """A label lies outside the scale it was declared on."""


class BundleError(SentioError):
    """An artifact bundle is missing, incomplete, or fails verification."""


class ConfigError(SentioError):
    """Command-line or configuration values that cannot work together."""


class OutputPathError(ConfigError):
    """An output path (a bundle's or a run's ``--out``, ``--record``) that would replace what
    the user did not ask to replace (a file, a folder that is not Sentio's, the input itself,
    a bundle without ``--force``), or that cannot be written."""


class MissingExtraError(SentioError):
    """An optional dependency (a pip extra such as ``.[osc]``) is not installed."""


class OutputError(SentioError):
    """An output (OSC, MQTT) is configured in a way that cannot work."""


class ConversionError(SentioError):
    """A model could not be converted, or converted to something the runtimes cannot run."""


class CalibrationError(SentioError):
    """A calibration set is empty, unreadable, or belongs to a different feature spec."""


class AudioDeviceError(SentioError):
    """No such input device, several match, or the device failed / disappeared."""


class DeviceUnavailableError(AudioDeviceError):
    """No input device (or none that matches) is there now, or it cannot be opened: a state
    that may pass (a USB microphone enumerated late at boot, another program holding it), so
    the CLI exits with the code a service manager restarts on."""


class DeviceLostError(DeviceUnavailableError):
    """The device stopped delivering audio and could not be reopened."""


class PortAudioMissingError(AudioDeviceError):
    """The PortAudio system library is not installed."""


class BackendMissingError(SentioError):
    """The package that runs this kind of model file is not installed."""


class ClusterError(SentioError):
    """A Ray cluster cannot be reached, or a distributed run failed in a way retries could
    not mend."""


class ClusterUnavailableError(ClusterError):
    """Nothing answers at the Ray address given (the cluster is down, the address or port is
    wrong, a firewall is in between): a state that may pass, worth retrying."""


class OutputBusyError(ConfigError):
    """An output folder another run is writing in now (``sentio-analyze --out``): the message
    names that run (pid, start time, command)."""
