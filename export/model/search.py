"""Hyperparameter search, random or grid, within a trial count and a time budget.

Trials are ranked by the validation split's song-level CCC (mean of valence and arousal):
the test split is never used to choose, so its numbers stay honest. :func:`run_search` takes
typed configs and reports progress through ``logging`` (logger ``sentio.search``) and an
optional callback; ``sentio-train search`` renders it.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sentio.export.data.sources import DataOptions, load_training_data
from sentio.export.distributed import RayOptions, check_reachable, require_ray
from sentio.export.model.config import TrainConfig
from sentio.export.model.crnn import CRNNConfig
from sentio.export.model.search_ray import run_trials_on_ray
from sentio.export.model.trials import (
    MODEL_KEYS,
    TRAIN_KEYS,
    train_trial,
    write_rows,
)
from sentio.runtime.bundle import check_out_dir
from sentio.runtime.errors import ConfigError
from sentio.runtime.features import FrameSpec

log = logging.getLogger("sentio.search")

#: What a search writes into its folder (``tune/``: Ray Tune's trials, with ``--ray``).
SEARCH_ENTRIES = ("results.json", "results.md", "tune")


def search_foreign(folder: Path) -> list[str] | None:
    """The entries of ``folder`` a search did not write, or None when it holds no search's
    results (see :func:`~sentio.runtime.bundle.check_out_dir`)."""
    names = os.listdir(folder)
    if not any(name in SEARCH_ENTRIES for name in names):
        return None
    return sorted(name for name in names if name not in SEARCH_ENTRIES)


# The ranges the reference design explores around its defaults, and the default model's loss.
DEFAULT_SPACE: dict[str, list[Any]] = {
    "learning_rate": [1e-3, 5e-4, 2e-4],
    "batch_size": [16, 32, 64],
    "dropout": [0.2, 0.3, 0.4, 0.5],
    "recurrent_dropout": [0.0, 0.1, 0.2],
    "l2": [0.0, 1e-5, 1e-4, 1e-3],
    "kernel_size": [3, 5, 7],
    "lstm_units": [[128, 64], [64, 32]],
    "dense_units": [[64, 32], [32, 16]],
    "bn_momentum": [0.9, 0.99],
    "loss": ["mse", "weighted_mse", "huber", "ccc"],
}


@dataclass(frozen=True)
class SearchConfig:
    """How to search.

    Attributes:
        strategy: ``random`` (distinct draws from the grid) or ``grid`` (in order).
        trials: most trials to run.
        budget_minutes: no trial starts after this many minutes.
        space: ``{parameter: [values]}`` over CRNNConfig and TrainConfig fields (None: the
            default space).
    """

    strategy: str = "random"
    trials: int = 8
    budget_minutes: float = 60.0
    space: dict[str, list[Any]] | None = None

    def __post_init__(self) -> None:
        if self.strategy not in ("random", "grid"):
            raise ConfigError(
                f"unknown search strategy {self.strategy!r}", hint="use random or grid"
            )
        if self.trials < 1:
            raise ConfigError("a search needs at least 1 trial")


@dataclass
class SearchResult:
    rows: list[dict]
    table: str
    skipped: int
    out_dir: Path


#: ``progress(event, **details)``: ``start`` (index, total, params), ``done`` (index, trial),
#: ``out_of_time`` (skipped).
Progress = Callable[..., None]


def validate_space(space: dict[str, list[Any]]) -> None:
    unknown = sorted(set(space) - MODEL_KEYS - TRAIN_KEYS)
    if unknown:
        raise ConfigError(
            f"unknown search parameter(s): {', '.join(unknown)}",
            hint=f"choose from {', '.join(sorted(MODEL_KEYS | TRAIN_KEYS))}",
        )
    empty = [k for k, v in space.items() if not isinstance(v, list) or not v]
    if empty:
        raise ConfigError(
            f"search parameter(s) without values: {', '.join(empty)}", hint="give a list"
        )


def candidates(space: dict[str, list[Any]], strategy: str, trials: int, seed: int) -> list[dict]:
    """Up to ``trials`` parameter sets: the grid in order, or distinct random draws."""
    keys = sorted(space)
    grid = [
        dict(zip(keys, combo, strict=True))
        for combo in itertools.product(*(space[k] for k in keys))
    ]
    if strategy == "grid":
        return grid[:trials]
    if strategy != "random":
        raise ConfigError(f"unknown search strategy {strategy!r}", hint="use random or grid")
    order = np.random.default_rng(seed).permutation(len(grid))[:trials]
    return [grid[i] for i in order]


def results_table(rows: list[dict]) -> str:
    """Markdown table of trials, best first."""
    keys = sorted({k for r in rows for k in r["params"]})
    head = ["rank", *keys, "val CCC V", "val CCC A", "val RMSE", "epochs", "s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for rank, r in enumerate(sorted(rows, key=lambda r: -r["score"]), start=1):
        cells = [str(rank), *(str(r["params"].get(k, "")) for k in keys)]
        cells += [
            f"{r['val_ccc_valence']:.3f}",
            f"{r['val_ccc_arousal']:.3f}",
            f"{r['val_rmse']:.3f}",
        ]
        cells += [str(r["epochs"]), f"{r['seconds']:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run_search(
    config: SearchConfig,
    data: DataOptions,
    spec: FrameSpec,
    model: CRNNConfig,
    train: TrainConfig,
    out_dir: Path,
    progress: Progress | None = None,
    ray: RayOptions | None = None,
    replace: bool = False,
) -> SearchResult:
    """Prepare the data once, then train one model per candidate until trials or time run out.

    Args:
        config: strategy, trial count, budget, space.
        data: the labelled data.
        spec: the feature spec.
        model, train: the base configs each trial's parameters replace fields of.
        out_dir: where ``results.json`` (after every trial: survives a crash) and
            ``results.md`` go.
        progress: called as trials start and finish (see :data:`Progress`).
        ray: run the trials in parallel through Ray Tune there (one CPU each; see
            :mod:`sentio.export.model.search_ray`); the rows and the ranking are the same.
        replace: write over an earlier search's results in ``out_dir`` (``--force``); a
            file, or a folder holding anything else, is refused before the data is read.
    """
    space = config.space if config.space is not None else DEFAULT_SPACE
    validate_space(space)
    plan = candidates(space, config.strategy, config.trials, train.seed)
    if ray is not None:  # a missing extra or a cluster that is down, before the data is read
        require_ray()
        check_reachable(ray.address)
    check_out_dir(out_dir, replace, what="a search's results", foreign=search_foreign)
    prepared, _, _ = load_training_data(data, spec, train.device)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = progress or (lambda event, **details: None)
    if ray is not None:
        rows, skipped = run_trials_on_ray(
            plan, prepared, model, train, config.budget_minutes, ray, out_dir, report
        )
        return _finish(config, rows, skipped, out_dir)
    rows: list[dict] = []
    skipped = 0
    deadline = time.monotonic() + config.budget_minutes * 60
    for i, params in enumerate(plan, start=1):
        if time.monotonic() > deadline:
            skipped = len(plan) - i + 1
            log.info(
                "time budget of %g min spent: %d trial(s) not run", config.budget_minutes, skipped
            )
            report("out_of_time", skipped=skipped)
            break
        log.info("trial %d/%d: %s", i, len(plan), params)
        report("start", index=i, total=len(plan), params=params)
        trial = train_trial(params, prepared, model, train)
        rows.append(dataclasses.asdict(trial))
        report("done", index=i, trial=trial)
        write_rows(out_dir, rows)
    return _finish(config, rows, skipped, out_dir)


def _finish(config: SearchConfig, rows: list[dict], skipped: int, out_dir: Path) -> SearchResult:
    write_rows(out_dir, rows)
    table = results_table(rows)
    (out_dir / "results.md").write_text(f"# Hyperparameter search ({config.strategy})\n\n{table}\n")
    return SearchResult(rows, table, skipped, out_dir)
