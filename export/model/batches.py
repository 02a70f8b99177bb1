"""Training and validation batches cut on the fly from each song's normalized frames.

With consistency training or teachers, labels take the *extended* layout
(:data:`EXTENDED_COLUMNS`): valence, arousal, a sign-only flag, a view flag, the teachers'
valence and arousal on the clean window, and a has-teacher flag. A training batch then holds
its clean windows first and one view of each after them, in the same order
(:class:`~sentio.export.model.losses.ConsistencyLoss` pairs them by position).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import keras
import numpy as np
from sentio.export.data.windows import SongWindows
from sentio.export.model.augment import NONE, Augmentation
from sentio.export.model.config import NO_CONSISTENCY, Consistency, TrainConfig
from sentio.runtime.windows import fill_window

#: Columns of the extended label layout.
EXTENDED_COLUMNS = ("valence", "arousal", "sign_only", "view", "teacher_v", "teacher_a", "taught")

#: (windows, frames, features) -> (windows, 2): the teachers' mean prediction.
Teacher = Callable[[np.ndarray], np.ndarray]


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
            anew every time a batch is made. With consistency on, clean windows are always
            clean and the copies serve the views.
        consistency: add one view of each window to training batches (:class:`Consistency`).
        teacher: the teachers' prediction on each clean window goes into the labels.
        extended: labels in the extended layout even without consistency or teacher (the
            validation batches of a run that trains with either).
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
        consistency: Consistency = NO_CONSISTENCY,
        teacher: Teacher | None = None,
        extended: bool = False,
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
        self.consistency = consistency if shuffle else NO_CONSISTENCY  # views train only
        self.teacher = teacher
        self.extended = extended or consistency.enabled or teacher is not None
        self.view_rng = np.random.default_rng(seed + 4)
        if self.extended and mixup > 0:
            raise ValueError("mixup cannot be combined with consistency training or teachers")

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
        if self.extended:
            return self._extended_batch(songs, starts)
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

    def _extended_batch(self, songs: np.ndarray, starts: np.ndarray):
        """Clean windows (then one view of each, with consistency on) and extended labels."""
        if self.consistency.enabled:
            sources = [self.songs[i].frames for i in songs]
        else:
            sources = [self._source(i) for i in songs]
        x = np.stack([f[s : s + self.window] for f, s in zip(sources, starts, strict=True)])
        y = np.zeros((len(songs), len(EXTENDED_COLUMNS)), dtype=np.float32)
        y[:, :2] = [self.songs[i].label for i in songs]
        y[:, 2] = [self.songs[i].song.sign_only for i in songs]
        if self.teacher is not None:
            y[:, 4:6] = self.teacher(x)
            y[:, 6] = 1.0
        if self.consistency.enabled:
            views = np.stack([self._view(i, s) for i, s in zip(songs, starts, strict=True)])
            x = np.concatenate([x, views])
            y_views = y.copy()
            y_views[:, 3] = 1.0
            y = np.concatenate([y, y_views])
        return self.augmentation.apply(x, self.augment_rng), y

    def _view(self, song: int, start: int) -> np.ndarray:
        """What a device hears of this window in a song's first seconds: cut from one of the
        song's device copies (``device_share``), cropped to its first 3-12 s repeated to a
        window (``short_share``)."""
        c, rng = self.consistency, self.view_rng
        song_windows = self.songs[song]
        frames = song_windows.frames
        if song_windows.copies and rng.random() < c.device_share:
            frames = song_windows.copies[int(rng.integers(len(song_windows.copies)))]
        view = frames[start : start + self.window]
        if rng.random() < c.short_share:
            longest = min(c.short_max_frames, self.window)
            kept = int(rng.integers(min(c.short_min_frames, longest), longest + 1))
            return fill_window(view[:kept].copy(), self.window)
        return view.copy()

    def on_epoch_end(self) -> None:
        if self.rng is not None:
            self.rng.shuffle(self.order)


def training_batches(
    songs: list[SongWindows],
    window: int,
    config: TrainConfig,
    training: bool,
    sign_labels: bool,
    teacher: Teacher | None = None,
) -> WindowBatches:
    """The batches a run trains (``training``) or validates on, as ``config`` says: training
    batches are shuffled, augmented, mixed up, drawn from device copies, given views and the
    teachers' targets; validation batches are the clean windows in a fixed order, with labels
    in the same layout."""
    extended = config.consistency.enabled or teacher is not None
    return WindowBatches(
        songs,
        window,
        config.batch_size,
        shuffle=training,
        seed=config.seed,
        mixup=config.mixup if training else 0.0,
        augmentation=config.augmentation if training else NONE,
        sign_labels=sign_labels,
        clean_share=config.device.clean_share,
        consistency=config.consistency if training else NO_CONSISTENCY,
        teacher=teacher if training else None,
        extended=extended,
    )
