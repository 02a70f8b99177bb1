"""Training settings (kept free of TensorFlow so the CLI and search can import them cheaply)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sentio.export.model.augment import NONE, Augmentation
from sentio.runtime.errors import ConfigError

LOSSES = ("mse", "weighted_mse", "huber", "ccc")


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

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ConfigError(
                f"unknown loss {self.loss!r}", hint=f"choose one of {', '.join(LOSSES)}"
            )
        if self.epochs < 1 or self.batch_size < 1:
            raise ConfigError("epochs and batch size must be at least 1")

    def to_dict(self) -> dict:
        return asdict(self)
