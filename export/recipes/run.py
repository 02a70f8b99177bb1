"""A run's settings, typed: :class:`RunConfig`, built once from a recipe and the options given.

Three layers, each overriding the one before: the dataclasses' defaults, the recipe file
(:func:`~sentio.export.recipes.load_recipe`), the values given (a command's options, a
notebook's dict). :func:`build_run` merges them and reads every section through the codec
(:mod:`sentio.runtime.codec`) under strict rules: an unknown field, a number of the wrong type,
a NaN, or one outside :data:`RANGES` is a ConfigError naming the field and where it came from
(``train.epochs (recipe r.toml): expected a whole number, got 1.5``; a command names its
options through ``names``: ``train.learning_rate (--lr): nan is not a finite number``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sentio.export.conversion.exporter import ExportOptions
from sentio.export.conversion.gate import DropLimits
from sentio.export.data.labels import LabelScale
from sentio.export.data.sources import DataOptions, model_label_scale
from sentio.export.evaluation.robustness import LiveLimits
from sentio.export.model.augment import RECOMMENDED
from sentio.export.model.config import TrainConfig
from sentio.export.model.crnn import CRNNConfig
from sentio.export.model.search import SearchConfig
from sentio.export.pipelines.demo import DemoConfig
from sentio.export.recipes import Recipe
from sentio.runtime.codec import Bounds, FieldError, Rules, decode, encode
from sentio.runtime.errors import ConfigError, FeatureSpecError
from sentio.runtime.feature_specs import feature_spec_from_dict
from sentio.runtime.features import FeatureSpec, FrameSpec
from sentio.runtime.manifest import Manifest, path_hint
from sentio.runtime.mixed_features import MixedFeatureSpec

#: Recipe table -> the dataclass its fields belong to (``[features]`` is the frame spec's).
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
#: Frame kinds ``--spec`` and a recipe's ``[features] kind`` name.
FEATURE_KINDS: dict[str, type] = {"mfcc": FeatureSpec, "mixed": MixedFeatureSpec}
#: DataOptions fields a run's recipe leaves out: where this machine caches, how many cores.
MACHINE_FIELDS = ("cache_dir", "workers", "progress")
#: Settings about this machine's folders: a run's recorded recipe leaves them out (a bundle is
#: the same on every machine; a run again with ``--config`` is given its data again).
MACHINE_PATHS = {"data": ("path", "fourq", "cache_dir")}

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
    "train.distill_weight": _SHARE,
    "train.consistency.weight": Bounds(0, 1000),
    "train.consistency.short_share": _SHARE,
    "train.consistency.device_share": _SHARE,
    "train.consistency.short_min_frames": Bounds(1, 100_000),
    "train.consistency.short_max_frames": Bounds(1, 100_000),
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
    "export.limits.ccc": Bounds(0, 10),
    "export.limits.rmse": Bounds(0, 10),
    "export.limits.emotion_accuracy": Bounds(0, 10),
    "export.limits.mean_abs_diff": Bounds(0, 10),
    "export.live_limits.accuracy": Bounds(0, 10),
    "export.live_limits.shift": Bounds(0, 10),
    "search.trials": Bounds(1, 100_000),
    "search.budget_minutes": _POSITIVE,
    "demo.songs": Bounds(1, 100_000),
    "demo.duration_s": Bounds(0, 3600, open_low=True),
}


def _label_scale(value: Any) -> Any:
    """``[low, high]`` (a recipe, ``--label-scale LO HI``) as LabelScale's fields."""
    if isinstance(value, list | tuple) and len(value) == 2:
        return {"low": value[0], "high": value[1]}
    return value


def _parsed(cls: type):
    """A ``NAME=VALUE,...`` text (``--max-drop``, a recipe's string) read by ``cls.parse``."""

    def read(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return cls.parse(value)
        except ConfigError as err:
            raise ValueError(err.message) from err

    return read


#: How a recipe and the options are read: strictly, numbers in range, ``false`` an unset
#: optional (``cache_dir = false``).
RULES = Rules(
    strict=True,
    ranges=RANGES,
    readers={
        LabelScale: _label_scale,
        DropLimits: _parsed(DropLimits),
        LiveLimits: _parsed(LiveLimits),
    },
    none=True,
)


@dataclass(frozen=True)
class RunConfig:
    """A run's settings, typed: every section of a recipe, built once.

    Attributes:
        data: the labelled data (``data.path`` None: none given; see :meth:`data_options`).
        features: the frame spec.
        model: the CRNN (its window and feature count from ``data`` and ``features``).
        train, export, search, demo: the other sections (``export.threshold`` is
            ``train.emotion_threshold``).
        values: what the recipe and the values given set, ``section -> field -> value``
            (everything else took its default): a run's record, and whether a field was set.
        given: the values given over the recipe (a command's options), as given.
        recipe: the recipe file, if one was run.
    """

    data: DataOptions = field(default_factory=DataOptions)
    features: FrameSpec = field(default_factory=FeatureSpec)
    model: CRNNConfig = field(default_factory=CRNNConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    export: ExportOptions = field(default_factory=ExportOptions)
    search: SearchConfig = field(default_factory=SearchConfig)
    demo: DemoConfig = field(default_factory=DemoConfig)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    given: dict[str, dict[str, Any]] = field(default_factory=dict)
    recipe: Recipe | None = None

    @property
    def has_data(self) -> bool:
        return self.data.path is not None

    def sets(self, key: str) -> bool:
        """Whether the recipe or the values given set ``section.field``."""
        section, _, name = key.partition(".")
        return name in self.values.get(section, {})

    def data_options(
        self, required: bool = True, model: Manifest | None = None
    ) -> DataOptions | None:
        """The labelled data; a recipe that names only the kind needs its folder given.

        ``model``: the manifest of the model the data is for (export, check, evaluate,
        compare). A CSV given without a label scale is then read on the scale the model's
        training CSV was declared on; a scale set overrides it.
        """
        if not self.has_data:
            if not required:
                return None
            kind = self.values.get("data", {}).get("kind")
            raise ConfigError(
                f"the recipe trains on {kind}: say where it is" if kind else "no labelled data",
                hint=f"set data.path to the {kind} folder"
                if kind in ("emotify", "deam")
                else "set data.kind (emotify, deam or manifest) and data.path",
            )
        if model is not None and not self.sets("data.label_scale"):
            return model_label_scale(self.data, model)
        return self.data

    def with_data(self, **changes: Any) -> RunConfig:
        """The same run on other data (``kind``, ``path``): the demo's generated songs."""
        values = {**self.values, "data": {**self.values.get("data", {}), **changes}}
        return dataclasses.replace(
            self, data=dataclasses.replace(self.data, **changes), values=values
        )

    def record(self) -> dict[str, Any]:
        """The ``recipe`` entry of a run's manifest: the file, the values that overrode it,
        and the full settings as a recipe that ``--config`` can run again (saved as JSON);
        never this machine's folders."""
        data = {k: v for k, v in encode(self.data).items() if k not in MACHINE_FIELDS}
        data["label_scale"] = [self.data.label_scale.low, self.data.label_scale.high]
        derived = {name for section, name in DERIVED if section == "model"}
        model = {k: v for k, v in encode(self.model).items() if k not in derived}
        settings = {"data": data, "model": model, "train": encode(self.train)}
        for name in ("export", "features"):
            if self.values.get(name):
                settings[name] = _unset_dropped(encode(self.values[name]))
        return {
            "file": path_hint(self.recipe.file) if self.recipe and self.recipe.file else None,
            "options": _machine_free(_unset_dropped(encode(self.given))),
            "settings": _machine_free(settings),
        }


def build_run(
    recipe: Recipe | None = None,
    given: Mapping[str, Mapping[str, Any]] | None = None,
    spec: str | Path | None = None,
    names: Mapping[str, str] | None = None,
) -> RunConfig:
    """A run's :class:`RunConfig`: the dataclass defaults, then ``recipe``'s fields, then
    ``given`` (``section -> field -> value``; a nested table such as ``train.augmentation``
    merges field by field; ``train.augment = True`` is the recommended augmentation beneath
    the given parts), every field read and checked.

    Args:
        spec: the frame, given (a kind name or a spec JSON file); else the recipe's
            ``[features]``, else 40 MFCCs.
        names: ``section.field`` -> what to call a given value in an error (an option's flag);
            unnamed ones are "command line".

    Raises:
        ConfigError: naming the field and the recipe or option it came from.
    """
    given = {k: dict(v) for k, v in (given or {}).items()}
    values: dict[str, dict[str, Any]] = {}
    if recipe is not None:
        for section, table in recipe.sections.items():
            for name in table:
                if (section, name) in DERIVED:
                    raise ConfigError(
                        f"recipe {recipe.name}: {section}.{name} cannot be set",
                        hint=f"it follows from {DERIVED[section, name]}",
                    )
            values[section] = dict(table)
    layer = {k: dict(v) for k, v in given.items()}
    if layer.get("train", {}).pop("augment", False):
        values.setdefault("train", {})["augmentation"] = dataclasses.asdict(RECOMMENDED)
    _merge(values, layer)

    def source(key: str) -> str:
        parts = key.split(".")
        for n in range(len(parts), 1, -1):
            if _holds(given, parts[:n]):
                return (names or {}).get(".".join(parts[:n]), "command line")
        return f"recipe {recipe.name}" if recipe else ""

    def typed(kind: type, section: str, **fixed: Any) -> Any:
        table = values.get(section, {})
        try:
            return dataclasses.replace(decode(kind, table, section, RULES), **fixed)
        except FieldError as err:
            where = source(err.key)
            if err.problem.startswith("unknown setting"):
                raise ConfigError(f"{where}: {err.problem}", hint=err.hint) from None
            named = f"{err.key} ({where})" if where else err.key
            raise ConfigError(f"{named}: {err.problem}", hint=err.hint) from None

    if "path" in values.get("data", {}):
        values["data"].setdefault("kind", "manifest")
    if spec is not None:
        features = feature_spec(spec)
    elif values.get("features"):
        where = f"recipe {recipe.name}: [features]" if recipe else "[features]"
        features = spec_from_table(values["features"], where)
    else:
        features = FeatureSpec()
    data = typed(DataOptions, "data")
    train = typed(TrainConfig, "train")
    return RunConfig(
        data=data,
        features=features,
        model=typed(CRNNConfig, "model", window_frames=data.window, n_features=features.n_features),
        train=train,
        export=typed(ExportOptions, "export", threshold=train.emotion_threshold),
        search=typed(SearchConfig, "search"),
        demo=typed(DemoConfig, "demo"),
        values=values,
        given=given,
        recipe=recipe,
    )


def _merge(into: dict[str, Any], layer: Mapping[str, Any]) -> None:
    """``layer`` over ``into``, tables (dicts) merged field by field."""
    for name, value in layer.items():
        if isinstance(value, Mapping) and isinstance(into.get(name), Mapping):
            merged = dict(into[name])
            _merge(merged, value)
            into[name] = merged
        else:
            into[name] = dict(value) if isinstance(value, Mapping) else value


def _holds(table: Mapping[str, Any], parts: list[str]) -> bool:
    for part in parts:
        if not isinstance(table, Mapping) or part not in table:
            return False
        table = table[part]
    return True


def feature_spec(given: str | Path) -> FrameSpec:
    """The frame ``--spec`` names: a kind name (``mfcc``, ``mixed``) or a spec JSON file."""
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
    return spec_from_table(table, name)


def spec_from_table(table: Any, where: str) -> FrameSpec:
    """A frame spec from a table: ``algorithm`` (or a recipe's ``kind``) plus its fields."""
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


def _unset_dropped(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _unset_dropped(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_unset_dropped(v) for v in value]
    return value


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
