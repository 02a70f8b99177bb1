"""Command-line options made from the config dataclasses, and the settings a command runs with.

Each option group is one dataclass (``DataOptions``, ``CRNNConfig``, ``TrainConfig``,
``ExportOptions``, ``SearchConfig``, ``DemoConfig``): an option's flag and type come from its
field, its help from the class docstring's ``Attributes:``, its default from the dataclass (the
only place defaults are defined). Options are parsed without argparse defaults, so a command
knows which were given: those override the recipe (``--config FILE``), which overrides the
dataclass defaults. :class:`Settings` holds the result; ``data_options(settings)`` and friends
build the typed configs the library takes.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import re
import types
import typing
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from sentio.export.conversion.exporter import ExportOptions
from sentio.export.conversion.gate import DropLimits
from sentio.export.conversion.onnx import ONNX_INT8_MODES
from sentio.export.conversion.tflite import FLOAT_TFLITE_KINDS
from sentio.export.data.conditions import resolve as resolve_conditions
from sentio.export.data.device_copies import DeviceCopies
from sentio.export.data.labels import LabelScale
from sentio.export.data.sources import DataOptions, model_label_scale
from sentio.export.evaluation.robustness import LiveLimits
from sentio.export.model.augment import NONE, RECOMMENDED, Augmentation
from sentio.export.model.config import LOSSES, TrainConfig
from sentio.export.model.crnn import CRNNConfig
from sentio.export.model.search import SearchConfig
from sentio.export.pipelines.demo import DemoConfig
from sentio.export.pipelines.train import TrainRunConfig
from sentio.export.recipes import Recipe, load_recipe
from sentio.runtime.errors import ConfigError, FeatureSpecError
from sentio.runtime.feature_specs import feature_spec_from_dict
from sentio.runtime.features import FeatureSpec, FrameSpec
from sentio.runtime.manifest import Manifest, path_hint
from sentio.runtime.mixed_features import MixedFeatureSpec

#: Recipe table -> the dataclass its fields belong to.
SECTIONS: dict[str, type] = {
    "data": DataOptions,
    "model": CRNNConfig,
    "train": TrainConfig,
    "export": ExportOptions,
    "search": SearchConfig,
    "demo": DemoConfig,
}
#: Fields a recipe may not set: they follow from other settings.
DERIVED = {
    ("model", "window_frames"): "data.window",
    ("model", "n_features"): "the feature spec",
    ("export", "threshold"): "train.emotion_threshold",
}
DEFAULT_RECIPE = "default_model"
#: Frame kinds ``--spec`` and a recipe's ``[features] kind`` name.
FEATURE_KINDS: dict[str, type] = {"mfcc": FeatureSpec, "mixed": MixedFeatureSpec}


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


#: ``section.field`` -> the option that sets it (filled as the parsers are built): what an
#: error about a value given on the command line names.
OPTION_FLAGS: dict[str, str] = {}


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
        recorded = recipe.section(section).get(name) if recipe else None
        if recorded is not None and _coerce(kind, recorded, "") != default:
            text += f"; the default model's recipe: {_shown(_coerce(kind, recorded, ''))}"
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


# ----------------------------------------------------------------------------- settings


@dataclass
class Settings:
    """What a command runs with: per recipe table, the recipe's values overridden by the
    options given on the command line.

    Attributes:
        values: ``section -> field -> value`` (fields left out take the dataclass default).
        given: the options given on the command line, in the same form.
        recipe: the recipe file, if one was run.
    """

    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    given: dict[str, dict[str, Any]] = field(default_factory=dict)
    recipe: Recipe | None = None

    def section(self, name: str) -> dict[str, Any]:
        return dict(self.values.get(name, {}))

    def record(self, *sections: str, **configs: Any) -> dict[str, Any]:
        """The ``recipe`` entry of a run's manifest: the file, the options that overrode it,
        and the full settings as a recipe (``configs``: the built dataclasses by section) that
        ``--config`` can run again (saved as JSON)."""
        settings = {name: _plain(config) for name, config in configs.items()}
        for name in sections:
            if name not in settings and self.values.get(name):
                settings[name] = _plain(self.values[name])
        return {
            "file": path_hint(self.recipe.file) if self.recipe and self.recipe.file else None,
            "options": _machine_free(_plain(self.given)),
            "settings": _machine_free(settings),
        }


#: Settings about this machine's folders: a run's recorded recipe leaves them out (a bundle is
#: the same on every machine; a run again with ``--config`` is given its data again).
MACHINE_PATHS = {"data": ("path", "fourq", "cache_dir")}


def _machine_free(settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` without :data:`MACHINE_PATHS`, any other absolute path as its hint."""

    def relative(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: relative(v) for k, v in value.items()}
        if isinstance(value, list):
            return [relative(v) for v in value]
        if isinstance(value, str) and Path(value).is_absolute():
            return path_hint(value)
        return value

    out = {}
    for section, table in settings.items():
        dropped = MACHINE_PATHS.get(section, ())
        if isinstance(table, dict):
            table = {k: v for k, v in table.items() if k not in dropped}
        out[section] = relative(table)
    return out


def settings_from(args: argparse.Namespace, base: str | None = None) -> Settings:
    """The settings of parsed ``args``: ``--config`` (else ``base``, a bundled recipe name),
    then the options given. Checks every recipe field against its dataclass."""
    name = getattr(args, "config", None) or base
    recipe = load_recipe(name) if name else None
    values: dict[str, dict[str, Any]] = {}
    if recipe is not None:
        for section, table in recipe.sections.items():
            _check_fields(section, table, recipe.name)
            values[section] = dict(table)
    given: dict[str, dict[str, Any]] = {}
    augment = False
    for key, value in sorted(vars(args).items()):
        if "." not in key:
            continue
        section, name = key.split(".", 1)
        if name == "augment":
            augment = bool(value)
            given.setdefault(section, {})[name] = True
            continue
        if "." in name:  # train.augmentation.jitter, train.device.copies
            sub, inner = name.split(".", 1)
            given.setdefault(section, {}).setdefault(sub, {})[inner] = value
        else:
            given.setdefault(section, {})[name] = value
    train = values.setdefault("train", {})
    if augment:
        train["augmentation"] = dataclasses.asdict(RECOMMENDED)
    for section, table in given.items():
        for name, value in table.items():
            if name == "augment":
                continue
            if isinstance(value, dict):
                merged = dict(values.setdefault(section, {}).get(name) or {})
                merged.update(value)
                values[section][name] = merged
            else:
                values.setdefault(section, {})[name] = value
    check_values(values, recipe.name if recipe else "", given)
    return Settings(values, given, recipe)


# ----------------------------------------------------------------------------- numbers


@dataclass(frozen=True)
class Bounds:
    """The values a numeric setting may take: ``low``/``high``, each included unless its
    ``open_`` flag says otherwise."""

    low: float
    high: float
    open_low: bool = False
    open_high: bool = False

    def holds(self, value: float) -> bool:
        above = value > self.low if self.open_low else value >= self.low
        below = value < self.high if self.open_high else value <= self.high
        return above and below

    def __str__(self) -> str:
        low = "(" if self.open_low else "["
        high = ")" if self.open_high else "]"
        return f"{low}{_number(self.low)}, {_number(self.high)}{high}"


def _number(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


_SEED = Bounds(0, 2**32 - 1)
_COUNT = Bounds(1, 1_000_000)
_SOME = Bounds(0, 1_000_000)
_SHARE = Bounds(0, 1)
_FRACTION = Bounds(0, 1, open_high=True)
_POSITIVE = Bounds(0, 1_000_000, open_low=True)
#: Ranges of the numeric settings, ``section.field`` (``train.augmentation.noise``) -> bounds;
#: a tuple field's bounds hold for each value. Every other number is checked for its type and
#: for being finite.
RANGES: dict[str, Bounds] = {
    "data.window": Bounds(1, 100_000),
    "data.stride": Bounds(1, 100_000),
    "data.split_seed": _SEED,
    "data.limit": _COUNT,
    "data.workers": Bounds(1, 1024),
    "model.conv_filters": Bounds(1, 4096),
    "model.kernel_size": Bounds(1, 1000),
    "model.pool_size": Bounds(1, 1000),
    "model.lstm_units": Bounds(1, 4096),
    "model.dense_units": Bounds(1, 4096),
    "model.dropout": _FRACTION,
    "model.recurrent_dropout": _FRACTION,
    "model.l2": Bounds(0, 10),
    "model.bn_momentum": _SHARE,
    "model.attention_heads": Bounds(0, 64),
    "model.attention_key_dim": Bounds(1, 1024),
    "train.epochs": _COUNT,
    "train.batch_size": _COUNT,
    "train.learning_rate": Bounds(0, 10, open_low=True),
    "train.beta_1": _FRACTION,
    "train.beta_2": _FRACTION,
    "train.epsilon": Bounds(0, 1, open_low=True),
    "train.valence_weight": _SOME,
    "train.arousal_weight": _SOME,
    "train.huber_delta": _POSITIVE,
    "train.patience": _SOME,
    "train.lr_factor": Bounds(0, 1, open_low=True, open_high=True),
    "train.lr_patience": _SOME,
    "train.min_lr": Bounds(0, 10),
    "train.emotion_threshold": Bounds(0, 2, open_low=True),
    "train.seed": _SEED,
    "train.mixup": _SOME,
    "train.sign_weight": _SOME,
    "train.sign_margin": _FRACTION,
    "train.augmentation.jitter": _SOME,
    "train.augmentation.time_masks": _SOME,
    "train.augmentation.time_mask_frames": _SOME,
    "train.augmentation.feature_masks": _SOME,
    "train.augmentation.feature_mask_width": _SOME,
    "train.augmentation.noise": Bounds(0, 1000),
    "train.augmentation.short_share": _SHARE,
    "train.augmentation.short_min_frames": Bounds(1, 100_000),
    "train.device.copies": Bounds(0, 1000),
    "train.device.seed": _SEED,
    "train.device.clean_share": _SHARE,
    "train.device.rooms": _SOME,
    "train.device.p_speaker": _SHARE,
    "train.device.p_room": _SHARE,
    "train.device.p_noise": _SHARE,
    "train.device.p_capture": _SHARE,
    "export.calibration_size": _COUNT,
    "export.calibration_seed": _SEED,
    "export.study_sizes": _COUNT,
    "export.threshold": Bounds(0, 2, open_low=True),
    "export.limits": Bounds(0, 10),
    "export.live_limits": Bounds(0, 10),
    "search.trials": Bounds(1, 100_000),
    "search.budget_minutes": _POSITIVE,
    "demo.songs": Bounds(1, 100_000),
    "demo.duration_s": Bounds(0, 3600, open_low=True),
}
#: Dataclass-valued fields whose numbers are checked inside (their tables or their objects).
_NUMBER_TABLES: dict[str, type] = {
    "train.augmentation": Augmentation,
    "train.device": DeviceCopies,
    "export.limits": DropLimits,
    "export.live_limits": LiveLimits,
}


def check_values(values: dict[str, dict[str, Any]], recipe: str = "", given=None) -> None:
    """Every number of the settings checked before any work: its type (a whole number where
    the field is an integer), finite, and in :data:`RANGES`; a ConfigError names the field (and
    the option or the recipe it came from)."""
    given = given or {}
    for section, table in values.items():
        cls = SECTIONS.get(section)
        if cls is None or not isinstance(table, dict):
            continue  # [features]: the spec class checks its own fields
        hints = typing.get_type_hints(cls)
        options = given.get(section, {})

        def source(key: str, options: dict[str, Any]) -> str:
            if key.rsplit(".", 1)[-1] in options:
                return OPTION_FLAGS.get(key, "command line")
            return f"recipe {recipe}" if recipe else ""

        for name, value in table.items():
            key = f"{section}.{name}"
            if key in _NUMBER_TABLES and isinstance(value, dict):
                inner = typing.get_type_hints(_NUMBER_TABLES[key])
                nested = options.get(name) if isinstance(options.get(name), dict) else {}
                for item, item_value in value.items():
                    if item in inner:
                        where = source(f"{key}.{item}", nested)
                        check_value(inner[item], item_value, f"{key}.{item}", where)
            elif name in hints:
                check_value(hints[name], value, key, source(key, options))


def check_value(kind: Any, value: Any, key: str, source: str = "") -> None:
    """One setting's value (as read: TOML, JSON or an option) against its field type and
    :data:`RANGES`; raises a ConfigError naming ``key``."""
    where = f"{key} ({source})" if source else key

    def fail(problem: str, hint: str) -> None:
        raise ConfigError(f"{where}: {problem}", hint=hint)

    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        if value is None or value is False:  # an optional left unset
            return
        kind = next(a for a in typing.get_args(kind) if a is not type(None))
        origin = typing.get_origin(kind)
    if key in _NUMBER_TABLES:
        table = dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value
        if isinstance(table, dict):
            inner = typing.get_type_hints(_NUMBER_TABLES[key])
            for name, item in table.items():
                if name in inner:
                    check_value(inner[name], item, f"{key}.{name}", source)
        return
    if origin is tuple and isinstance(value, list | tuple):
        args = [a for a in typing.get_args(kind) if a is not Ellipsis]
        for i, item in enumerate(value):
            check_value(args[min(i, len(args) - 1)], item, key, source)
        return
    if kind is LabelScale and isinstance(value, list | tuple):
        for item in value:
            check_value(float, item, key, source)
        return
    if kind not in (int, float):
        return
    bounds = RANGES.get(key, RANGES.get(key.rsplit(".", 1)[0]))
    shown = f"{value!r:.40}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        fail(
            f"expected a {'whole number' if kind is int else 'number'}, got {shown}",
            hint=f"write a number{f' in {bounds}' if bounds else ''} (no quotes in a recipe)",
        )
    if not math.isfinite(value):
        fail(f"{shown} is not a finite number", hint=f"use a number in {bounds or 'range'}")
    if kind is int and not isinstance(value, int):
        fail(f"expected a whole number, got {shown}", hint="write it without a fraction")
    if bounds is not None and not bounds.holds(value):
        fail(f"{shown} is out of range: it must be in {bounds}", hint="fix the setting")


def _check_fields(section: str, table: dict[str, Any], where: str) -> None:
    if section == "features":  # the spec class checks its own fields
        _spec_from_table(table, f"recipe {where}: [features]")
        return
    cls = SECTIONS[section]
    known = {f.name for f in dataclasses.fields(cls)}
    for name in table:
        if (section, name) in DERIVED:
            raise ConfigError(
                f"recipe {where}: {section}.{name} cannot be set",
                hint=f"it follows from {DERIVED[section, name]}",
            )
        if name not in known:
            raise ConfigError(
                f"recipe {where}: unknown setting {section}.{name}",
                hint=f"{cls.__name__} has {', '.join(sorted(known))}",
            )
    if section == "train":
        for name, cls in NESTED_TRAIN.items():
            if isinstance(table.get(name), dict):
                _check_nested(cls, table[name], where, f"train.{name}")


#: The tables nested in ``[train]``: feature-level and audio-level augmentation.
NESTED_TRAIN: dict[str, type] = {"augmentation": Augmentation, "device": DeviceCopies}


def _check_nested(cls: type, table: dict[str, Any], where: str, prefix: str) -> None:
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(
            f"recipe {where}: unknown setting(s) {prefix}.{', '.join(unknown)}",
            hint=f"{cls.__name__} has {', '.join(sorted(known))}",
        )


def build(cls: type, values: dict[str, Any], where: str = "", **fixed: Any) -> Any:
    """``cls`` from its defaults, ``values`` (recipe/option values, coerced to the field
    types) and ``fixed``; a bad value is a ConfigError naming the field."""
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in values.items():
        if name not in hints:
            raise ConfigError(f"{where}: unknown setting {name}")
        key = f"{where}.{name}".lstrip(".")
        check_value(hints[name], value, key)
        kwargs[name] = _coerce(hints[name], value, key)
    kwargs.update(fixed)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{where or cls.__name__}: {err}", hint="fix the setting") from err


def _coerce(kind: Any, value: Any, where: str) -> Any:
    """A recipe (JSON/TOML) or option value as the field's type."""
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(kind) if a is not type(None)]
        if value is None or (value is False and type(None) in typing.get_args(kind)):
            return None
        kind, origin = options[0], typing.get_origin(options[0])
    if origin is tuple and isinstance(value, list | tuple):
        (inner, *_) = typing.get_args(kind)
        # numbers are checked (check_value), never truncated: int(1.5) would be 1
        return tuple(float(v) if inner is float and _is_int(v) else v for v in value)
    if kind is Path and isinstance(value, str):
        return Path(value).expanduser()
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is LabelScale and isinstance(value, list | tuple):
        return LabelScale(*map(float, value))
    if kind in NESTED_TRAIN.values() and isinstance(value, dict):
        _check_nested(kind, value, where, where)
        return build(kind, value, where)
    if kind is DropLimits and isinstance(value, dict):
        return build(DropLimits, value, where)
    if kind is DropLimits and isinstance(value, str):
        return DropLimits.parse(value)
    if kind is LiveLimits and isinstance(value, dict):
        return build(LiveLimits, value, where)
    if kind is LiveLimits and isinstance(value, str):
        return LiveLimits.parse(value)
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _plain(value: Any) -> Any:
    """Settings as JSON values (paths as text, tuples as lists, None left out)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


# ----------------------------------------------------------------------------- configs


def has_data(settings: Settings) -> bool:
    return "path" in settings.values.get("data", {})


def data_options(
    settings: Settings, required: bool = True, model: Manifest | None = None
) -> DataOptions | None:
    """The labelled data; a recipe that names only the kind needs its folder given.

    ``model``: the manifest of the model the data is for (export, check, evaluate, compare).
    A ``--manifest CSV`` given without ``--label-scale`` is then read on the scale the model's
    training CSV was declared on (``sentio-train fit --manifest m.csv --label-scale 1 9`` needs
    no ``--label-scale`` again); ``--label-scale`` given overrides it.
    """
    values = settings.section("data")
    if "path" not in values:
        if not required:
            return None
        kind = values.get("kind")
        raise ConfigError(
            f"the recipe trains on {kind}: say where it is" if kind else "no labelled data",
            hint=f"pass --{kind} DIR"
            if kind in ("emotify", "deam")
            else "pass --emotify DIR | --deam DIR | --manifest CSV",
        )
    values.setdefault("kind", "manifest")
    options = build(DataOptions, values, "data")
    if options.window < 1 or options.stride < 1:
        raise ConfigError("--window and --stride must be at least 1 frame")
    if model is not None and not scale_given(settings):
        options = model_label_scale(options, model)
    return options


def scale_given(settings: Settings) -> bool:
    """Whether the recipe or the options set the labels' scale."""
    return "label_scale" in settings.values.get("data", {})


def feature_spec(settings: Settings | None = None, given: str | Path | None = None) -> FrameSpec:
    """The frame a run computes: ``--spec`` (a kind name or a JSON file) if given, else the
    recipe's ``[features]`` table (``algorithm`` plus the spec's fields), else 40 MFCCs."""
    if given is not None:
        name = str(given)
        if name in FEATURE_KINDS:
            return FEATURE_KINDS[name]()
        try:
            table = json.loads(Path(name).read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise ConfigError(
                f"cannot read feature spec {name}: {err}",
                hint=f"pass {' or '.join(FEATURE_KINDS)}, or a JSON object",
            ) from err
        return _spec_from_table(table, name)
    table = settings.section("features") if settings is not None else {}
    return _spec_from_table(table, "recipe [features]") if table else FeatureSpec()


def _spec_from_table(table: Any, where: str) -> FrameSpec:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: a feature spec must be a JSON/TOML object")
    table = dict(table)
    kind = table.pop("kind", None)  # recipes may name the kind instead of the algorithm
    if kind is not None:
        if kind not in FEATURE_KINDS:
            raise ConfigError(f"{where}: unknown kind {kind!r}", hint=f"use {FEATURE_KINDS}")
        table.setdefault("algorithm", FEATURE_KINDS[kind]().to_dict()["algorithm"])
    table.pop("fingerprint", None)
    try:
        return feature_spec_from_dict(table)
    except (FeatureSpecError, TypeError) as err:
        raise ConfigError(f"{where}: {err}", hint=getattr(err, "hint", "")) from err


def model_config(settings: Settings, window: int, n_features: int) -> CRNNConfig:
    return build(
        CRNNConfig,
        settings.section("model"),
        "model",
        window_frames=window,
        n_features=n_features,
    )


def train_config(settings: Settings) -> TrainConfig:
    values = settings.section("train")
    augmentation = values.get("augmentation")
    if isinstance(augmentation, dict) and any(
        isinstance(v, int | float) and v < 0 for v in augmentation.values()
    ):
        raise ConfigError("augmentation settings cannot be negative", hint="use 0 to turn one off")
    return build(TrainConfig, values, "train")


def export_options(settings: Settings) -> ExportOptions:
    threshold = train_config(settings).emotion_threshold
    return build(ExportOptions, settings.section("export"), "export", threshold=threshold)


def search_config(settings: Settings) -> SearchConfig:
    return build(SearchConfig, settings.section("search"), "search")


def demo_config(settings: Settings) -> DemoConfig:
    return build(DemoConfig, settings.section("demo"), "demo")


#: DataOptions fields a run's recipe leaves out: where this machine caches, how many cores.
MACHINE_FIELDS = ("cache_dir", "workers", "progress")


def recipe_record(settings: Settings, options: DataOptions, mcfg, tcfg) -> dict[str, Any]:
    """The ``recipe`` entry of a run's manifest: runnable again with ``--config`` (as JSON)."""
    data = {k: v for k, v in dataclasses.asdict(options).items() if k not in MACHINE_FIELDS}
    data["label_scale"] = [options.label_scale.low, options.label_scale.high]
    model = {k: v for k, v in mcfg.to_dict().items() if k not in ("window_frames", "n_features")}
    return settings.record("export", "features", data=data, model=model, train=tcfg)


def train_run_config(
    settings: Settings, options: DataOptions, out: Path, spec_file: str | None, replace: bool
) -> TrainRunConfig:
    """The typed config of one training run: the settings' data, spec, model and training."""
    spec = feature_spec(settings, spec_file)
    mcfg = model_config(settings, options.window, spec.n_features)
    tcfg = train_config(settings)
    record = recipe_record(settings, options, mcfg, tcfg)
    return TrainRunConfig(options, spec, mcfg, tcfg, Path(out), replace, record)
