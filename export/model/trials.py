"""One trial of a hyperparameter search: a candidate's configs, trained and scored on the
validation split; the ``results.json`` rows. Shared by the one-machine loop
(:mod:`sentio.export.model.search`) and Ray Tune (:mod:`sentio.export.model.search_ray`).
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sentio.export.data.windows import PreparedData
from sentio.export.model.config import TrainConfig
from sentio.export.model.crnn import CRNNConfig
from sentio.runtime.manifest import Scores


@dataclass
class Trial:
    """One finished trial (what ``results.json`` holds per row)."""

    params: dict[str, Any]
    score: float
    val_ccc_valence: float
    val_ccc_arousal: float
    val_rmse: float
    epochs: int
    seconds: float


MODEL_KEYS = {f.name for f in dataclasses.fields(CRNNConfig)}
TRAIN_KEYS = {f.name for f in dataclasses.fields(TrainConfig)}


def apply_params(
    params: dict[str, Any], model: CRNNConfig, train: TrainConfig
) -> tuple[CRNNConfig, TrainConfig]:
    """Base configs with the trial's parameters replaced (lists become tuples)."""
    norm = {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}
    return (
        dataclasses.replace(model, **{k: v for k, v in norm.items() if k in MODEL_KEYS}),
        dataclasses.replace(train, **{k: v for k, v in norm.items() if k in TRAIN_KEYS}),
    )


def trial_score(songs: Scores) -> float:
    """A candidate's score: the mean of its validation songs' valence and arousal CCC."""
    return (songs.dimension("valence").ccc + songs.dimension("arousal").ccc) / 2


def train_trial(
    params: dict[str, Any], prepared: PreparedData, model: CRNNConfig, train: TrainConfig
) -> Trial:
    """Train one candidate and score it on the validation split."""
    from sentio.export.model.train import fit  # TensorFlow: only when a search runs

    mcfg, tcfg = apply_params(params, model, train)
    start = time.perf_counter()
    outcome = fit(prepared, mcfg, tcfg, verbose=0)
    if outcome.metrics.val is None:
        raise ValueError("a search trial needs a validation split")
    val = outcome.metrics.val.songs
    return Trial(
        params=params,
        score=trial_score(val),
        val_ccc_valence=val.dimension("valence").ccc,
        val_ccc_arousal=val.dimension("arousal").ccc,
        val_rmse=val.rmse if val.rmse is not None else float("nan"),
        epochs=outcome.result.epochs_run,
        seconds=time.perf_counter() - start,
    )


def write_rows(out_dir: Path, rows: list[dict]) -> None:
    """``results.json``, rewritten after every trial (what survives a crash)."""
    (Path(out_dir) / "results.json").write_text(json.dumps(rows, indent=2) + "\n")
