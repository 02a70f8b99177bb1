"""Per-window inference: every artifact of the bundle in every runtime that can run it, one
thread, batch 1, one 600 x 40 window, side by side; with FLOPs and the fraction of peak."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sentio.export.model.crnn import architecture_of
from sentio.runtime.errors import SentioError
from sentio.runtime.manifest import Manifest, load
from sentio.runtime.model import open_runner

from benchmarks.context import Context
from benchmarks.flops import crnn_flops, profiler_cross_check, total_flops
from benchmarks.report import Section, SummaryRow, table
from benchmarks.timing import Contender, Spread, interleaved, ratios, timed

LITERT, ORT, TFLITE_RUNTIME, KERAS = "LiteRT", "onnxruntime", "tflite-runtime", "Keras (TF)"


@dataclass
class Candidate:
    label: str
    backend: str
    file: str
    size_kb: float | None
    contender: Contender | None = None
    unavailable: str = ""


def _tensorflow():
    """TensorFlow on one thread; imported here only (the runtime never imports it)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # already initialized by an earlier call in this process
        pass
    return tf


def _keras_model(bundle: Path):
    _tensorflow()
    import keras

    return keras.saving.load_model(bundle / "model.keras", compile=False)


def float16_model(bundle: Path, manifest: Manifest, cache_dir: Path) -> Path:
    """The bundle's float16 TFLite, converted with the project's converter and cached."""
    path = cache_dir / f"model_float16-{manifest.files['model.keras'][:16]}.tflite"
    if not path.is_file():
        from sentio.export.conversion.tflite import convert_tflite, tf_keras_inference_model

        config = architecture_of(manifest)
        inference_model = tf_keras_inference_model(_keras_model(bundle), config)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_bytes(convert_tflite(inference_model, "float16"))
        partial.replace(path)
    return path


def _model_files(
    ctx: Context, manifest: Manifest
) -> tuple[list[tuple[Path, str]], list[Candidate]]:
    """(path, note) of every model file to time; float16 added when the bundle lacks it."""
    files = [(ctx.bundle / file, "") for file in manifest.runnable]
    missing: list[Candidate] = []
    if not any(m.kind == "float16" for m in manifest.models):
        name = "model_float16.tflite"
        label = f"{name} · {LITERT}"
        if not ctx.tensorflow:
            missing.append(
                Candidate(
                    label, LITERT, name, None, unavailable="not in the bundle (no TF to convert)"
                )
            )
        else:
            try:
                path = float16_model(ctx.bundle, manifest, ctx.cache_dir)
                files.append((path, "converted from model.keras for this benchmark"))
            except (SentioError, ImportError, OSError) as err:
                missing.append(Candidate(label, LITERT, name, None, unavailable=str(err)))
    return files, missing


def _display_name(path: Path) -> str:
    return "model_float16.tflite" if path.name.startswith("model_float16-") else path.name


def _in_process(files: list[tuple[Path, str]], window: np.ndarray) -> list[Candidate]:
    out = []
    for path, note in files:
        backend = LITERT if path.suffix == ".tflite" else ORT
        name = _display_name(path)
        marker = "*" if note else ""
        candidate = Candidate(
            f"{name}{marker} · {backend}", backend, name, path.stat().st_size / 1024
        )
        try:
            runner = open_runner(path)
            candidate.contender = timed(lambda r=runner: r.predict(window))
        except SentioError as err:
            candidate.unavailable = str(err).splitlines()[0]
        out.append(candidate)
    return out


def _tflite_runtime(ctx: Context, files, window) -> tuple[list[Candidate], object | None, str]:
    from benchmarks.tflite_runtime_venv import Unavailable, Worker, venv_python

    tflite = [(p, n) for p, n in files if p.suffix == ".tflite"]
    try:
        worker = Worker(venv_python(ctx.cache_dir), window, ctx.scratch)
    except Unavailable as err:
        reason = f"not available: {err}"
        return [Candidate(TFLITE_RUNTIME, TFLITE_RUNTIME, "", None, unavailable=reason)], None, ""
    out = []
    for path, note in tflite:
        name = _display_name(path) + ("*" if note else "")
        candidate = Candidate(f"{name} · tflite-runtime", TFLITE_RUNTIME, name, None)
        candidate.size_kb = path.stat().st_size / 1024
        try:
            candidate.contender = worker.contender(worker.load(path))
        except Unavailable as err:
            candidate.unavailable = f"not available: {_reason(err)}"
        out.append(candidate)
    return out, worker, worker.version


def _reason(err: Exception) -> str:
    """The interpreter's own words, without the runtime's path prefix and advice."""
    text = str(err).splitlines()[0]
    text = text.split(".tflite: ", 1)[-1]
    return text.split(". ", 1)[0]


def _keras(ctx: Context, window: np.ndarray) -> tuple[list[Candidate], object]:
    tf = _tensorflow()
    model = _keras_model(ctx.bundle)
    x = tf.constant(window[None])
    compiled = tf.function(lambda inputs: model(inputs, training=False))
    size = (ctx.bundle / "model.keras").stat().st_size / 1024
    return [
        Candidate(
            "model.keras · Keras predict",
            KERAS,
            "model.keras",
            size,
            timed(lambda: model.predict(x, verbose=0)),
        ),
        Candidate(
            "model.keras · compiled tf.function",
            KERAS,
            "model.keras",
            size,
            timed(lambda: compiled(x).numpy()),
        ),
    ], model


def run(ctx: Context) -> Section:
    manifest = load(ctx.bundle)
    window = np.random.default_rng(0).normal(size=(600, 40)).astype(np.float32)
    files, candidates = _model_files(ctx, manifest)
    candidates = _in_process(files, window) + candidates
    worker, tflite_runtime_version, keras_model = None, "", None
    if ctx.tflite_runtime:
        extra, worker, tflite_runtime_version = _tflite_runtime(ctx, files, window)
        candidates += extra
    if ctx.tensorflow:
        extra, keras_model = _keras(ctx, window)
        candidates += extra
    default = f"{manifest.default_artifact} · {LITERT}"
    running = {c.label: c.contender for c in candidates if c.contender}
    reference = default if default in running else next(iter(running))
    try:
        times = interleaved(running, ctx.repeats(200, 8), warmup=ctx.repeats(10, 2))
    finally:
        if worker is not None:
            worker.close()
    layers = crnn_flops(architecture_of(manifest))
    flops = total_flops(layers)
    cross_check = profiler_cross_check(keras_model, layers) if keras_model else []
    return _section(
        ctx, candidates, times, reference, layers, flops, cross_check, tflite_runtime_version
    )


def _section(ctx, candidates, times, reference, layers, flops, cross_check, trt_version):
    spreads = {name: Spread.of(t * 1e3) for name, t in times.items()}
    ratio = ratios(times, reference)
    peak = ctx.peak
    rows = []
    for c in candidates:
        size = f"{c.size_kb:,.0f} KB" if c.size_kb else ""
        if c.label not in spreads:
            rows.append([c.label, size, c.unavailable or "not available", "", "", ""])
            continue
        ms = spreads[c.label]
        gflops = flops / (ms.median / 1e3) / 1e9
        rows.append(
            [
                c.label,
                size,
                ms.format(2),
                ratio[c.label].format(2, "x"),
                f"{gflops:.1f}",
                f"{100 * gflops / peak.measured:.1f} %",
            ]
        )
    theoretical = (
        f"{peak.theoretical:.1f} GFLOP/s: {peak.theoretical_how}"
        if peak.theoretical
        else f"unknown: {peak.theoretical_how}"
    )
    body = [
        f"One thread, batch 1, one 600 x 40 window of random normalized features; each runner "
        f"as the runtime calls it (LSTM state reset, int8 I/O quantized). {spreads[reference].n} "
        f"round-robin rounds after warm-up: median (p10-p90). Ratio = time / time of "
        f"`{reference}` in the same round.",
        "",
        *table(
            ["model · runtime", "size", "ms per window", "ratio", "GFLOP/s", "of peak"],
            rows,
            "lrrrrr",
        ),
        "",
        f"**FLOPs per window: {flops / 1e6:.1f} M** (2 per multiply-add; formula per layer "
        "in `benchmarks/flops.py`):",
        "",
        *table(
            ["layer", "kind", "formula", "MFLOP"],
            [[x.name, x.kind, x.formula, f"{x.flops / 1e6:.2f}"] for x in layers],
            "lllr",
        ),
        "",
    ]
    if cross_check:
        body += [
            "Cross-check with TensorFlow's profiler (`tf.compat.v1.profiler`, frozen graph):",
            "",
            *(f"- {line}" for line in cross_check),
            "",
        ]
    if any("*" in c.label for c in candidates):
        body += [
            "\\* not in the bundle: converted from its `model.keras` with the project's "
            "converter (`export/convert.py`, float16 weights) for this benchmark, cached "
            f"in `{ctx.cache_dir}`.",
            "",
        ]
    body += [
        "GFLOP/s = FLOPs per window / median time; for the quantized models it is the float "
        "model's arithmetic per second (an equivalent rate, not float operations executed).",
        "",
        f"Peak of one core: measured **{peak.measured:.1f} GFLOP/s** ({peak.measured_how}); "
        f'theoretical {theoretical}. "of peak" divides by the measured figure.',
    ]
    if any(flops / (s.median / 1e3) / 1e9 > peak.measured for s in spreads.values()):
        body += [
            "",
            "**Above 100 % of peak: other load disturbed the peak measurement in this run; "
            "re-run on a quiet machine.**",
        ]
    if trt_version:
        body += [
            "",
            f"tflite-runtime {trt_version} runs in its own venv (numpy < 2) under "
            f"`{ctx.cache_dir}`; rows it cannot load say why.",
        ]
    best = min(spreads, key=lambda n: spreads[n].median)
    summary = [
        SummaryRow(f"inference {reference}", f"{spreads[reference].format(2)} ms"),
        SummaryRow(
            f"fastest: {best}",
            f"{spreads[best].median:.2f} ms, {ratio[best].median:.2f}x the default",
        ),
        SummaryRow("FLOPs per window", f"{flops / 1e6:.1f} M"),
        SummaryRow("one core's peak (measured)", f"{peak.measured:.1f} GFLOP/s"),
    ]
    keras_label = "model.keras · compiled tf.function"
    if keras_label in ratio:
        summary.append(
            SummaryRow(
                "Keras tf.function vs default",
                f"{ratio[keras_label].median:.1f}x slower"
                if ratio[keras_label].median >= 1
                else f"{ratio[keras_label].median:.2f}x",
            )
        )
    data = {
        "flops": flops,
        "reference": reference,
        "ms": {n: s.median for n, s in spreads.items()},
        "ratio": {n: r.median for n, r in ratio.items()},
        "efficiency": {
            n: flops / (s.median / 1e3) / 1e9 / peak.measured for n, s in spreads.items()
        },
        "unavailable": {c.label: c.unavailable for c in candidates if c.label not in spreads},
        "peak_gflops": peak.measured,
        "tflite_runtime": trt_version,
    }
    return Section("inference", "Per-window inference", body, summary, data)
