"""Training and validation batches cut on the fly from each song's normalized frames."""

from __future__ import annotations

import math

import keras
import numpy as np
from sentio.export.data.windows import SongWindows
from sentio.export.model.augment import NONE, Augmentation


class WindowBatches(keras.utils.PyDataset):
    """Batches of windows cut on the fly from each song's frames (no window is stored twice).

    Args:
        songs: songs with normalized frames and window starts.
        window: frames per window.
        batch_size: windows per batch.
        shuffle: reshuffle window order every epoch (seeded); otherwise the windows are
            mixed once, in a fixed order, so that each batch holds several songs (in song
            order a batch is one or two songs sharing one label, and a batch-level loss such
            as CCC would measure nothing on validation).
        seed: shuffle seed.
        mixup: Beta parameter of mixup (0: off); see ``TrainConfig.mixup``.
        augmentation: changes to each window, drawn anew every time a batch is made.
        sign_labels: labels get a third column, 1 for songs whose labels are only signs (the
            loss is then :class:`~sentio.export.model.losses.SignAwareLoss`).
        clean_share: for songs with device copies (``SongWindows.copies``), the share of
            windows cut from the clean song; the others come from a copy drawn uniformly,
            anew every time a batch is made.
    """

    def __init__(
        self,
        songs: list[SongWindows],
        window: int,
        batch_size: int,
        shuffle: bool = False,
        seed: int = 0,
        mixup: float = 0.0,
        augmentation: Augmentation = NONE,
        sign_labels: bool = False,
        clean_share: float = 1.0,
    ):
        super().__init__()
        self.songs = songs
        self.batch_size = batch_size
        self.index = np.array(
            [(i, int(start)) for i, s in enumerate(songs) for start in s.starts], dtype=np.int64
        ).reshape(-1, 2)
        self.window = window
        self.lengths = np.array([len(s.frames) for s in songs], dtype=np.int64)
        self.augmentation = augmentation
        self.augment_rng = np.random.default_rng(seed + 2)
        self.rng = np.random.default_rng(seed) if shuffle else None
        self.order = np.random.default_rng(seed).permutation(len(self.index))
        self.mixup = mixup
        self.mix_rng = np.random.default_rng(seed + 1)
        self.sign_labels = sign_labels
        self.clean_share = clean_share
        self.copy_rng = np.random.default_rng(seed + 3)

    def __len__(self) -> int:
        return math.ceil(len(self.index) / self.batch_size)

    def _source(self, song: int) -> np.ndarray:
        """The frames a window of ``song`` is cut from: the clean song or one of its copies."""
        song_windows = self.songs[song]
        if not song_windows.copies or self.copy_rng.random() < self.clean_share:
            return song_windows.frames
        return song_windows.copies[int(self.copy_rng.integers(len(song_windows.copies)))]

    def __getitem__(self, batch: int):
        rows = self.index[self.order[batch * self.batch_size : (batch + 1) * self.batch_size]]
        songs, starts = rows[:, 0], rows[:, 1]
        starts = self.augmentation.jitter_starts(
            starts, self.lengths[songs], self.window, self.augment_rng
        )
        sources = [self._source(i) for i in songs]
        x = np.stack([f[s : s + self.window] for f, s in zip(sources, starts, strict=True)])
        x = self.augmentation.apply(x, self.augment_rng)
        y = np.stack([self.songs[i].label for i in songs])
        if self.sign_labels:
            flags = np.array([[self.songs[i].song.sign_only] for i in songs], dtype=np.float32)
            y = np.concatenate([y, flags], axis=1)
        if self.mixup > 0 and len(rows) > 1:
            weight = self.mix_rng.beta(self.mixup, self.mixup, (len(rows), 1)).astype(np.float32)
            partner = self.mix_rng.permutation(len(rows))
            x = weight[:, :, None] * x + (1 - weight[:, :, None]) * x[partner]
            y = weight * y + (1 - weight) * y[partner]
        return x, y

    def on_epoch_end(self) -> None:
        if self.rng is not None:
            self.rng.shuffle(self.order)
