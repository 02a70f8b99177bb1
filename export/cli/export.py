"""``sentio-export``: a trained CRNN -> TFLite (float32/float16/dynamic/int8) + ONNX, verified.

    sentio-export --int8                                            # re-export the default model
    sentio-export --model runs/emotify --int8 --out sentio-model   # a run of sentio-train fit
    sentio-export --train --emotify DIR --int8 --out sentio-model   # train first, then export
    sentio-export --train --config default_model --emotify DIR      # the default model's recipe
    sentio-export --check --model sentio-model --manifest held_out.csv   # a CI gate

The data (for the calibration set and the held-out test split) is the run's own, given with
``--emotify/--deam/--manifest`` (a manifest records dataset names, never a path to read again).
The bundled default model, with no data given, is calibrated and verified against its float
model on generated music (accuracy against labels needs the labelled data).
Exit codes: 0 success, 1 the accuracy-drop (or --max-live-drop) gate failed, 2 bad input,
130 interrupted (Ctrl-C), 143 terminated (SIGTERM); neither leaves a half-written bundle behind.
--out (and --training-out) is written where nothing is or into an empty folder; a bundle an
earlier run wrote there is replaced only with --force; a file, or a folder holding anything
else, is refused (exit 2) before any work starts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sentio.export.cli.common import GATE_FAILED, run_command
from sentio.export.cli.options import (
    add_config_arg,
    add_data_args,
    add_export_args,
    add_model_args,
    add_train_args,
    error_flags,
    force_arg,
    settings_from,
    train_run_config,
)
from sentio.export.conversion.gate import drop_table
from sentio.export.pipelines.export import ExportRunConfig, export_run
from sentio.export.recipes.run import RunConfig
from sentio.runtime.errors import ConfigError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sentio-export",
        description="Convert a trained Sentio CRNN to TFLite and ONNX, quantize it, and check "
        "what quantization costs on held-out songs.",
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument(
        "--model",
        type=Path,
        help="a run bundle (sentio-train fit --out) or its model.keras; "
        "default: the bundled default model",
    )
    parser.add_argument(
        "--train",
        action="store_true",
        help="train a model on the data given first (sentio-train fit's options), then export",
    )
    add_config_arg(parser, what=": its export settings, and its training ones with --train")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("sentio-model"),
        help="bundle folder to write (default ./sentio-model)",
    )
    parser.add_argument(
        "--training-out",
        type=Path,
        metavar="DIR",
        help="when training first: where the training run goes (default OUT-training)",
    )
    force_arg(parser, "the bundle (and with --train the training run)")
    add_export_args(parser)
    parser.add_argument(
        "--check",
        action="store_true",
        help="only check an exported bundle (--model) on a labelled dataset; no conversion",
    )
    add_data_args(parser, required=False)
    add_model_args(parser)
    add_train_args(parser)
    parser.set_defaults(func=cmd_export)
    return parser


def cmd_export(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    if args.check:
        return cmd_check(args, settings)
    run = export_run(export_run_config(args, settings))
    result = run.result
    if run.trained is not None:
        print(run.trained.report())
    print()
    print(drop_table(result.checks))
    if result.live is not None:
        print(f"\nlive conditions ({result.live.artifact}, per song):")
        print(result.live.table())
    print()
    for m in result.manifest.models:
        print(f"  {m.file:<22} {(m.bytes or 0) / 1024:7.0f} KB  {m.note}")
    print(
        f"\nwrote {args.out}/ in {run.seconds:.0f} s "
        f"(default artifact: {result.manifest.default_artifact}; see report.md)"
    )
    _print_cache(settings)
    if not all(c.passed for c in result.checks.values()):
        print(
            "error: the accuracy-drop gate failed for the artifacts marked FAIL above\n"
            "  hint: try a larger or more varied --calibration-size, --onnx-int8 static, or "
            "loosen --max-drop if the drop is acceptable for your product",
            file=sys.stderr,
        )
        return GATE_FAILED
    if result.live is not None and not result.live.passed:
        _live_failed(result.live)
        return GATE_FAILED
    print(
        f"next: sentio-listen --model {args.out} --input SONG.wav (a file) or --device hw:1 "
        "(a microphone); sentio-listen --list-devices shows the devices"
    )
    return 0


def _print_cache(settings: RunConfig) -> None:
    """Name the feature cache a run with data filled, its size and how to clear it."""
    if not settings.has_data:
        return
    folder = settings.data.cache_dir
    if folder is None or not Path(folder).is_dir():
        return
    size = sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file())
    print(
        f"feature cache: {folder} holds {size / 2**20:.0f} MB (reused by the next run on the "
        "same data; delete the folder to free it, or pass --no-cache)"
    )


def export_run_config(args: argparse.Namespace, settings: RunConfig) -> ExportRunConfig:
    """The typed config of ``sentio-export``'s options (without ``--check``)."""
    options = settings.export
    if options.c_array and not options.int8:
        raise ConfigError("--c-array writes the int8 model", hint="add --int8")
    if args.train and args.model:
        raise ConfigError("--train and --model exclude each other", hint="pass one of them")
    train = None
    if args.train:
        if not settings.has_data:
            kind = settings.values.get("data", {}).get("kind")
            raise ConfigError(
                "--train needs data" + (f": the recipe trains on {kind}" if kind else ""),
                hint=f"add --{kind} DIR"
                if kind in ("emotify", "deam")
                else "add --emotify DIR | --deam DIR | --manifest CSV",
            )
        run_dir = args.training_out or args.out.with_name(f"{args.out.name}-training")
        train = train_run_config(settings, settings.data_options(), run_dir, args.force)
    return ExportRunConfig(
        out=args.out,
        options=options,
        model=args.model,
        train=train,
        data=settings.data_options(required=False),
        scale_from_model=not settings.sets("data.label_scale"),
        workers=settings.data.workers,
        progress=settings.data.progress,
        replace=args.force,
    )


def _live_failed(live) -> None:
    print(
        "error: the live-conditions gate failed: "
        + "; ".join(live.failures)
        + "\n  hint: the model is not robust to what a device hears; train with audio "
        "augmentation, or loosen --max-live-drop (omit it to report only)",
        file=sys.stderr,
    )


def cmd_check(args: argparse.Namespace, settings: RunConfig) -> int:
    from sentio.export.conversion.gate import check_bundle, drop_table
    from sentio.runtime.manifest import read

    model = read(args.model) if args.model is not None else None
    given = settings.data_options(required=False, model=model)
    if args.model is None or given is None:
        raise ConfigError(
            "--check needs an exported bundle and labelled data",
            hint="sentio-export --check --model BUNDLE --manifest CSV (or --emotify/--deam)",
        )
    options = settings.export
    result = check_bundle(args.model, given, options.limits, settings.train.emotion_threshold)
    print(f"data: {result.prepared.summary()}")
    print(drop_table(result.checks))
    print(result.prepared.skipped.summary())
    live = None
    if options.live_conditions.strip() != "none":
        from sentio.export.evaluation.robustness import RobustnessConfig, score_bundle

        songs = [s.song for s in result.prepared.splits["all"]]
        config = RobustnessConfig(options.live_conditions, limits=options.live_limits)
        data = f"{result.prepared.dataset.name}, all songs"
        live = score_bundle(args.model, songs, config, data)
    if live is not None:
        print(f"\nlive conditions ({live.artifact}, per song):")
        print(live.markdown())
    if not result.passed:
        return GATE_FAILED
    if live is not None and not live.passed:
        _live_failed(live)
        return GATE_FAILED
    return 0


#: The export pipeline's own settings, by the options that set them.
PIPELINE_FLAGS = {
    "ExportRunConfig.model": "--model",
    "ExportRunConfig.train.out": "--training-out",
    "ExportRunConfig.train": "--train",
    "ExportRunConfig.out": "--out",
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    return run_command(parser, argv, error_flags(PIPELINE_FLAGS))


if __name__ == "__main__":
    sys.exit(main())
