"""Running one exported model file: TFLite through LiteRT (or tflite-runtime), ONNX through
onnxruntime. A runner takes normalized windows (600 x 40 float32) and returns valence/arousal.

Two details matter for correctness, and both live here so that every caller gets them:
- TFLite keeps the LSTM's hidden and cell state in *variable tensors* that survive an
  ``invoke``. Without a reset, each window would start from the previous window's final state
  (measured on Emotify test windows: outputs off by up to 0.63). Every window resets them.
- Full-integer models take and return int8: inputs are quantized and outputs dequantized with
  the scale and zero point the model file declares.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np
from sentio.runtime.errors import BackendMissingError, BundleError, ConfigError
from sentio.runtime.manifest import (
    FLOAT32,
    MANIFEST_NAME,
    UNREADABLE,
    Manifest,
    ModelEntry,
    Quantization,
)
from sentio.runtime.manifest import load as load_manifest
from sentio.runtime.native_stderr import fd2_captured
from sentio.runtime.windows import fill_window


class Runner(Protocol):
    """What every backend offers."""

    path: Path
    backend: str
    input_quantization: Quantization
    output_quantization: Quantization

    def predict(self, window: np.ndarray) -> np.ndarray:
        """(frames, features) normalized window -> (2,) valence, arousal."""
        ...


def _tflite_interpreter_class():
    try:
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter, "litert"
    except ImportError:
        pass
    try:
        from tflite_runtime.interpreter import Interpreter

        return Interpreter, "tflite-runtime"
    except ImportError:
        raise BackendMissingError(
            "no TFLite interpreter is installed",
            hint="pip install ai-edge-litert (or tflite-runtime on Python 3.11 with numpy < 2)",
        ) from None


#: Lines LiteRT's native code writes straight to fd 2 on every start (past Python's logging):
#: kept off the terminal; anything else it writes is shown (issue 22).
NATIVE_START_LINES = ("INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",)


def native_start_lines_dropped():
    """Run a native call with file descriptor 2 captured; then write back what it printed, less
    :data:`NATIVE_START_LINES` (everything if the call fails)."""

    def shown(text: str, failed: bool) -> str:
        lines = text.splitlines(keepends=True)
        return "".join(x for x in lines if failed or x.strip() not in NATIVE_START_LINES)

    return fd2_captured(shown)


class TFLiteRunner:
    """A ``.tflite`` file in LiteRT (tflite-runtime where only that is installed)."""

    def __init__(self, path: Path, num_threads: int = 1) -> None:
        self.path = Path(path)
        interpreter_class, self.backend = _tflite_interpreter_class()
        try:
            with native_start_lines_dropped():  # the XNNPACK line, on every start
                self._interpreter = interpreter_class(
                    model_path=str(self.path), num_threads=num_threads
                )
                self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as err:
            raise BundleError(
                f"cannot load TFLite model {self.path} in {self.backend}: {err}",
                hint=_tflite_load_hint(self.backend),
            ) from err
        (inp,) = self._interpreter.get_input_details()
        (out,) = self._interpreter.get_output_details()
        self._input, self._output = inp["index"], out["index"]
        self.input_shape = tuple(int(d) for d in inp["shape"])
        self.input_quantization = _tflite_quantization(inp)
        self.output_quantization = _tflite_quantization(out)

    def predict(self, window: np.ndarray) -> np.ndarray:
        interpreter = self._interpreter
        interpreter.reset_all_variables()  # LSTM state must not leak from the last window
        interpreter.set_tensor(self._input, self.input_quantization.quantize(window[None]))
        interpreter.invoke()
        return self.output_quantization.dequantize(interpreter.get_tensor(self._output))[0]


def _tflite_load_hint(backend: str) -> str:
    if backend == "tflite-runtime":
        # measured: tflite-runtime 2.14 (its last release) lacks FULLY_CONNECTED version 12,
        # which the dynamic-range model uses; float32 and int8 load
        return (
            "tflite-runtime is older than the converter: pip install ai-edge-litert, or pick "
            "--artifact model_float32.tflite / model_int8.tflite"
        )
    return "the file is corrupt or needs a newer runtime; re-export it or upgrade ai-edge-litert"


def _tflite_quantization(detail: dict) -> Quantization:
    scale, zero_point = detail["quantization"]
    return Quantization(np.dtype(detail["dtype"]).name, float(scale), int(zero_point))


class OnnxRunner:
    """A ``.onnx`` file in onnxruntime, on ``num_threads`` threads."""

    def __init__(self, path: Path, num_threads: int = 1) -> None:
        self.path = Path(path)
        self.backend = "onnxruntime"
        try:
            import onnxruntime as ort
        except ImportError:
            raise BackendMissingError(
                "onnxruntime is not installed", hint="pip install onnxruntime"
            ) from None
        options = ort.SessionOptions()
        options.intra_op_num_threads = num_threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(
                str(self.path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as err:  # onnxruntime raises its own untyped exceptions
            raise BundleError(
                f"cannot load ONNX model {self.path}: {err}",
                hint="the file is corrupt or needs a newer onnxruntime; re-export it",
            ) from err
        (inp,) = self._session.get_inputs()
        self._input_name = inp.name
        self.input_shape = tuple(inp.shape)
        self.input_quantization = FLOAT32
        self.output_quantization = FLOAT32

    def predict(self, window: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(window[None], dtype=np.float32)
        return self._session.run(None, {self._input_name: x})[0][0]


def open_runner(path: Path, num_threads: int = 1) -> Runner:
    """A runner for a model file, chosen by its suffix."""
    path = Path(path)
    if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1:
        raise ConfigError(
            f"the number of inference threads must be a whole number of at least 1, "
            f"got {num_threads!r}",
            hint="use 1 on a Raspberry Pi (the model is small), more only on larger CPUs",
        )
    if path.suffix == ".tflite":
        return TFLiteRunner(path, num_threads)
    if path.suffix == ".onnx":
        return OnnxRunner(path, num_threads)
    raise BundleError(
        f"{path.name}: not a model file the runtime can run",
        hint="use a .tflite or .onnx file of an exported bundle",
    )


def predict_many(runner: Runner, windows: np.ndarray) -> np.ndarray:
    """Predictions of a stack of windows, one at a time (the models have batch size 1)."""
    return np.stack([runner.predict(w) for w in windows]) if len(windows) else np.zeros((0, 2))


# ----------------------------------------------------------------------------- bundles


DEFAULT_MODEL_DIR_NAME = "default_model"


def default_bundle() -> Path | None:
    """The model that ships inside the runtime package, if this install has one."""
    candidate = Path(__file__).parent / DEFAULT_MODEL_DIR_NAME
    return candidate if (candidate / MANIFEST_NAME).is_file() else None


class BundleModel:
    """An exported bundle, verified, with one of its artifacts ready to run.

    Takes raw feature windows (as the feature pipeline computes them), applies the bundle's
    normalization and returns (valence, arousal).

    Args:
        path: a bundle folder, or one model file inside it (that artifact is then used).
        artifact: file name of the artifact to run; default the one the export chose.
        num_threads: inference threads.

    Raises:
        BundleError: not a bundle, a checksum mismatch, a feature spec this runtime cannot
            reproduce, or an artifact that is missing or cannot be loaded.
    """

    def __init__(
        self, path: Path | None = None, artifact: str | None = None, num_threads: int = 1
    ) -> None:
        path = Path(path) if path is not None else default_bundle()
        if path is None:
            raise BundleError(
                "no model given and this install has no default model",
                hint="pass --model BUNDLE (a folder written by sentio-export)",
            )
        try:
            is_file = path.is_file()
        except PermissionError as err:
            raise BundleError(f"cannot read {path}: permission denied", hint=UNREADABLE) from err
        if is_file:
            path, artifact = path.parent, artifact or path.name
        self.path = path
        self.manifest: Manifest = load_manifest(path)  # every file's sha256 checked
        self.spec = self.manifest.feature_spec
        self.stats = self.manifest.normalization
        self.window = self.manifest.window.frames
        self.default_hop_s = self.manifest.window.default_hop_s
        self.artifact = artifact or self._default_artifact()
        self.artifact_reason = self._why(artifact is not None)
        entry = self.manifest.model(self.artifact)
        if entry is None or not entry.runnable:
            runnable = self.manifest.runnable
            raise BundleError(
                f"{path} has no runnable artifact {self.artifact!r}",
                hint=f"choose one of {runnable}" if runnable else "export it with sentio-export",
            )
        self.entry: ModelEntry = entry
        self.runner = open_runner(path / self.artifact, num_threads)
        self._check_input_shape()

    def _check_input_shape(self) -> None:
        """The manifest's window and feature count must be what the model file takes: a
        mismatch would otherwise fail mid-run, on the first window."""
        shape = tuple(getattr(self.runner, "input_shape", ()))
        where = f"{self.path / MANIFEST_NAME}"
        if len(shape) != 3:
            raise BundleError(
                f"{self.artifact} takes input of shape {list(shape)}, not (1, frames, features)",
                hint="re-export the bundle with sentio-export",
            )
        expected = (
            ("window.frames", self.window, "frames per window"),
            ("feature_spec", self.spec.n_features, "features per frame"),
        )
        for size, (field, ours, what) in zip(shape[1:], expected, strict=True):
            if isinstance(size, int) and size > 0 and size != ours:
                raise BundleError(
                    f"{where}: {field} gives {ours} {what}, but {self.artifact} takes {size}",
                    hint="the manifest was edited or belongs to another model: restore it, or "
                    "re-export the bundle with sentio-export",
                )

    def _why(self, chosen: bool) -> str:
        """Why :attr:`artifact` runs, in words (``sentio-listen`` says it when it starts)."""
        if chosen:
            return "chosen with --artifact or as the model file"
        if self.manifest.default_artifact != self.artifact:
            return "the first runnable model in the bundle (the export recorded no pick)"
        timed = self.manifest.model(self.artifact)
        if timed is not None and timed.ms_per_window is not None:
            return (
                "the export's pick: the fastest model that passed its accuracy gate, "
                f"{timed.ms_per_window:.1f} ms per window on the exporting machine"
            )
        return "the export's pick"

    def _default_artifact(self) -> str:
        if self.manifest.default_artifact:
            return self.manifest.default_artifact
        runnable = self.manifest.runnable
        if not runnable:
            raise BundleError(
                f"{self.path} holds no TFLite or ONNX model",
                hint="a training run's folder is not enough: export it with sentio-export",
            )
        return runnable[0]

    def predict(self, features: np.ndarray) -> np.ndarray:
        """(window, n_features) raw features -> (2,) valence, arousal in [-1, 1]."""
        return self.runner.predict(self.stats.apply(features))

    def estimate(self, normalized: np.ndarray) -> np.ndarray:
        """Normalized frames, any number from 1 -> (2,) valence, arousal: the frames repeated
        to a window (:func:`~sentio.runtime.windows.fill_window`), as for an early estimate."""
        return self.runner.predict(fill_window(normalized, self.window))
