"""Per-op profile of every model file of a bundle: where each artifact's time per window goes.

    python -m benchmarks.artifact_profile [BUNDLE | MODEL_FILE ...] [--rounds 40]

LiteRT's Python API has no op profiler (its ``benchmark_model`` tool is not on PyPI), so each
operator of a ``.tflite`` model is cut out into a one-op model (same tensors, buffers and
options; the op's non-constant inputs become the graph's inputs) and timed on the values it
sees inside the whole model (``experimental_preserve_all_tensors``), one thread, the default
XNNPACK delegate on. Each op's time is its fastest of the interleaved rounds (its cost when no
other process preempts it: the development machine is shared). A one-op model whose op
XNNPACK takes shows a ``DELEGATE`` node: that is the "XNNPACK" column. The sum of the ops is
checked against the whole model's time (the difference is the per-invoke overhead of the
one-op models and fusion inside XNNPACK).
ONNX models are profiled by onnxruntime itself (``SessionOptions.enable_profiling``; each
node's fastest ``dur`` over the runs).

Everything runs interleaved, round by round (the machine may be shared): whole-model ratios are
against ``model_dynamic.tflite`` in the same round.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.timing import Spread, interleaved, ratios, timed

REFERENCE = "model_dynamic.tflite"


@dataclass
class OpRow:
    """One operator (TFLite) or node (ONNX) and its time per window (fastest round)."""

    index: int
    name: str
    op: str
    seconds: float
    delegated: bool = False
    dtypes: str = ""
    weights: str = ""  # per-channel / per-tensor int8 weights, float weights, ...


@dataclass
class Profile:
    file: str
    rows: list[OpRow] = field(default_factory=list)
    whole: float = float("nan")  # fastest seconds of the whole model (interpreter invoke)

    @property
    def op_sum(self) -> float:
        return sum(r.seconds for r in self.rows)


# ----------------------------------------------------------------------------- TFLite


def one_op_models(flatbuffer: bytes) -> list[tuple[int, str, bytes, list[int]]]:
    """Each operator of the first subgraph as a model of its own.

    Returns (op index, op name, flatbuffer, input tensor indices in the original model) per
    op. The one-op model keeps every tensor and buffer of the original (so indices are the
    same); its inputs are the op's inputs that have no constant data and are not variables.
    """
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(flatbuffer, 0))
    graph = model.subgraphs[0]
    out = []
    for index, op in enumerate(graph.operators):
        code = model.operatorCodes[op.opcodeIndex]
        name = names[max(code.builtinCode, code.deprecatedBuiltinCode)]
        inputs = [
            int(t)
            for t in op.inputs
            if t >= 0 and not graph.tensors[t].isVariable and not _has_data(model, graph, t)
        ]
        single = schema.SubGraphT()
        single.tensors = graph.tensors
        single.operators = [op]
        single.inputs = inputs
        single.outputs = [int(t) for t in op.outputs]
        single.name = f"op{index}"
        copy = schema.ModelT.InitFromObj(schema.Model.GetRootAs(flatbuffer, 0))
        copy.subgraphs = [single]
        copy.signatureDefs = []
        builder = flatbuffers.Builder(len(flatbuffer) + 4096)
        builder.Finish(copy.Pack(builder), file_identifier=b"TFL3")
        out.append((index, name, bytes(builder.Output()), inputs))
    return out


def _has_data(model, graph, tensor: int) -> bool:
    buffer = model.buffers[graph.tensors[tensor].buffer]
    return (buffer.data is not None and len(buffer.data) > 0) or bool(getattr(buffer, "size", 0))


def _interpreter(content: bytes, preserve: bool = False):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(
        model_content=content, num_threads=1, experimental_preserve_all_tensors=preserve
    )
    interpreter.allocate_tensors()
    return interpreter


def _quantized_input(interpreter, window: np.ndarray) -> np.ndarray:
    detail = interpreter.get_input_details()[0]
    x = window[None].astype(np.float32)
    if detail["dtype"] in (np.int8, np.int16):
        scale, zero = detail["quantization"]
        info = np.iinfo(detail["dtype"])
        x = np.clip(np.round(x / scale) + zero, info.min, info.max)
    return x.astype(detail["dtype"])


def _weights_kind(details: dict, op_inputs) -> str:
    kinds = []
    for t in op_inputs[1:2]:  # the weight / filter operand (LSTM: input-to-input weights)
        if t < 0:
            continue
        d = details[int(t)]
        scales = d["quantization_parameters"]["scales"]
        dtype = np.dtype(d["dtype"]).name
        if dtype in ("int8", "int16") and len(scales) > 1:
            kinds.append(f"{dtype} per-channel")
        elif dtype in ("int8", "int16"):
            kinds.append(f"{dtype} per-tensor")
        else:
            kinds.append(dtype)
    return ", ".join(kinds)


def profile_tflite(path: Path, window: np.ndarray, rounds: int) -> tuple[Profile, dict]:
    """Per-op profile of one ``.tflite`` file and the contenders that time it (the whole model
    and each one-op model), to be run interleaved with the other files'."""
    content = Path(path).read_bytes()
    whole = _interpreter(content, preserve=True)
    whole.set_tensor(whole.get_input_details()[0]["index"], _quantized_input(whole, window))
    whole.invoke()
    details = {d["index"]: d for d in whole.get_tensor_details()}
    ops = {o["index"]: o for o in whole._get_ops_details()}
    profile = Profile(Path(path).name)
    contenders = {f"{profile.file}|whole": timed(whole.invoke)}
    for index, name, single_content, inputs in one_op_models(content):
        single = _interpreter(single_content)
        for t in inputs:
            single.set_tensor(t, whole.get_tensor(t))
        delegated = any(o["op_name"] == "DELEGATE" for o in single._get_ops_details())
        op_inputs = ops[index]["inputs"]
        dtypes = "/".join(
            dict.fromkeys(np.dtype(details[int(t)]["dtype"]).name for t in op_inputs[:1])
        )
        out_dtype = np.dtype(details[int(ops[index]["outputs"][0])]["dtype"]).name
        row = OpRow(
            index,
            f"{index}:{name}",
            name,
            float("nan"),
            delegated,
            f"{dtypes}->{out_dtype}",
            _weights_kind(details, op_inputs) if name in _WEIGHTED else "",
        )
        profile.rows.append(row)
        contenders[f"{profile.file}|{index}"] = timed(single.invoke)
    return profile, contenders


_WEIGHTED = ("CONV_2D", "FULLY_CONNECTED", "UNIDIRECTIONAL_SEQUENCE_LSTM", "DEPTHWISE_CONV_2D")


# ----------------------------------------------------------------------------- ONNX


def profile_onnx(path: Path, window: np.ndarray, runs: int) -> Profile:
    """Per-node time from onnxruntime's own profiler, one thread, fastest of ``runs``."""
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.enable_profiling = True
        options.profile_file_prefix = os.path.join(tmp, "ort")
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        feed = {name: window[None].astype(np.float32)}
        for _ in range(3):
            session.run(None, feed)
        walls = []
        for _ in range(runs):
            start = time.perf_counter()
            session.run(None, feed)
            walls.append(time.perf_counter() - start)
        events = json.loads(Path(session.end_profiling()).read_text())
    per_node: dict[str, list[float]] = defaultdict(list)
    op_type: dict[str, str] = {}
    for event in events:
        args = event.get("args", {})
        if event.get("cat") != "Node" or not event["name"].endswith("_kernel_time"):
            continue
        node = event["name"][: -len("_kernel_time")]
        per_node[node].append(event["dur"] * 1e-6)
        op_type[node] = args.get("op_name", "?")
    profile = Profile(Path(path).name, whole=float(np.min(walls[-runs:])))
    for index, (node, durations) in enumerate(per_node.items()):
        # the warm-up runs are profiled too: keep the last ``runs`` of each node
        seconds = float(np.min(durations[-runs:]))
        profile.rows.append(OpRow(index, node, op_type[node], seconds))
    return profile


# ----------------------------------------------------------------------------- tables


def stage_of(row: OpRow) -> str:
    """The CRNN stage an op belongs to (the head after the last LSTM)."""
    op = row.op.upper()
    if "LSTM" in op:
        return "LSTM"
    if op in ("QUANTIZE", "DEQUANTIZE", "QUANTIZELINEAR", "DEQUANTIZELINEAR"):
        return "quantize/dequantize"
    if "DYNAMICQUANTIZELINEAR" in op:
        return "quantize/dequantize"
    return "other"


def tflite_table(profiles: list[Profile]) -> str:
    """One row per op (the TFLite artifacts share the graph's op order), µs per window."""
    head = "| op | " + " | ".join(f"{p.file} µs" for p in profiles) + " | XNNPACK | int8 weights |"
    lines = [head, "| --- |" + " ---: |" * len(profiles) + " --- | --- |"]
    longest = max(profiles, key=lambda p: len(p.rows))
    for i, row in enumerate(longest.rows):
        cells = []
        delegated = []
        for p in profiles:
            mine = p.rows[i] if i < len(p.rows) and p.rows[i].op == row.op else None
            cells.append("" if mine is None else f"{mine.seconds * 1e6:,.0f}")
            delegated.append("" if mine is None else ("yes" if mine.delegated else "**no**"))
        weights = next((p.rows[i].weights for p in profiles if "int8" in p.file), row.weights)
        lines.append(
            f"| {row.name} | " + " | ".join(cells) + f" | {'/'.join(delegated)} | {weights} |"
        )
    lines.append(
        "| **sum of ops** | "
        + " | ".join(f"**{p.op_sum * 1e6:,.0f}**" for p in profiles)
        + " | | |"
    )
    lines.append(
        "| whole model (one invoke) | "
        + " | ".join(f"{p.whole * 1e6:,.0f}" for p in profiles)
        + " | | |"
    )
    return "\n".join(lines)


STAGES = ("convs", "quantize/dequantize", "LSTM 1", "LSTM 2", "head")


def stage_table(profiles: list[Profile]) -> str:
    """µs per window of each CRNN stage (convs, LSTMs, head, quantize/dequantize) per model."""
    lines = [
        "| model | " + " | ".join(STAGES) + " | sum of ops | whole model |",
        "| --- |" + " ---: |" * (len(STAGES) + 2),
    ]
    for profile in profiles:
        stages: dict[str, float] = defaultdict(float)
        for row in profile.rows:
            stages[_crnn_stage(row, profile.rows)] += row.seconds
        cells = [
            f"{stages[s] * 1e6:,.0f} ({stages[s] / profile.op_sum:.0%})" if s in stages else "-"
            for s in STAGES
        ]
        lines.append(
            f"| {profile.file} | "
            + " | ".join(cells)
            + f" | {profile.op_sum * 1e6:,.0f} | {profile.whole * 1e6:,.0f} |"
        )
    return "\n".join(lines)


def onnx_table(profile: Profile) -> str:
    by_type: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for row in profile.rows:
        by_type[row.op] += row.seconds
        counts[row.op] += 1
    total = profile.op_sum
    lines = [f"| {profile.file}: op type | nodes | µs | share |", "| --- | ---: | ---: | ---: |"]
    for op, seconds in sorted(by_type.items(), key=lambda kv: -kv[1]):
        lines.append(f"| {op} | {counts[op]} | {seconds * 1e6:,.0f} | {seconds / total:.0%} |")
    lines.append(f"| **sum of nodes** | | **{total * 1e6:,.0f}** | |")
    lines.append(f"| session.run wall | | {profile.whole * 1e6:,.0f} | |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- main


def model_files(paths: list[Path]) -> list[Path]:
    """A bundle folder's runnable model files (its manifest's order), or the files given."""
    from sentio.runtime.manifest import load

    files: list[Path] = []
    for path in paths:
        files += [path / f for f in load(path).runnable] if path.is_dir() else [path]
    return files


def run(files: list[Path], rounds: int, seed: int = 0) -> tuple[list[Profile], list[Profile], dict]:
    """Profile every file; the ``.tflite`` ones' ops and whole models interleaved in one
    loop. Returns the TFLite profiles, the ONNX profiles and the whole-model ratios."""
    from sentio.export.quiet import native_stderr_quiet

    shape = None
    tflite_profiles, contenders = [], {}
    with native_stderr_quiet():
        for file in files:
            if file.suffix != ".tflite":
                continue
            if shape is None:
                first = _interpreter(file.read_bytes()).get_input_details()[0]
                shape = tuple(first["shape"][1:])
            window = np.random.default_rng(seed).normal(size=shape).astype(np.float32)
            profile, mine = profile_tflite(file, window, rounds)
            tflite_profiles.append(profile)
            contenders.update(mine)
        times = interleaved(contenders, rounds, warmup=3)
    for profile in tflite_profiles:  # the fastest round: the op's cost without contention
        profile.whole = float(np.min(times[f"{profile.file}|whole"]))
        for row in profile.rows:
            row.seconds = float(np.min(times[f"{profile.file}|{row.index}"]))
    whole = {k: v for k, v in times.items() if k.endswith("|whole")}
    whole_ratios = ratios(whole, f"{REFERENCE}|whole") if f"{REFERENCE}|whole" in whole else {}
    window = np.random.default_rng(seed).normal(size=shape or (600, 40)).astype(np.float32)
    onnx_profiles = [profile_onnx(f, window, rounds) for f in files if f.suffix == ".onnx"]
    return tflite_profiles, onnx_profiles, whole_ratios


def main() -> None:
    from sentio.runtime.model import default_bundle

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "paths", type=Path, nargs="*", help="bundle folders or model files (default bundle)"
    )
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    files = model_files(args.paths or [default_bundle()])
    tflite_profiles, onnx_profiles, whole_ratios = run(files, args.rounds)
    print(f"## Per-op profile ({args.rounds} interleaved rounds, one thread)\n")
    ops = [r.op for r in tflite_profiles[0].rows] if tflite_profiles else []
    same = [p for p in tflite_profiles if [r.op for r in p.rows] == ops]
    print(tflite_table(same))
    print()
    print(stage_table(tflite_profiles))
    print()
    for name, spread in whole_ratios.items():
        print(f"- {name.split('|')[0]}: whole model {spread.format(2)}x {REFERENCE}")
    for profile in onnx_profiles:
        print()
        print(onnx_table(profile))


def _crnn_stage(row: OpRow, rows: list[OpRow]) -> str:
    lstm = [r.index for r in rows if "LSTM" in r.op]
    if stage_of(row) == "quantize/dequantize":
        return "quantize/dequantize"
    if "LSTM" in row.op:
        return f"LSTM {lstm.index(row.index) + 1}"
    if lstm and row.index < lstm[0]:
        return "convs"
    return "head"


__all__ = ["Spread", "one_op_models", "profile_onnx", "profile_tflite"]

if __name__ == "__main__":
    main()
