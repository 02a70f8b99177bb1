import pytest
from sentio.export.cli.common import flag_names

FLAGS = {
    "data.short": "--short",
    "train.learning_rate": "--lr",
    "train.augmentation.jitter": "--jitter",
    "data.path": "--emotify DIR | --deam DIR | --manifest CSV",
    "ExportRunConfig.model": "--model",
    "ExportRunConfig.train.out": "--training-out",
    "ExportRunConfig.train": "--train",
}


def test_a_run_setting_keeps_its_name_and_gains_its_option():
    assert flag_names("set data.short to pad", FLAGS) == "set data.short (--short) to pad"
    assert flag_names("lower train.augmentation.jitter.", FLAGS) == (
        "lower train.augmentation.jitter (--jitter)."
    )
    assert flag_names("pass it: data.path", FLAGS) == (
        "pass it: data.path (--emotify DIR | --deam DIR | --manifest CSV)"
    )


def test_a_pipeline_field_becomes_its_option():
    text = "ExportRunConfig.train and ExportRunConfig.model exclude each other"
    assert flag_names(text, FLAGS) == "--train and --model exclude each other"
    assert flag_names("is the ExportRunConfig.train.out folder", FLAGS) == (
        "is the --training-out folder"
    )


def test_names_already_named_or_without_an_option_stay():
    named = "train.learning_rate (--lr): must be > 0; data.short (recipe demo): skip or pad"
    assert flag_names(named, FLAGS) == named
    other = "no ratings.csv in x, e.g. sentio.json or train.epochs or DataOptions.path"
    assert flag_names(other, FLAGS) == other


keras = pytest.importorskip("keras", reason="the export extra (TensorFlow) is not installed")


def test_a_library_hint_comes_out_of_the_cli_with_the_option(tmp_path, capsys):
    """The dataset loader's hint names the setting (``data.label_scale``); sentio-train adds
    the option that sets it."""
    from sentio.export.cli.train import main
    from sentio.export.data.datasets import load_manifest_csv
    from sentio.runtime.errors import LabelScaleError

    (tmp_path / "m.csv").write_text("path,valence,arousal\na.wav,7,0.5\n")
    with pytest.raises(LabelScaleError) as err:
        load_manifest_csv(tmp_path / "m.csv")
    assert "data.label_scale" in err.value.hint and "--" not in err.value.hint
    out = tmp_path / "run"
    assert main(["fit", "--manifest", str(tmp_path / "m.csv"), "--out", str(out)]) == 2
    printed = capsys.readouterr().err
    assert "hint: declare the scale the labels really use: data.label_scale (--label-scale)" in (
        printed
    )


def test_a_pipeline_error_comes_out_of_the_cli_with_the_options(tmp_path, capsys):
    from sentio.export.cli.export import main

    (tmp_path / "m.csv").write_text("path,valence,arousal\na.wav,0.5,0.5\n")
    args = ["--train", "--manifest", str(tmp_path / "m.csv"), "--model", str(tmp_path / "m")]
    assert main([*args, "--out", str(tmp_path / "out")]) == 2
    assert "error: --train and --model exclude each other" in capsys.readouterr().err
