"""``sentio-train``: extract features, train, search and evaluate the CRNN.

Subcommands share the data options (``--emotify DIR | --deam DIR | --manifest CSV``).
Exit codes: 0 success, 1 a gate failed, 2 bad input or configuration, 130 interrupted.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

from sentio.export.data.extract import default_cache_dir
from sentio.export.data.labels import LabelScale
from sentio.export.data.sources import DataOptions
from sentio.export.model.augment import RECOMMENDED, Augmentation
from sentio.export.model.config import LOSSES, TrainConfig
from sentio.export.model.crnn import CRNNConfig
from sentio.runtime.errors import ConfigError, SentioError
from sentio.runtime.features import FeatureSpec

log = logging.getLogger("sentio")


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError as err:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from err


def add_data_args(parser: argparse.ArgumentParser, required: bool = True) -> None:
    g = parser.add_argument_group("data")
    src = g.add_mutually_exclusive_group(required=required)
    src.add_argument(
        "--emotify", type=Path, metavar="DIR", help="Emotify: audio/<genre>/<id>.* + ratings.csv"
    )
    src.add_argument(
        "--deam",
        type=Path,
        metavar="DIR",
        help="DEAM as downloaded (DEAM_audio/, DEAM_Annotations/)",
    )
    src.add_argument("--manifest", type=Path, metavar="CSV", help="your CSV: path,valence,arousal")
    g.add_argument(
        "--label-scale",
        type=float,
        nargs=2,
        default=(-1.0, 1.0),
        metavar=("LO", "HI"),
        help="scale of --manifest labels (default -1 1; e.g. 1 9)",
    )
    g.add_argument(
        "--no-deam-swap-fix",
        action="store_true",
        help="keep DEAM's valence/arousal columns for ids <= 1000 as published (swapped)",
    )
    g.add_argument(
        "--spec", type=Path, metavar="JSON", help="feature spec JSON (default: the built-in spec)"
    )
    g.add_argument("--window", type=int, default=600, help="frames per window (default 600 = 12 s)")
    g.add_argument(
        "--stride",
        type=int,
        default=150,
        help="frames between training windows (default 150 = 3 s)",
    )
    g.add_argument(
        "--short",
        choices=("skip", "pad"),
        default="skip",
        help="songs shorter than a window: skip (default) or pad by repeating them",
    )
    g.add_argument("--split-seed", type=int, default=0, help="seed of the 70/15/15 song split")
    g.add_argument("--limit", type=int, help="use only the first N songs (quick trials)")
    g.add_argument("--cache", type=Path, help="feature cache folder (default ~/.cache/sentio)")
    g.add_argument("--no-cache", action="store_true", help="do not read or write the feature cache")
    g.add_argument("--workers", type=int, help="extraction processes (default: all cores)")
    g.add_argument("--quiet", action="store_true", help="no progress bars")


def add_model_args(parser: argparse.ArgumentParser) -> None:
    d = CRNNConfig()
    g = parser.add_argument_group("model (the seed's CRNN)")
    g.add_argument(
        "--conv-filters", type=_ints, default=d.conv_filters, help="default 64,64,128,128"
    )
    g.add_argument("--kernel-size", type=int, default=d.kernel_size)
    g.add_argument("--pool-size", type=int, default=d.pool_size)
    g.add_argument("--lstm-units", type=_ints, default=d.lstm_units, help="default 128,64")
    g.add_argument("--dense-units", type=_ints, default=d.dense_units, help="default 64,32")
    g.add_argument("--dropout", type=float, default=d.dropout)
    g.add_argument(
        "--recurrent-dropout",
        type=float,
        default=d.recurrent_dropout,
        help="LSTM recurrent dropout (default 0: > 0 disables fused kernels, slow on CPU)",
    )
    g.add_argument("--l2", type=float, default=d.l2)
    g.add_argument("--bn-momentum", type=float, default=d.bn_momentum)
    g.add_argument("--bidirectional", action="store_true", help="Bidirectional LSTMs")
    g.add_argument(
        "--attention-heads", type=int, default=0, help="> 0 adds multi-head self-attention"
    )
    g.add_argument("--attention-key-dim", type=int, default=d.attention_key_dim)


def add_train_args(parser: argparse.ArgumentParser) -> None:
    d = TrainConfig()
    g = parser.add_argument_group("training")
    g.add_argument("--epochs", type=int, default=d.epochs)
    g.add_argument("--batch-size", type=int, default=d.batch_size)
    g.add_argument("--lr", type=float, default=d.learning_rate, help="Adam learning rate")
    g.add_argument("--loss", choices=LOSSES, default=d.loss)
    g.add_argument(
        "--loss-weights",
        type=float,
        nargs=2,
        default=(d.valence_weight, d.arousal_weight),
        metavar=("VALENCE", "AROUSAL"),
        help="weighted_mse weights (default 1.0 1.2)",
    )
    g.add_argument("--huber-delta", type=float, default=d.huber_delta)
    g.add_argument("--patience", type=int, default=d.patience, help="early-stopping patience")
    g.add_argument("--lr-patience", type=int, default=d.lr_patience)
    g.add_argument("--min-lr", type=float, default=d.min_lr)
    g.add_argument("--emotion-threshold", type=float, default=d.emotion_threshold)
    g.add_argument("--seed", type=int, default=d.seed, help="weights, dropout and batch order")
    g.add_argument(
        "--mixup", type=float, default=d.mixup, help="mixup Beta parameter (default 0: off)"
    )
    add_augment_args(parser)


def add_augment_args(parser: argparse.ArgumentParser) -> None:
    r = RECOMMENDED
    g = parser.add_argument_group(
        "augmentation", "changes to each training window, new every epoch (export/augment.py)"
    )
    g.add_argument(
        "--augment",
        action="store_true",
        help=f"the recommended recipe: jitter {r.jitter}, {r.time_masks} time masks of up to "
        f"{r.time_mask_frames} frames, {r.feature_masks} feature masks of up to "
        f"{r.feature_mask_width}, noise {r.noise}; the options below override its parts",
    )
    g.add_argument("--jitter", type=int, metavar="FRAMES", help="move window starts by up to N")
    g.add_argument("--time-masks", type=int, metavar="N", help="time spans set to the mean")
    g.add_argument("--time-mask-frames", type=int, metavar="FRAMES", help="longest time span")
    g.add_argument("--feature-masks", type=int, metavar="N", help="coefficient bands zeroed")
    g.add_argument("--feature-mask-width", type=int, metavar="N", help="widest band")
    g.add_argument("--noise", type=float, metavar="STD", help="Gaussian noise (normalized units)")


def augmentation(args: argparse.Namespace) -> Augmentation:
    base = RECOMMENDED if args.augment else Augmentation()
    chosen = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(Augmentation)
        if getattr(args, f.name) is not None
    }
    if any(v < 0 for v in chosen.values()):
        raise ConfigError("augmentation settings cannot be negative", hint="use 0 to turn one off")
    return dataclasses.replace(base, **chosen)


def data_options(args: argparse.Namespace) -> DataOptions:
    kind, path = next(
        (k, getattr(args, k)) for k in ("emotify", "deam", "manifest") if getattr(args, k)
    )
    if args.window < 1 or args.stride < 1:
        raise ConfigError("--window and --stride must be at least 1 frame")
    return DataOptions(
        kind=kind,
        path=path,
        label_scale=LabelScale(*args.label_scale),
        fix_deam_swap=not args.no_deam_swap_fix,
        cache_dir=None if args.no_cache else (args.cache or default_cache_dir()),
        workers=args.workers,
        window=args.window,
        stride=args.stride,
        short=args.short,
        split_seed=args.split_seed,
        limit=args.limit,
        progress=not args.quiet,
    )


def feature_spec(args: argparse.Namespace) -> FeatureSpec:
    if not getattr(args, "spec", None):
        return FeatureSpec()
    try:
        return FeatureSpec.from_dict(json.loads(args.spec.read_text()))
    except (OSError, json.JSONDecodeError) as err:
        raise ConfigError(
            f"cannot read feature spec {args.spec}: {err}", hint="pass a JSON object"
        ) from err


def model_config(args: argparse.Namespace, n_features: int) -> CRNNConfig:
    return CRNNConfig(
        window_frames=args.window,
        n_features=n_features,
        conv_filters=args.conv_filters,
        kernel_size=args.kernel_size,
        pool_size=args.pool_size,
        lstm_units=args.lstm_units,
        dense_units=args.dense_units,
        dropout=args.dropout,
        recurrent_dropout=args.recurrent_dropout,
        l2=args.l2,
        bn_momentum=args.bn_momentum,
        bidirectional=args.bidirectional,
        attention_heads=args.attention_heads,
        attention_key_dim=args.attention_key_dim,
    )


def train_config(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        loss=args.loss,
        valence_weight=args.loss_weights[0],
        arousal_weight=args.loss_weights[1],
        huber_delta=args.huber_delta,
        patience=args.patience,
        lr_patience=args.lr_patience,
        min_lr=args.min_lr,
        emotion_threshold=args.emotion_threshold,
        seed=args.seed,
        mixup=args.mixup,
        augmentation=augmentation(args),
    )


# ----------------------------------------------------------------------------- commands


def cmd_extract(args: argparse.Namespace) -> int:
    from sentio.export.data.sources import load_features

    spec = feature_spec(args)
    dataset, extraction = load_features(data_options(args), spec)
    speed = extraction.audio_seconds / max(extraction.seconds, 1e-9)
    print(
        f"extracted {len(extraction.features)} songs "
        f"({extraction.audio_seconds / 3600:.2f} h of audio) "
        f"in {extraction.seconds:.1f} s with {args.workers or os.cpu_count()} worker(s): "
        f"{speed:.0f}x real time; {extraction.cache_hits} from cache"
    )
    print(dataset.skipped.summary())
    return 0


def train_and_write(args, options: DataOptions, out: Path) -> dict:
    from sentio.export.data.sources import load_prepared
    from sentio.export.evaluation.predict import metrics_table
    from sentio.export.model.run import run_manifest, write_run
    from sentio.export.model.train import fit

    spec = feature_spec(args)
    prepared, extraction = load_prepared(options, spec)
    print(f"data: {prepared.summary()}")
    mcfg, tcfg = model_config(args, spec.n_features), train_config(args)
    # The best model so far survives a crash or Ctrl-C here; it goes once the bundle is written.
    checkpoint = out.with_name(f"{out.name}.checkpoint.keras")
    outcome = fit(prepared, mcfg, tcfg, checkpoint=checkpoint)
    source = {"kind": options.kind, "path": str(options.path.resolve())}
    manifest = run_manifest(prepared, mcfg, tcfg, outcome, extraction, source)
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
    train_and_write(args, data_options(args), args.out)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from sentio.export.data.synthetic import make_synthetic_dataset

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        print(
            f"generating {args.songs} synthetic songs of {args.duration:g} s "
            "with known valence/arousal..."
        )
        manifest = make_synthetic_dataset(Path(tmp), args.songs, args.duration, seed=args.seed)
        args.manifest, args.emotify, args.deam = manifest, None, None
        options = data_options(args)
        options.cache_dir = None
        metrics = train_and_write(args, options, args.out)
    test = metrics["test"]["songs"]
    print(
        f"\ndemo done in {time.perf_counter() - start:.0f} s: test-split song CCC valence "
        f"{test['valence']['ccc']:.2f}, arousal {test['arousal']['ccc']:.2f}"
    )
    return 0


def _run_and_data(args: argparse.Namespace, own_splits: bool):
    """A run bundle's manifest and Keras model, and the labelled data prepared with its spec
    and normalization: its own splits (``own_splits``) or every song in one ``all`` split."""
    import keras
    from sentio.export.data.sources import load_prepared
    from sentio.runtime.bundle import load_manifest, manifest_spec
    from sentio.runtime.features import FeatureStats

    manifest = load_manifest(args.model)
    options = data_options(args)
    options.window = manifest["window"]["frames"]
    options.stride = manifest["window"].get("train_stride_frames", options.stride)
    stats = FeatureStats.from_dict(manifest["normalization"])
    splits = manifest["data"]["splits"] if own_splits else None
    prepared, _ = load_prepared(options, manifest_spec(manifest), stats, splits)
    model = keras.models.load_model(args.model / "model.keras", compile=False)
    return manifest, model, prepared


def cmd_evaluate(args: argparse.Namespace) -> int:
    from sentio.export.evaluation.predict import evaluate_model, metrics_table

    _, model, prepared = _run_and_data(args, own_splits=False)
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

    _, model, prepared = _run_and_data(args, own_splits=True)
    result = compare_with_baseline(keras_predictor(model), prepared, args.emotion_threshold)
    text = comparison_markdown(result)
    print(text)
    if args.out:
        args.out.with_suffix(".md").write_text(text)
        args.out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from sentio.export.model.search import run_search

    run_search(args, data_options(args), feature_spec(args))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sentio-train", description="Train and evaluate Sentio's valence/arousal CRNN."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("extract", help="compute (and cache) features; prints the extraction time")
    add_data_args(p)
    p.set_defaults(func=cmd_extract)

    p = sub.add_parser("fit", help="train the CRNN, evaluate it, write a run bundle")
    add_data_args(p)
    add_model_args(p)
    add_train_args(p)
    p.add_argument("--out", type=Path, required=True, help="run bundle folder to write")
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("search", help="random or grid hyperparameter search within a budget")
    add_data_args(p)
    add_model_args(p)
    add_train_args(p)
    p.add_argument("--strategy", choices=("random", "grid"), default="random")
    p.add_argument("--trials", type=int, default=8, help="most trials to run")
    p.add_argument(
        "--budget-minutes", type=float, default=60.0, help="stop starting trials after this"
    )
    p.add_argument(
        "--space",
        type=Path,
        help="JSON search space {param: [values]} (default: the seed's ranges)",
    )
    p.add_argument("--out", type=Path, required=True, help="folder for results.md/json")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser(
        "evaluate", help="evaluate a run bundle on a labelled dataset (all its songs)"
    )
    add_data_args(p)
    p.add_argument("--model", type=Path, required=True, help="run bundle folder")
    p.add_argument("--emotion-threshold", type=float, default=0.5)
    p.add_argument("--json", type=Path, help="also write the metrics as JSON")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        "compare",
        help="a run vs the ridge baseline on its own test split, with bootstrap 95%% intervals",
    )
    add_data_args(p)
    p.add_argument("--model", type=Path, required=True, help="run bundle folder")
    p.add_argument("--emotion-threshold", type=float, default=0.5)
    p.add_argument("--out", type=Path, help="also write OUT.md and OUT.json")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("demo", help="train a small CRNN on generated music and print its metrics")
    add_model_args(p)
    add_train_args(p)
    p.add_argument("--songs", type=int, default=60)
    p.add_argument("--duration", type=float, default=12.0, help="seconds per song")
    p.add_argument("--out", type=Path, default=Path("runs/demo"))
    p.set_defaults(
        func=cmd_demo,
        window=200,
        stride=50,
        conv_filters=(16, 16, 32, 32),
        lstm_units=(32, 16),
        dense_units=(16, 8),
        dropout=0.1,
        l2=0.0,
        epochs=30,
        batch_size=16,
        patience=8,
        label_scale=(-1.0, 1.0),
        no_deam_swap_fix=False,
        spec=None,
        short="skip",
        split_seed=0,
        limit=None,
        cache=None,
        no_cache=True,
        workers=None,
        quiet=False,
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    return run_command(build_parser(), argv)


def run_command(parser: argparse.ArgumentParser, argv: list[str] | None = None) -> int:
    """Parse, set up logging, run ``args.func``; expected failures become exit codes."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ banner is not for users
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:  # the converters' chatter (asset paths, optimizer passes) is not news
        warnings.filterwarnings("ignore", "Statistics for quantized inputs", UserWarning)
        logging.getLogger("sentio").setLevel(logging.INFO)
        for noisy in ("tensorflow", "tf2onnx", "absl", ""):  # "": onnxruntime logs to root
            logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return args.func(args)
    except SentioError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
