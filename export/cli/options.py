"""Command-line options made from the config dataclasses: argparse only.

Each option group is one dataclass (``DataOptions``, ``CRNNConfig``, ``TrainConfig``,
``ExportOptions``, ``SearchConfig``, ``DemoConfig``): an option's flag and type come from its
field, its help from the class docstring's ``Attributes:``, its default from the dataclass (the
only place defaults are defined). Options are parsed without argparse defaults, so a command
knows which were given: :func:`settings_from` hands them, over the recipe (``--config FILE``),
to :func:`sentio.export.recipes.run.build_run`, which builds the run's typed
:class:`~sentio.export.recipes.run.RunConfig` once and checks every value; an error about a
value given here names its option (:data:`OPTION_FLAGS`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import typing
from functools import cache
from pathlib import Path
from typing import Any

from sentio.export.conversion.gate import DropLimits
from sentio.export.conversion.onnx import ONNX_INT8_MODES
from sentio.export.conversion.tflite import FLOAT_TFLITE_KINDS
from sentio.export.data.conditions import resolve as resolve_conditions
from sentio.export.data.device_copies import DeviceCopies
from sentio.export.data.sources import DataOptions
from sentio.export.data.splits import SPLIT_SCHEMES
from sentio.export.evaluation.robustness import LiveLimits
from sentio.export.model.augment import NONE, RECOMMENDED
from sentio.export.model.config import LOSSES, TrainConfig
from sentio.export.pipelines.train import TrainRunConfig
from sentio.export.recipes import Recipe, load_recipe
from sentio.export.recipes.run import RULES, SECTIONS, RunConfig, build_run
from sentio.runtime.codec import FieldError, decode
from sentio.runtime.errors import ConfigError

DEFAULT_RECIPE = "default_model"


# ----------------------------------------------------------------------------- parsing


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError as err:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from err


def _sizes(text: str) -> tuple[int, ...]:
    sizes = _ints(text)
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


def parse_live_limits(text: str) -> LiveLimits:
    try:
        return LiveLimits.parse(text)
    except ConfigError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def live_conditions(text: str) -> str:
    """``--conditions`` / ``--live-conditions``: a set name or names, checked at parse time."""
    try:
        resolve_conditions(text)
    except ConfigError as err:
        raise argparse.ArgumentTypeError(f"{err.message} ({err.hint})") from err
    return text


def _space(text: str) -> dict[str, list[Any]]:
    try:
        space = json.loads(Path(text).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise argparse.ArgumentTypeError(f"cannot read search space {text}: {err}") from err
    if not isinstance(space, dict):
        raise argparse.ArgumentTypeError(f"{text}: expected a JSON object {{param: [values]}}")
    return space


@cache
def field_docs(cls: type) -> dict[str, str]:
    """Field -> its line in the class docstring's ``Attributes:`` (``a, b: text`` covers both)."""
    docs: dict[str, str] = {}
    text = (cls.__doc__ or "").split("Attributes:", 1)
    if len(text) < 2:
        return docs
    current: list[str] = []
    for line in text[1].splitlines():
        m = re.match(r"\s{4,8}([a-z_0-9, ]+):\s+(.*)", line)
        if m and not line.startswith(" " * 12):
            current = [n.strip() for n in m.group(1).split(",")]
            for name in current:
                docs[name] = m.group(2).strip()
        elif line.strip() and current:
            for name in current:
                docs[name] += " " + line.strip()
    return docs


def field_default(cls: type, name: str) -> Any:
    f = next(f for f in dataclasses.fields(cls) if f.name == name)
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def _shown(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    if isinstance(value, Path):
        return str(value).replace(str(Path.home()), "~")
    return str(value)


@cache
def _default_recipe() -> Recipe | None:
    try:
        return load_recipe(DEFAULT_RECIPE)
    except ConfigError:
        return None


def _recorded(recipe: Recipe | None, section: str, name: str, kind: Any) -> Any:
    """The default model's recipe's value of ``section.name``, typed (None: not set)."""
    value = recipe.section(section).get(name) if recipe else None
    try:
        return None if value is None else decode(kind, value, f"{section}.{name}", RULES)
    except FieldError:
        return None


#: ``section.field`` -> the option that sets it (filled as the parsers are built): what an
#: error about a value given on the command line names.
OPTION_FLAGS: dict[str, str] = {}

#: The options that set the data's folder (``data.path``, with ``data.kind``).
DATA_FLAGS = "--emotify DIR | --deam DIR | --manifest CSV"


def error_flags(extra: dict[str, str] | None = None) -> dict[str, str]:
    """What a command's errors call each setting a library error names (after the parsers
    are built): :data:`OPTION_FLAGS`, the data's folder, and ``extra`` (a pipeline config's
    fields: ``ExportRunConfig.model`` -> ``--model``)."""
    return {**OPTION_FLAGS, "data.path": DATA_FLAGS, **(extra or {})}


def add_field(
    group,
    section: str,
    name: str,
    *flags: str,
    help: str | None = None,
    show_default: bool = True,
    **kwargs: Any,
) -> None:
    """One option for ``section.name``: flag, type and help from the field unless given."""
    cls = SECTIONS[section]
    default = field_default(cls, name)
    kind = typing.get_type_hints(cls)[name]
    if "action" not in kwargs and "type" not in kwargs:
        if kind is bool or default is False:
            kwargs["action"] = "store_const"
            kwargs["const"] = not default
        elif typing.get_origin(kind) is tuple:
            kwargs["type"] = _ints
        else:
            inner = [a for a in typing.get_args(kind) if a is not type(None)]
            kwargs["type"] = inner[0] if inner else kind
    if kwargs.get("action") != "store_const" and "choices" not in kwargs:
        kwargs.setdefault("metavar", name.upper())
    text = help or field_docs(cls).get(name, "").rstrip(".").replace("``", "")
    if show_default and kwargs.get("action") != "store_const":
        text += f" (default {_shown(default)}"
        recipe = _default_recipe()
        recorded = _recorded(recipe, section, name, kind)
        if recorded is not None and recorded != default:
            text += f"; the default model's recipe: {_shown(recorded)}"
        text += ")"
    flags = flags or (f"--{name.replace('_', '-')}",)
    OPTION_FLAGS[f"{section}.{name}"] = flags[0]
    group.add_argument(
        *flags,
        dest=f"{section}.{name}",
        default=argparse.SUPPRESS,
        help=text.replace("%", "%%"),
        **kwargs,
    )


class _Source(argparse.Action):
    """``--emotify DIR`` and friends: the dataset kind and its path in one setting."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, "data.kind", option_string.lstrip("-"))
        setattr(namespace, "data.path", Path(values))


class _Pair(argparse.Action):
    """Two values into two fields of one section (``--loss-weights V A``)."""

    def __init__(self, *args, fields: tuple[str, str], **kwargs):
        self.fields = fields
        super().__init__(*args, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        for name, value in zip(self.fields, values, strict=True):
            setattr(namespace, name, value)


def add_data_args(parser: argparse.ArgumentParser, required: bool = True) -> None:
    """The labelled data (``DataOptions``); ``required``: a dataset must be named (here or in
    the recipe)."""
    g = parser.add_argument_group("data (DataOptions)")
    src = g.add_mutually_exclusive_group()
    what = {
        "emotify": ("DIR", "Emotify: audio/<genre>/<id>.* + ratings.csv"),
        "deam": ("DIR", "DEAM as downloaded (DEAM_audio/, DEAM_Annotations/)"),
        "manifest": ("CSV", "your CSV: path,valence,arousal"),
    }
    for kind, (metavar, text) in what.items():
        need = " (this or another dataset is required)" if required else ""
        src.add_argument(
            f"--{kind}",
            action=_Source,
            metavar=metavar,
            default=argparse.SUPPRESS,
            help=text + need,
        )
    add_field(
        g,
        "data",
        "label_scale",
        type=float,
        nargs=2,
        metavar=("LO", "HI"),
        show_default=False,
        help="scale of --manifest labels (default -1 1; e.g. 1 9; for a model trained on a "
        "CSV: the scale it was trained with)",
    )
    add_field(
        g,
        "data",
        "fix_deam_swap",
        "--no-deam-swap-fix",
        action="store_const",
        const=False,
        help="keep DEAM's valence/arousal columns for ids <= 1000 as published (swapped)",
    )
    g.add_argument(
        "--spec",
        metavar="KIND|JSON",
        help="the frame: 'mfcc' (40 MFCCs), 'mixed' (MFCC + chroma + contrast + relative "
        "energy, level-free; runtime/FEATURES.md) or a feature spec JSON file "
        "(default: the recipe's [features] table, else mfcc)",
    )
    add_field(
        g,
        "data",
        "fourq",
        metavar="DIR",
        help="also train on 4Q (annotations.csv + audio/Q1..Q4): quadrant labels scored by "
        "their signs, split by artist; per-dataset metrics",
    )
    add_field(g, "data", "window", help="frames per window (600 = 12 s)")
    add_field(g, "data", "stride", help="frames between training windows (150 = 3 s)")
    add_field(
        g,
        "data",
        "short",
        choices=("skip", "pad"),
        help="songs shorter than a window: skip or pad by repeating them",
    )
    add_field(g, "data", "split_seed", help="seed of the 70/15/15 song split")
    add_field(
        g,
        "data",
        "split",
        "--split-scheme",
        choices=SPLIT_SCHEMES,
        help="holdout: the test split is the untouched holdout `sentio-train cv` never sees; "
        "plain: the v1/v2 models' split",
    )
    add_field(
        g,
        "data",
        "limit",
        metavar="N",
        help="use only the first N songs (quick trials)",
        show_default=False,
    )
    add_field(g, "data", "cache_dir", "--cache", metavar="DIR", help="feature cache folder")
    add_field(
        g,
        "data",
        "cache_dir",
        "--no-cache",
        action="store_const",
        const=None,
        help="do not read or write the feature cache",
    )
    add_field(
        g,
        "data",
        "workers",
        metavar="N",
        show_default=False,
        help="extraction processes (default: all cores)",
    )
    add_field(
        g, "data", "progress", "--quiet", action="store_const", const=False, help="no progress bars"
    )


def add_model_args(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("model (CRNNConfig; defaults: the reference design's CRNN)")
    for name in (
        "conv_filters",
        "kernel_size",
        "pool_size",
        "lstm_units",
        "dense_units",
        "dropout",
        "recurrent_dropout",
        "l2",
        "bn_momentum",
        "bidirectional",
        "attention_heads",
        "attention_key_dim",
    ):
        add_field(g, "model", name)


def add_train_args(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group(
        "training (TrainConfig)",
        "Defaults are the reference design's. The default model's recipe "
        "(--config default_model) differs where validation on Emotify chose otherwise: "
        "loss ccc, 40 epochs, patience 8, --augment (runtime/MODEL_CARD.md says why).",
    )
    add_field(g, "train", "epochs")
    add_field(g, "train", "batch_size")
    add_field(g, "train", "learning_rate", "--lr", help="Adam learning rate")
    add_field(
        g,
        "train",
        "loss",
        choices=LOSSES,
        help="mse, weighted_mse, huber, or ccc (1 - batch CCC + MSE/2)",
    )
    d = TrainConfig()
    g.add_argument(
        "--loss-weights",
        type=float,
        nargs=2,
        metavar=("VALENCE", "AROUSAL"),
        action=_Pair,
        fields=("train.valence_weight", "train.arousal_weight"),
        default=argparse.SUPPRESS,
        help=f"weights of weighted_mse and ccc (default {d.valence_weight} {d.arousal_weight})",
    )
    for name in ("huber_delta", "patience", "emotion_threshold"):
        add_field(g, "train", name)
    add_field(g, "train", "lr_patience", help="epochs without improvement before the rate halves")
    add_field(g, "train", "min_lr", help="lowest learning rate")
    add_field(g, "train", "seed", help="seeds weights, dropout and batch order")
    add_field(g, "train", "mixup", help="mixup Beta parameter (0: off)")
    add_field(g, "train", "sign_weight", help="weight of the sign term for quadrant-only songs")
    add_field(g, "train", "sign_margin", help="how far past 0 a quadrant-only song must land")
    OPTION_FLAGS["train.consistency.weight"] = "--consistency"
    g.add_argument(
        "--consistency",
        dest="train.consistency.weight",
        type=float,
        metavar="WEIGHT",
        default=argparse.SUPPRESS,
        help="consistency training: each window's views (device copies, 3-12 s crops) pulled "
        "towards its clean prediction with this weight (0: off; the recipe's "
        "[train.consistency] table sets the rest)",
    )
    add_field(
        g,
        "train",
        "distill_weight",
        help="with --teachers: share of the clean windows' loss taken by the teachers' mean",
    )
    add_augment_args(parser)
    add_device_args(parser)


def add_augment_args(parser: argparse.ArgumentParser) -> None:
    r = RECOMMENDED
    g = parser.add_argument_group(
        "augmentation (Augmentation)",
        "changes to each training window, new every epoch (export/model/augment.py); "
        "default off, the default model's recipe uses --augment",
    )
    g.add_argument(
        "--augment",
        action="store_true",
        dest="train.augment",
        default=argparse.SUPPRESS,
        help=f"the recommended recipe: jitter {r.jitter}, {r.time_masks} time masks of up to "
        f"{r.time_mask_frames} frames, {r.feature_masks} feature masks of up to "
        f"{r.feature_mask_width}, noise {r.noise}; the options below override its parts",
    )
    helps = {
        "jitter": ("FRAMES", "move window starts by up to N"),
        "time_masks": ("N", "time spans set to the mean"),
        "time_mask_frames": ("FRAMES", "longest time span"),
        "feature_masks": ("N", "coefficient bands zeroed"),
        "feature_mask_width": ("N", "widest band"),
        "noise": ("STD", "Gaussian noise (normalized units)"),
        "short_share": ("P", "share of windows cut short and repeated (teaches early estimates)"),
        "short_min_frames": ("FRAMES", "shortest such crop"),
    }
    for name, (metavar, text) in helps.items():
        OPTION_FLAGS[f"train.augmentation.{name}"] = f"--{name.replace('_', '-')}"
        g.add_argument(
            f"--{name.replace('_', '-')}",
            dest=f"train.augmentation.{name}",
            type=type(getattr(NONE, name)),
            metavar=metavar,
            default=argparse.SUPPRESS,
            help=text,
        )


def add_device_args(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group(
        "device copies (DeviceCopies)",
        "audio-level augmentation: each training song rendered through drawn speakers, rooms, "
        "noise, gains and capture rates, cached (export/data/device_copies.py); the recipe's "
        "[train.device] table sets the rest",
    )
    OPTION_FLAGS["train.device.copies"] = "--device-copies"
    OPTION_FLAGS["train.device.clean_share"] = "--clean-share"
    g.add_argument(
        "--device-copies",
        dest="train.device.copies",
        type=int,
        metavar="N",
        default=argparse.SUPPRESS,
        help="device renderings per training song (0: off)",
    )
    g.add_argument(
        "--clean-share",
        dest="train.device.clean_share",
        type=float,
        metavar="SHARE",
        default=argparse.SUPPRESS,
        help="share of training windows cut from the clean song (default "
        f"{DeviceCopies().clean_share})",
    )


def add_export_args(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("quantization (ExportOptions)")
    add_field(g, "export", "int8", help="also full-integer TFLite and int8 ONNX (calibrated)")
    add_field(
        g,
        "export",
        "int8_io",
        "--float-io",
        action="store_const",
        const=False,
        help="int8 TFLite with float input/output",
    )
    add_field(
        g,
        "export",
        "onnx_int8",
        choices=ONNX_INT8_MODES,
        help="dynamic (LSTM quantized too, smallest, most accurate) or static QDQ "
        "(LSTM stays float; faster on x86)",
    )
    add_field(g, "export", "calibration_size", help="windows in the representative set")
    add_field(g, "export", "calibration_seed")
    add_field(
        g,
        "export",
        "calibration",
        metavar="NPZ",
        type=Path,
        show_default=False,
        help="reuse a saved set",
    )
    add_field(
        g,
        "export",
        "save_calibration",
        metavar="NPZ",
        type=Path,
        show_default=False,
        help="save the set used",
    )
    add_field(
        g,
        "export",
        "study_sizes",
        "--calibration-study",
        type=_sizes,
        metavar="N,N,...",
        show_default=False,
        help="also measure the int8 drop for these set sizes, e.g. 25,100,300,1000",
    )
    add_field(
        g,
        "export",
        "tflite_kinds",
        "--tflite",
        type=_kinds,
        metavar="KINDS",
        help="float TFLite variants (--int8 adds int8)",
    )
    add_field(g, "export", "c_array", help="int8 model as a C array for TFLM")
    add_field(
        g,
        "export",
        "include_keras",
        "--no-keras",
        action="store_const",
        const=False,
        help="leave model.keras out of the bundle",
    )
    g = parser.add_argument_group("accuracy-drop gate")
    add_field(
        g,
        "export",
        "limits",
        "--max-drop",
        type=_limits,
        metavar="SPEC",
        show_default=False,
        help="limits vs float, e.g. ccc=0.03,rmse=0.02,emotion_accuracy=0.05,"
        "mean_abs_diff=0.05 (these are the defaults)",
    )
    add_field(
        g,
        "export",
        "live_conditions",
        type=live_conditions,
        metavar="SET|NAMES",
        help="live conditions the default artifact is scored under (report.md, "
        "live_conditions.json): default, full, none or comma-separated names "
        "(sentio-train robustness --help lists them)",
    )
    add_field(
        g,
        "export",
        "live_limits",
        "--max-live-drop",
        type=parse_live_limits,
        nargs="?",
        const=LiveLimits(),
        metavar="SPEC",
        show_default=False,
        help="fail (exit 1) when a live condition costs more than accuracy=A (CCC or sign "
        "AUC, per dimension) or moves the song-level predictions more than shift=S on average; "
        "alone: accuracy=0.03,shift=0.06 (default: report only)",
    )


def add_search_args(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("search (SearchConfig)")
    add_field(g, "search", "strategy", choices=("random", "grid"))
    add_field(g, "search", "trials")
    add_field(g, "search", "budget_minutes")
    add_field(
        g,
        "search",
        "space",
        type=_space,
        metavar="JSON",
        show_default=False,
        help="JSON search space {param: [values]} (default: the reference design's "
        "ranges and the default model's ccc loss)",
    )


def add_demo_args(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("generated music (DemoConfig)")
    add_field(g, "demo", "songs")
    add_field(g, "demo", "duration_s", "--duration")


def force_arg(parser: argparse.ArgumentParser, what: str = "a bundle") -> None:
    """``--force``: replace what an earlier run wrote at ``--out`` (never anything else)."""
    parser.add_argument(
        "--force",
        action="store_true",
        help=f"replace {what} an earlier run wrote at --out (default: refuse; a file or a "
        "folder holding anything else is always refused)",
    )


def add_config_arg(parser: argparse.ArgumentParser, what: str = "") -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="run a recipe: a TOML/JSON file of settings (export/recipes/), or a bundled "
        f"one by name (default_model, demo){what}; options given here override its fields",
    )


# ----------------------------------------------------------------------------- the run


def settings_from(args: argparse.Namespace, base: str | None = None) -> RunConfig:
    """The :class:`RunConfig` of parsed ``args``: ``--config`` (else ``base``, a bundled
    recipe name), then the options given (``--spec`` the frame); an error names the option
    or the recipe a bad value came from."""
    name = getattr(args, "config", None) or base
    recipe = load_recipe(name) if name else None
    given: dict[str, dict[str, Any]] = {}
    for key, value in sorted(vars(args).items()):
        if "." not in key:
            continue
        section, name = key.split(".", 1)
        if name == "augment":
            value = True
        if "." in name:  # train.augmentation.jitter, train.device.copies
            sub, inner = name.split(".", 1)
            given.setdefault(section, {}).setdefault(sub, {})[inner] = value
        else:
            given.setdefault(section, {})[name] = value
    return build_run(recipe, given, getattr(args, "spec", None), OPTION_FLAGS)


# What a command reads of its run (the names sentio-train cv imports).


def train_run_config(
    run: RunConfig, options: DataOptions, out: Path, replace: bool
) -> TrainRunConfig:
    """The typed config of one training run: the run's data, spec, model and training."""
    return TrainRunConfig(
        options, run.features, run.model, run.train, Path(out), replace, run.record()
    )
