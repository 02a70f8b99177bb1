"""The installed distribution: its name on PyPI and its version.

The import name is ``sentio``; the distribution is ``sentio-mer`` because ``sentio`` on PyPI
is an unrelated project. Everything that asks the package metadata asks under this name.
"""

from __future__ import annotations

import importlib.metadata

DISTRIBUTION = "sentio-mer"


def installed_version() -> str:
    """The installed version, or ``unknown`` when running from an uninstalled checkout."""
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def extra_requirements(extra: str) -> list[str]:
    """The requirements an extra of the installed Sentio adds (quoted for a shell).

    Hints name them rather than ``sentio-mer[extra]``, which only works once the
    distribution is published; inside a checkout the user runs ``pip install ".[extra]"``."""
    try:
        requires = importlib.metadata.requires(DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        return []
    marker = f'extra == "{extra}"'
    return [f'"{r.split(";")[0].strip()}"' for r in requires if marker in r]
