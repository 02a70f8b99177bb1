"""Console-script entry points: check that the export extra is installed before importing it.

The base install (the runtime) ships ``sentio.export`` too, without its heavy dependencies;
running ``sentio-train`` there should say what to install, not print an import traceback.
"""

from __future__ import annotations

import sys
from importlib.util import find_spec

EXPORT_MODULES = ("tensorflow", "keras", "tqdm", "threadpoolctl")
CONVERT_MODULES = ("tf_keras", "tf2onnx", "onnx", "onnxruntime", "ai_edge_litert", "matplotlib")


def missing_export_modules(modules: tuple[str, ...] = EXPORT_MODULES) -> list[str]:
    return [name for name in modules if find_spec(name) is None]


def _say_missing(command: str, missing: list[str]) -> int:
    print(
        f"error: {command} needs the export toolchain ({', '.join(missing)} not installed)\n"
        '  hint: in the Sentio checkout: pip install ".[export]"  '
        "(the base install is the light runtime only)",
        file=sys.stderr,
    )
    return 2


def train_main() -> int:
    missing = missing_export_modules()
    if missing:
        return _say_missing("sentio-train", missing)
    from sentio.export.cli.train import main

    return main()


def export_main() -> int:
    missing = missing_export_modules(EXPORT_MODULES + CONVERT_MODULES)
    if missing:
        return _say_missing("sentio-export", missing)
    from sentio.export.cli.export import main

    return main()
