"""The trials of a hyperparameter search in parallel, through Ray Tune (``sentio-train search
--ray``).

The candidates are the ones :func:`~sentio.export.model.search.run_search` planned, each trial
is :func:`~sentio.export.model.trials.train_trial` on one CPU, and the rows are those of the
one-machine search (``results.json`` rewritten as each trial finishes), so the table and the
ranking on the validation split are the same. The prepared data is put in Ray's object store
once; nodes need Sentio with the export extra, not the dataset.

Two differences from one machine: trials run at once, up to the cluster's CPUs; and the time
budget is Tune's ``time_budget_s``, which also stops trials still running when it is spent
(one machine only stops starting new ones). A trial whose worker dies is re-run once
(``FailureConfig(max_failures=1)``); one that fails again is left out and counted as not run.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from sentio.export.data.windows import PreparedData
from sentio.export.distributed import RayOptions, ray_session
from sentio.export.model.config import TrainConfig
from sentio.export.model.crnn import CRNNConfig
from sentio.export.model.trials import Trial, train_trial, write_rows

log = logging.getLogger("sentio.search")

#: The numbers a trial reports to Tune (``Trial``'s fields but its parameters, which stay on the
#: driver: Tune's loggers want flat numbers).
REPORTED = ("score", "val_ccc_valence", "val_ccc_arousal", "val_rmse", "epochs", "seconds")


def run_trials_on_ray(
    plan: list[dict[str, Any]],
    prepared: PreparedData,
    model: CRNNConfig,
    train: TrainConfig,
    budget_minutes: float,
    options: RayOptions,
    out_dir: Path,
    report,
) -> tuple[list[dict], int]:
    """Run every candidate of ``plan`` as a Tune trial; returns ``(rows in plan order, trials
    not run or failed)``."""
    with ray_session(options):
        from ray import tune

        trainable = tune.with_resources(
            tune.with_parameters(
                tune_trial, plan=plan, prepared=prepared, model=model, train=train
            ),
            {"cpu": 1},
        )
        tuner = tune.Tuner(
            trainable,
            param_space={"index": tune.grid_search(list(range(len(plan))))},
            tune_config=tune.TuneConfig(num_samples=1, time_budget_s=budget_minutes * 60),
            run_config=tune.RunConfig(
                name="search",
                storage_path=str((Path(out_dir) / "tune").resolve()),
                verbose=0,
                failure_config=tune.FailureConfig(max_failures=1),
                callbacks=[_progress_callback(plan, out_dir, report)],
            ),
        )
        grid = tuner.fit()
    rows = _rows(plan, grid)
    return rows, len(plan) - len(rows)


def tune_trial(
    config: dict,
    plan: list[dict[str, Any]],
    prepared: PreparedData,
    model: CRNNConfig,
    train: TrainConfig,
) -> None:
    """A Tune trial: the candidate ``plan[config["index"]]``, trained and reported once."""
    from ray import tune

    trial = train_trial(plan[config["index"]], prepared, model, train)
    tune.report({"index": config["index"], **{k: getattr(trial, k) for k in REPORTED}})


def _row(plan: list[dict[str, Any]], reported: dict) -> dict:
    """A one-machine ``results.json`` row from what a trial reported to Tune."""
    values = {k: reported[k] for k in REPORTED}
    return dataclasses.asdict(Trial(params=plan[int(reported["index"])], **values))


def _rows(plan: list[dict[str, Any]], grid) -> list[dict]:
    finished = []
    for result in grid:
        if result.error is not None or not result.metrics or "score" not in result.metrics:
            log.warning("a trial failed: %s", result.error)
            continue
        finished.append(result.metrics)
    finished.sort(key=lambda m: int(m["index"]))
    return [_row(plan, m) for m in finished]


def _progress_callback(plan: list[dict[str, Any]], out_dir: Path, report):
    """A Tune callback (Ray is imported only here, once ``--ray`` was asked for): Tune's trial
    events as ``run_search``'s progress events, and ``results.json`` rewritten as each trial
    reports (on the driver, like the one-machine loop)."""
    from ray import tune

    rows: dict[int, dict] = {}

    class Progress(tune.Callback):
        def on_trial_start(self, iteration, trials, trial, **info) -> None:
            index = trial.config["index"]
            report("start", index=index + 1, total=len(plan), params=plan[index])

        def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
            row = _row(plan, result)
            rows[int(result["index"])] = row
            report("done", index=int(result["index"]) + 1, trial=Trial(**row))
            write_rows(out_dir, [rows[i] for i in sorted(rows)])

    return Progress()
