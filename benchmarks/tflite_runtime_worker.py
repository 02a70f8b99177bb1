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
    """``sentio.runtime.model`` without the package ``__init__``.

    The ``__init__`` imports the feature pipeline (scipy, python-speech-features), which this
    venv does not have; ``model.py`` needs only numpy and ``errors.py``.
    """
    for name, path in (("sentio", None), ("sentio.runtime", runtime_dir)):
        package = types.ModuleType(name)
        package.__path__ = [str(path)] if path else []
        sys.modules[name] = package
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
