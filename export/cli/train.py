"""``sentio-train``: extract features, train, search and evaluate the CRNN.

Subcommands share the data options (``--emotify DIR | --deam DIR | --manifest CSV``); ``fit``,
``search`` and ``demo`` also run a recipe file (``--config FILE``, see export/recipes/), whose
fields the options given override. This module only parses, calls the library and prints.
Exit codes: 0 success, 1 a gate failed, 2 bad input or configuration, 130 interrupted
(Ctrl-C), 143 terminated (SIGTERM); neither leaves a half-written bundle behind.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from sentio.export.cli.common import run_command
from sentio.export.cli.options import (
    Settings,
    add_config_arg,
    add_data_args,
    add_demo_args,
    add_model_args,
    add_search_args,
    add_train_args,
    data_options,
    demo_config,
    feature_spec,
    model_config,
    search_config,
    settings_from,
    train_config,
)
from sentio.export.data.sources import DataOptions
from sentio.export.model.config import TrainConfig
from sentio.runtime.manifest import DataSource

#: DataOptions fields a run's recipe leaves out: where this machine caches, how many cores.
_MACHINE_FIELDS = ("cache_dir", "workers", "progress")


# ----------------------------------------------------------------------------- commands


def cmd_extract(args: argparse.Namespace) -> int:
    from sentio.export.data.sources import load_features

    settings = settings_from(args)
    options = data_options(settings)
    dataset, extraction = load_features(options, feature_spec(settings, args.spec))
    speed = extraction.audio_seconds / max(extraction.seconds, 1e-9)
    print(
        f"extracted {len(extraction.features)} songs "
        f"({extraction.audio_seconds / 3600:.2f} h of audio) "
        f"in {extraction.seconds:.1f} s with {options.workers or os.cpu_count()} worker(s): "
        f"{speed:.0f}x real time; {extraction.cache_hits} from cache"
    )
    print(dataset.skipped.summary())
    return 0


def recipe_record(settings: Settings, options: DataOptions, mcfg, tcfg) -> dict[str, Any]:
    """The ``recipe`` entry of a run's manifest: runnable again with ``--config`` (as JSON)."""
    data = {k: v for k, v in dataclasses.asdict(options).items() if k not in _MACHINE_FIELDS}
    data["label_scale"] = [options.label_scale.low, options.label_scale.high]
    model = {k: v for k, v in mcfg.to_dict().items() if k not in ("window_frames", "n_features")}
    return settings.record("export", "features", data=data, model=model, train=tcfg)


def train_and_write(
    settings: Settings, options: DataOptions, out: Path, spec_file: str | None = None
) -> dict:
    """Train on ``options``' data with ``settings``, write the run bundle, print its metrics."""
    from sentio.export.data.sources import load_prepared
    from sentio.export.evaluation.predict import metrics_table
    from sentio.export.model.run import run_manifest, write_run
    from sentio.export.model.train import fit

    spec = feature_spec(settings, spec_file)
    mcfg = model_config(settings, options.window, spec.n_features)
    tcfg = train_config(settings)
    prepared, extraction = load_prepared(options, spec)
    print(f"data: {prepared.summary()}")
    # The best model so far survives a crash or Ctrl-C here; it goes once the bundle is written.
    checkpoint = out.with_name(f"{out.name}.checkpoint.keras")
    outcome = fit(prepared, mcfg, tcfg, checkpoint=checkpoint)
    source = DataSource(options.kind, str(Path(options.path).resolve()))
    record = recipe_record(settings, options, mcfg, tcfg)
    manifest = run_manifest(prepared, mcfg, tcfg, outcome, extraction, source, recipe=record)
    write_run(out, manifest, outcome)
    checkpoint.unlink(missing_ok=True)
    print()
    print(metrics_table(outcome.metrics, "songs", title="per song (mean of its windows)"))
    print()
    print(metrics_table(outcome.metrics, "windows", title="per window"))
    print(f"\n{prepared.skipped.summary()}")
    print(f"wrote {out}/ (model.keras, sentio.json, metrics.json, history.csv, report.md)")
    return outcome.metrics


def cmd_fit(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    train_and_write(settings, data_options(settings), args.out, args.spec)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Generate music, train on it, and export the run: ``--out`` is a bundle
    ``sentio-listen --model OUT`` runs; the run is ``OUT-training``, the generated songs
    ``OUT-data`` (kept, so ``sentio-export --model OUT-training`` and ``evaluate`` find them)."""
    from sentio.export.cli.common import GATE_FAILED
    from sentio.export.conversion.exporter import ExportOptions, export_bundle, load_source
    from sentio.export.data.sources import prepare_for_model
    from sentio.export.data.synthetic import make_synthetic_dataset

    settings = settings_from(args, base="demo")
    demo = demo_config(settings)
    seed = train_config(settings).seed
    start = time.perf_counter()
    out = Path(args.out)
    run_dir = out.with_name(f"{out.name}-training")
    data_dir = out.with_name(f"{out.name}-data")
    print(
        f"generating {demo.songs} synthetic songs of {demo.duration_s:g} s "
        f"with known valence/arousal into {data_dir}/..."
    )
    manifest = make_synthetic_dataset(data_dir, demo.songs, demo.duration_s, seed=seed)
    settings.values.setdefault("data", {}).update(kind="manifest", path=manifest)
    options = data_options(settings)
    metrics = train_and_write(settings, options, run_dir, args.spec)
    print(f"\nexporting {run_dir} to {out}/ (TFLite, ONNX; verified against the float model)")
    source = load_source(run_dir)
    prepared, _ = prepare_for_model(source.manifest, options, own_splits=True)
    result = export_bundle(source, prepared, ExportOptions(), out)
    test = metrics["test"]["songs"]
    print(
        f"\ndemo done in {time.perf_counter() - start:.0f} s: test-split song CCC valence "
        f"{test['valence']['ccc']:.2f}, arousal {test['arousal']['ccc']:.2f}\n"
        f"listen with it: sentio-listen --model {out} --input SONG.wav"
    )
    if not result.passed:
        print(
            f"error: the accuracy-drop gate failed for an artifact (see {out}/report.md); "
            f"the bundle runs {result.manifest.default_artifact}",
            file=sys.stderr,
        )
        return GATE_FAILED
    return 0


def _run_and_data(args: argparse.Namespace, own_splits: bool):
    """A run bundle's Keras model and the labelled data prepared for it: its own splits
    (``own_splits``) or every song in one ``all`` split."""
    import keras
    from sentio.export.data.sources import prepare_for_model
    from sentio.runtime.manifest import load

    manifest = load(args.model)
    options = data_options(settings_from(args), model=manifest)
    prepared, _ = prepare_for_model(manifest, options, own_splits)
    model = keras.models.load_model(args.model / "model.keras", compile=False)
    return model, prepared


def cmd_evaluate(args: argparse.Namespace) -> int:
    from sentio.export.evaluation.predict import evaluate_model, metrics_table

    model, prepared = _run_and_data(args, own_splits=False)
    results = evaluate_model(model, prepared, args.emotion_threshold)
    print(metrics_table(results, "songs", title="per song"))
    print(metrics_table(results, "windows", title="per window"))
    print(prepared.skipped.summary())
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """A run's CRNN vs the ridge baseline on the run's own test split, with intervals."""
    from sentio.export.evaluation.compare import compare_with_baseline, comparison_markdown
    from sentio.export.evaluation.predict import keras_predictor

    model, prepared = _run_and_data(args, own_splits=True)
    result = compare_with_baseline(keras_predictor(model), prepared, args.emotion_threshold)
    text = comparison_markdown(result)
    print(text)
    if args.out:
        args.out.with_suffix(".md").write_text(text)
        args.out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from sentio.export.model.search import run_search

    settings = settings_from(args)
    options = data_options(settings)
    spec = feature_spec(settings, args.spec)

    def progress(event: str, **details) -> None:
        if event == "start":
            print(f"trial {details['index']}/{details['total']}: {details['params']}")
        elif event == "done":
            trial = details["trial"]
            print(
                f"  val song CCC valence {trial.val_ccc_valence:.3f} "
                f"arousal {trial.val_ccc_arousal:.3f}"
            )
        elif event == "out_of_time":
            print(f"time budget spent: {details['skipped']} trial(s) not run")

    result = run_search(
        search_config(settings),
        options,
        spec,
        model_config(settings, options.window, spec.n_features),
        train_config(settings),
        args.out,
        progress,
    )
    print(result.table)
    return 0


# ----------------------------------------------------------------------------- parser


def _threshold_arg(parser: argparse.ArgumentParser) -> None:
    default = TrainConfig().emotion_threshold
    parser.add_argument(
        "--emotion-threshold",
        type=float,
        default=default,
        help=f"both dimensions within this count as a correct emotion (default {default})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sentio-train",
        description="Train and evaluate Sentio's valence/arousal CRNN. Training needs "
        "labelled music (--emotify DIR | --deam DIR | --manifest CSV); `demo` needs none.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("extract", help="compute (and cache) features; prints the extraction time")
    add_data_args(p)
    p.set_defaults(func=cmd_extract)

    p = sub.add_parser(
        "fit",
        help="train the CRNN, evaluate it, write a run bundle",
        description="Train the CRNN on labelled data, evaluate it, write a run bundle. "
        "The defaults are the reference design's; `--config default_model` trains with the "
        "default model's recipe (export/recipes/default_model.toml).",
    )
    add_config_arg(p)
    add_data_args(p)
    add_model_args(p)
    add_train_args(p)
    p.add_argument("--out", type=Path, required=True, help="run bundle folder to write")
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("search", help="random or grid hyperparameter search within a budget")
    add_config_arg(p)
    add_data_args(p)
    add_model_args(p)
    add_train_args(p)
    add_search_args(p)
    p.add_argument("--out", type=Path, required=True, help="folder for results.md/json")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser(
        "evaluate", help="evaluate a run bundle on a labelled dataset (all its songs)"
    )
    add_data_args(p)
    p.add_argument("--model", type=Path, required=True, help="run bundle folder")
    _threshold_arg(p)
    p.add_argument("--json", type=Path, help="also write the metrics as JSON")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        "compare",
        help="a run vs the ridge baseline on its own test split, with bootstrap 95%% intervals",
    )
    add_data_args(p)
    p.add_argument("--model", type=Path, required=True, help="run bundle folder")
    _threshold_arg(p)
    p.add_argument("--out", type=Path, help="also write OUT.md and OUT.json")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser(
        "demo",
        help="train a small CRNN on generated music and export it (no data needed)",
        description="Train a small CRNN on generated music and export it: OUT is a bundle "
        "sentio-listen --model OUT runs (the training run is OUT-training, the generated "
        "songs OUT-data). Its settings are the recipe "
        "export/recipes/demo.toml (or --config FILE); the options below override them, and "
        "fields neither sets take the defaults shown.",
    )
    add_config_arg(p, what="; default: demo")
    add_demo_args(p)
    add_model_args(p)
    add_train_args(p)
    p.add_argument("--spec", metavar="KIND|JSON", help="the frame: mfcc, mixed or a spec JSON")
    p.add_argument(
        "--out",
        type=Path,
        default=Path("runs/demo"),
        help="the exported bundle (default runs/demo; also writes OUT-training, OUT-data)",
    )
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    return run_command(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
