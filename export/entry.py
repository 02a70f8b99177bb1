"""Console-script entry points: check that the export extra is installed before importing it.

The base install (the runtime) ships ``sentio.export`` too, without its heavy dependencies;
running ``sentio-train`` there should say what to install, not print an import traceback.
"""

from __future__ import annotations

import sys
from importlib.util import find_spec

EXPORT_MODULES = ("tensorflow", "keras", "tqdm", "threadpoolctl")


def missing_export_modules() -> list[str]:
    return [name for name in EXPORT_MODULES if find_spec(name) is None]


def train_main() -> int:
    missing = missing_export_modules()
    if missing:
        print(
            f"error: sentio-train needs the export toolchain ({', '.join(missing)} not installed)\n"
            '  hint: pip install "sentio[export]"  (the base install is the light runtime only)',
            file=sys.stderr,
        )
        return 2
    from sentio.export.cli import main

    return main()
