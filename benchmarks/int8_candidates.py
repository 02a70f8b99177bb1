"""Quantized variants of the shipped model, side by side: size, time per window, accuracy drop.

    python -m benchmarks.int8_candidates --emotify DIR --fourq DIR [--out DIR] [--rounds 100]

Issue 26: ``--int8``'s full-integer TFLite model is the slowest artifact (its int8 LSTM kernel;
``python -m benchmarks.artifact_profile``). Every candidate is made from the shipped bundle's
``model.keras`` with the export's own code (``export/conversion``), calibrated on the same
300 training windows the export draws (``draw_calibration``, seed 0), and gated like the
export (``gate.check_artifacts`` on the bundle's test split, default ``DropLimits``) against
the shipped float32 TFLite (equal to Keras there, and ~100x faster than Keras' eager LSTMs).
Times: one thread, batch 1, one random window, the runtime's own runner
(``open_runner(...).predict``: state reset, int8 I/O quantized), every candidate interleaved
round by round; ratio = time / ``model_dynamic.tflite``'s in the same round.

The shipped files are read, never written; candidates go to ``--out`` (a temporary folder).
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sentio.export.conversion.onnx import calibration_reader
from sentio.export.conversion.tflite import convert_tflite

from benchmarks.timing import Spread, interleaved, ratios, timed

REFERENCE = "model_dynamic.tflite"
# The gate's float reference: the shipped float32 TFLite, equal to Keras on this test split
# (max |d| 0.0000 in the export's table) and ~100x faster than Keras' eager LSTM steps.
REFERENCE_FLOAT = "model_float32.tflite"
LSTM_OP = "UNIDIRECTIONAL_SEQUENCE_LSTM"


@dataclass
class Candidate:
    name: str
    how: str
    path: Path | None = None
    error: str = ""
    seconds: float = 0.0  # conversion time


# ----------------------------------------------------------------------------- TFLite


def _converter(inference, calibration: np.ndarray):
    import tensorflow as tf
    from sentio.export.conversion.tflite import _representative

    converter = tf.lite.TFLiteConverter.from_keras_model(inference)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = _representative(calibration)
    return converter


def selective_int8(inference, calibration: np.ndarray, denylisted_ops=(LSTM_OP,)) -> bytes:
    """Full-integer model with ``denylisted_ops`` left in float (int8 I/O): the converter's
    calibrate-only pass, then the MLIR quantizer with a denylist (what the quantization
    debugger's ``denylisted_ops`` does, without its instrumented copy)."""
    import tensorflow as tf
    from sentio.export.conversion.tflite import remove_cell_clip
    from sentio.export.quiet import native_stderr_quiet
    from tensorflow.lite.python import convert

    converter = _converter(inference, calibration)
    converter.experimental_mlir_quantizer = True
    converter._experimental_calibrate_only = True
    with native_stderr_quiet():
        calibrated = converter.convert()
        quantized = convert.mlir_quantize(
            calibrated,
            fully_quantize=True,
            input_data_type=tf.int8,
            output_data_type=tf.int8,
            denylisted_ops=list(denylisted_ops),
        )
    return remove_cell_clip(quantized)


def int16x8(inference, calibration: np.ndarray) -> bytes:
    """16x8: int16 activations, int8 weights; builtins allowed as float fallback."""
    import tensorflow as tf
    from sentio.export.conversion.tflite import remove_cell_clip
    from sentio.export.quiet import native_stderr_quiet

    converter = _converter(inference, calibration)
    converter.target_spec.supported_ops = [
        tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8,
        tf.lite.OpsSet.TFLITE_BUILTINS,
    ]
    with native_stderr_quiet():
        return remove_cell_clip(converter.convert())


def unrolled_int8(inference, calibration: np.ndarray) -> bytes:
    """Full int8 of the same model with ``unroll=True`` LSTMs (per-step FULLY_CONNECTED and
    elementwise ops instead of the fused LSTM kernel)."""
    import tf_keras

    config = inference.get_config()
    for layer in config["layers"]:
        if layer["class_name"] == "LSTM":
            layer["config"]["unroll"] = True
    unrolled = tf_keras.Model.from_config(config)
    unrolled.set_weights(inference.get_weights())
    return convert_tflite(unrolled, "int8", calibration)


# ----------------------------------------------------------------------------- ONNX


def onnx_static(float_path: Path, out: Path, calibration: np.ndarray, fmt: str, per_channel: bool):
    from onnxruntime.quantization import (
        QuantFormat,
        QuantType,
        quant_pre_process,
        quantize_static,
    )

    prepared = out.with_suffix(".pre.onnx")
    quant_pre_process(str(float_path), str(prepared), skip_symbolic_shape=True)
    quantize_static(
        str(prepared),
        str(out),
        calibration_reader(calibration),
        quant_format=QuantFormat.QDQ if fmt == "qdq" else QuantFormat.QOperator,
        activation_type=QuantType.QInt8 if fmt == "qdq" else QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        per_channel=per_channel,
    )
    prepared.unlink()


def onnx_dynamic(float_path: Path, out: Path, op_types: list[str] | None):
    from onnxruntime.quantization import QuantType, quant_pre_process, quantize_dynamic

    prepared = out.with_suffix(".pre.onnx")
    quant_pre_process(str(float_path), str(prepared), skip_symbolic_shape=True)
    quantize_dynamic(
        str(prepared), str(out), weight_type=QuantType.QInt8, op_types_to_quantize=op_types
    )
    prepared.unlink()


# ----------------------------------------------------------------------------- run


def make_candidates(
    bundle: Path,
    inference,
    calibration: np.ndarray,
    out: Path,
    skip: set[str],
    reuse: bool = False,
) -> list[Candidate]:
    """Copies of the shipped artifacts, then each new variant (a failed one keeps its error)."""
    candidates = []
    for file in (
        "model_dynamic.tflite",
        "model_float32.tflite",
        "model_int8.tflite",
        "model.onnx",
        "model_int8.onnx",
    ):
        shutil.copyfile(bundle / file, out / file)
        candidates.append(Candidate(file, "shipped", out / file))

    def tflite(name: str, how: str, make: Callable[[], bytes]) -> None:
        if name in skip:
            return
        start = time.perf_counter()
        candidate = Candidate(name, how)
        if reuse and (out / name).is_file():
            candidate.path = out / name
            candidates.append(candidate)
            return
        try:
            (out / name).write_bytes(make())
            candidate.path = out / name
        except Exception as err:  # converters raise many untyped errors: record, go on
            candidate.error = f"{type(err).__name__}: {str(err).strip().splitlines()[-1][:300]}"
        candidate.seconds = time.perf_counter() - start
        candidates.append(candidate)

    tflite(
        "int8_lstm_float.tflite",
        "int8 convs/dense, LSTM float (denylisted_ops), int8 I/O",
        lambda: selective_int8(inference, calibration),
    )
    tflite(
        "int8_lstm_hybrid.tflite",
        "int8 convs/dense, LSTM int8 weights / float activations (hybrid), int8 I/O",
        lambda: convert_tflite(inference, "int8_hybrid", calibration),
    )
    tflite(
        "int16x8.tflite", "16x8 (float fallback allowed)", lambda: int16x8(inference, calibration)
    )
    tflite(
        "int8_unrolled.tflite",
        "full int8, LSTMs unroll=True",
        lambda: unrolled_int8(inference, calibration),
    )
    float_onnx = bundle / "model.onnx"
    onnx = [
        ("onnx_qdq_pc.onnx", "static QDQ, per-channel (LSTM float)", "qdq", True),
        ("onnx_qdq_pt.onnx", "static QDQ, per-tensor (LSTM float)", "qdq", False),
        ("onnx_qop_pc.onnx", "static QOperator (u8 act.), per-channel (LSTM float)", "qop", True),
    ]
    for name, how, fmt, per_channel in onnx:

        def make(name=name, fmt=fmt, per_channel=per_channel) -> bytes:
            onnx_static(float_onnx, out / f"tmp_{name}", calibration, fmt, per_channel)
            return (out / f"tmp_{name}").read_bytes()

        tflite(name, how, make)

    def dyn_lstm() -> bytes:
        onnx_dynamic(float_onnx, out / "tmp_dyn_lstm.onnx", ["LSTM", "MatMul", "Gemm"])
        return (out / "tmp_dyn_lstm.onnx").read_bytes()

    tflite("onnx_dyn_lstm.onnx", "dynamic, LSTM + dense only (convs float)", dyn_lstm)

    def qdq_dyn_lstm() -> bytes:
        onnx_static(float_onnx, out / "tmp_qdq.onnx", calibration, "qdq", True)
        onnx_dynamic(out / "tmp_qdq.onnx", out / "tmp_qdq_dyn.onnx", ["LSTM"])
        return (out / "tmp_qdq_dyn.onnx").read_bytes()

    tflite("onnx_qdq_dyn_lstm.onnx", "static QDQ per-channel convs + dynamic LSTM", qdq_dyn_lstm)
    for tmp in out.glob("tmp_*"):
        tmp.unlink()
    return candidates


def main() -> None:
    from sentio.export.conversion.calibrate import draw_calibration
    from sentio.export.conversion.exporter import load_source
    from sentio.export.conversion.gate import DropLimits, check_artifacts, runner_predictor
    from sentio.export.conversion.tflite import tf_keras_inference_model
    from sentio.export.data.sources import DataOptions, prepare_for_model
    from sentio.runtime.model import default_bundle

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, default=None)
    parser.add_argument("--emotify", type=Path, default=None)
    parser.add_argument("--fourq", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path("/tmp/sentio-int8-candidates"))
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--skip", default="", help="comma-separated candidate names to skip")
    parser.add_argument("--reuse", action="store_true", help="keep candidates already in --out")
    parser.add_argument(
        "--time-only", action="store_true", help="re-time --out's passing candidates only"
    )
    args = parser.parse_args()
    bundle = args.bundle or default_bundle()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.time_only:
        rows = json.loads((args.out / "results.json").read_text())
        passed = {r["name"]: args.out / r["name"] for r in rows if r.get("gate") == "pass"}
        timings = time_candidates(passed, args.rounds)
        for row in rows:
            row.update(timings.get(row["name"], {}))
        (args.out / "results.json").write_text(json.dumps(rows, indent=1) + "\n")
        print(markdown(rows, args.rounds))
        return
    if args.emotify is None:
        parser.error("--emotify is required (the test split to gate on)")

    source = load_source(bundle)
    options = DataOptions(
        kind="emotify", path=args.emotify, fourq=args.fourq, progress=False, workers=1
    )
    prepared, _ = prepare_for_model(source.manifest, options, own_splits=True)
    print(f"data: {prepared.summary()}", flush=True)
    calibration = draw_calibration(
        prepared.splits["train"], prepared.window, 300, prepared.spec.fingerprint(), 0
    )
    inference = tf_keras_inference_model(source.model, source.config)
    skip = set(filter(None, args.skip.split(",")))
    candidates = make_candidates(bundle, inference, calibration.windows, args.out, skip, args.reuse)
    for c in candidates:
        if c.error:
            print(f"{c.name}: conversion failed: {c.error}", flush=True)

    ok = [c for c in candidates if c.path is not None]
    test = prepared.splits["test"]
    ref = None
    checks = {}
    for c in ok:
        try:
            predictor = runner_predictor(c.path)
        except Exception as err:  # a runtime that cannot load the file: record, go on
            c.error = f"does not load: {type(err).__name__}: {str(err)[:200]}"
            continue
        result = check_artifacts(
            ref or runner_predictor(bundle / REFERENCE_FLOAT),
            {c.name: predictor},
            test,
            prepared.window,
            DropLimits(),
            reference_name=REFERENCE_FLOAT,
        )
        ref = result[REFERENCE_FLOAT]
        checks[c.name] = result[c.name]
        print(f"gated {c.name}: {'pass' if checks[c.name].passed else 'FAIL'}", flush=True)

    timings = time_candidates({c.name: c.path for c in ok if c.name in checks}, args.rounds)

    rows = []
    for c in candidates:
        row = {"name": c.name, "how": c.how, "error": c.error}
        if c.name in checks:
            check = checks[c.name]
            row.update(
                bytes=c.path.stat().st_size,
                **timings[c.name],
                drop={k: round(v, 4) for k, v in check.drops.items()},
                mean_abs_diff=round(check.diff_mean, 4),
                max_abs_diff=round(check.diff_max, 4),
                gate="pass" if check.passed else "fail: " + "; ".join(check.failures),
            )
        rows.append(row)
    (args.out / "results.json").write_text(json.dumps(rows, indent=1) + "\n")
    print(markdown(rows, args.rounds))


def time_candidates(paths: dict[str, Path], rounds: int) -> dict[str, dict]:
    """Each file's time per window (median and p10-p90, and the fastest round: its cost with
    no other process preempting it) and its ratio to ``model_dynamic.tflite``'s, per round
    (median, p10-p90) and of the fastest rounds; all interleaved round by round."""
    from sentio.export.quiet import native_stderr_quiet
    from sentio.runtime.model import open_runner

    with native_stderr_quiet():
        runners = {name: open_runner(path) for name, path in paths.items()}
    shape = runners[REFERENCE].input_shape[1:]
    window = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    contenders = {n: timed(lambda r=r: r.predict(window)) for n, r in runners.items()}
    times = interleaved(contenders, rounds, warmup=5)
    rel = ratios(times, REFERENCE)
    best = {n: float(t.min()) for n, t in times.items()}
    return {
        n: {
            "ms": Spread.of(t * 1e3).__dict__,
            "ratio": rel[n].__dict__,
            "min_ms": round(best[n] * 1e3, 3),
            "min_ratio": round(best[n] / best[REFERENCE], 3),
        }
        for n, t in times.items()
    }


def markdown(rows: list[dict], rounds: int) -> str:
    lines = [
        f"| candidate ({rounds} interleaved rounds) | how | size | ms per window, median "
        "(p10-p90) | fastest round ms | ratio vs dynamic, per round | ratio of fastest rounds "
        "| dV CCC | dA CCC | d emo. acc | mean \\|d\\| | gate |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        if "ms" not in r:
            lines.append(f"| {r['name']} | {r['how']} |" + " |" * 9 + f" not made: {r['error']} |")
            continue
        ms, ratio, drop = Spread(**r["ms"]), Spread(**r["ratio"]), r["drop"]
        lines.append(
            f"| {r['name']} | {r['how']} | {r['bytes'] / 1024:,.0f} KB | {ms.format(2)} "
            f"| {r.get('min_ms', float('nan')):.2f} | {ratio.format(2)}x "
            f"| {r.get('min_ratio', float('nan')):.2f}x | {drop['valence_ccc']:+.3f} "
            f"| {drop['arousal_ccc']:+.3f} "
            f"| {drop['emotion_accuracy']:+.3f} | {r['mean_abs_diff']:.4f} | {r['gate']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
