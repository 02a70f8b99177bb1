import json

import pytest
from sentio.export.model.config import TrainConfig
from sentio.export.model.crnn import CRNNConfig
from sentio.export.model.search import DEFAULT_SPACE, candidates, validate_space
from sentio.export.model.trials import apply_params
from sentio.runtime.errors import ConfigError

SPACE = {"dropout": [0.1, 0.2, 0.3], "lstm_units": [[32, 16], [16, 8]], "learning_rate": [1e-3]}


def test_grid_walks_the_product_in_order_up_to_the_trial_budget():
    grid = candidates(SPACE, "grid", trials=100, seed=0)
    assert len(grid) == 6
    assert candidates(SPACE, "grid", trials=4, seed=0) == grid[:4]


def test_random_draws_are_distinct_and_seeded():
    a = candidates(SPACE, "random", trials=4, seed=1)
    assert len({json.dumps(c, sort_keys=True) for c in a}) == 4
    assert a == candidates(SPACE, "random", trials=4, seed=1)


def test_params_land_in_the_right_config():
    model, train = apply_params(
        {"dropout": 0.2, "lstm_units": [32, 16], "learning_rate": 5e-4}, CRNNConfig(), TrainConfig()
    )
    assert model.dropout == 0.2 and model.lstm_units == (32, 16)
    assert train.learning_rate == 5e-4


def test_the_default_space_is_valid_and_unknown_keys_are_refused():
    validate_space(DEFAULT_SPACE)
    with pytest.raises(ConfigError, match="unknown search parameter"):
        validate_space({"learnign_rate": [1e-3]})


@pytest.mark.slow
def test_search_runs_trials_and_writes_a_ranked_table(synthetic_dataset, tmp_path):
    pytest.importorskip("keras")
    from sentio.export.cli.train import main

    space = tmp_path / "space.json"
    space.write_text(json.dumps({"dropout": [0.0, 0.2], "lstm_units": [[8, 8]]}))
    args = [
        "search",
        "--manifest",
        str(synthetic_dataset),
        "--limit",
        "24",
        "--window",
        "100",
        "--stride",
        "100",
        "--conv-filters",
        "4,4,8,8",
        "--dense-units",
        "8,4",
        "--epochs",
        "1",
        "--quiet",
        "--no-cache",
        "--strategy",
        "grid",
        "--trials",
        "5",
        "--space",
        str(space),
        "--out",
        str(tmp_path / "out"),
    ]
    assert main(args) == 0
    rows = json.loads((tmp_path / "out" / "results.json").read_text())
    assert [r["params"]["dropout"] for r in rows] == [0.0, 0.2]
    table = (tmp_path / "out" / "results.md").read_text()
    assert "| rank |" in table and "val CCC V" in table
