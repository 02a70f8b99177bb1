"""Console-script entry points: quiet TensorFlow's start-up and check that the export extra is
installed, both before anything imports TensorFlow.

The base install (the runtime) ships ``sentio.export`` too, without its heavy dependencies;
running ``sentio-train`` there should say what to install, not print an import traceback.
"""

from __future__ import annotations

import os
import sys
from importlib.util import find_spec

#: Environment that keeps TensorFlow's C++ start-up lines (CUDA drivers not found, cuDNN/cuBLAS
#: factories, oneDNN notice, absl's pre-init warning) off a user's terminal. Set only where the
#: user has not set them; ``-v`` brings them back.
QUIET_TENSORFLOW = {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "ABSL_MIN_LOG_LEVEL": "3",
    "GRPC_VERBOSITY": "ERROR",
    "GLOG_minloglevel": "3",
}

EXPORT_MODULES = ("tensorflow", "keras", "tqdm", "threadpoolctl")
CONVERT_MODULES = ("tf_keras", "tf2onnx", "onnx", "onnxruntime", "ai_edge_litert", "matplotlib")


def quiet_tensorflow(argv: list[str] | None = None) -> None:
    """Set :data:`QUIET_TENSORFLOW` unless the command line asks for ``-v``/``--verbose``."""
    args = sys.argv[1:] if argv is None else argv
    if "-v" in args or "--verbose" in args:
        return
    for name, value in QUIET_TENSORFLOW.items():
        os.environ.setdefault(name, value)


def missing_export_modules(modules: tuple[str, ...] = EXPORT_MODULES) -> list[str]:
    return [name for name in modules if find_spec(name) is None]


def _say_missing(command: str, missing: list[str]) -> int:
    print(
        f"error: {command} needs the export toolchain ({', '.join(missing)} not installed)\n"
        '  hint: pip install "sentio-mer[export]" (in a Sentio checkout: pip install ".[export]"; '
        "the base install is the light runtime only)",
        file=sys.stderr,
    )
    return 2


def train_main() -> int:
    quiet_tensorflow()
    missing = missing_export_modules()
    if missing:
        return _say_missing("sentio-train", missing)
    from sentio.export.cli.train import main

    return main()


def export_main() -> int:
    quiet_tensorflow()
    missing = missing_export_modules(EXPORT_MODULES + CONVERT_MODULES)
    if missing:
        return _say_missing("sentio-export", missing)
    from sentio.export.cli.export import main

    return main()


#: What ``sentio-analyze`` needs beyond the runtime (no TensorFlow: it runs the exported models).
ANALYZE_MODULES = ("tqdm", "threadpoolctl")


def analyze_main() -> int:
    missing = missing_export_modules(ANALYZE_MODULES)
    if missing:
        return _say_missing("sentio-analyze", missing)
    from sentio.export.cli.analyze import main

    return main()
