"""Training settings (kept free of TensorFlow so the CLI and search can import them cheaply)."""

from __future__ import annotations

from dataclasses import dataclass

from sentio.export.data.device_copies import OFF, DeviceCopies
from sentio.export.model.augment import NONE, Augmentation
from sentio.runtime.errors import ConfigError

LOSSES = ("mse", "weighted_mse", "huber", "ccc")


@dataclass(frozen=True)
class Consistency:
    """Consistency training: beside the label loss on each clean window, the prediction on a
    *view* of the same window is pulled towards the clean prediction (a stop-gradient copy of
    it, or the teachers' prediction when distilling). A view is what a device hears in the
    first seconds of a song: the window cut from one of the song's device copies
    (``device_share``, when it has copies), then cropped to its first 3-12 s repeated to a
    window as the runtime does (``short_share``). Each batch carries its clean windows and
    one view of each, so a step costs about twice as much.

    Attributes:
        weight: weight of the consistency term (0: off); the label loss keeps weight 1.
        short_share: share of views cropped to their first ``short_min_frames`` ..
            ``short_max_frames`` frames and repeated to fill the window.
        device_share: share of views cut from a device copy of the song (songs with copies).
        short_min_frames, short_max_frames: the crop lengths drawn from (frames).
    """

    weight: float = 0.0
    short_share: float = 0.5
    device_share: float = 0.5
    short_min_frames: int = 150
    short_max_frames: int = 600

    def __post_init__(self) -> None:
        if self.weight < 0 or not (0 <= self.short_share <= 1 and 0 <= self.device_share <= 1):
            raise ConfigError("need consistency weight >= 0 and shares within [0, 1]")
        if not 1 <= self.short_min_frames <= self.short_max_frames:
            raise ConfigError("need 1 <= short_min_frames <= short_max_frames")

    @property
    def enabled(self) -> bool:
        return self.weight > 0


#: Consistency training off (the default).
NO_CONSISTENCY = Consistency()


@dataclass(frozen=True)
class TrainConfig:
    """Optimizer, loss, callbacks and data-order settings.

    Attributes:
        epochs: maximum epochs (early stopping usually ends sooner).
        batch_size: windows per batch.
        learning_rate, beta_1, beta_2, epsilon: Adam.
        loss: ``mse``, ``weighted_mse``, ``huber`` or ``ccc`` (1 - concordance plus half the
            weighted MSE; the shipped model's).
        valence_weight, arousal_weight: weights of ``weighted_mse``.
        huber_delta: delta of ``huber``.
        patience: early-stopping patience (epochs without val_loss improvement).
        lr_factor, lr_patience, min_lr: ReduceLROnPlateau.
        emotion_threshold: both dimensions within this count as a correct emotion.
        seed: seeds weights, dropout and batch order.
        mixup: > 0 blends each training window with another of its batch (labels alike), the
            weight drawn from Beta(mixup, mixup); 0 is off.
        augmentation: jitter, SpecAugment-style masks and noise on training windows
            (:mod:`sentio.export.model.augment`); all off by default.
        sign_weight: weight of the sign term for songs whose labels are only signs (4Q's
            quadrants): a hinge ``max(0, sign_margin - label * prediction)`` per dimension,
            beside the loss above on songs with values. Unused without such songs.
        sign_margin: how far past zero a sign-only song's prediction must be to cost nothing.
        center_labels: train on each valued dataset's labels minus its training mean (a
            per-dataset offset, training only; 4Q's signs are left as they are): Emotify's
            induced-emotion valence (+0.28 on average) then no longer becomes every song's
            offset (experiments/model_v3_part1.md).
        device: audio-level augmentation: device renderings of each training song (speaker,
            room, noise, gain, capture rate), drawn from instead of the clean song for a share
            of the windows (:mod:`sentio.export.data.device_copies`); off by default.
        consistency: the prediction on device copies and short crops pulled towards the
            clean whole window's (:class:`Consistency`); off by default.
        distill_weight: with teachers (``learner.crnn_learner(teachers=...)``), the share of
            each clean window's loss that pulls it to the teachers' mean prediction instead
            of its label (0: labels only; 1: teachers only). Unused without teachers.
    """

    epochs: int = 100
    batch_size: int = 32
    learning_rate: float = 1e-3
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-7
    loss: str = "weighted_mse"
    valence_weight: float = 1.0
    arousal_weight: float = 1.2
    huber_delta: float = 1.0
    patience: int = 15
    lr_factor: float = 0.5
    lr_patience: int = 5
    min_lr: float = 1e-6
    emotion_threshold: float = 0.5
    seed: int = 0
    mixup: float = 0.0
    augmentation: Augmentation = NONE
    sign_weight: float = 1.0
    sign_margin: float = 0.3
    center_labels: bool = False
    device: DeviceCopies = OFF
    consistency: Consistency = NO_CONSISTENCY
    distill_weight: float = 0.5

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ConfigError(
                f"unknown loss {self.loss!r}", hint=f"choose one of {', '.join(LOSSES)}"
            )
        if self.epochs < 1 or self.batch_size < 1:
            raise ConfigError("epochs and batch size must be at least 1")
        if self.sign_weight < 0 or not 0 <= self.sign_margin < 1:
            raise ConfigError("need sign_weight >= 0 and 0 <= sign_margin < 1")
        if not 0 <= self.distill_weight <= 1:
            raise ConfigError("need 0 <= distill_weight <= 1")
        if self.consistency.enabled and self.mixup > 0:
            raise ConfigError(
                "mixup blends windows, so a view would no longer be a view of its window",
                hint="set train.mixup to 0 when consistency training is on",
            )
