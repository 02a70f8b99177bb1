"""Hyperparameter search, random or grid, within a trial count and a time budget.

Trials are ranked by the validation split's song-level CCC (mean of valence and arousal):
the test split is never used to choose, so its numbers stay honest.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from sentio.export.model.config import TrainConfig
from sentio.export.model.crnn import CRNNConfig
from sentio.runtime.errors import ConfigError

# The ranges the seed design explores around its defaults.
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
    "loss": ["mse", "weighted_mse", "huber"],
}

_MODEL_KEYS = {f.name for f in dataclasses.fields(CRNNConfig)}
_TRAIN_KEYS = {f.name for f in dataclasses.fields(TrainConfig)}


def validate_space(space: dict[str, list[Any]]) -> None:
    unknown = sorted(set(space) - _MODEL_KEYS - _TRAIN_KEYS)
    if unknown:
        raise ConfigError(
            f"unknown search parameter(s): {', '.join(unknown)}",
            hint=f"choose from {', '.join(sorted(_MODEL_KEYS | _TRAIN_KEYS))}",
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


def apply_params(
    params: dict[str, Any], model: CRNNConfig, train: TrainConfig
) -> tuple[CRNNConfig, TrainConfig]:
    """Base configs with the trial's parameters replaced (lists become tuples)."""
    norm = {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}
    return (
        dataclasses.replace(model, **{k: v for k, v in norm.items() if k in _MODEL_KEYS}),
        dataclasses.replace(train, **{k: v for k, v in norm.items() if k in _TRAIN_KEYS}),
    )


def trial_score(metrics: dict) -> float:
    songs = metrics["val"]["songs"]
    return (songs["valence"]["ccc"] + songs["arousal"]["ccc"]) / 2


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


def run_search(args, options, spec) -> list[dict]:
    """Prepare the data once, then train one model per candidate until trials or time run out."""
    from sentio.export.cli.train import model_config, train_config
    from sentio.export.data.sources import load_prepared
    from sentio.export.model.train import fit

    space = json.loads(Path(args.space).read_text()) if args.space else DEFAULT_SPACE
    validate_space(space)
    plan = candidates(space, args.strategy, args.trials, args.seed)
    prepared, _ = load_prepared(options, spec)
    base_model, base_train = model_config(args, spec.n_features), train_config(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    deadline = time.monotonic() + args.budget_minutes * 60
    for i, params in enumerate(plan, start=1):
        if time.monotonic() > deadline:
            print(
                f"time budget of {args.budget_minutes:g} min spent: "
                f"{len(plan) - i + 1} trial(s) not run"
            )
            break
        print(f"trial {i}/{len(plan)}: {params}")
        mcfg, tcfg = apply_params(params, base_model, base_train)
        start = time.perf_counter()
        outcome = fit(prepared, mcfg, tcfg, verbose=0)
        val = outcome.metrics["val"]["songs"]
        rows.append(
            {
                "params": params,
                "score": trial_score(outcome.metrics),
                "val_ccc_valence": val["valence"]["ccc"],
                "val_ccc_arousal": val["arousal"]["ccc"],
                "val_rmse": val["rmse"],
                "epochs": outcome.result.epochs_run,
                "seconds": time.perf_counter() - start,
            }
        )
        print(
            f"  val song CCC valence {rows[-1]['val_ccc_valence']:.3f} "
            f"arousal {rows[-1]['val_ccc_arousal']:.3f}"
        )
        (out / "results.json").write_text(json.dumps(rows, indent=2) + "\n")  # survives a crash
    table = results_table(rows)
    (out / "results.md").write_text(f"# Hyperparameter search ({args.strategy})\n\n{table}\n")
    print(table)
    return rows
