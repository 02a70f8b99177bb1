"""The live pipeline: an audio source (a microphone, a file) feeding an
:class:`~sentio.runtime.engine.Engine` (resampling -> streaming MFCC -> windows -> model ->
smoothing -> predictions). An iterator and a callback over one object, for embedding::

    from sentio.runtime import Listener

    with Listener.from_microphone(device="hw:1") as listener:
        for p in listener:                      # blocks until each window is ready
            set_light(p.valence, p.arousal)

    Listener.from_file("song.flac").run(print)  # or a callback, until the stream ends

``stop()`` (from any thread or a signal handler) ends the iteration after the current block.
A program that already has its audio uses :class:`~sentio.runtime.engine.Engine` directly.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from sentio.runtime.capture import Microphone
from sentio.runtime.changes import ChangeSettings
from sentio.runtime.emotion import Prediction
from sentio.runtime.engine import FIRST_S, SILENCE_DBFS, Engine, EngineStats
from sentio.runtime.errors import ConfigError, OutputPathError
from sentio.runtime.model import BundleModel
from sentio.runtime.replay import FileSource

log = logging.getLogger("sentio")

#: ``record`` writes 32-bit float samples: formats that hold them.
RECORD_SUFFIXES = (".wav", ".w64", ".rf64", ".aiff", ".aif", ".caf")


def same_file(a: Path | str, b: Path | str) -> bool:
    """Whether two paths name one file: the same path once symbolic links are resolved, or the
    same device and inode (a hard link)."""
    try:
        if Path(a).resolve() == Path(b).resolve():
            return True
        return os.path.samefile(a, b)
    except OSError:  # one of them is not there (or cannot be read): not one file
        return False


def check_record_path(
    path: Path | str, input_path: Path | str | None = None, overwrite: bool = False
) -> Path:
    """``path`` as a file ``record`` can create, or a :class:`ConfigError` saying why not.

    Checked before the model loads and the microphone opens (``sentio-listen --record``,
    ``Listener(record=...)``); nothing is created. The input file (``input_path``) is never
    recorded over, by any name (a symbolic or hard link); another file that exists is
    replaced only with ``overwrite`` (``--force``): :class:`OutputPathError` otherwise.
    """
    path = Path(path)
    hint = "pass --record a new .wav file name in a folder you can write to"
    if path.is_dir():
        raise ConfigError(f"--record {path}: is a folder, not a file name", hint=hint)
    if input_path is not None and same_file(path, input_path):
        raise OutputPathError(
            f"--record {path} is the --input file {input_path}: recording would overwrite it",
            hint="pass --record a new .wav file name",
        )
    if path.suffix.lower() not in RECORD_SUFFIXES:
        raise ConfigError(
            f"--record {path}: records 32-bit float audio, which needs one of "
            f"{', '.join(RECORD_SUFFIXES)}",
            hint="e.g. --record heard.wav",
        )
    folder = path.parent
    if not folder.is_dir():
        raise ConfigError(f"--record {path}: the folder {folder} does not exist", hint=hint)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"--record {path}: the folder {folder} is not writable", hint=hint)
    if path.exists() and not os.access(path, os.W_OK):
        raise ConfigError(f"--record {path}: the file exists and is not writable", hint=hint)
    if (path.exists() or path.is_symlink()) and not overwrite:
        raise OutputPathError(
            f"--record {path}: the file exists and would be overwritten",
            hint="pass --force to overwrite it, or --record a new file name",
        )
    return path


class AudioSource(Protocol):
    """What the listener needs of an audio source (``capture.Microphone``,
    ``replay.FileSource``)."""

    @property
    def rate(self) -> int:
        """Sample rate of the blocks, Hz."""
        ...

    @property
    def overflows(self) -> int:
        """Input overflows the device reported so far."""
        ...

    @property
    def dropped(self) -> int:
        """Samples lost so far because the consumer was too slow."""
        ...

    def open(self) -> None:
        """Start delivering (open the device); called on entering ``with Listener``."""
        ...

    def close(self) -> None:
        """Stop and release the device; called on leaving ``with Listener``."""
        ...

    def chunks(self) -> Iterator[np.ndarray]:
        """Mono float32 blocks at :attr:`rate` until the source ends (a file) or forever."""
        ...


@dataclass
class ListenerStats(EngineStats):
    """The engine's counters plus the source's, for the final stats line and monitoring."""

    overflows: int = 0
    dropped: int = 0
    started: float = field(default_factory=time.monotonic)
    first_window_s: float | None = None  # process-independent: from start() to first window
    #: why ``record`` stopped early (a full disk, ...); None while it records or never did
    record_error: str | None = None
    #: seconds of audio the recording holds (when it stopped early)
    recorded_s: float = 0.0

    def line(self) -> str:
        text = (
            f"sentio: {self.windows} windows over {self.audio_s:.1f} s of audio in "
            f"{time.monotonic() - self.started:.1f} s; inference {self.compute_mean_ms:.2f} ms "
            f"mean, {self.compute_max_ms:.2f} ms max; overflows {self.overflows}, "
            f"dropped samples {self.dropped}"
        )
        if self.record_error is not None:
            text += f"; recording stopped after {self.recorded_s:.1f} s ({self.record_error})"
        return text


class Recorder:
    """``Listener(record=...)``'s file. A write that fails (a full disk, a file-size limit,
    the folder gone) stops the recording, never the listening: a lamp should not go dark
    because the recording disk filled. The file is closed with what was written (libsndfile
    writes the header's sizes on close: a valid WAV of the audio before the failure), or
    removed if even that cannot be read back; one warning is logged, and ``stats`` says so in
    the final line."""

    def __init__(self, path: Path, rate: int, stats: ListenerStats) -> None:
        import soundfile

        self.path, self.rate, self.stats = path, rate, stats
        self._file: soundfile.SoundFile | None = soundfile.SoundFile(
            str(path), "w", samplerate=rate, channels=1, subtype="FLOAT"
        )

    def write(self, chunk: np.ndarray) -> None:
        if self._file is None:
            return
        try:
            self._file.write(chunk)
        except (RuntimeError, OSError, AssertionError) as err:  # LibsndfileError; short write
            self._stop(err)

    def _stop(self, err: BaseException) -> None:
        import soundfile

        file, self._file = self._file, None
        with contextlib.suppress(RuntimeError, OSError):
            file.close()
        reason = _write_error(err, self.path)
        try:
            kept_s = soundfile.info(str(self.path)).frames / self.rate
            kept = f"the {kept_s:.1f} s written are kept in {self.path} (a valid file)"
        except (RuntimeError, OSError):
            kept_s = 0.0
            with contextlib.suppress(OSError):
                self.path.unlink()
            kept = f"{self.path} could not be closed readable and was removed"
        self.stats.record_error, self.stats.recorded_s = reason, kept_s
        log.warning(
            "--record %s: %s: recording stopped, listening goes on; %s", self.path, reason, kept
        )

    def close(self) -> None:
        if self._file is not None:
            file, self._file = self._file, None
            try:
                file.close()
            except (RuntimeError, OSError) as err:  # the header's last update failed
                self._file = file
                self._stop(err)


def _write_error(err: BaseException, path: Path) -> str:
    """Why a recording's write failed, in words: libsndfile says only "System error"."""
    import errno

    with contextlib.suppress(OSError):
        if os.statvfs(path.parent).f_bavail == 0:
            return "the disk is full"
    with contextlib.suppress(ImportError, OSError, ValueError):
        import resource

        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
        if limit != resource.RLIM_INFINITY and path.stat().st_size >= limit:
            return f"the file reached this process's file-size limit ({limit:,} bytes, ulimit -f)"
    if getattr(err, "errno", None) == errno.ENOSPC:
        return "the disk is full"
    lines = str(err).strip().splitlines()
    return f"a write failed: {lines[-1] if lines else type(err).__name__}"


class Listener:
    """Predictions from an audio source through a bundle's model.

    Args:
        model: the loaded bundle (or a bundle path, or ``None`` for the bundled model).
        source: an :class:`AudioSource` (mono float32 blocks).
        hop_s: seconds between predictions (default: the bundle's ``window.default_hop_s``).
        smooth_s: exponential smoothing time constant in seconds (0: off).
        first_s: seconds before the first (partial) estimate; ``None``: full windows only
            (see :class:`~sentio.runtime.engine.Engine`).
        changes: change-of-music detection (``ChangeSettings``, ``True`` or ``False``).
        silence_dbfs: the level below which audio is silence (the output holds).
        record: also write the audio as received (mono, the source's rate) to this WAV file:
            what the microphone really heard, for debugging placement and levels. Never the
            source's own file; an existing file only with ``overwrite_record``.
        overwrite_record: let ``record`` replace a file that exists (``--force``).
    """

    def __init__(
        self,
        model: BundleModel | Path | None,
        source: AudioSource,
        hop_s: float | None = None,
        smooth_s: float = 0.0,
        record: Path | None = None,
        first_s: float | None = FIRST_S,
        changes: ChangeSettings | bool = True,
        silence_dbfs: float = SILENCE_DBFS,
        overwrite_record: bool = False,
    ) -> None:
        if record is not None:
            record = check_record_path(record, getattr(source, "path", None), overwrite_record)
        self.engine = Engine(model, hop_s, smooth_s, first_s, changes, silence_dbfs)
        self.model, self.source = self.engine.model, source
        self.hop_frames, self.hop_s = self.engine.hop_frames, self.engine.hop_s
        self._stop = threading.Event()
        self.stats = ListenerStats()
        self.record = record

    @classmethod
    def from_microphone(
        cls,
        device: str | int | None = None,
        model: BundleModel | Path | None = None,
        rate: int | None = None,
        **kwargs,
    ) -> Listener:
        _check_options(kwargs)
        model = model if isinstance(model, BundleModel) else BundleModel(model)
        microphone = Microphone(device, rate, preferred_rate=model.spec.sample_rate)
        return cls(model, microphone, **kwargs)

    @classmethod
    def from_file(
        cls,
        path: Path | str,
        model: BundleModel | Path | None = None,
        realtime: bool = False,
        **kwargs,
    ) -> Listener:
        _check_options(kwargs, path)
        model = model if isinstance(model, BundleModel) else BundleModel(model)
        return cls(model, FileSource(Path(path), realtime), **kwargs)

    def __enter__(self) -> Listener:
        self.source.open()
        return self

    def __exit__(self, *exc) -> None:
        self.source.close()

    def stop(self) -> None:
        """End the iteration after the current block (safe from signal handlers/threads)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        """``stop()`` was called."""
        return self._stop.is_set()

    def __iter__(self) -> Iterator[Prediction]:
        engine = self.engine
        engine.reset()
        self.stats = engine.stats = ListenerStats()
        recorder = self._open_recorder(self.stats)
        try:
            for chunk in self.source.chunks():
                if recorder is not None:
                    recorder.write(chunk)
                yield from self._counted(engine.process, chunk, self.source.rate)
                if self._stop.is_set():
                    return
            yield from self._counted(engine.flush)
        finally:
            if recorder is not None:
                recorder.close()

    def _counted(self, step: Callable[..., list[Prediction]], *args) -> list[Prediction]:
        """``step``'s predictions with the source's counters (read before it) filled in."""
        stats = self.stats
        stats.overflows, stats.dropped = self.source.overflows, self.source.dropped
        predictions = step(*args)
        if predictions and stats.first_window_s is None:
            stats.first_window_s = time.monotonic() - stats.started
        for prediction in predictions:
            prediction.overflows, prediction.dropped = stats.overflows, stats.dropped
        return predictions

    def _open_recorder(self, stats: ListenerStats) -> Recorder | None:
        if self.record is None:
            return None
        import soundfile

        try:
            return Recorder(self.record, self.source.rate, stats)
        except (soundfile.LibsndfileError, OSError, TypeError, ValueError) as err:
            # checked up front; this is what changed since (the folder went away, a full disk)
            raise ConfigError(
                f"--record {self.record}: cannot write it: {err}",
                hint="pass --record a new .wav file name in a folder you can write to",
            ) from err

    def run(self, callback: Callable[[Prediction], None]) -> ListenerStats:
        """Call ``callback`` with every prediction until the source ends or ``stop()``."""
        for prediction in self:
            callback(prediction)
        return self.stats


def _check_options(options: dict, input_path: Path | str | None = None) -> None:
    """What ``Listener`` would refuse, refused before the model loads (``from_*``)."""
    if options.get("record") is not None:
        check_record_path(options["record"], input_path, options.get("overwrite_record", False))
    Engine.check_options(
        options.get("hop_s"), options.get("smooth_s", 0.0), options.get("first_s", FIRST_S)
    )
