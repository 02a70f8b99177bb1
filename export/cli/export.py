"""``sentio-export``: a trained CRNN -> TFLite (float32/float16/dynamic/int8) + ONNX, verified.

    sentio-export --model runs/emotify --int8 --out sentio-model   # a run of sentio-train fit
    sentio-export --train --emotify DIR --int8 --out sentio-model   # train first, then export
    sentio-export --int8 --emotify DIR                              # re-export the default model
    sentio-export --check --model sentio-model --manifest held_out.csv   # a CI gate

The data (for the calibration set and the held-out test split) is the run's own, found again
through its manifest; pass ``--emotify/--deam/--manifest`` where it has moved.
Exit codes: 0 success, 1 the accuracy-drop gate failed, 2 bad input, 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from sentio.export.cli.train import (
    add_data_args,
    add_model_args,
    add_train_args,
    data_options,
    feature_spec,
    run_command,
    train_and_write,
)
from sentio.export.conversion.calibrate import DEFAULT_SIZE
from sentio.export.conversion.gate import DropLimits
from sentio.export.conversion.tflite import FLOAT_TFLITE_KINDS, ONNX_INT8_MODES
from sentio.export.data.sources import DataOptions
from sentio.runtime.errors import ConfigError

log = logging.getLogger("sentio")
GATE_FAILED = 1


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected sizes like 25,100,300, got {text!r}") from err
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError("calibration sizes must be at least 1")
    return sizes


def _kinds(text: str) -> tuple[str, ...]:
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    bad = [k for k in kinds if k not in FLOAT_TFLITE_KINDS]
    if bad or not kinds:
        raise argparse.ArgumentTypeError(
            f"TFLite kinds are some of {FLOAT_TFLITE_KINDS}, got {text!r}"
        )
    return kinds


def _limits(text: str) -> DropLimits:
    try:
        return DropLimits.parse(text)
    except ConfigError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


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
    g = parser.add_argument_group("quantization")
    g.add_argument(
        "--int8", action="store_true", help="also full-integer TFLite and int8 ONNX (calibrated)"
    )
    g.add_argument("--float-io", action="store_true", help="int8 TFLite with float input/output")
    g.add_argument(
        "--onnx-int8",
        choices=ONNX_INT8_MODES,
        default="dynamic",
        help="dynamic (default: LSTM quantized too, smallest, most accurate) or static QDQ "
        "(LSTM stays float; faster on x86)",
    )
    g.add_argument("--calibration-size", type=int, default=DEFAULT_SIZE, help="windows (300)")
    g.add_argument("--calibration-seed", type=int, default=0)
    g.add_argument("--calibration", type=Path, metavar="NPZ", help="reuse a saved set")
    g.add_argument("--save-calibration", type=Path, metavar="NPZ", help="save the set used")
    g.add_argument(
        "--calibration-study",
        type=_sizes,
        default=(),
        metavar="N,N,...",
        help="also measure the int8 drop for these set sizes, e.g. 25,100,300,1000",
    )
    g.add_argument(
        "--tflite",
        type=_kinds,
        default=FLOAT_TFLITE_KINDS,
        metavar="KINDS",
        help="float TFLite variants (default float32,float16,dynamic; --int8 adds int8)",
    )
    g.add_argument("--c-array", action="store_true", help="int8 model as a C array for TFLM")
    g.add_argument("--no-keras", action="store_true", help="leave model.keras out of the bundle")
    g = parser.add_argument_group("accuracy-drop gate")
    g.add_argument(
        "--max-drop",
        type=_limits,
        default=DropLimits(),
        metavar="SPEC",
        help="limits vs float, e.g. ccc=0.03,rmse=0.02,emotion_accuracy=0.05,mean_abs_diff=0.05 "
        "(these are the defaults)",
    )
    g.add_argument(
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
    if args.check:
        return cmd_check(args)
    from sentio.export.conversion.exporter import ExportOptions, export_bundle, load_source
    from sentio.export.conversion.gate import drop_table

    if args.c_array and not args.int8:
        raise ConfigError("--c-array writes the int8 model", hint="add --int8")
    start = time.perf_counter()
    if args.train and args.model:
        raise ConfigError("--train and --model exclude each other", hint="pass one of them")
    model_path = args.model or _train_or_default(args)
    source = load_source(model_path)
    prepared = _prepare_for(source, args)
    print(f"data: {prepared.summary()}")
    options = ExportOptions(
        int8=args.int8,
        int8_io=not args.float_io,
        onnx_int8=args.onnx_int8,
        calibration_size=args.calibration_size,
        calibration_seed=args.calibration_seed,
        calibration=args.calibration,
        save_calibration=args.save_calibration,
        study_sizes=args.calibration_study,
        limits=args.max_drop,
        tflite_kinds=args.tflite,
        c_array=args.c_array,
        include_keras=not args.no_keras,
        threshold=args.emotion_threshold,
    )
    result = export_bundle(source, prepared, options, args.out)
    print()
    print(drop_table(result.checks))
    print()
    for m in result.manifest["models"]:
        print(f"  {m['file']:<22} {m['bytes'] / 1024:7.0f} KB  {m['note']}")
    print(
        f"\nwrote {args.out}/ in {time.perf_counter() - start:.0f} s "
        f"(default artifact: {result.manifest['default_artifact']}; see report.md)"
    )
    if not result.passed:
        print(
            "error: the accuracy-drop gate failed for the artifacts marked FAIL above\n"
            "  hint: try a larger or more varied --calibration-size, --onnx-int8 static, or "
            "loosen --max-drop if the drop is acceptable for your product",
            file=sys.stderr,
        )
        return GATE_FAILED
    return 0


def _train_or_default(args: argparse.Namespace) -> Path:
    """Train on the data given (``--train``; the run is kept) or use the default model."""
    if args.train:
        if not _has_data(args):
            raise ConfigError(
                "--train needs data", hint="add --emotify DIR | --deam DIR | --manifest CSV"
            )
        run_dir = args.training_out or args.out.with_name(f"{args.out.name}-training")
        train_and_write(args, data_options(args), run_dir)
        return run_dir
    from sentio.runtime.model import default_bundle

    default = default_bundle()
    if default is None:
        raise ConfigError(
            "no model to export: Sentio does not ship a default model yet",
            hint="pass --model RUN_DIR (from sentio-train fit), or --train with data "
            "(--emotify DIR | --deam DIR | --manifest CSV)",
        )
    return default


def _has_data(args: argparse.Namespace) -> bool:
    return any(getattr(args, k, None) for k in ("emotify", "deam", "manifest"))


def _data_for(source_manifest: dict, args: argparse.Namespace) -> DataOptions:
    """The data given on the command line, else the run's own (from its manifest)."""
    if _has_data(args):
        return data_options(args)
    recorded = source_manifest.get("data", {}).get("source", {})
    path = Path(recorded["path"]) if recorded.get("path") else None
    if path is None or not path.exists():
        where = f" (it was read from {path}, which is gone)" if path else ""
        raise ConfigError(
            f"the model's training data is needed for calibration and the test split{where}",
            hint="pass it: --emotify DIR | --deam DIR | --manifest CSV",
        )
    setattr(args, recorded["kind"], path)
    return data_options(args)


def _prepare_for(source, args: argparse.Namespace):
    from sentio.export.data.sources import load_prepared

    options = _data_for(source.manifest, args)
    options.window = source.config.window_frames
    window = source.manifest.get("window", {})
    options.stride = window.get("train_stride_frames", options.stride)
    splits = source.manifest.get("data", {}).get("splits")
    if source.stats is not None and splits:
        prepared, _ = load_prepared(options, source.spec, source.stats, splits)
    else:
        log.warning(
            "no normalization or splits recorded with %s: splitting the data with seed %d and "
            "fitting normalization on its training split",
            source.description,
            options.split_seed,
        )
        prepared, _ = load_prepared(options, feature_spec(args) if args.spec else source.spec)
    return prepared


def cmd_check(args: argparse.Namespace) -> int:
    from sentio.export.conversion.gate import check_bundle

    if args.model is None or not _has_data(args):
        raise ConfigError(
            "--check needs an exported bundle and labelled data",
            hint="sentio-export --check --model BUNDLE --manifest CSV (or --emotify/--deam)",
        )
    passed = check_bundle(args.model, data_options(args), args.max_drop, args.emotion_threshold)
    return 0 if passed else GATE_FAILED


def main(argv: list[str] | None = None) -> int:
    return run_command(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
