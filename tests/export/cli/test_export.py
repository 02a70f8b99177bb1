"""``sentio-export`` end to end on a CRNN trained on generated music: every artifact, the
calibration set, the report, the C array, the gate (standalone too), and clear errors that
leave no partial bundle behind."""

import json
import shutil

import numpy as np
import pytest

keras = pytest.importorskip("keras", reason="the export extra (TensorFlow) is not installed")

from sentio.export.cli.export import main  # noqa: E402
from sentio.export.conversion.gate import DropLimits, check_artifacts  # noqa: E402
from sentio.runtime.errors import DatasetError  # noqa: E402
from sentio.runtime.manifest import load as load_manifest  # noqa: E402
from sentio.runtime.manifest import sha256_file  # noqa: E402

from tests.helpers import scramble_int8_scales  # noqa: E402

ARTIFACTS = {
    "model_float32.tflite",
    "model_float16.tflite",
    "model_dynamic.tflite",
    "model_int8.tflite",
    "model_int8_hybrid.tflite",
    "model.onnx",
    "model_int8.onnx",
}


def test_bundle_holds_every_artifact_verified(exported, trained_run):
    bundle = exported / "bundle"
    manifest = load_manifest(bundle)  # checks every sha256
    assert {m.file for m in manifest.models} == ARTIFACTS
    for name in (*ARTIFACTS, "model.keras", "report.md", "report.png", "calibration.json"):
        assert name in manifest.files, name
    assert {"sentio_model_int8.h", "sentio_model_int8.cc"} <= set(manifest.files)
    training = load_manifest(trained_run)
    assert manifest.feature_spec == training.feature_spec
    assert manifest.normalization.to_dict() == training.normalization.to_dict()
    assert manifest.window.frames == 200
    assert manifest.default_artifact in ARTIFACTS
    assert {"tf2onnx", "onnxruntime", "ai-edge-litert"} <= set(manifest.tool_versions)
    assert manifest.recipe == training.recipe and manifest.recipe is not None
    for m in manifest.models:
        assert m.gate == "pass", m
        assert m.test_windows.n > 0
        assert set(m.vs_float) == {"max_abs_diff", "mean_abs_diff"}
        assert m.input_shape == (1, 200, 40)
    int8 = manifest.model("model_int8.tflite")
    assert int8.io.input.dtype == "int8" and int8.io.input.scale > 0
    assert all(m.ms_per_window > 0 for m in manifest.models)  # timed: every one passed
    litert = [m for m in manifest.models if m.format == "tflite"]
    assert manifest.default_artifact == min(litert, key=lambda m: m.ms_per_window).file


def test_calibration_comes_from_the_training_split_with_provenance(exported, trained_run):
    training = load_manifest(trained_run)
    provenance = json.loads((exported / "bundle" / "calibration.json").read_text())
    assert provenance["windows"] == 40
    assert provenance["spec_fingerprint"] == training.feature_spec.fingerprint()
    train_ids = set(training.data.splits["train"])
    assert {p["song_id"] for p in provenance["picks"]} <= train_ids
    saved = np.load(exported / "cal.npz")
    assert saved["windows"].shape == (40, 200, 40)


def test_report_has_the_drop_table_study_and_plot(exported):
    report = (exported / "bundle" / "report.md").read_text()
    for name in ARTIFACTS:
        assert name in report
    assert "Calibration-size study" in report
    assert "| 10 | tflite int8 |" in report and "| 40 | onnx static int8 |" in report
    png = (exported / "bundle" / "report.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_c_array_holds_the_int8_model(exported):
    bundle = exported / "bundle"
    header = (bundle / "sentio_model_int8.h").read_text()
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" in header and "arena_size" in header
    source = (bundle / "sentio_model_int8.cc").read_text()
    body = source[source.index("{") + 1 : source.index("};")]
    data = bytes(int(b, 16) for b in body.replace("\n", "").split(",") if b.strip())
    assert data == (bundle / "model_int8.tflite").read_bytes()


def test_standalone_check_passes_on_the_models_own_data(exported, synthetic_dataset, capsys):
    code = main(
        ["--check", "--model", str(exported / "bundle"), "--manifest", str(synthetic_dataset)]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "model_int8.tflite" in out and "FAIL" not in out
    assert "| device |" in out and "report only" in out  # the default live conditions


def _forge_broken_bundle(src, dst):
    """A bundle whose int8 scales are scrambled and whose checksums were re-signed: what a
    buggy exporter would produce. The gate, not the checksum, has to catch it."""
    shutil.copytree(src, dst)
    model = dst / "model_int8.tflite"
    model.write_bytes(scramble_int8_scales(model.read_bytes()))
    manifest = json.loads((dst / "sentio.json").read_text())
    manifest["files"]["model_int8.tflite"] = sha256_file(model)
    (dst / "sentio.json").write_text(json.dumps(manifest))


def test_gate_fails_on_a_broken_int8_model(exported, synthetic_dataset, tmp_path, capsys):
    _forge_broken_bundle(exported / "bundle", tmp_path / "broken")
    check = ["--check", "--model", str(tmp_path / "broken"), "--manifest", str(synthetic_dataset)]
    code = main([*check, "--live-conditions", "none"])  # the accuracy gate alone: faster
    assert code == 1
    out = capsys.readouterr().out
    failing = [line for line in out.splitlines() if "FAIL" in line]
    assert len(failing) == 1 and failing[0].startswith("model_int8.tflite")


def test_tampered_bundle_is_refused(exported, synthetic_dataset, tmp_path, capsys):
    shutil.copytree(exported / "bundle", tmp_path / "b")
    with open(tmp_path / "b" / "model.onnx", "ab") as fh:
        fh.write(b"\0")
    code = main(["--check", "--model", str(tmp_path / "b"), "--manifest", str(synthetic_dataset)])
    assert code == 2
    assert "sha256 mismatch" in capsys.readouterr().err


def test_strict_limits_fail_the_export_with_the_table(
    trained_run, synthetic_dataset, tmp_path, capsys
):
    out = tmp_path / "strict"
    code = main(
        [
            "--model",
            str(trained_run),
            "--manifest",
            str(synthetic_dataset),
            "--max-drop",
            "mean_abs_diff=0",
            "--tflite",  # two artifacts are enough to fail (all of them: 30 s more)
            "dynamic",
            "--live-conditions",
            "none",
            "--no-cache",
            "--quiet",
            "--out",
            str(out),
        ]
    )
    assert code == 1
    captured = capsys.readouterr()
    assert "FAIL" in captured.out and "mean |diff|" in captured.out
    assert "accuracy-drop gate failed" in captured.err
    assert "next: sentio-listen" not in captured.out  # a failed export is not a next step


def _corrupt_keras(tmp_path):
    path = tmp_path / "model.keras"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    return path


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (lambda tmp, run, data: ["--model", str(tmp / "missing.keras")], "no model file"),
        (lambda tmp, run, data: ["--model", str(_corrupt_keras(tmp))], "cannot load Keras model"),
        (lambda tmp, run, data: ["--model", str(tmp)], "not a Sentio bundle"),
        (lambda tmp, run, data: ["--train"], "--train needs data"),
        (lambda tmp, run, data: ["--train", "--model", str(run)], "exclude each other"),
        (lambda tmp, run, data: ["--model", str(run), "--c-array"], "add --int8"),
        (
            lambda tmp, run, data: [
                "--model",
                str(run),
                "--manifest",
                str(data),
                "--int8",
                "--calibration",
                str(_other_spec(tmp)),
            ],
            "feature spec",
        ),
    ],
)
def test_bad_input_is_a_clear_error_and_leaves_nothing(
    trained_run, synthetic_dataset, tmp_path, make_args, message, capsys
):
    out = tmp_path / "out"
    given = make_args(tmp_path, trained_run, synthetic_dataset)
    code = main([*given, "--no-cache", "--quiet", "--out", str(out)])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def _other_spec(tmp_path):
    from sentio.export.conversion.calibrate import CalibrationSet

    windows = np.zeros((3, 200, 40), np.float32)
    return CalibrationSet(windows, [("x", 0)] * 3, "0" * 64).save(tmp_path / "other.npz")


def test_empty_test_split_is_an_error():
    with pytest.raises(DatasetError, match="test split is empty"):
        check_artifacts(lambda w: w[:, 0, :2], {}, [], 200, DropLimits())


def test_default_model_without_its_data_is_verified_on_generated_music(
    trained_run, tmp_path, monkeypatch, caplog, capsys
):
    """The README's first command on a fresh clone: no labelled data anywhere."""
    import logging

    bundle = tmp_path / "default_model"
    shutil.copytree(trained_run, bundle)  # its training CSV is here: no path is read from it
    monkeypatch.setattr("sentio.runtime.model.default_bundle", lambda: bundle)
    out = tmp_path / "out"
    with caplog.at_level(logging.INFO, logger="sentio"):
        code = main(["--int8", "--calibration-size", "20", "--quiet", "--out", str(out)])
    assert code == 0
    assert "generated songs" in caplog.text and "--emotify DIR" in caplog.text
    manifest = load_manifest(out)
    assert manifest.export.evaluated_on.startswith("generated music, not labelled songs")
    assert "**Generated music:**" in (out / "report.md").read_text()
    assert {m.file for m in manifest.models} == ARTIFACTS
    assert all(m.passed for m in manifest.models)
    printed = capsys.readouterr().out
    assert f"next: sentio-listen --model {out} --input" in printed  # what to run next
    assert "feature cache" not in printed  # generated music is never cached


def test_a_trained_run_without_its_data_still_asks_for_it(trained_run, tmp_path, capsys):

    run = tmp_path / "run"
    shutil.copytree(trained_run, run)  # its training CSV is here: no path is read from it
    assert main(["--model", str(run), "--quiet", "--out", str(tmp_path / "out")]) == 2
    assert "training data is needed" in capsys.readouterr().err


def test_the_bundle_reports_its_default_artifact_under_live_conditions(exported):
    bundle = exported / "bundle"
    manifest = load_manifest(bundle)
    assert "live_conditions.json" in manifest.files  # checksummed like every bundle file
    live = json.loads((bundle / "live_conditions.json").read_text())
    assert live["artifact"] == manifest.default_artifact and live["gate"] == "report only"
    assert [c["name"] for c in live["conditions"]][-1] == "device"
    assert live["excerpt_s"] == pytest.approx(10.0)  # 2.5 windows of 4 s
    report = (bundle / "report.md").read_text()
    assert f"## Live conditions ({manifest.default_artifact}, per song)" in report
    assert "| level-24dB |" in report and "| device |" in report
    assert "live" in manifest.export.timings
    assert manifest.export.options["live_conditions"] == "default"


def test_check_includes_live_conditions_and_their_gate(exported, synthetic_dataset, capsys):
    """(Passing with the default set and no limits: test_standalone_check_passes_...)"""
    check = ["--check", "--model", str(exported / "bundle"), "--manifest", str(synthetic_dataset)]
    assert main([*check, "--live-conditions", "level-36dB", "--max-live-drop", "shift=0"]) == 1
    captured = capsys.readouterr()
    assert "| level-36dB |" in captured.out and "| FAIL |" in captured.out
    assert "live-conditions gate failed" in captured.err


def test_a_live_limit_fails_the_export_and_says_so(
    trained_run, synthetic_dataset, tmp_path, capsys
):
    out = tmp_path / "live"
    args = ["--model", str(trained_run), "--manifest", str(synthetic_dataset), "--tflite"]
    args += ["dynamic", "--live-conditions", "level-36dB"]
    code = main([*args, "--max-live-drop", "shift=0", "--no-cache", "--quiet", "--out", str(out)])
    assert code == 1
    captured = capsys.readouterr()
    assert "live-conditions gate failed" in captured.err
    assert "accuracy-drop gate failed" not in captured.err  # the artifacts themselves passed
    manifest = load_manifest(out)
    assert manifest.export.gate == "fail" and manifest.export.limits  # written, marked failed
    assert json.loads((out / "live_conditions.json").read_text())["gate"] == "fail"


# ------------------------------------------------------------------------ what --out may replace


def _tiny_bundle(path):
    from sentio.runtime.bundle import write_bundle

    from tests.helpers import tiny_manifest

    return write_bundle(path, tiny_manifest(), lambda s: (s / "m.bin").write_bytes(b"1"))


def _folder_of_the_users(t):
    (t / "keep").mkdir()
    (t / "keep" / "notes.txt").write_text("mine")
    return t / "keep"


def _file_of_the_users(t):
    (t / "model").write_text("mine")
    return t / "model"


@pytest.mark.parametrize(
    ("make_out", "message"),
    [
        (_folder_of_the_users, "is not empty and is not a Sentio bundle"),
        (_file_of_the_users, "is a file, not a folder"),
        (lambda t: _tiny_bundle(t / "b"), "already holds a Sentio bundle"),
    ],
)
def test_out_that_is_not_ours_to_replace_is_exit_2_before_any_work(
    tmp_path, make_out, message, capsys
):
    """Issue 22 #1: `sentio-export --out DIR` removed DIR and all in it, or a file of that
    name. (No --model: the default model would be exported, were the check not first.)"""
    out = make_out(tmp_path)
    before = {p: p.read_bytes() if p.is_file() else None for p in sorted(tmp_path.rglob("*"))}
    assert main(["--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"error: --out {out} {message}" in err, err
    assert "hint:" in err and "Traceback" not in err
    after = {p: p.read_bytes() if p.is_file() else None for p in sorted(tmp_path.rglob("*"))}
    assert after == before


def test_training_out_is_checked_before_training(tmp_path, capsys):
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "notes.txt").write_text("mine")
    args = ["--train", "--manifest", str(tmp_path / "m.csv"), "--training-out", str(keep)]
    assert main([*args, "--out", str(tmp_path / "bundle"), "--force"]) == 2
    assert f"error: --training-out {keep} is not empty" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep"]


def test_out_may_not_be_the_model_being_exported(tmp_path, capsys):
    run = _tiny_bundle(tmp_path / "run")
    for model in (run, run / "m.bin"):
        assert main(["--model", str(model), "--out", str(run), "--force"]) == 2
        assert "is the --model folder" in capsys.readouterr().err
    assert (run / "m.bin").read_bytes() == b"1"


def test_out_in_a_read_only_folder_is_exit_2(tmp_path):
    """Issue 22 #10: a PermissionError traceback. As another user where this runs as root."""
    from tests.helpers import as_another_user, world_dir

    root = world_dir(tmp_path)
    try:
        (root / "locked").mkdir(mode=0o555)
        (root / "locked").chmod(0o555)
        code, err = as_another_user(lambda: main(["-v", "--out", str(root / "locked" / "b")]))
    finally:
        shutil.rmtree(root)
    assert str(code) == "2", err
    assert "cannot write in" in err and "Traceback" not in err


def test_export_bundle_refuses_before_converting(tmp_path):
    """The library checks too: nothing is converted for an --out it would refuse to write."""
    from sentio.export.conversion.exporter import ExportOptions, export_bundle
    from sentio.runtime.errors import OutputPathError

    out = _tiny_bundle(tmp_path / "b")
    with pytest.raises(OutputPathError, match="already holds a Sentio bundle"):
        export_bundle(None, None, ExportOptions(), out)  # no source needed: it never gets there


def test_a_run_on_data_names_its_feature_cache_and_how_to_clear_it(tmp_path, capsys):
    from sentio.export.cli.export import _print_cache
    from sentio.export.data.sources import DataOptions
    from sentio.export.recipes.run import RunConfig

    cache = tmp_path / "cache"
    (cache / "ab").mkdir(parents=True)
    (cache / "ab" / "song.npy").write_bytes(b"\0" * 3 * 2**20)
    _print_cache(RunConfig(DataOptions(path=tmp_path, cache_dir=cache)))
    printed = capsys.readouterr().out
    assert f"feature cache: {cache} holds 3 MB" in printed and "--no-cache" in printed
