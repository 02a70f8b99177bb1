"""Recipes: the settings a command runs with, as committed files (TOML or JSON).

A recipe has one table per config dataclass, keyed by the dataclass's field names:

- ``[data]``: :class:`sentio.export.data.sources.DataOptions` (``kind``/``path`` name the
  dataset; usually given on the command line, ``--emotify DIR``);
- ``[features]``: the frame: ``kind = "mfcc"`` or ``"mixed"`` plus any field of that spec
  (``sentio.runtime.features.FeatureSpec``, ``sentio.runtime.mixed_features.MixedFeatureSpec``);
  absent: 40 MFCCs;
- ``[model]``: :class:`sentio.export.model.crnn.CRNNConfig` (the window and feature count
  come from the data);
- ``[train]``: :class:`sentio.export.model.config.TrainConfig`, with ``[train.augmentation]``;
- ``[export]``: :class:`sentio.export.conversion.exporter.ExportOptions`;
- ``[search]``: :class:`sentio.export.model.search.SearchConfig`;
- ``[demo]``: the generated data of ``sentio-train demo``.

``sentio-train fit|search|demo --config FILE`` and ``sentio-export --config FILE`` run one; an
option given on the command line overrides its field. A bundled recipe can be named instead of
a file: ``--config default_model`` (how ``runtime/default_model/`` was trained and exported)
or ``--config demo``. A run records the recipe it ran (``recipe`` in its ``sentio.json``).
This module only reads files; the CLI checks each field against its dataclass.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sentio.runtime.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

#: The folder of the bundled recipes.
RECIPES_DIR = Path(__file__).resolve().parent
#: Tables a recipe may have.
SECTIONS = ("data", "features", "model", "train", "export", "search", "demo")


@dataclass(frozen=True)
class Recipe:
    """A recipe file's tables (``section -> field -> value``) and where it came from."""

    sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    file: Path | None = None

    @property
    def name(self) -> str:
        return self.file.name if self.file else "command line"

    def section(self, name: str) -> dict[str, Any]:
        return dict(self.sections.get(name, {}))


def bundled() -> list[str]:
    """Names of the bundled recipes (``default_model``, ``demo``)."""
    return sorted(p.stem for p in RECIPES_DIR.glob("*.toml"))


def find_recipe(name_or_path: str | Path) -> Path:
    """A recipe file: the path given, or the bundled recipe of that name."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    own = RECIPES_DIR / f"{path.name}.toml"
    if path.suffix == "" and path.parent == Path(".") and own.is_file():
        return own
    raise ConfigError(
        f"no recipe file {name_or_path}",
        hint=f"pass a .toml or .json file, or a bundled recipe: {', '.join(bundled())}",
    )


def load_recipe(name_or_path: str | Path) -> Recipe:
    """Read a recipe (TOML, or JSON such as a run manifest's ``recipe.settings``).

    Raises:
        ConfigError: no such file, unreadable, or a table that is not one of :data:`SECTIONS`.
    """
    path = find_recipe(name_or_path)
    try:
        text = path.read_text()
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (OSError, UnicodeDecodeError, ValueError) as err:  # TOMLDecodeError is a ValueError
        raise ConfigError(
            f"cannot read recipe {path}: {err}", hint="fix the file (TOML or JSON)"
        ) from err
    unknown = [k for k in data if k not in SECTIONS]
    not_tables = [k for k in data if k in SECTIONS and not isinstance(data[k], dict)]
    if unknown or not_tables:
        raise ConfigError(
            f"recipe {path}: unknown or malformed table(s) {', '.join(unknown + not_tables)}",
            hint=f"a recipe holds the tables {', '.join(SECTIONS)}",
        )
    return Recipe({k: dict(v) for k, v in data.items()}, path)
