"""``benchmarks/peers.py``: the scoring, centring and bootstrap helpers, and the worker protocol
with a fake contender (and the real Sentio worker) on generated audio. No peer model, no venv,
no shared data."""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile

from benchmarks import peers

RATE = 22050


def tone(path: Path, seconds: float, freq: float = 440.0, level: float = 0.3) -> Path:
    t = np.arange(int(seconds * RATE)) / RATE
    soundfile.write(str(path), (level * np.sin(2 * np.pi * freq * t)).astype(np.float32), RATE)
    return path


QUADRANT_SIGNS = {1: (1, 1), 2: (-1, 1), 3: (-1, -1), 4: (1, -1)}


def quadrants_and_values(n: int = 40, seed: int = 0, noise: float = 0.8):
    """Balanced quadrants 1..4 and noisy values that follow their signs."""
    rng = np.random.default_rng(seed)
    quadrants = np.array([1, 2, 3, 4] * (n // 4))
    signs = np.array([QUADRANT_SIGNS[q] for q in quadrants], dtype=float)
    return quadrants, signs + rng.normal(0, noise, signs.shape)


def fourq_set(name: str, paths: list[Path], quadrants, peers_only=False) -> peers.TestSet:
    quadrants = list(quadrants)
    return peers.TestSet(
        name,
        [str(i) for i in range(len(paths))],
        paths,
        np.array([QUADRANT_SIGNS[q] for q in quadrants], dtype=float),
        f"{len(paths)} clips",
        [f"Q{q}" for q in quadrants],
        kind="4q",
        artists=[f"artist {i // 2}" for i in range(len(paths))],  # two clips per artist
        quadrants=quadrants,
        peers_only=peers_only,
    )


# -- scoring, centring, bootstrap


def test_centred_subtracts_each_columns_median():
    values = np.array([[1.0, 10.0], [2.0, 30.0], [4.0, 20.0]])
    np.testing.assert_allclose(peers.centred(values), [[-1, -10], [0, 10], [2, 0]])


def test_fourq_metrics_report_every_quadrant_score():
    quadrants = np.array([1, 2, 3, 4])
    values = np.array([[0.5, 0.2], [-0.1, 0.3], [0.2, -1.0], [0.4, 0.1]])
    metrics = peers.fourq_metrics(quadrants, values)
    from sentio.export.evaluation.quadrant_scores import QuadrantScores

    assert set(metrics) == set(QuadrantScores.metric_names())
    # Q1, Q2 right; the sad clip read as calm, the calm one as happy
    assert metrics["accuracy"] == pytest.approx(0.5)
    assert (metrics["recall_happy"], metrics["recall_angry"]) == (1.0, 1.0)
    assert (metrics["recall_sad"], metrics["recall_calm"]) == (0.0, 0.0)
    assert metrics["sad_vs_calm"] == pytest.approx(1.0)  # 0.4 > 0.2: still ranked right
    assert peers.confusion(quadrants, values) == (
        (1, 0, 0, 0),
        (0, 1, 0, 0),
        (0, 0, 0, 1),
        (1, 0, 0, 0),
    )


def test_fourq_scores_are_blind_to_each_peers_scale_and_offset_once_centred():
    quadrants, values = quadrants_and_values()
    base = peers.fourq_metrics(quadrants, peers.centred(values))
    # a peer on a 1..9 scale: same ranks, same medians after centring -> same scores
    rescaled = peers.fourq_metrics(quadrants, peers.centred(5 + 3.7 * values))
    assert rescaled == pytest.approx(base)
    signs = np.array([QUADRANT_SIGNS[q] for q in quadrants], dtype=float)
    perfect = peers.fourq_metrics(quadrants, peers.centred(signs * 2 + 7))
    for metric in ("valence_auc", "arousal_auc", "balanced_valence", "accuracy", "recall_sad"):
        assert perfect[metric] == 1.0


def test_median_centring_rescues_a_model_whose_outputs_are_all_positive():
    quadrants, values = quadrants_and_values()
    shifted = values + 100  # every raw value positive: uncentred, all songs "Q1"
    raw = peers.fourq_metrics(quadrants, shifted)
    assert raw["accuracy"] == pytest.approx(0.25)
    assert raw["recall_happy"] == 1.0 and raw["recall_sad"] == 0.0
    assert peers.fourq_metrics(quadrants, peers.centred(shifted))["accuracy"] > 0.5


def test_emotify_metrics_pearson_spearman_and_ccc_only_when_asked():
    rng = np.random.default_rng(1)
    labels = rng.uniform(-1, 1, (30, 2))
    values = labels + rng.normal(0, 0.3, labels.shape)
    with_ccc = peers.emotify_metrics(labels, values, with_ccc=True)
    for d, dim in enumerate(peers.DIMS):
        expected = np.corrcoef(labels[:, d], values[:, d])[0, 1]
        assert with_ccc[f"{dim}_r"] == pytest.approx(expected)
        assert f"{dim}_ccc" in with_ccc
    without = peers.emotify_metrics(labels, np.exp(values), with_ccc=False)
    assert not any(k.endswith("_ccc") for k in without)
    # Spearman is rank-based: a monotone transform leaves it unchanged
    assert without["valence_spearman"] == pytest.approx(with_ccc["valence_spearman"])


def test_ccc_after_z_scoring_to_the_labels_is_pearson_r():
    """Why the report gives peers no CCC: z-scored to the labels, CCC is exactly r."""
    from sentio.export.model.metrics import ccc

    rng = np.random.default_rng(2)
    y = rng.uniform(-1, 1, 50)
    p = 5 + 2 * y + rng.normal(0, 1, 50)
    z = (p - p.mean()) / p.std() * y.std() + y.mean()
    assert ccc(y, z) == pytest.approx(peers.pearson(y, p))


def test_resamples_are_seeded_and_shared():
    a, b = peers.resamples(20, 5, seed=3), peers.resamples(20, 5, seed=3)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[0], peers.resamples(20, 5, seed=4)[0])
    assert all(x.min() >= 0 and x.max() < 20 for x in a)


def test_artist_draws_take_whole_artists():
    artists = ["a", "a", "a", "b", "c", "c"]
    for draw in peers.artist_draws(artists, 50, seed=1):
        drawn = [artists[i] for i in draw]
        for name in set(drawn):  # every drawn artist comes with all of its clips, k times
            assert drawn.count(name) % artists.count(name) == 0
        assert len(set(drawn)) <= 3
    again = peers.artist_draws(artists, 50, seed=1)
    assert all(
        np.array_equal(x, y) for x, y in zip(again, peers.artist_draws(artists, 50, 1), strict=True)
    )


def test_score_intervals_bracket_the_point_and_identical_models_differ_by_zero():
    quadrants, values = quadrants_and_values(80)
    draws = peers.artist_draws([f"a{i // 2}" for i in range(80)], 200, seed=0)
    one = peers.score(quadrants, values, "4q", False, draws)
    two = peers.score(quadrants, values.copy(), "4q", False, draws)
    assert np.sum(one["confusion"]) == 80 and one["centred"]
    for metric, point in one["point"].items():
        lo, hi = peers.interval(one["draws"][metric])
        assert lo <= point <= hi
        np.testing.assert_array_equal(one["draws"][metric] - two["draws"][metric], 0)


def test_score_on_its_own_zero_keeps_the_aucs_and_moves_the_quadrants():
    quadrants, values = quadrants_and_values(40, noise=0.3)
    draws = peers.resamples(40, 20, seed=0)
    offset = values + np.array([0.9, 0.0])  # a model that reads everything as pleasant
    centred = peers.score(quadrants, offset, "4q", True, draws)
    raw = peers.score(quadrants, offset, "4q", True, draws, centre=False)
    assert raw["point"]["valence_auc"] == centred["point"]["valence_auc"]
    assert raw["point"]["recall_sad"] < centred["point"]["recall_sad"]
    assert raw["confusion"][2][3] > centred["confusion"][2][3]  # sad read as calm


def item(path: Path, outputs) -> dict:
    return {"path": str(path), "outputs": outputs, "cpu_s": 0.1}


def test_score_tests_excludes_a_clip_for_every_model_when_one_has_no_prediction(tmp_path):
    quadrants, values = quadrants_and_values(8)
    paths = [tmp_path / f"{i}.wav" for i in range(8)]
    test = fourq_set("4q-holdout", paths, quadrants)
    sentio = peers.Contender("sentio:x", Path("py"), Path("w"), {}, {"sentio": "Sentio x"})
    peer = peers.Contender("peer", Path("py"), Path("w"), {}, {"a": "Peer A", "b": "Peer B"})
    sentio_items = {
        str(p): item(p, None if i == 2 else {"sentio": list(values[i])})
        for i, p in enumerate(paths)
    }
    peer_items = {
        str(p): item(p, {"a": list(values[i]), "b": list(-values[i])}) for i, p in enumerate(paths)
    }
    runs = {
        "sentio:x": peers.WorkerRun("", 0, sentio_items, 1, 1, 1),
        "peer": peers.WorkerRun("", 0, peer_items, 1, 1, 1),
    }
    runs["peer"].items[str(paths[5])] = {"path": str(paths[5]), "error": "Bad\nfile", "cpu_s": 0}
    scored, dropped, scores = peers.score_tests({"4q-holdout": test}, [sentio, peer], runs, 50, 0)
    assert scored["4q-holdout"] == ["0", "1", "3", "4", "6", "7"]
    assert dropped["4q-holdout"]["Sentio x"]["no prediction"] == ["2"]
    assert dropped["4q-holdout"]["Peer A"]["failed"] == ["5 (Bad file)"]
    # Sentio twice: median-centred like the peers, and on its own zero
    assert list(scores["4q-holdout"]) == ["Sentio x", "Sentio x" + peers.RAW, "Peer A", "Peer B"]
    by = scores["4q-holdout"]
    assert by["Peer B"]["point"]["valence_auc"] == pytest.approx(
        1 - by["Peer A"]["point"]["valence_auc"]
    )
    assert np.sum(by["Peer A"]["confusion"]) == 6


def test_score_tests_leaves_sentio_out_of_a_peers_only_set(tmp_path):
    quadrants, values = quadrants_and_values(8)
    paths = [tmp_path / f"{i}.wav" for i in range(8)]
    test = fourq_set("4q-all", paths, quadrants, peers_only=True)
    sentio = peers.Contender("sentio:x", Path("py"), Path("w"), {}, {"sentio": "Sentio x"})
    peer = peers.Contender("peer", Path("py"), Path("w"), {}, {"a": "Peer A"})
    runs = {
        # Sentio has no prediction for clip 0, which must not cost the peers that clip
        "sentio:x": peers.WorkerRun("", 0, {str(paths[0]): item(paths[0], None)}, 1, 1, 1),
        "peer": peers.WorkerRun(
            "", 0, {str(p): item(p, {"a": list(values[i])}) for i, p in enumerate(paths)}, 1, 1, 1
        ),
    }
    scored, _, scores = peers.score_tests({"4q-all": test}, [sentio, peer], runs, 20, 0)
    assert len(scored["4q-all"]) == 8
    assert list(scores["4q-all"]) == ["Peer A"]


def make_fourq(root: Path, n_artists: int = 40) -> Path:
    """A 4Q folder: annotations.csv and short generated clips, two per artist, one quadrant
    per artist."""
    rows = ["Song,Quadrant,PQuad,Artist,Title"]
    for a in range(n_artists):
        quadrant = a % 4 + 1
        folder = root / "audio" / f"Q{quadrant}"
        folder.mkdir(parents=True, exist_ok=True)
        for k in range(2):
            song = f"MT{a:04d}{k}"
            tone(folder / f"{song}.wav", 0.05, 200 + 20 * a)
            rows.append(f"{song},Q{quadrant},1.0,Artist {a},Title")
    (root / "annotations.csv").write_text("\n".join(rows) + "\n")
    return root


def test_fourq_sets_all_the_balanced_holdout_and_the_recorded_test_split(tmp_path):
    root = make_fourq(tmp_path / "4q")
    recorded = {"train": {"MT00000"}, "test": {"MT00010", "MT00011", "MT00020"}}
    sets = peers.fourq_sets(root, 0, recorded, window_s=0.01)
    assert list(sets) == ["4q-all", "4q-holdout", "4q-recorded-test"]
    everything, holdout = sets["4q-all"], sets["4q-holdout"]
    assert len(everything.ids) == 80 and everything.peers_only
    assert not holdout.peers_only and holdout.kind == "4q"
    # whole artists, every quadrant in proportion (15% of 20 clips each)
    counts = [holdout.quadrants.count(q) for q in (1, 2, 3, 4)]
    assert max(counts) - min(counts) <= 2 and min(counts) >= 2
    for artist in set(holdout.artists):
        assert holdout.artists.count(artist) == everything.artists.count(artist)
    assert sets["4q-recorded-test"].ids == ["MT00010", "MT00011", "MT00020"]
    assert sets["4q-recorded-test"].groups == ["Q2", "Q2", "Q3"]
    assert "4q-recorded-test" not in peers.fourq_sets(root, 0, {}, window_s=0.01)


def test_the_4q_holdout_is_dealt_without_clips_shorter_than_a_window(tmp_path):
    """As CV and a holdout-scheme fit deal it (a clip without a window is skipped there), so
    the set is exactly a v3 bundle's test split."""
    from sentio.export.data.quadrants import load_4q
    from sentio.export.data.splits import development_and_test

    root = make_fourq(tmp_path / "4q")
    short = next((root / "audio").glob("Q1/*.wav"))
    tone(short, 0.02, 300)
    holdout = peers.fourq_sets(root, 0, {}, window_s=0.04)["4q-holdout"]
    kept = [s for s in load_4q(root).songs if s.song_id != short.stem]
    _, held = development_and_test(sorted(kept, key=lambda s: s.song_id), 0.15, 0)
    assert holdout.ids == sorted(s.song_id for s in held)
    assert short.stem not in holdout.ids


def test_testset_subset_keeps_every_column_aligned(tmp_path):
    quadrants, _ = quadrants_and_values(8)
    test = fourq_set("4q-all", [tmp_path / f"{i}.wav" for i in range(8)], quadrants)
    test.subset([i % 3 == 0 for i in range(8)])
    assert test.ids == ["0", "3", "6"]
    assert test.quadrants == [1, 4, 3] and test.groups == ["Q1", "Q4", "Q3"]
    assert test.artists == ["artist 0", "artist 1", "artist 3"]
    assert test.labels.tolist() == [[1, 1], [1, -1], [-1, -1]]


def test_split_checks_count_each_sets_songs_in_the_bundles_recorded_splits(tmp_path):
    bundle = peers.REPO / "runtime" / "default_model"
    recorded = peers.recorded_splits(bundle)
    train, test = sorted(recorded["train"])[:3], sorted(recorded["test"])[:2]
    paths = [tmp_path / f"{i}.wav" for i in range(6)]
    songs = fourq_set("4q-holdout", paths, [1, 2, 3, 4, 1, 2])
    songs.ids = [*train, *test, "never-seen"]
    lines = peers.split_checks([f"v2={bundle}", tmp_path], {"4q-holdout": songs})
    assert (
        lines[0] == "v2 on 4q-holdout (6 songs): 3 in its recorded train split, 0 in val, 2 in test"
    )
    assert "records no splits" in lines[1]
    assert peers.bundle_names(["v2=a/b", "c/d"]) == [("v2", Path("a/b")), ("d", Path("c/d"))]


def test_unseen_keeps_only_songs_no_bundle_trained_or_was_chosen_on(tmp_path):
    bundle = peers.REPO / "runtime" / "default_model"
    recorded = peers.recorded_splits(bundle)
    train, val = sorted(recorded["train"])[:2], sorted(recorded["val"])[:1]
    test = sorted(recorded["test"])[:2]
    paths = [tmp_path / f"{i}.wav" for i in range(6)]
    songs = fourq_set("4q-holdout", paths, [1, 2, 3, 4, 1, 2])
    songs.ids = [f"4q:{train[0]}", train[1], *val, *test, "never-seen"]
    peers.drop_seen([f"v2={bundle}", tmp_path], {"4q-holdout": songs})
    assert songs.ids == [*test, "never-seen"]
    assert songs.quadrants == [4, 1, 2] and len(songs.labels) == 3


# -- the worker protocol


FAKE_WORKER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {workers!r})
    import numpy as np
    import soundfile
    from protocol import serve

    def setup(options):
        return options["gain"], "fake 1.0"

    def predict(gain, path):
        audio, rate = soundfile.read(path, dtype="float32")
        if len(audio) < rate:  # shorter than its 1 s "window": no prediction
            return None, {{}}
        rms = float(np.sqrt(np.mean(audio ** 2)))
        return {{"loud": [gain * rms, len(audio) / rate], "quiet": [-rms, 0.0]}}, {{
            "head:loud": 0.01, "head:quiet": 0.02, "windows": 4, "model_s": 0.004,
            "hop_s": 0.5}}

    serve("fake", setup, predict)
    """
)


@pytest.fixture
def fake_worker(tmp_path) -> Path:
    path = tmp_path / "fake_worker.py"
    path.write_text(FAKE_WORKER.format(workers=str(peers.WORKERS)))
    return path


def pin() -> int | None:
    return 0 if shutil.which("taskset") else None


def test_worker_protocol_with_a_fake_contender(tmp_path, fake_worker):
    files = [tone(tmp_path / "a.wav", 2.0), tone(tmp_path / "b.wav", 0.5), tmp_path / "none.wav"]
    run = peers.run_worker(
        Path(sys.executable),
        fake_worker,
        files,
        {"gain": 2.0},
        tmp_path / "scratch",
        pin(),
        tmp_path / "fake.log",
    )
    assert run.about == "fake 1.0"
    a, b, missing = (run.items[str(f)] for f in files)
    assert a["outputs"]["loud"][0] == pytest.approx(2 * 0.3 / np.sqrt(2), rel=1e-3)
    assert a["outputs"]["loud"][1] == pytest.approx(2.0)
    assert b["outputs"] is None  # too short: no prediction, not an error
    assert "error" in missing and "none.wav" in missing["error"]
    assert all(item["cpu_s"] >= 0 for item in run.items.values())
    assert run.process_cpu_s > 0 and run.wall_s > 0 and run.max_rss_mb > 0


def test_cost_rows_give_each_head_the_shared_pass_plus_its_own(tmp_path, fake_worker):
    files = [tone(tmp_path / "a.wav", 2.0), tone(tmp_path / "b.wav", 3.0)]
    run = peers.run_worker(
        Path(sys.executable), fake_worker, files, {"gain": 1.0}, tmp_path / "s", pin()
    )
    contender = peers.Contender(
        "fake", Path(sys.executable), fake_worker, {}, {"loud": "Fake loud", "quiet": "Fake quiet"}
    )
    results = peers.Results(
        "cmd",
        {},
        [contender],
        {"fake": run},
        {},
        {str(f): 2.5 for f in files},
        {},
        {},
        {},
        [],
        1.0,
        "0",
        10,
        0,
    )
    loud, quiet = peers.cost_rows(results)
    total = sum(item["cpu_s"] for item in run.items.values())
    assert loud["cpu_s"] == pytest.approx(total - 2 * 0.02)  # minus the other head's time
    assert quiet["cpu_s"] == pytest.approx(total - 2 * 0.01)
    assert loud["per_audio_s"] == pytest.approx(loud["cpu_s"] / 5.0)
    # live: the model's time per window at one window per hop, plus the rest per audio second
    assert loud["live_per_audio_s"] == pytest.approx((loud["cpu_s"] - 0.008) / 5.0 + 0.002)
    assert loud["model_ms_per_window"] == pytest.approx(1.0)


def test_a_worker_that_dies_is_unavailable_with_its_last_words(tmp_path):
    worker = tmp_path / "dies.py"
    worker.write_text("import sys\nprint('no model here', file=sys.stderr)\nsys.exit(3)\n")
    with pytest.raises(peers.Unavailable, match=r"exited 3.*no model here"):
        peers.run_worker(
            Path(sys.executable), worker, [], {}, tmp_path / "s", None, tmp_path / "log"
        )


def test_the_sentio_worker_runs_the_runtime_path_and_answers_clips_shorter_than_a_window(tmp_path):
    files = [tone(tmp_path / "long.wav", 13.0), tone(tmp_path / "short.wav", 4.0)]
    run = peers.run_worker(
        Path(sys.executable),
        peers.WORKERS / "sentio_worker.py",
        files,
        {},
        tmp_path / "s",
        pin(),
        tmp_path / "sentio.log",
    )
    long, short = (run.items[str(f)] for f in files)
    valence, arousal = long["outputs"]["sentio"]
    assert -1.5 < valence < 1.5 and -1.5 < arousal < 1.5
    assert len(short["outputs"]["sentio"]) == 2  # one partial estimate on all 4 s
    assert short["cpu_parts"]["windows"] == 1
    assert run.about.startswith("sentio-mer")


def test_run_contenders_splits_files_over_shards_and_merges_them(tmp_path, fake_worker):
    files = [tone(tmp_path / f"{i}.wav", 1.5) for i in range(5)]
    contender = peers.Contender(
        "fake", Path(sys.executable), fake_worker, {"gain": 1.0}, {"loud": "Fake"}
    )
    dies = tmp_path / "dies.py"
    dies.write_text("import sys\nsys.exit(3)\n")
    broken = peers.Contender("broken", Path(sys.executable), dies, {}, {"x": "Broken"})
    cores = [0, 0] if pin() == 0 else [None, None]
    runs, unavailable = peers.run_contenders(
        [contender, broken], files, cores, 2, tmp_path / "scratch", tmp_path / "logs"
    )
    # each contender on its own files, in parts (the files that matter most first), saved
    # after every shard
    saved = []
    own, _ = peers.run_contenders(
        [contender],
        {"fake": [files[:2], files[2:3]]},
        cores,
        2,
        tmp_path / "own",
        tmp_path / "own-logs",
        lambda so_far: saved.append(sorted(so_far["fake"].items)),
    )
    assert sorted(own["fake"].items) == sorted(str(f) for f in files[:3])
    assert [len(s) for s in saved] == [1, 2, 3]
    assert sorted(p.name for p in (tmp_path / "own-logs").iterdir()) == [
        "fake-0.log",
        "fake-1-0.log",
        "fake-1.log",
    ]
    assert set(runs) == {"fake"} and "exited 3" in unavailable["Broken"]
    merged = runs["fake"]
    assert sorted(merged.items) == sorted(str(f) for f in files)
    assert merged.about == "fake 1.0" and merged.process_cpu_s > 0
    assert len(list((tmp_path / "logs").glob("fake-*.log"))) == 2
    # saved and loaded back whole, with the run's command and wall time
    peers.save_runs(runs, tmp_path / "runs.json", "python -m benchmarks.peers --x", 12.5)
    loaded, meta = peers.load_runs(tmp_path / "runs.json")
    assert loaded["fake"] == merged
    assert meta["command"] == "python -m benchmarks.peers --x" and meta["wall_s"] == 12.5
    assert peers.parse_cores("0,1") == [0, 1] and peers.parse_cores("none") == [None]


def test_render_shows_every_set_every_model_the_confusions_and_the_cost(tmp_path, fake_worker):
    quadrants, values = quadrants_and_values(8)
    paths = [tone(tmp_path / f"{i}.wav", 1.5) for i in range(8)]
    tests = {
        "4q-all": fourq_set("4q-all", paths, quadrants, peers_only=True),
        "4q-holdout": fourq_set("4q-holdout", paths[:4], quadrants[:4]),
        "emotify": peers.TestSet("emotify", [str(i) for i in range(8)], paths, values / 4, "8"),
    }
    run = peers.run_worker(
        Path(sys.executable), fake_worker, paths, {"gain": 1.0}, tmp_path / "s", None
    )
    contender = peers.Contender(
        "sentio:fake", Path(sys.executable), fake_worker, {}, {"loud": "Sentio fake"}
    )
    peer = peers.Contender("peer", Path(sys.executable), fake_worker, {}, {"quiet": "Peer"})
    runs = {"sentio:fake": run, "peer": run}
    scored, dropped, scores = peers.score_tests(tests, [contender, peer], runs, 20, 0)
    results = peers.Results(
        "python -m benchmarks.peers --x",
        tests,
        [contender, peer],
        runs,
        {"vibenet": "pip failed"},
        {str(p): 1.5 for p in paths},
        scored,
        dropped,
        scores,
        ["v2 on 4q-all (8 songs): 8 in its recorded train split"],
        2.0,
        "0,1",
        20,
        0,
        "Re-scored from saved replies.",
    )
    text = peers.render(results)
    assert "python -m benchmarks.peers --x" in text and "Re-scored from saved replies." in text
    assert "(`4q-all`, n = 8)" in text and "(`4q-holdout`, n = 4)" in text
    holdout = text[text.index("(`4q-holdout`") : text.index("## Emotify")]
    assert "| Sentio fake |" in holdout and "| Sentio fake, own zero |" in holdout
    assert "| Peer |" in holdout and "Paired differences, Sentio fake minus each peer" in holdout
    assert "sad vs calm" in holdout and "Q3 sad" in holdout and "-> Q4 calm" in holdout
    every = text[text.index("(`4q-all`") : text.index("(`4q-holdout`")]
    assert "| Sentio" not in every and "| Peer |" in every
    assert "vibenet: pip failed" in text and "8 in its recorded train split" in text
    assert "CPU s / audio s" in text and "on 4q" in text and "on emotify" in text
    assert "artists" in text
    data = peers.to_json(results)
    assert json.dumps(data)  # serializable
    assert data["songs"]["4q-all"][0]["outputs"]["Peer"] is not None
    assert len(data["confusion"]["4q-holdout"]["Peer"]) == 4
    assert set(data["intervals"]["4q-holdout"]["Peer"]) >= {"balanced_valence", "recall_sad"}


def test_emotify_holdout_is_the_test_split_of_a_holdout_scheme_fit(tmp_path):
    """The Emotify set a v3 bundle is scored on is the test split its fit made
    (``data.split = "holdout"``), so none of its songs was trained on."""
    from sentio.export.data.datasets import load_emotify
    from sentio.export.data.windows import split_by_dataset

    from tests.helpers import EMOTIFY_HEADER, write_tone

    root = tmp_path / "emotify"
    rng = np.random.default_rng(0)
    rows = []
    for track in range(1, 41):
        scores = ",".join(str(int(v)) for v in rng.integers(0, 2, 9))
        rows.append(f"{track},pop,{scores},3,0,0,30,1,Dutch")
        (root / "audio" / "pop").mkdir(parents=True, exist_ok=True)
        write_tone(root / "audio" / "pop" / f"{track}.ogg", seconds=0.2, rate=22050)
    (root / "ratings.csv").write_text(EMOTIFY_HEADER + "\n".join(rows) + "\n")
    holdout = peers.emotify_holdout(root, seed=0)
    songs = load_emotify(root).songs
    fit_test = split_by_dataset(songs, (0.70, 0.15, 0.15), 0, "holdout")["test"]
    assert holdout.ids == sorted(s.song_id for s in fit_test)
    assert 4 <= len(holdout.ids) <= 8 and holdout.kind == "emotify"
    assert holdout.ids != peers.emotify_test(root, seed=0).ids
