"""The benchmark package in quick mode on tiny inputs: structure and arithmetic, no timing
claims (numbers must only be finite and positive)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from sentio.export.model.crnn import architecture_of
from sentio.runtime import load_manifest

from benchmarks import accuracy, end_to_end, features, inference, pi_estimate
from benchmarks.__main__ import main
from benchmarks.context import Context
from benchmarks.flops import crnn_flops, total_flops
from benchmarks.report import (
    BEGIN,
    END,
    MarkerError,
    Section,
    SummaryRow,
    replace_between_markers,
    shortfalls,
)
from benchmarks.timing import Spread, interleaved, ratios

REPO = Path(__file__).resolve().parent.parent
BUNDLE = REPO / "runtime" / "default_model"


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    return Context(
        bundle=BUNDLE,
        scratch=tmp_path_factory.mktemp("scratch"),
        quick=True,
        cache_dir=tmp_path_factory.mktemp("cache"),
        tensorflow=False,  # the Keras baselines need a 10-s TensorFlow import
        tflite_runtime=False,  # its venv needs the network
        audio_s=15.0,
    )


def _positive(value: float) -> bool:
    return math.isfinite(value) and value > 0


def test_interleaved_runs_every_contender_every_round_and_ratios_are_per_round():
    calls = []
    contenders = {"a": lambda: calls.append("a") or 2.0, "b": lambda: calls.append("b") or 1.0}
    times = interleaved(contenders, rounds=3, warmup=1)
    assert calls == ["a", "b"] * 4  # round-robin, warm-up included
    assert times["a"].tolist() == [2.0, 2.0, 2.0]
    assert ratios(times, "b")["a"].median == 2.0
    spread = Spread.of([1, 2, 3, 4, 100])
    assert spread.median == 3 and spread.p10 < spread.median < spread.p90


def test_flop_count_matches_the_hand_count_of_the_shipped_model():
    architecture = architecture_of(load_manifest(BUNDLE))
    layers = {layer.name: layer.flops for layer in crnn_flops(architecture)}
    # 600x40 -> conv 64, 64 -> pool -> conv 128, 128 -> pool -> LSTM 128, 64 over 150 steps
    assert layers["conv1"] == 2 * 3 * 40 * 64 * 600
    assert layers["conv4"] == 2 * 3 * 128 * 128 * 300
    assert layers["lstm1"] == 150 * 2 * 4 * 128 * (128 + 128)
    assert layers["lstm2"] == 150 * 2 * 4 * 64 * (128 + 64)
    total = total_flops(crnn_flops(architecture))
    assert 122e6 < total < 124e6  # elementwise ops add < 1 %
    assert layers["elementwise"] < 0.01 * total


def test_markers_rewrite_only_the_generated_block(tmp_path):
    copy = tmp_path / "BENCHMARKS.md"
    shutil.copy(REPO / "BENCHMARKS.md", copy)
    original = copy.read_text()
    rewritten = replace_between_markers(original, "NEW TABLE")
    before, after = original.split(BEGIN)[0], original.split(END)[1]
    assert rewritten.startswith(before + BEGIN + "\nNEW TABLE\n" + END)
    assert rewritten.endswith(END + after)
    with pytest.raises(MarkerError):
        replace_between_markers("no markers here", "x")


def test_inference_features_end_to_end_and_estimate(ctx):
    section = inference.run(ctx)
    ctx.results["inference"] = section
    data = section.data
    assert data["ratio"][data["reference"]] == pytest.approx(1.0)
    assert all(_positive(ms) for ms in data["ms"].values())
    assert len(data["ms"]) == 6  # 4 TFLite + 2 ONNX files in the bundle
    assert "model_float16.tflite · LiteRT" in data["unavailable"]  # not shipped, TF off
    assert all(0 < e < 2 for e in data["efficiency"].values())

    section = features.run(ctx)
    ctx.results["features"] = section
    assert all(_positive(ms) for ms in section.data["hop_ms"].values())
    assert any("Sentio batch" in name for name in section.data["ratio"])

    section = end_to_end.run(ctx)
    ctx.results["end_to_end"] = section
    default = section.data["artifacts"]["model_dynamic.tflite"]
    assert default["windows"] > 0  # 15 s of audio, 12-s window, 0.5-s hop
    assert _positive(default["cpu_per_audio_s"]) and _positive(default["max_rss_mb"])
    assert 5 < default["max_rss_mb"] < 500  # the child's own, not the test process's
    assert {row.goal for row in section.summary if row.goal} == {"< 0.01", "< 80 MB"}

    section = pi_estimate.run(ctx)
    assert "Estimate" in section.markdown()
    assert all(_positive(ms) for ms in section.data["ms"].values())


def test_accuracy_reads_the_manifest(ctx):
    section = accuracy.run(ctx)
    assert set(section.data["models"]) == {
        "model_float32.tflite",
        "model_dynamic.tflite",
        "model_int8.tflite",
        "model_int8_hybrid.tflite",
        "model.onnx",
        "model_int8.onnx",
    }
    assert "drop V CCC" in section.markdown()


def test_main_rewrites_a_copy_and_prints_the_summary_last(tmp_path, capsys):
    copy = tmp_path / "BENCHMARKS.md"
    shutil.copy(REPO / "BENCHMARKS.md", copy)
    original = copy.read_text()
    assert main(["--quick", "--only", "accuracy", "--out", str(copy)]) == 0
    text = copy.read_text()
    assert "### Accuracy of the shipped model" in text.split(BEGIN)[1].split(END)[0]
    assert text.split(BEGIN)[0] == original.split(BEGIN)[0]
    assert text.split(END)[1] == original.split(END)[1]
    assert "--only accuracy" in text  # the exact command
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1].startswith("accuracy")  # the summary table comes last
    assert np.isfinite(float(text.split("took ")[1].split(" s")[0]))


def test_shortfalls_judge_the_default_apart_from_the_alternatives():
    rows = [
        SummaryRow("cpu (default)", "0.008", "< 0.01", True),
        SummaryRow("rss (default)", "90 MB", "< 80 MB", False, "why"),
        SummaryRow("cpu (int8)", "0.03", "< 0.01", False, alternative=True),
    ]
    text = "\n".join(shortfalls([Section("e", "E", [], rows)]))
    assert "What ships by default: 1 of 2 goals missed" in text
    assert "Other artifacts (listed only where they miss): 1 goal(s) missed" in text
    assert "rss (default): 90 MB, goal < 80 MB: **missed**. why" in text
