"""End to end on generated music: the CRNN must learn both dimensions, the CLI must write a
bundle that loads back and evaluates, and bad input must end in a clear error, exit 2."""

import json
import shlex

import numpy as np
import pytest

keras = pytest.importorskip("keras", reason="the export extra (TensorFlow) is not installed")

from sentio.export.cli.train import main  # noqa: E402
from sentio.runtime.manifest import load as load_manifest  # noqa: E402

from tests.helpers import TINY  # noqa: E402


@pytest.mark.slow
def test_crnn_learns_valence_and_arousal_of_synthetic_music(trained_run):
    metrics = json.loads((trained_run / "metrics.json").read_text())
    test = metrics["test"]["songs"]
    # labels are functions of tempo/loudness/brightness (arousal) and mode/register (valence)
    assert test["arousal"]["ccc"] > 0.6, test
    assert test["valence"]["ccc"] > 0.4, test
    assert metrics["train"]["songs"]["rmse"] < 0.35


@pytest.mark.slow
def test_run_bundle_is_complete_and_verifiable(trained_run):
    manifest = load_manifest(trained_run)
    assert set(manifest.files) == {"model.keras", "metrics.json", "history.csv", "report.md"}
    assert manifest.window.frames == 200
    assert manifest.normalization.mean.shape == (40,)
    splits = manifest.data.splits
    assert sum(len(v) for v in splits.values()) == 60
    assert not set(splits["train"]) & set(splits["test"])
    assert "Per song" in (trained_run / "report.md").read_text()


@pytest.mark.slow
def test_run_records_its_recipe_runnable_again(trained_run):
    recipe = load_manifest(trained_run).recipe
    assert recipe["file"] is None  # options only, no recipe file
    assert recipe["options"]["model"]["conv_filters"] == [16, 16, 32, 32]
    settings = recipe["settings"]
    assert settings["data"]["window"] == 200 and settings["data"]["kind"] == "manifest"
    assert settings["model"]["lstm_units"] == [32, 16]
    assert settings["train"]["seed"] == 1 and settings["train"]["epochs"] == 25
    assert "cache_dir" not in settings["data"]  # about the machine, not the recipe


@pytest.mark.slow
def test_saved_model_predicts_like_the_metrics_say(trained_run, synthetic_dataset, capsys):
    model = keras.models.load_model(trained_run / "model.keras", compile=False)
    x = np.random.default_rng(0).normal(size=(2, 200, 40)).astype("float32")
    assert keras.ops.convert_to_numpy(model(x)).shape == (2, 2)
    out_json = trained_run.parent / "eval.json"
    code = main(
        [
            "evaluate",
            "--manifest",
            str(synthetic_dataset),
            "--model",
            str(trained_run),
            "--quiet",
            "--no-cache",
            "--json",
            str(out_json),
        ]
    )
    assert code == 0
    results = json.loads(out_json.read_text())
    assert results["all"]["songs"]["n"] == 60
    assert results["all"]["songs"]["arousal"]["ccc"] > 0.6


def test_deterministic_from_seed(synthetic_dataset, tmp_path):
    runs = []
    for name in ("a", "b"):
        out = tmp_path / name
        args = [
            "fit",
            "--manifest",
            str(synthetic_dataset),
            *TINY,
            "--epochs",
            "2",
            "--limit",
            "12",
            "--seed",
            "7",
            "--out",
            str(out),
        ]
        assert main(args) == 0
        runs.append(json.loads((out / "metrics.json").read_text())["test"]["windows"]["rmse"])
    assert runs[0] == pytest.approx(runs[1], abs=1e-6)


@pytest.mark.parametrize(
    "args, message",
    [
        (["fit", "--emotify", "/nonexistent/emotify", "--out", "x"], "no ratings.csv"),
        (["fit", "--deam", "/nonexistent/deam", "--out", "x"], "DEAM folder not found"),
        (["fit", "--manifest", "/nonexistent.csv", "--out", "x"], "manifest not found"),
    ],
)
def test_bad_input_is_a_clear_error_with_exit_2(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "hint:" in err and "Traceback" not in err


def test_off_scale_manifest_fails_before_any_work(tmp_path, capsys):
    (tmp_path / "m.csv").write_text("path,valence,arousal\na.wav,5,5\n")
    assert main(["fit", "--manifest", str(tmp_path / "m.csv"), "--out", str(tmp_path / "o")]) == 2
    assert "m.csv row 2" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_demo_ends_in_a_bundle_sentio_listen_runs(tmp_path, capsys):
    """Issue 16 #8: `sentio-listen --model runs/demo` said it held no TFLite model, and
    `sentio-export --model runs/demo` asked for a temporary manifest that was gone."""
    import sentio.runtime.cli as listen
    from sentio.runtime.manifest import load as load_bundle

    from tests.helpers import write_tone

    out = tmp_path / "runs" / "demo"
    assert main(["demo", "--songs", "15", "--epochs", "2", "--out", str(out)]) == 0
    hint = capsys.readouterr().out.splitlines()[-1]
    assert hint.startswith(f"listen with it: sentio-listen --model {out} --input ")
    # issue 22: the hint named SONG.wav, which fails when pasted; it names a song the demo wrote
    pasted = shlex.split(hint.split("sentio-listen ", 1)[1])
    assert listen.main(pasted) == 0 and '"valence"' in capsys.readouterr().out
    bundle = load_bundle(out)
    assert bundle.default_artifact and bundle.default_artifact.endswith(".tflite")
    training = load_bundle(out.with_name("demo-training"))
    assert training.data.source is not None
    assert (out.with_name("demo-data") / "manifest.csv").is_file()  # kept: re-export works
    wav = write_tone(tmp_path / "song.wav", seconds=14.0)
    assert listen.main(["--model", str(out), "--input", str(wav)]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    assert lines and {"valence", "arousal"} <= set(lines[0])


# ------------------------------------------------------------------------ what --out may replace


def _keep(tmp_path):
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "notes.txt").write_text("mine")
    return keep


def _good_csv(tmp_path):
    from tests.helpers import write_song

    write_song(tmp_path / "a.wav", seconds=1.0)
    (tmp_path / "m.csv").write_text("path,valence,arousal\na.wav,0.5,0.5\n")
    return tmp_path / "m.csv"


@pytest.mark.parametrize("command", ["demo", "fit", "search"])
def test_a_folder_that_is_not_ours_is_refused_before_any_work(command, tmp_path, capsys):
    """Issue 22 #1: `sentio-train demo --out keep` removed keep/ and everything in it."""
    keep = _keep(tmp_path)
    data = [] if command == "demo" else ["--manifest", str(_good_csv(tmp_path))]
    before = sorted(tmp_path.rglob("*"))
    for force in ([], ["--force"]):
        assert main([command, *data, "--out", str(keep), *force]) == 2
        err = capsys.readouterr().err
        assert f"error: --out {keep} is not empty" in err and "notes.txt" in err, err
        assert "hint:" in err and "Traceback" not in err
        assert (keep / "notes.txt").read_text() == "mine"
        assert sorted(tmp_path.rglob("*")) == before  # no keep-data, no checkpoint


@pytest.mark.parametrize("command", ["demo", "fit"])
def test_a_file_at_out_is_refused(command, tmp_path, capsys):
    target = tmp_path / "model"
    target.write_text("a file of the user's")
    data = [] if command == "demo" else ["--manifest", str(_good_csv(tmp_path))]
    assert main([command, *data, "--out", str(target), "--force"]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert target.read_text() == "a file of the user's"
    assert not (tmp_path / "model-data").exists()


def test_an_earlier_bundle_needs_force(tmp_path, capsys):
    from sentio.runtime.bundle import write_bundle

    from tests.helpers import tiny_manifest

    out = write_bundle(tmp_path / "b", tiny_manifest(), lambda s: (s / "m.bin").write_bytes(b"1"))
    for command in (["demo"], ["fit", "--manifest", str(_good_csv(tmp_path))]):
        assert main([*command, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert "already holds a Sentio bundle" in err and "pass --force" in err
    assert not (tmp_path / "b-data").exists() and not (tmp_path / "b-training").exists()


def test_a_run_distils_from_teacher_runs_of_its_own_split_only(
    trained_run, synthetic_dataset, tmp_path, capsys
):
    base = ["fit", "--manifest", str(synthetic_dataset), *TINY, "--epochs", "1", "--seed", "1"]
    student = tmp_path / "student"
    taught = [*base, "--teachers", str(trained_run), "--consistency", "1", "--distill-weight", "1"]
    assert main([*taught, "--out", str(student)]) == 0
    recorded = json.loads((student / "sentio.json").read_text())["training"]
    assert recorded["distill_weight"] == 1.0 and recorded["consistency"]["weight"] == 1.0
    teacher = json.loads((trained_run / "sentio.json").read_text())
    assert recorded["teachers"] == [
        {
            "run": trained_run.name,
            "model_sha256": teacher["files"]["model.keras"],
            "seed": teacher["training"]["seed"],
            "consistency": teacher["training"]["consistency"]["weight"],
            "best_epoch": teacher["training"]["best_epoch"],
        }
    ]
    other_split = [*taught, "--split-seed", "5", "--out", str(tmp_path / "leaky")]
    assert main(other_split) == 2  # its teacher saw this run's validation or test songs
    assert "other songs than this run's training split" in capsys.readouterr().err
    assert not (tmp_path / "leaky").exists()
    assert main([*base, "--teachers", str(tmp_path), "--out", str(tmp_path / "x")]) == 2
    assert "not a run bundle" in capsys.readouterr().err
