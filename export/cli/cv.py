"""``sentio-train cv``: a recipe under artist-grouped, quadrant-stratified cross-validation.

Parses, builds the typed configs, calls :func:`sentio.export.evaluation.cv.cross_validate`,
prints the table and writes ``OUT.md`` / ``OUT.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

from sentio.export.cli.options import (
    add_config_arg,
    add_data_args,
    add_model_args,
    add_train_args,
    force_arg,
    settings_from,
)
from sentio.export.data.extract import extract_device_copies
from sentio.export.data.sources import load_features
from sentio.export.evaluation.cv import (
    CVConfig,
    LabelConfig,
    cross_validate,
    cv_report,
    development_songs,
    result_dict,
)
from sentio.export.evaluation.probe import ridge_probe
from sentio.export.model.learner import crnn_learner
from sentio.runtime.errors import ConfigError, OutputPathError


def cmd_cv(args: argparse.Namespace) -> int:
    _check(args)
    _check_out(args.out, args.force)
    run = settings_from(args)
    options = run.data_options()
    spec = run.features
    config = CVConfig(
        folds=args.folds,
        seeds=tuple(args.seeds),
        fold_seed=args.fold_seed,
        holdout=args.holdout,
        window=options.window,
        stride=options.stride,
    )
    training = run.train
    # a recipe that trains on centred labels (the default model's) is cross-validated so
    labels = LabelConfig(
        valence_weight=args.emotify_valence_weight,
        center=args.center or training.center_labels,
    )
    if args.learner == "crnn":
        learner = crnn_learner(
            run.model,
            training,
            save_to=args.save_models,
            teachers=args.teachers or (),
        )
    else:
        learner = ridge_probe
    dataset, extraction = load_features(options, spec)
    copies = _device_copies(dataset, extraction.features, config, training, options, spec)
    start = time.perf_counter()
    result = cross_validate(
        dataset,
        extraction.features,
        learner,
        config,
        labels,
        copies=copies,
        train_on_copies=training.consistency.enabled,
    )
    seconds = time.perf_counter() - start
    name = args.name or (args.config or "command line")
    report = cv_report(f"{name} ({args.learner})", result, seconds)
    print(report)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".md").write_text(report)
        data = result_dict(result) | {"name": name, "learner": args.learner, "seconds": seconds}
        data["labels"] = dataclasses.asdict(labels)
        args.out.with_suffix(".json").write_text(json.dumps(data, indent=1))
        print(f"wrote {args.out.with_suffix('.md')} and .json")
    return 0


def _device_copies(dataset, features, config, training, options, spec):
    """The recipe's device copies of every development song (rendered once, then cached):
    the songs left out are scored through theirs; with consistency on, training songs draw
    views from theirs. None when the recipe renders no copies."""
    if not training.device.enabled:
        return None
    songs = development_songs(dataset, features, config)
    rendered = extract_device_copies(
        songs,
        spec,
        training.device,
        dataset.skipped,
        options.cache_dir,
        options.workers,
        options.progress,
    )
    print(
        f"device copies: {training.device.copies} of {len(songs)} songs "
        f"({rendered.cache_hits} from the cache, {rendered.rendered} rendered, "
        f"{rendered.failed} failed) in {rendered.seconds:.0f} s"
    )
    return rendered.features


def _check_models_out(folder: Path | None, seeds: list[int], force: bool) -> None:
    """--save-models writes fold<k>-seed<s>.keras into a folder: never over a file, and over
    an earlier run's models of the same seeds only with --force; checked before any work."""
    if folder is None:
        return
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise OutputPathError(
            f"--save-models {folder} is not a folder", hint="give a new or existing folder"
        )
    taken = (
        [p for s in seeds for p in folder.glob(f"fold*-seed{s}.keras")] if folder.is_dir() else []
    )
    if taken and not force:
        raise OutputPathError(
            f"--save-models {folder} already holds {taken[0].name} from an earlier run",
            hint="pick another --save-models folder, or add --force to replace those models",
        )


def _check_out(out: Path | None, force: bool) -> None:
    """OUT.md / OUT.json are written new, or replace an earlier report only with --force;
    checked before any work (a CV run takes an hour)."""
    if out is None:
        return
    for path in (out.with_suffix(".md"), out.with_suffix(".json")):
        if path.is_symlink() or path.is_dir() or (path.exists() and not force):
            raise OutputPathError(
                f"{path} is already there",
                hint="pick another --out, or add --force to replace an earlier cv report",
            )


def _count(low: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    return parse


def _number(low: float, high: float, closed: bool):
    """A parser of numbers within [low, high] (``closed``) or (low, high)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        inside = low <= value <= high if closed else low < value < high
        if not inside:
            span = f"within [{low:g}, {high:g}]" if closed else f"above {low:g} and below {high:g}"
            raise argparse.ArgumentTypeError(f"must be {span}, got {value}")
        return value

    return parse


def add_cv_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``cv`` on ``sentio-train``'s subcommands."""
    defaults = CVConfig()
    p = sub.add_parser(
        "cv",
        help="a recipe under artist-grouped, quadrant-stratified cross-validation",
        description="Set aside each dataset's untouched test split (whole artists, quadrants "
        "in proportion), deal the rest into folds the same way, and train the recipe on all "
        "folds but one, for every fold and seed. Reports per-quadrant recall, sad vs calm, "
        "happy vs angry and the whole-set AUCs (4Q), CCC (Emotify), out of fold and in "
        "sample, as mean ± sd over folds and seeds; and, out of fold, how far each song moves "
        "through the recipe's device copies and how close its first 3 s come to its value. "
        "--learner probe screens a label or frame choice in seconds (ridge on song "
        "statistics); crnn trains the recipe's CRNN (its windows come from the clean songs; "
        "--consistency adds views from the device copies and short crops; --teachers "
        "distils the saved models of earlier runs).",
    )
    add_config_arg(p)
    add_data_args(p)
    add_model_args(p)
    add_train_args(p)
    p.add_argument("--learner", choices=("crnn", "probe"), default="crnn")
    p.add_argument("--folds", type=_count(2), default=defaults.folds, help="(default %(default)s)")
    p.add_argument(
        "--seeds", type=_count(0), nargs="+", default=list(defaults.seeds), metavar="SEED"
    )
    p.add_argument("--fold-seed", type=_count(0), default=defaults.fold_seed)
    p.add_argument(
        "--holdout",
        type=_number(0.0, 0.5, closed=False),
        default=defaults.holdout,
        help="share of each dataset never used by CV: the untouched test split",
    )
    p.add_argument(
        "--center",
        action="store_true",
        help="remove each valued dataset's training mean from its labels (training only; "
        "on where the recipe sets train.center_labels)",
    )
    p.add_argument(
        "--emotify-valence-weight",
        type=_number(0.0, 1.0, closed=True),
        default=1.0,
        help="weight of Emotify's valence (probe only; its arousal keeps 1)",
    )
    p.add_argument(
        "--save-models",
        type=Path,
        metavar="DIR",
        help="save each fold's model as DIR/fold<k>-seed<s>.keras (teachers for --teachers)",
    )
    p.add_argument(
        "--teachers",
        type=Path,
        nargs="+",
        metavar="DIR",
        help="distil: fold k's student learns from the mean of every fold<k>-seed*.keras "
        "saved in these folders by earlier runs of the same folds (--fold-seed, --folds)",
    )
    p.add_argument("--name", help="the recipe's name in the report")
    p.add_argument("--out", type=Path, help="write OUT.md and OUT.json")
    force_arg(p, "the OUT.md and OUT.json")
    p.set_defaults(func=cmd_cv)


def _check(args: argparse.Namespace) -> None:
    consistency = getattr(args, "train.consistency.weight", 0.0)
    if args.learner == "probe" and (consistency or args.teachers or args.save_models):
        raise ConfigError(
            "--consistency, --teachers and --save-models train the CRNN",
            hint="drop them, or use --learner crnn",
        )
    _check_models_out(args.save_models, args.seeds, args.force)
    for folder in args.teachers or ():
        if not folder.is_dir():
            raise ConfigError(
                f"--teachers {folder}: no such folder",
                hint="give the --save-models folder of an earlier cv run",
            )
    if args.learner == "crnn" and args.emotify_valence_weight != 1.0:
        raise ConfigError(
            "--emotify-valence-weight is screened with the probe only",
            hint="add --learner probe, or leave the weight at 1 for the CRNN",
        )
