"""An audio file as a stream: the same path as the microphone, for tests, offline use and
benchmarks. Blocks are decoded as they are needed, so hours of audio take little memory."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile
from sentio.runtime.audio import to_mono
from sentio.runtime.errors import AudioError

#: Blocks decoded per read of the file (10 x 0.1 s: 1 s of audio in memory at a time).
READ_BLOCKS = 10


class FileSource:
    """Mono float32 blocks of a file at its own rate.

    Args:
        path: any file soundfile decodes (WAV, FLAC, OGG, MP3, ...).
        realtime: pace blocks at the speed of sound, as a microphone would deliver them;
            otherwise as fast as the consumer takes them.
        block_s: block length in seconds.
    """

    overflows = 0  # a file never overflows; the attributes mirror the microphone's
    dropped = 0

    def __init__(self, path: Path, realtime: bool = False, block_s: float = 0.1) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise AudioError(f"audio file not found: {self.path}", hint="check the path")
        try:
            info = soundfile.info(str(self.path))
        except (soundfile.LibsndfileError, RuntimeError) as err:
            raise AudioError(
                f"cannot decode {self.path}: {err}",
                hint="convert it to WAV/FLAC/OGG/MP3 (e.g. ffmpeg -i in.m4a out.flac)",
            ) from err
        self.rate = int(info.samplerate)
        self.realtime = realtime
        self.block = max(1, int(self.rate * block_s))

    def open(self) -> None:
        """Nothing to open: the file is read by :meth:`chunks` (the method mirrors the
        microphone's, see ``listener.AudioSource``)."""

    def close(self) -> None:
        """Nothing to release: :meth:`chunks` closes the file when it ends."""

    def chunks(self) -> Iterator[np.ndarray]:
        start = time.monotonic()
        delivered = 0
        try:
            with soundfile.SoundFile(str(self.path)) as audio:
                while True:
                    # decoded READ_BLOCKS blocks at a time: each soundfile read costs ~0.1 ms
                    # of calls (it seeks three times), 0.6 ms per audio second at 0.1 s blocks
                    decoded = audio.read(self.block * READ_BLOCKS, dtype="float32", always_2d=True)
                    if not decoded.shape[0]:
                        return
                    mixed = to_mono(decoded)
                    for at in range(0, mixed.shape[0], self.block):
                        mono = mixed[at : at + self.block]
                        if not np.isfinite(mono).all():
                            raise AudioError(
                                f"{self.path} decodes to NaN/inf samples",
                                hint="re-encode the file",
                            )
                        delivered += mono.shape[0]
                        if self.realtime:
                            time.sleep(max(0.0, delivered / self.rate - (time.monotonic() - start)))
                        yield mono
        except soundfile.LibsndfileError as err:
            raise AudioError(f"cannot decode {self.path}: {err}", hint="re-encode it") from err
