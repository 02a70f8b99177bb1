"""Options from the config dataclasses, recipes as files, and options overriding recipes."""

import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest
from sentio.export.cli.common import flag_names
from sentio.export.cli.options import error_flags, field_docs, settings_from
from sentio.export.cli.train import build_parser
from sentio.export.model.augment import RECOMMENDED
from sentio.export.model.config import TrainConfig
from sentio.export.recipes import RECIPES_DIR, bundled, load_recipe
from sentio.runtime.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3]


def _settings(*argv):
    return settings_from(build_parser().parse_args(list(argv)))


def test_defaults_come_from_the_dataclasses():
    s = _settings("fit", "--manifest", "m.csv", "--out", "o")
    assert s.train == TrainConfig()
    assert s.model.lstm_units == (128, 64)
    options = s.data_options()
    assert (options.kind, options.path, options.window) == ("manifest", Path("m.csv"), 600)


def test_options_override_the_recipe_which_overrides_the_defaults(tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_text(
        '[data]\nkind = "emotify"\nwindow = 300\n[model]\ndropout = 0.1\n'
        '[train]\nepochs = 7\nloss = "ccc"\n[train.augmentation]\nnoise = 0.2\n'
    )
    s = _settings("fit", "--config", str(recipe), "--emotify", "E", "--epochs", "3", "--out", "o")
    train = s.train
    assert train.epochs == 3 and train.loss == "ccc"  # option, then recipe
    assert train.augmentation.noise == 0.2 and train.augmentation.jitter == 0
    assert s.model.dropout == 0.1
    assert s.data_options().window == 300 and s.data_options().kind == "emotify"
    assert s.given == {"data": {"kind": "emotify", "path": Path("E")}, "train": {"epochs": 3}}


def test_augment_then_its_parts():
    s = _settings("fit", "--manifest", "m", "--augment", "--noise", "0.5", "--out", "o")
    assert s.train.augmentation == RECOMMENDED.__class__(**{**RECOMMENDED.__dict__, "noise": 0.5})
    with pytest.raises(ConfigError, match=r"train.augmentation.jitter \(--jitter\): -1 is out"):
        _settings("fit", "--manifest", "m", "--jitter", "-1", "--out", "o")


def test_a_recipe_that_names_only_the_dataset_asks_for_its_folder():
    s = _settings("fit", "--config", "default_model", "--out", "o")
    with pytest.raises(ConfigError, match="trains on emotify") as err:
        s.data_options()
    assert "set data.path to the emotify folder" in err.value.hint
    shown = flag_names(err.value.hint, error_flags())  # what sentio-train prints
    assert "data.path (--emotify DIR | --deam DIR | --manifest CSV)" in shown


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[model]\ndropuot = 0.1\n", "unknown setting model.dropuot"),
        ("[model]\nwindow_frames = 10\n", "data.window"),
        ("[trian]\nepochs = 1\n", "unknown or malformed table"),
        ("[train]\nepochs = \n", "cannot read recipe"),
        ("[train.augmentation]\njiter = 1\n", "train.augmentation.jiter"),
    ],
)
def test_bad_recipes_name_the_field(tmp_path, text, message):
    recipe = tmp_path / "bad.toml"
    recipe.write_text(text)
    with pytest.raises(ConfigError, match=message):
        _settings("fit", "--config", str(recipe), "--manifest", "m", "--out", "o")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # issue 22 #10: a TypeError / "All-NaN slice" traceback after the data was prepared
        ("[train]\nepochs = 1.5\n", "train.epochs (recipe bad.toml): expected a whole number"),
        ("[train]\nepochs = inf\n", "train.epochs (recipe bad.toml): inf is not a finite"),
        ("[train]\nlearning_rate = nan\n", "train.learning_rate (recipe bad.toml): nan is not"),
        # refused before, without the field's name
        ('[train]\nepochs = "ten"\n', "train.epochs (recipe bad.toml): expected a whole"),
        ("[train]\nepochs = true\n", "train.epochs (recipe bad.toml): expected a whole"),
        ("[train]\nbatch_size = 0\n", "train.batch_size (recipe bad.toml): 0 is out of range"),
        ("[train]\nlr_factor = 1.0\n", "train.lr_factor (recipe bad.toml): 1.0 is out of range"),
        ("[model]\nconv_filters = [16, 1.5]\n", "model.conv_filters (recipe bad.toml)"),
        ("[model]\ndropout = 1.0\n", "model.dropout (recipe bad.toml): 1.0 is out of range"),
        ("[data]\nwindow = 1e12\n", "data.window (recipe bad.toml): expected a whole number"),
        ("[train.augmentation]\nnoise = -inf\n", "train.augmentation.noise (recipe bad"),
        ("[train.device]\np_room = 2\n", "train.device.p_room (recipe bad.toml): 2 is out"),
        ("[export]\nlimits = {ccc = nan}\n", "export.limits.ccc (recipe bad.toml): nan"),
        ("[demo]\nsongs = -5\n", "demo.songs (recipe bad.toml): -5 is out of range"),
    ],
)
def test_every_recipe_number_is_checked_naming_the_field(tmp_path, text, message):
    recipe = tmp_path / "bad.toml"
    recipe.write_text(text)
    with pytest.raises(ConfigError) as info:
        _settings("fit", "--config", str(recipe), "--manifest", "m", "--out", "o")
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--lr", "nan"], "train.learning_rate (--lr): nan is not a finite"),
        (["--lr", "inf"], "train.learning_rate (--lr): inf is not a finite"),
        (["--clean-share", "1.5"], "train.device.clean_share (--clean-share): 1.5 is out"),
        (["--noise", "nan"], "train.augmentation.noise (--noise): nan is not a finite"),
        (["--dropout", "-0.5"], "model.dropout (--dropout): -0.5 is out of range"),
    ],
)
def test_every_option_number_is_checked_naming_the_option(argv, message):
    with pytest.raises(ConfigError) as info:
        _settings("fit", "--manifest", "m", "--out", "o", *argv)
    assert message in str(info.value)


@pytest.mark.parametrize("line", ["epochs = 1.5", "epochs = inf", "learning_rate = nan"])
def test_a_bad_recipe_number_exits_2_before_any_work(tmp_path, capsys, line):
    """Issue 22 #10: the demo generated its songs and trained, then a traceback, with OUT-data
    and OUT.checkpoint.keras left behind. Now: exit 2 naming the field, nothing written."""
    from sentio.export.cli.train import main

    recipe = tmp_path / "r.toml"
    recipe.write_text(f"[train]\n{line}\n")
    assert main(["demo", "--config", str(recipe), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert f"train.{line.split()[0]} (recipe r.toml)" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.toml"]


def test_missing_recipe_lists_the_bundled_ones():
    with pytest.raises(ConfigError, match="no recipe file") as err:
        load_recipe("nope")
    assert "default_model" in str(err.value) and "demo" in str(err.value)
    shipped = sorted(p.stem for p in RECIPES_DIR.glob("*.toml"))
    assert bundled() == shipped and {"default_model", "demo", "mixed_frame"} <= set(shipped)


def test_the_default_model_recipe_is_what_trained_the_shipped_model():
    shipped = json.loads((ROOT / "runtime" / "default_model" / "sentio.json").read_text())
    s = _settings("fit", "--config", str(RECIPES_DIR / "default_model.toml"), "--out", "o")
    data = s.with_data(path=Path("E")).data_options()
    assert (data.kind, data.window, data.stride, data.split_seed) == (
        shipped["data"]["source"]["kind"],
        shipped["window"]["frames"],
        shipped["window"]["train_stride_frames"],
        shipped["data"]["split_seed"],
    )
    architecture = json.loads(json.dumps(asdict(s.model)))
    assert architecture == shipped["architecture"]
    training = json.loads(json.dumps(asdict(s.train)))
    recorded = {
        k: v
        for k, v in shipped["training"].items()
        if k not in ("epochs_run", "best_epoch", "seconds", "teachers")
    }
    # settings newer than the shipped model must be at their defaults: the code that trained
    # it had no such setting, and the default is what it did
    newer = set(training) - set(recorded)
    defaults = json.loads(json.dumps(asdict(TrainConfig())))
    assert {k: training[k] for k in newer} == {k: defaults[k] for k in newer}
    for key, value in recorded.items():  # the same one level down (e.g. augmentation fields)
        if isinstance(value, dict):
            newer_fields = set(training[key]) - set(value)
            assert {f: training[key][f] for f in newer_fields} == {
                f: defaults[key][f] for f in newer_fields
            }
            assert {f: training[key][f] for f in value} == value
        else:
            assert training[key] == value
    export = s.export
    recorded = shipped["export"]["options"]
    for name in ("int8", "int8_io", "onnx_int8", "calibration_size", "calibration_seed"):
        assert getattr(export, name) == recorded[name], name
    assert list(export.tflite_kinds) == recorded["tflite_kinds"]


def test_the_demo_runs_its_recipe():
    s = settings_from(build_parser().parse_args(["demo", "--epochs", "2"]), base="demo")
    assert s.train.epochs == 2 and s.train.batch_size == 16
    assert s.model.conv_filters == (16, 16, 32, 32)
    assert s.values["data"]["window"] == 200 and s.data.window == 200


def test_help_comes_from_the_docstrings_and_says_where_the_default_model_differs(capsys):
    assert "early-stopping patience" in field_docs(TrainConfig)["patience"]
    with pytest.raises(SystemExit):
        build_parser().parse_args(["fit", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "(default weighted_mse; the default model's recipe: ccc)" in out
    assert "(default 100; the default model's recipe: 40)" in out


def test_the_library_does_not_import_the_cli():
    code = (
        "import sys, sentio.export.model.search, sentio.export.data.sources, "
        "sentio.export.recipes; "
        "print([m for m in sys.modules if m.startswith('sentio.export.cli')])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
