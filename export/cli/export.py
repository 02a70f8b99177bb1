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
import dataclasses
import logging
import sys
import tempfile
import time
from pathlib import Path

from sentio.export.cli.common import GATE_FAILED, run_command
from sentio.export.cli.options import (
    Settings,
    add_config_arg,
    add_data_args,
    add_export_args,
    add_model_args,
    add_train_args,
    data_options,
    export_options,
    has_data,
    settings_from,
    train_config,
)
from sentio.export.cli.train import force_arg, train_and_write
from sentio.export.data.sources import DataOptions
from sentio.runtime.errors import ConfigError

log = logging.getLogger("sentio.export")

#: Generated music for verifying the default model when its training data is not here:
#: songs, and song length in windows (2.5 windows of 12 s: 7 windows per song at a 3 s stride).
GENERATED_SONGS = 48
GENERATED_WINDOWS_PER_SONG = 2.5


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
    from sentio.export.conversion.exporter import export_bundle, load_source
    from sentio.export.conversion.gate import drop_table

    options = export_options(settings)
    if options.c_array and not options.int8:
        raise ConfigError("--c-array writes the int8 model", hint="add --int8")
    if args.train and args.model:
        raise ConfigError("--train and --model exclude each other", hint="pass one of them")
    _check_outputs(args)
    start = time.perf_counter()
    model_path = args.model or _train_or_default(args, settings)
    source = load_source(model_path)
    with tempfile.TemporaryDirectory(prefix="sentio-generated-") as tmp:
        prepared, generated = _prepare(source, settings, model_path, Path(tmp))
        print(f"data: {prepared.summary()}" + (" (generated music)" if generated else ""))
        options = dataclasses.replace(options, generated_data=generated)
        result = export_bundle(source, prepared, options, args.out, args.force)
    print()
    print(drop_table(result.checks))
    if result.live is not None:
        print(f"\nlive conditions ({result.live.artifact}, per song):")
        print(result.live.table())
    print()
    for m in result.manifest.models:
        print(f"  {m.file:<22} {(m.bytes or 0) / 1024:7.0f} KB  {m.note}")
    print(
        f"\nwrote {args.out}/ in {time.perf_counter() - start:.0f} s "
        f"(default artifact: {result.manifest.default_artifact}; see report.md)"
    )
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
    return 0


def _training_out(args: argparse.Namespace) -> Path:
    return args.training_out or args.out.with_name(f"{args.out.name}-training")


def _check_outputs(args: argparse.Namespace) -> None:
    """``--out`` (and ``--training-out``) checked before training or converting: nothing there,
    an empty folder, or (``--force``) an earlier bundle; never the model being exported."""
    from sentio.runtime.bundle import check_out_dir
    from sentio.runtime.errors import OutputPathError

    check_out_dir(args.out, args.force)
    inputs = []
    if args.model is not None:
        model = Path(args.model)
        inputs.append(("--model", model.parent if model.is_file() else model))
    if args.train:
        check_out_dir(_training_out(args), args.force, option="--training-out")
        inputs.append(("--training-out", _training_out(args)))
    for option, path in inputs:
        if path.absolute().resolve() == args.out.absolute().resolve():
            raise OutputPathError(
                f"--out {args.out} is the {option} folder: the export would replace it",
                hint="choose another --out",
            )


def _live_failed(live) -> None:
    print(
        "error: the live-conditions gate failed: "
        + "; ".join(live.failures)
        + "\n  hint: the model is not robust to what a device hears; train with audio "
        "augmentation, or loosen --max-live-drop (omit it to report only)",
        file=sys.stderr,
    )


def _train_or_default(args: argparse.Namespace, settings: Settings) -> Path:
    """Train on the data given (``--train``; the run is kept) or use the default model."""
    if args.train:
        if not has_data(settings):
            kind = settings.section("data").get("kind")
            raise ConfigError(
                "--train needs data" + (f": the recipe trains on {kind}" if kind else ""),
                hint=f"add --{kind} DIR"
                if kind in ("emotify", "deam")
                else "add --emotify DIR | --deam DIR | --manifest CSV",
            )
        options = data_options(settings)
        run_dir = _training_out(args)
        train_and_write(settings, options, run_dir, args.spec, args.force)
        return run_dir
    from sentio.runtime.model import default_bundle

    default = default_bundle()
    if default is None:
        raise ConfigError(
            "no model to export: this install has no bundled default model",
            hint="pass --model RUN_DIR (from sentio-train fit), or --train with data "
            "(--emotify DIR | --deam DIR | --manifest CSV)",
        )
    return default


def _prepare(source, settings: Settings, model_path: Path, scratch: Path):
    """The source model's data, prepared for it: the data given, else (the bundled default
    model only) generated music; and whether it is generated. No path is read from the
    manifest: the same command takes the same data path on every machine."""
    from sentio.export.data.sources import prepare_for_model
    from sentio.runtime.model import default_bundle

    manifest = source.manifest
    own_splits = bool(manifest.data.splits)
    given = data_options(settings, required=False, model=manifest)
    if given is not None:
        return prepare_for_model(manifest, given, own_splits)[0], False
    machine = _machine_fields(settings)
    trained_on = manifest.data.dataset
    where = f" (it was trained on {trained_on})" if trained_on else ""
    default = default_bundle()
    if default is None or Path(model_path).resolve() != default.resolve():
        raise ConfigError(
            f"the model's training data is needed for calibration and the test split{where}",
            hint="pass it: --emotify DIR | --deam DIR | --manifest CSV",
        )
    return _generated(manifest, machine, scratch, where), True


def _machine_fields(settings: Settings) -> dict:
    """The data options that are about this machine (cache, cores, progress bars)."""
    values = settings.section("data")
    defaults = DataOptions(kind="manifest", path=Path())
    return {
        "cache_dir": values.get("cache_dir", defaults.cache_dir),
        "workers": values.get("workers", defaults.workers),
        "progress": values.get("progress", defaults.progress),
    }


def _generated(manifest, machine: dict, scratch: Path, where: str):
    """Generated music prepared for the model: half its songs calibrate, half verify."""
    from sentio.export.data.sources import prepare_for_model
    from sentio.export.data.synthetic import make_synthetic_dataset

    seconds = manifest.window.seconds * GENERATED_WINDOWS_PER_SONG
    log.info(
        "no labelled data%s: calibrating and verifying every artifact against the float "
        "model on %d generated songs of %.0f s. The vs-float differences are real; the "
        "accuracy numbers are not (the labels are the generator's): for those pass the "
        "labelled data, e.g. --emotify DIR",
        where,
        GENERATED_SONGS,
        seconds,
    )
    csv = make_synthetic_dataset(
        scratch, GENERATED_SONGS, seconds, manifest.feature_spec.sample_rate, seed=0
    )
    options = DataOptions(kind="manifest", path=csv, **{**machine, "cache_dir": None})
    prepared, _ = prepare_for_model(manifest, options, own_splits=False)
    songs = prepared.splits["all"]
    return dataclasses.replace(prepared, splits={"train": songs[0::2], "test": songs[1::2]})


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from sentio.export.conversion.gate import check_bundle, drop_table
    from sentio.runtime.manifest import read

    model = read(args.model) if args.model is not None else None
    given = data_options(settings, required=False, model=model)
    if args.model is None or given is None:
        raise ConfigError(
            "--check needs an exported bundle and labelled data",
            hint="sentio-export --check --model BUNDLE --manifest CSV (or --emotify/--deam)",
        )
    options = export_options(settings)
    result = check_bundle(
        args.model, given, options.limits, train_config(settings).emotion_threshold
    )
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


def main(argv: list[str] | None = None) -> int:
    return run_command(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
