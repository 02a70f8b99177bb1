"""Runs inside the tflite-runtime venv (numpy < 2, Sentio not installed) and times
``TFLiteRunner.predict`` on request, one JSON line in, one JSON line out, so that the
benchmark can interleave tflite-runtime with the in-process contenders.

    python tflite_runtime_worker.py RUNTIME_DIR
    {"window": "w.npy"}   -> {"ok": true}
    {"load": "m.tflite"}  -> {"index": 0, "backend": "tflite-runtime", "version": "2.14.0"}
    {"run": 0}            -> {"s": 0.0031}
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import types
from pathlib import Path


def load_runtime_model(runtime_dir: Path):
    """``sentio.runtime.model`` without the package ``__init__`` and the feature pipeline.

    The ``__init__`` and ``features.py`` import scipy and python-speech-features, which this
    venv does not have; ``model.py`` runs models with numpy, ``errors.py`` and the manifest's
    types, none of which touches a ``FeatureSpec`` until a bundle is loaded (never here). So
    ``features`` is a stand-in that names the two classes the manifest module imports.
    """
    for name, path in (("sentio", None), ("sentio.runtime", runtime_dir)):
        package = types.ModuleType(name)
        package.__path__ = [str(path)] if path else []
        sys.modules[name] = package
    features = types.ModuleType("sentio.runtime.features")
    features.FeatureSpec = features.FeatureStats = type("NotInThisVenv", (), {})
    sys.modules[features.__name__] = features
    return importlib.import_module("sentio.runtime.model")


def main() -> None:
    model = load_runtime_model(Path(sys.argv[1]))
    import numpy as np
    import tflite_runtime

    runners, window = [], None
    for line in sys.stdin:
        request = json.loads(line)
        try:
            if "window" in request:
                window = np.load(request["window"])
                reply = {"ok": True}
            elif "load" in request:
                runners.append(model.TFLiteRunner(Path(request["load"])))
                reply = {
                    "index": len(runners) - 1,
                    "backend": runners[-1].backend,
                    "version": tflite_runtime.__version__,
                }
            else:
                runner = runners[request["run"]]
                start = time.perf_counter()
                runner.predict(window)
                reply = {"s": time.perf_counter() - start}
        except Exception as err:  # reported to the benchmark, which lists it as unavailable
            reply = {"error": f"{type(err).__name__}: {err}"}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
