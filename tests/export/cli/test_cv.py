"""``sentio-train cv``: a recipe under cross-validation from the command line."""

import json

import pytest
from sentio.export.cli.train import main

from tests.helpers import TINY


def test_probe_cv_on_generated_songs_writes_the_table_and_every_fold(
    synthetic_dataset, tmp_path, capsys
):
    out = tmp_path / "cv"
    args = ["cv", "--manifest", str(synthetic_dataset), "--learner", "probe", "--folds", "3"]
    assert main([*args, *TINY, "--out", str(out)]) == 0
    report = capsys.readouterr().out
    assert "| recipe | folds x seeds |" in report and "out of fold" in report
    data = json.loads(out.with_suffix(".json").read_text())
    assert [f["fold"] for f in data["folds"]] == [0, 1, 2]
    assert data["learner"] == "probe" and data["config"]["holdout"] == 0.15
    # every development song scored once out of fold; the generated moods are learnable
    assert len(data["pooled"]["0"]) >= 40
    assert all(f["values_ccc"][1] > 0.3 for f in data["folds"])  # arousal follows the sound
    assert out.with_suffix(".md").read_text().startswith("# Cross-validation")


def test_a_recipe_that_centres_its_labels_is_cross_validated_centred(
    synthetic_dataset, tmp_path, capsys
):
    recipe = tmp_path / "centred.toml"
    recipe.write_text("[train]\ncenter_labels = true\n")
    args = ["cv", "--manifest", str(synthetic_dataset), "--learner", "probe", "--folds", "3"]
    for extra, name in (([], "plain"), (["--config", str(recipe)], "centred")):
        assert main([*args, *TINY, *extra, "--out", str(tmp_path / name)]) == 0
    capsys.readouterr()
    plain = json.loads((tmp_path / "plain.json").read_text())
    centred = json.loads((tmp_path / "centred.json").read_text())
    assert plain["labels"]["center"] is False and centred["labels"]["center"] is True


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--folds", "1"], "must be at least 2"),
        (["--holdout", "0.7"], "above 0 and below 0.5"),
        (["--emotify-valence-weight", "2"], "within [0, 1]"),
    ],
)
def test_bad_cv_options_exit_2_naming_the_option(synthetic_dataset, extra, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["cv", "--manifest", str(synthetic_dataset), "--learner", "probe", *extra])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_a_label_weight_with_the_crnn_is_refused(synthetic_dataset, capsys):
    args = ["cv", "--manifest", str(synthetic_dataset), "--emotify-valence-weight", "0.5"]
    assert main(args) == 2
    assert "--learner probe" in capsys.readouterr().err


def test_an_earlier_report_is_replaced_only_with_force(synthetic_dataset, tmp_path, capsys):
    out = tmp_path / "cv"
    out.with_suffix(".md").write_text("my notes\n")
    args = ["cv", "--manifest", str(synthetic_dataset), "--learner", "probe", "--folds", "2"]
    assert main([*args, *TINY, "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert out.with_suffix(".md").read_text() == "my notes\n"  # untouched, before any work
    assert main([*args, *TINY, "--out", str(out), "--force"]) == 0
    assert out.with_suffix(".md").read_text().startswith("# Cross-validation")


def test_consistency_teachers_and_live_scores_from_the_command_line(
    synthetic_dataset, tmp_path, capsys
):
    """A CRNN CV with device copies and consistency saves each fold's model; a second run
    distils them, and both report the songs left out through their copies."""
    pytest.importorskip("keras", reason="the export extra (TensorFlow) is not installed")
    models, args = tmp_path / "models", ["cv", "--manifest", str(synthetic_dataset)]
    quick = [*TINY, "--folds", "2", "--epochs", "1", "--device-copies", "1"]
    teachers = [*args, *quick, "--consistency", "1", "--save-models", str(models)]
    assert main([*teachers, "--out", str(tmp_path / "teachers")]) == 0
    assert sorted(p.name for p in models.iterdir()) == ["fold0-seed0.keras", "fold1-seed0.keras"]
    data = json.loads((tmp_path / "teachers.json").read_text())
    live = data["folds"][0]["live"]
    assert live["shift_valence"] >= 0 and 0 <= live["short_within"] <= 1
    assert "device shift V" in capsys.readouterr().out
    student = [*args, *quick, "--teachers", str(models), "--seeds", "1"]
    assert main([*student, "--out", str(tmp_path / "student")]) == 0
    assert main([*student, "--teachers", str(tmp_path / "none")]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_saved_models_of_an_earlier_run_are_replaced_only_with_force(
    synthetic_dataset, tmp_path, capsys
):
    models = tmp_path / "models"
    models.mkdir()
    (models / "fold0-seed0.keras").write_bytes(b"someone's model")
    args = ["cv", "--manifest", str(synthetic_dataset), "--save-models", str(models)]
    assert main(args) == 2  # before any work
    assert "--force" in capsys.readouterr().err
    assert (models / "fold0-seed0.keras").read_bytes() == b"someone's model"
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep")
    assert main(["cv", "--manifest", str(synthetic_dataset), "--save-models", str(a_file)]) == 2
    assert "is not a folder" in capsys.readouterr().err and a_file.read_text() == "keep"
