"""tflite-runtime in its own venv: it needs numpy < 2, which the main environment cannot have.

The venv is made once under the cache folder (``python -m venv`` + pip); the benchmark talks to
``tflite_runtime_worker.py`` running in it over pipes. Where the venv cannot be made (no
network, no wheel for this platform), the reason is reported instead of a number.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

PACKAGES = ("tflite-runtime", "numpy<2")
WORKER = Path(__file__).with_name("tflite_runtime_worker.py")
RUNTIME_DIR = Path(__file__).resolve().parent.parent / "runtime"


class Unavailable(RuntimeError):
    """tflite-runtime cannot be run here; the message says why."""


def venv_python(cache_dir: Path, create: bool = True) -> Path:
    """The venv's interpreter, with tflite-runtime importable; made on first use."""
    venv = Path(cache_dir) / "venv-tflite-runtime"
    python = venv / "bin" / "python"
    if _imports_tflite_runtime(python):
        return python
    if not create:
        raise Unavailable(f"no venv at {venv} (creation disabled)")
    steps = (
        [sys.executable, "-m", "venv", "--clear", str(venv)],
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *PACKAGES],
    )
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as err:
            raise Unavailable(f"`{' '.join(step[-3:])}` failed: {err}") from err
        if done.returncode:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise Unavailable(f"`{' '.join(step[-3:])}` failed: {last}")
    if not _imports_tflite_runtime(python):
        raise Unavailable("tflite-runtime installed but does not import")
    return python


def _imports_tflite_runtime(python: Path) -> bool:
    if not python.is_file():
        return False
    check = [str(python), "-c", "import tflite_runtime.interpreter"]
    return subprocess.run(check, capture_output=True).returncode == 0


class Worker:
    """A worker process in the venv: load models, then time one ``predict`` per request."""

    def __init__(self, python: Path, window: np.ndarray, scratch: Path) -> None:
        self._process = subprocess.Popen(
            [str(python), str(WORKER), str(RUNTIME_DIR)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # its INFO lines; errors come back as JSON
            text=True,
        )
        path = Path(scratch) / "window.npy"
        np.save(path, window)
        self._ask({"window": str(path)})
        self.version = "unknown"

    def _ask(self, request: dict) -> dict:
        assert self._process.stdin and self._process.stdout
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        if not line:
            raise Unavailable("the tflite-runtime worker exited")
        reply = json.loads(line)
        if "error" in reply:
            raise Unavailable(reply["error"].splitlines()[0])
        return reply

    def load(self, model: Path) -> int:
        reply = self._ask({"load": str(Path(model).resolve())})
        self.version = reply["version"]
        return reply["index"]

    def contender(self, index: int):
        """A timing contender: the worker's own perf_counter time of one predict."""
        return lambda: float(self._ask({"run": index})["s"])

    def close(self) -> None:
        if self._process.stdin:
            self._process.stdin.close()
        self._process.wait(timeout=10)
