"""``sentio-train robustness``: the live-conditions table of an exported bundle."""

import json

import pytest
from sentio.export.cli.train import main


def test_robustness_prints_and_writes_the_table_on_the_test_split(
    exported, synthetic_dataset, tmp_path, capsys
):
    out = tmp_path / "live"
    code = main(
        [
            "robustness",
            "--bundle",
            str(exported / "bundle"),
            "--manifest",
            str(synthetic_dataset),
            "--conditions",
            "level-24dB,device",
            "--seed",
            "3",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "| level-24dB |" in printed and "| device |" in printed
    assert "test split" in printed and "report only" in printed
    assert (tmp_path / "live.md").read_text() == printed
    written = json.loads((tmp_path / "live.json").read_text())
    assert written["seed"] == 3 and [c["name"] for c in written["conditions"]] == [
        "level-24dB",
        "device",
    ]


def test_the_validation_split_can_be_rendered_instead(exported, synthetic_dataset, capsys):
    """Candidates are compared on validation songs; the test songs stay unseen."""
    from sentio.runtime.manifest import load

    bundle = exported / "bundle"
    args = ["robustness", "--bundle", str(bundle), "--conditions", "level-24dB", "--split", "val"]
    args += ["--manifest", str(synthetic_dataset)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    val = load(bundle).data.splits["val"]
    assert f"{len(val)} songs (" in printed and "val split" in printed


def test_a_live_limit_exceeded_is_exit_1(exported, synthetic_dataset, capsys):
    args = ["robustness", "--bundle", str(exported / "bundle"), "--conditions", "level-36dB"]
    args += ["--manifest", str(synthetic_dataset)]
    assert main([*args, "--max-live-drop", "shift=0"]) == 1
    captured = capsys.readouterr()
    assert "FAIL" in captured.out and "live-conditions gate failed" in captured.err


@pytest.mark.parametrize(
    "args, message",
    [
        (["--conditions", "hall"], "unknown live condition"),
        (["--max-live-drop", "ccc=1"], "argument --max-live-drop: bad export.live_limits item"),
    ],
)
def test_bad_options_are_exit_2_at_parse_time(exported, args, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["robustness", "--bundle", str(exported / "bundle"), *args])
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_without_data_given_a_bundle_is_scored_on_generated_music(exported, capsys, caplog):
    """Its training CSV is on this machine, but no path is read from the bundle (issue 23):
    the same command takes the same data path on every machine."""
    args = ["--conditions", "speaker", "--max-songs", "4"]
    assert main(["robustness", "--bundle", str(exported / "bundle"), *args]) == 0
    printed = capsys.readouterr().out
    assert "4 songs (generated music)" in printed and "**Generated music:**" in printed
    assert "generated music" in caplog.text


def test_songs_of_renders_another_bundles_split(exported, synthetic_dataset, tmp_path, capsys):
    """Two bundles trained on different splits are compared on the same songs: ``--songs-of``
    takes the split from the other bundle's manifest."""
    import dataclasses
    import shutil

    from sentio.runtime.manifest import load, save

    bundle = exported / "bundle"
    other = tmp_path / "other"
    shutil.copytree(bundle, other)
    manifest = load(other)
    picked = tuple(manifest.data.splits["train"][:2])
    data = dataclasses.replace(manifest.data, splits={**manifest.data.splits, "test": picked})
    save(manifest.replace(data=data), other)
    args = ["robustness", "--bundle", str(bundle), "--conditions", "level-24dB"]
    assert main([*args, "--manifest", str(synthetic_dataset), "--songs-of", str(other)]) == 0
    printed = capsys.readouterr().out
    assert "2 songs (" in printed and f"test split of {other}" in printed
