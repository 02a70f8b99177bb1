"""Training on several datasets at once: values (a CSV, Emotify) beside signs only (4Q).
The sign-aware loss, the per-dataset split (4Q by artist) and per-dataset metrics."""

import json

import numpy as np
import pytest
import soundfile as sf
from sentio.export.data.datasets import combine, load_manifest_csv
from sentio.export.data.labels import QUADRANT_SIGNS
from sentio.export.data.sources import DataOptions, load_dataset
from sentio.export.data.synthetic import synth_song
from sentio.export.data.windows import split_by_dataset
from sentio.runtime.errors import ConfigError

from tests.helpers import TINY

keras = pytest.importorskip("keras", reason="the export extra (TensorFlow) is not installed")
from sentio.export.model.config import TrainConfig  # noqa: E402
from sentio.export.model.losses import SignAwareLoss, make_loss  # noqa: E402


def make_4q(root, n_per_quadrant=6, seconds=5.0):
    """A 4Q-layout tree of generated songs whose sound follows their quadrant; artists repeat."""
    rows = ["Song,Quadrant,PQuad,Artist,Title,MoodsStr,GenresStr"]
    for q in range(1, 5):
        valence, arousal = QUADRANT_SIGNS[q]
        folder = root / "audio" / f"Q{q}"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(n_per_quadrant):
            song = f"MT{q}{i:02d}"
            audio = synth_song(0.6 * valence, 0.6 * arousal, seconds, 22050, seed=q * 100 + i)
            sf.write(folder / f"{song}.ogg", audio, 22050)
            rows.append(f"{song},Q{q},1,Artist {q}-{i % 3},T,M,G")
    (root / "annotations.csv").write_text("\n".join(rows) + "\n")
    return root


def test_sign_aware_loss_scores_values_and_signs_differently():
    loss = SignAwareLoss(weights=(1.0, 1.0), ccc=False, sign_weight=1.0, margin=0.3)
    # a sign-only song predicted on the right side by more than the margin costs nothing
    right = loss(np.array([[1.0, -1.0, 1.0]], "float32"), np.array([[0.5, -0.4]], "float32"))
    wrong = loss(np.array([[1.0, -1.0, 1.0]], "float32"), np.array([[-0.2, 0.1]], "float32"))
    valued = loss(np.array([[0.5, -0.5, 0.0]], "float32"), np.array([[0.5, -0.4]], "float32"))
    assert float(right) == 0.0
    assert float(wrong) == pytest.approx(((0.3 + 0.2) + (0.3 + 0.1)) / 2)
    assert float(valued) == pytest.approx(0.1**2 / 2)  # weighted MSE on a song with values


def test_sign_labels_need_a_loss_that_can_take_them():
    with pytest.raises(ConfigError, match="cannot train on sign-only labels"):
        make_loss(TrainConfig(loss="huber"), sign_labels=True)


def test_combined_ids_are_prefixed_and_each_dataset_split_on_its_own(tmp_path, synthetic_dataset):
    options = DataOptions("manifest", synthetic_dataset, fourq=make_4q(tmp_path / "4q"))
    data = load_dataset(options)
    assert data.name == "manifest:manifest.csv+4q"
    four = [s for s in data.songs if s.dataset == "4q"]
    assert len(four) == 24 and all(s.sign_only and s.song_id.startswith("4q/") for s in four)
    splits = split_by_dataset(data.songs, (0.7, 0.15, 0.15), seed=0)
    for dataset in ("4q", "manifest:manifest.csv"):
        members = {n: [s for s in p if s.dataset == dataset] for n, p in splits.items()}
        assert all(members.values()), dataset  # every dataset has train, val and test songs
    artists = {n: {s.artist for s in p if s.dataset == "4q"} for n, p in splits.items()}
    assert not artists["train"] & artists["test"] and not artists["train"] & artists["val"]


def test_one_dataset_splits_exactly_as_before(synthetic_dataset):
    from sentio.export.data.splits import split_songs

    songs = load_manifest_csv(synthetic_dataset).songs
    tagged = combine([load_manifest_csv(synthetic_dataset)]).songs
    before = {n: [s.song_id for s in p] for n, p in split_songs(songs, seed=0).items()}
    after = {
        n: [s.song_id for s in p] for n, p in split_by_dataset(tagged, (0.7, 0.15, 0.15), 0).items()
    }
    assert before == after


def test_a_quadrant_csv_is_sign_only_and_warns_without_artists(tmp_path, caplog):
    (tmp_path / "a.wav").write_bytes(b"")
    sf.write(tmp_path / "a.wav", np.zeros(2205), 22050)
    sf.write(tmp_path / "b.wav", np.zeros(2205), 22050)
    (tmp_path / "q.csv").write_text("path,quadrant\na.wav,Q2\nb.wav,Q9\nmissing.wav,Q1\n")
    data = load_manifest_csv(tmp_path / "q.csv")
    assert [(s.valence, s.arousal, s.sign_only) for s in data.songs] == [(-1.0, 1.0, True)]
    assert set(data.skipped.counts()) == {"unknown quadrant", "audio file missing"}
    assert any("no artist column" in note for note in data.notes)


@pytest.mark.slow
def test_fit_on_values_and_quadrants_reports_each_dataset(tmp_path, synthetic_dataset):
    from sentio.export.cli.train import main

    fourq = make_4q(tmp_path / "4q")
    out = tmp_path / "run"
    args = ["fit", "--manifest", str(synthetic_dataset), "--fourq", str(fourq), *TINY]
    assert main([*args, "--loss", "ccc", "--epochs", "3", "--out", str(out)]) == 0
    manifest = json.loads((out / "sentio.json").read_text())
    assert manifest["data"]["also"] == [{"kind": "4q", "hint": "4q"}]  # never a path
    test = manifest["metrics"]["test"]["datasets"]
    assert set(test) == {"4q", "manifest:manifest.csv"}
    assert {"valence_auc", "arousal_auc", "quadrant_accuracy"} <= set(test["4q"])
    assert "ccc" in test["manifest:manifest.csv"]["valence"]
    assert test["manifest:manifest.csv"]["n"] == manifest["metrics"]["test"]["songs"]["n"]
    compared = tmp_path / "compare"
    data = ["--manifest", str(synthetic_dataset), "--fourq", str(fourq)]
    assert main(["compare", *data, "--model", str(out), "--out", str(compared)]) == 0
    result = json.loads(compared.with_suffix(".json").read_text())
    fourq_result = result["datasets"]["4q"]
    assert fourq_result["sign_only"] and fourq_result["n"] == test["4q"]["n"]
    crnn = fourq_result["models"]["crnn"]["quadrant_accuracy"]
    assert crnn["value"] == pytest.approx(test["4q"]["quadrant_accuracy"], abs=1e-4)
    assert set(fourq_result["difference"]["ridge"]) == set(fourq_result["models"]["ridge"])
    assert result["songs"] == test["manifest:manifest.csv"]["n"]  # value tables: valued songs
    assert "| 4q (" in compared.with_suffix(".md").read_text()
