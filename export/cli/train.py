"""``sentio-train``: extract features, train, search and evaluate the CRNN.

Subcommands share the data options (``--emotify DIR | --deam DIR | --manifest CSV``); ``fit``,
``search`` and ``demo`` also run a recipe file (``--config FILE``, see export/recipes/), whose
fields the options given override. This module only parses, calls the library and prints.
Exit codes: 0 success, 1 a gate failed, 2 bad input or configuration, 3 no Ray cluster answers
at the ``--ray`` address (extract, search), 130 interrupted (Ctrl-C), 143 terminated (SIGTERM);
neither leaves a half-written bundle behind.

``--out`` (fit, search, demo) is written where nothing is or into an empty folder; what an
earlier run wrote there is replaced only with ``--force``; a file, or a folder holding anything
else, is refused (exit 2) before any work starts.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
from pathlib import Path

from sentio.export.cli.common import GATE_FAILED, run_command
from sentio.export.cli.cv import add_cv_parser
from sentio.export.cli.options import (
    add_config_arg,
    add_data_args,
    add_demo_args,
    add_model_args,
    add_search_args,
    add_train_args,
    error_flags,
    force_arg,
    live_conditions,
    parse_live_limits,
    settings_from,
    train_run_config,
)
from sentio.export.data.conditions import CONDITIONS, DEFAULT_SET
from sentio.export.data.sources import DataOptions
from sentio.export.evaluation.robustness import LiveLimits, RobustnessConfig
from sentio.export.model.config import TrainConfig
from sentio.export.pipelines.demo import DemoRunConfig, demo_data_dir, demo_manifest, demo_run
from sentio.export.pipelines.train import train_run
from sentio.runtime.errors import ConfigError

# ----------------------------------------------------------------------------- commands


def cmd_extract(args: argparse.Namespace) -> int:
    from sentio.export.data.sources import load_features

    run = settings_from(args)
    options = run.data_options()
    ray = ray_options(args)
    dataset, extraction = load_features(options, run.features, ray=ray)
    speed = extraction.audio_seconds / max(extraction.seconds, 1e-9)
    print(
        f"extracted {len(extraction.features)} songs "
        f"({extraction.audio_seconds / 3600:.2f} h of audio) "
        f"in {extraction.seconds:.1f} s with {_extract_backend(options, ray)}: "
        f"{speed:.0f}x real time; {extraction.cache_hits} from cache"
    )
    print(dataset.skipped.summary())
    return 0


def cmd_fit(args: argparse.Namespace) -> int:
    run = settings_from(args)
    for teacher in args.teachers:
        if not (teacher / "sentio.json").is_file():
            raise ConfigError(
                f"--teachers {teacher}: not a run bundle (no sentio.json)",
                hint="give the --out folders of earlier sentio-train fit runs",
            )
    config = train_run_config(run, run.data_options(), args.out, args.force)
    trained = train_run(dataclasses.replace(config, teachers=tuple(args.teachers)))
    print(trained.report())
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Generate music, train on it, and export the run: ``--out`` is a bundle
    ``sentio-listen --model OUT`` runs; the run is ``OUT-training``, the generated songs
    ``OUT-data`` (kept, so ``sentio-export --model OUT-training`` and ``evaluate`` find them)."""
    out = Path(args.out)
    songs = demo_manifest(demo_data_dir(out))
    run = settings_from(args, base="demo").with_data(kind="manifest", path=songs)
    train = train_run_config(run, run.data_options(), out, args.force)
    demo = demo_run(DemoRunConfig.beside(out, run.demo, train))
    print(demo.trained.report())
    test = demo.test_songs
    print(
        f"\ndemo done in {demo.seconds:.0f} s: test-split song CCC valence "
        f"{test.dimension('valence').ccc:.2f}, arousal {test.dimension('arousal').ccc:.2f}\n"
        f"listen with it: sentio-listen --model {out} --input {_a_demo_song(songs)}"
    )
    if not demo.exported.passed:
        print(
            f"error: the accuracy-drop gate failed for an artifact (see {out}/report.md); "
            f"the bundle runs {demo.exported.manifest.default_artifact}",
            file=sys.stderr,
        )
        return GATE_FAILED
    return 0


def _a_demo_song(manifest: Path) -> Path:
    """A song the demo generated (its manifest's first row), for the closing hint."""
    import csv

    with open(manifest, newline="") as fh:
        first = next(csv.DictReader(fh))
    return manifest.parent / first["path"]


def _run_and_data(args: argparse.Namespace, own_splits: bool):
    """A run bundle's Keras model and the labelled data prepared for it: its own splits
    (``own_splits``) or every song in one ``all`` split."""
    import keras
    from sentio.export.data.sources import prepare_for_model
    from sentio.runtime.manifest import load

    manifest = load(args.model)
    options = settings_from(args).data_options(model=manifest)
    prepared, _ = prepare_for_model(manifest, options, own_splits)
    model = keras.models.load_model(args.model / "model.keras", compile=False)
    return model, prepared


def cmd_evaluate(args: argparse.Namespace) -> int:
    from sentio.export.model.predict import evaluate_model, level, metrics_table
    from sentio.runtime.manifest import as_json

    model, prepared = _run_and_data(args, own_splits=False)
    results = evaluate_model(model, prepared, args.emotion_threshold)
    print(metrics_table(level(results, "songs"), title="per song"))
    print(metrics_table(level(results, "windows"), title="per window"))
    print(prepared.skipped.summary())
    if args.json:
        args.json.write_text(json.dumps(as_json(results), indent=2) + "\n")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """A run's CRNN vs the ridge baseline on the run's own test split, with intervals."""
    from sentio.export.evaluation.compare import compare_with_baseline, comparison_markdown
    from sentio.export.model.predict import keras_predictor

    model, prepared = _run_and_data(args, own_splits=True)
    result = compare_with_baseline(keras_predictor(model), prepared, args.emotion_threshold)
    text = comparison_markdown(result)
    print(text)
    if args.out:
        args.out.with_suffix(".md").write_text(text)
        args.out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    return 0


def cmd_robustness(args: argparse.Namespace) -> int:
    """A bundle's song-level predictions under live conditions (level, speaker, room, noise,
    capture rate) against clean, on its test songs."""
    import tempfile

    from sentio.export.evaluation.robustness import score_bundle
    from sentio.runtime.manifest import load

    bundle = args.bundle or _default_bundle()
    manifest = load(bundle)
    config = RobustnessConfig(
        args.conditions, args.seed, args.hop, args.excerpt, limits=args.max_live_drop
    )
    with tempfile.TemporaryDirectory(prefix="sentio-generated-") as tmp:
        songs, data, generated = _live_songs(args, manifest, Path(tmp))
        if args.max_songs is not None:
            songs = songs[: args.max_songs]
        result = score_bundle(bundle, songs, config, data, generated, args.artifact)
    text = result.markdown()
    print(text, end="")
    if args.out:
        args.out.with_suffix(".md").write_text(text)
        args.out.with_suffix(".json").write_text(json.dumps(result.to_dict(), indent=1) + "\n")
    if not result.passed:
        print(
            "error: the live-conditions gate failed: " + "; ".join(result.failures),
            file=sys.stderr,
        )
        return GATE_FAILED
    return 0


def _default_bundle() -> Path:
    from sentio.runtime.model import default_bundle

    bundle = default_bundle()
    if bundle is None:
        raise ConfigError("this install has no default model", hint="pass --bundle DIR")
    return bundle


def _live_songs(args: argparse.Namespace, manifest, scratch: Path):
    """The labelled songs to render: the data given (the bundle's test split of it when it
    names one), else generated music (said so). No path is read from the bundle."""
    from sentio.export.evaluation.robustness import bundle_songs, generated_songs
    from sentio.runtime.manifest import load

    given = settings_from(args).data_options(required=False, model=manifest)
    if given is not None:
        split_from = load(args.songs_of) if args.songs_of else manifest
        songs, data = bundle_songs(split_from, given, args.split)
        if args.songs_of:
            data = f"{data} of {args.songs_of}"
        return songs, data, False
    logging.getLogger("sentio.export").warning(
        "no labelled data given: scoring on generated music; the "
        "shifts are real, the accuracy is against the generator's labels (pass --emotify "
        "DIR | --deam DIR | --manifest CSV for real songs)"
    )
    songs = generated_songs(manifest.feature_spec, manifest.window.seconds, scratch)
    return songs, "generated music", True


def cmd_search(args: argparse.Namespace) -> int:
    from sentio.export.model.search import run_search

    run = settings_from(args)
    options = run.data_options()

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
        run.search,
        options,
        run.features,
        run.model,
        run.train,
        args.out,
        progress,
        ray=ray_options(args),
        replace=args.force,
    )
    print(result.table)
    return 0


def ray_options(args: argparse.Namespace):
    """``--ray [ADDRESS]`` as :class:`~sentio.export.distributed.RayOptions`, or None."""
    from sentio.export.distributed import RayOptions

    return RayOptions(args.ray) if getattr(args, "ray", None) is not None else None


def _extract_backend(options: DataOptions, ray) -> str:
    if ray is not None:
        return f"Ray tasks ({ray.address})"
    return f"{options.workers or os.cpu_count()} worker(s)"


def _ray_arg(parser: argparse.ArgumentParser, what: str) -> None:
    from sentio.export.distributed import LOCAL

    parser.add_argument(
        "--ray",
        nargs="?",
        const=LOCAL,
        metavar="ADDRESS",
        help=f"{what} on Ray: a local one, or the cluster at ADDRESS (HOST:PORT, auto); "
        "needs the ray extra (firmware_notes/cluster.md)",
    )


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
    _ray_arg(p, "extract the songs as tasks")
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
    p.add_argument(
        "--teachers",
        type=Path,
        nargs="+",
        default=[],
        metavar="RUN",
        help="distil: learn from the mean of these runs' models (earlier fit runs on the "
        "same data and split; --distill-weight sets their share of the loss)",
    )
    force_arg(p)
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("search", help="random or grid hyperparameter search within a budget")
    add_config_arg(p)
    add_data_args(p)
    add_model_args(p)
    add_train_args(p)
    add_search_args(p)
    p.add_argument("--out", type=Path, required=True, help="folder for results.md/json")
    force_arg(p, "the results")
    _ray_arg(p, "run the trials in parallel through Ray Tune")
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
        "robustness",
        help="a bundle's predictions under live conditions (level, speaker, room, noise, "
        "capture rate) vs clean",
        description="Render a bundle's test songs as a device would hear them (level, small "
        "speaker, rooms, noise, 44.1/48 kHz capture), run the bundle's model on each through "
        "the runtime's path, and report per condition how far the song-level predictions move "
        "from clean and the accuracy lost (CCC, or sign AUC for +-1 labels). The data: the "
        "options below, else generated music.",
        epilog="conditions: " + ", ".join(CONDITIONS) + f". default: {', '.join(DEFAULT_SET)}.",
    )
    add_data_args(p, required=False)
    p.add_argument(
        "--bundle", type=Path, help="an exported bundle (default: the bundled default model)"
    )
    p.add_argument("--artifact", help="the model file to run (default: the bundle's choice)")
    p.add_argument(
        "--split",
        choices=("test", "val", "train"),
        default="test",
        help="which of the bundle's recorded splits to render (default test; val compares "
        "candidates without looking at the test songs)",
    )
    p.add_argument(
        "--songs-of",
        type=Path,
        metavar="BUNDLE",
        help="take --split from this bundle's recorded splits instead, so two bundles trained "
        "on different splits are rendered on the same songs",
    )
    defaults = RobustnessConfig()
    p.add_argument(
        "--conditions",
        type=live_conditions,
        default=defaults.conditions,
        metavar="SET|NAMES",
        help="default, full or comma-separated names (below) (default %(default)s)",
    )
    p.add_argument(
        "--seed", type=int, default=defaults.seed, help="rendering seed (default %(default)s)"
    )
    p.add_argument(
        "--hop",
        type=float,
        default=defaults.hop_s,
        metavar="SECONDS",
        help="seconds between the windows averaged per song (default %(default)s)",
    )
    p.add_argument(
        "--max-live-drop",
        type=parse_live_limits,
        nargs="?",
        const=LiveLimits(),
        metavar="SPEC",
        help="exit 1 when a condition costs more: accuracy=A,shift=S (alone: "
        "accuracy=0.03,shift=0.06; default: report only)",
    )
    p.add_argument(
        "--excerpt",
        type=float,
        metavar="SECONDS",
        help="score only each song's first SECONDS (default: whole songs)",
    )
    p.add_argument("--max-songs", type=int, metavar="N", help="score only the first N songs")
    p.add_argument("--out", type=Path, help="also write OUT.md and OUT.json")
    p.set_defaults(func=cmd_robustness)

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
    force_arg(p, "the bundle, run and songs")
    p.set_defaults(func=cmd_demo)

    add_cv_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    return run_command(parser, argv, error_flags())


if __name__ == "__main__":
    sys.exit(main())
