"""RunConfig: a recipe and the values given, typed once, every number checked."""

from pathlib import Path

import pytest
from sentio.export.recipes import load_recipe
from sentio.export.recipes.run import build_run
from sentio.runtime.errors import ConfigError


def test_a_notebook_builds_a_run_from_a_recipe_and_values():
    run = build_run(load_recipe("demo"), {"train": {"epochs": 2}, "data": {"path": Path("s.csv")}})
    assert (run.train.epochs, run.train.batch_size, run.data.kind) == (2, 16, "manifest")
    assert (run.model.window_frames, run.model.n_features) == (200, run.features.n_features)
    assert run.export.threshold == run.train.emotion_threshold
    assert run.sets("data.window") and not run.sets("data.label_scale")


def test_a_given_value_is_named_as_the_caller_says():
    with pytest.raises(ConfigError, match=r"train.epochs \(--epochs\): 0 is out of range"):
        build_run(None, {"train": {"epochs": 0}}, names={"train.epochs": "--epochs"})
    with pytest.raises(ConfigError, match=r"train.consistency.nope"):
        build_run(None, {"train": {"consistency": {"nope": 1}}})


def test_the_record_runs_again_and_holds_no_machine_path(tmp_path):
    run = build_run(load_recipe("default_model"), {"data": {"kind": "emotify", "path": tmp_path}})
    record = run.record()
    assert "path" not in record["settings"]["data"] and "path" not in record["options"]["data"]
    again = build_run(None, record["settings"])
    assert (again.train, again.model, again.features) == (run.train, run.model, run.features)
    assert again.data.label_scale == run.data.label_scale
