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


def signs_and_values(n: int = 40, seed: int = 0):
    """Balanced quadrant signs and noisy values that follow them."""
    rng = np.random.default_rng(seed)
    signs = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]] * (n // 4), dtype=float)
    return signs, signs + rng.normal(0, 0.8, signs.shape)


# -- scoring, centring, bootstrap


def test_centred_subtracts_each_columns_median():
    values = np.array([[1.0, 10.0], [2.0, 30.0], [4.0, 20.0]])
    np.testing.assert_allclose(peers.centred(values), [[-1, -10], [0, 10], [2, 0]])


def test_quadrant_accuracy_counts_both_signs_and_zero_as_negative():
    signs = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]])
    centred = np.array([[0.5, 0.2], [-0.1, 0.3], [0.0, -1.0], [0.4, 0.1]])
    # rows 1-3 right (row 3: 0 counts as negative), row 4 wrong on arousal
    assert peers.quadrant_accuracy(signs, centred) == pytest.approx(0.75)


def test_fourq_metrics_are_blind_to_each_models_scale_and_offset():
    signs, values = signs_and_values()
    base = peers.fourq_metrics(signs, peers.centred(values))
    # a peer on a 1..9 scale: same ranks, same medians after centring -> same scores
    rescaled = peers.fourq_metrics(signs, peers.centred(5 + 3.7 * values))
    assert rescaled == pytest.approx(base)
    perfect = peers.fourq_metrics(signs, peers.centred(signs * 2 + 7))
    assert perfect["valence_auc"] == perfect["arousal_auc"] == 1.0
    assert perfect["quadrant_accuracy"] == 1.0


def test_median_centring_rescues_a_model_whose_outputs_are_all_positive():
    signs, values = signs_and_values()
    shifted = values + 100  # every raw value positive: uncentred, all songs "Q1"
    assert peers.quadrant_accuracy(signs, shifted) == pytest.approx(0.25)
    assert peers.quadrant_accuracy(signs, peers.centred(shifted)) > 0.5


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


def test_score_intervals_bracket_the_point_and_identical_models_differ_by_zero():
    signs, values = signs_and_values(80)
    draws = peers.resamples(len(signs), 200, seed=0)
    one = peers.score(signs, values, "4q", False, draws)
    two = peers.score(signs, values.copy(), "4q", False, draws)
    for metric, point in one["point"].items():
        lo, hi = peers.interval(one["draws"][metric])
        assert lo <= point <= hi
        np.testing.assert_array_equal(one["draws"][metric] - two["draws"][metric], 0)


def test_score_tests_excludes_a_clip_for_every_model_when_one_has_no_prediction(tmp_path):
    signs, values = signs_and_values(8)
    paths = [tmp_path / f"{i}.wav" for i in range(8)]
    test = peers.TestSet("4q", [str(i) for i in range(8)], paths, signs, "8 clips")
    sentio = peers.Contender("sentio:x", Path("py"), Path("w"), {}, {"sentio": "Sentio x"})
    peer = peers.Contender("peer", Path("py"), Path("w"), {}, {"a": "Peer A", "b": "Peer B"})

    def item(i, outputs):
        return {"path": str(paths[i]), "outputs": outputs, "cpu_s": 0.1}

    runs = {
        "sentio:x": peers.WorkerRun(
            "",
            0,
            {
                str(p): item(i, None if i == 2 else {"sentio": list(values[i])})
                for i, p in enumerate(paths)
            },
            1,
            1,
            1,
        ),
        "peer": peers.WorkerRun(
            "",
            0,
            {
                str(p): item(i, {"a": list(values[i]), "b": list(-values[i])})
                for i, p in enumerate(paths)
            },
            1,
            1,
            1,
        ),
    }
    runs["peer"].items[str(paths[5])] = {"path": str(paths[5]), "error": "Bad\nfile", "cpu_s": 0}
    scored, dropped, scores = peers.score_tests({"4q": test}, [sentio, peer], runs, 50, 0)
    assert scored["4q"] == ["0", "1", "3", "4", "6", "7"]
    assert dropped["4q"]["Sentio x"]["no prediction"] == ["2"]
    assert dropped["4q"]["Peer A"]["failed"] == ["5 (Bad file)"]
    assert set(scores["4q"]) == {"Sentio x", "Peer A", "Peer B"}
    assert scores["4q"]["Peer B"]["point"]["valence_auc"] == pytest.approx(
        1 - scores["4q"]["Peer A"]["point"]["valence_auc"]
    )


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
        0,
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


def test_render_names_every_model_and_the_cost_ratio(tmp_path, fake_worker):
    signs, values = signs_and_values(8)
    paths = [tone(tmp_path / f"{i}.wav", 1.5) for i in range(8)]
    tests = {
        "4q": peers.TestSet("4q", [str(i) for i in range(8)], paths, signs, "8 clips"),
        "emotify": peers.TestSet("emotify", [str(i) for i in range(8)], paths, values / 4, "8"),
    }
    run = peers.run_worker(
        Path(sys.executable), fake_worker, paths, {"gain": 1.0}, tmp_path / "s", None
    )
    contender = peers.Contender(
        "fake", Path(sys.executable), fake_worker, {}, {"loud": "Sentio fake", "quiet": "Peer"}
    )
    scored, dropped, scores = peers.score_tests(tests, [contender], {"fake": run}, 20, 0)
    results = peers.Results(
        "python -m benchmarks.peers --x",
        tests,
        [contender],
        {"fake": run},
        {"vibenet": "pip failed"},
        {str(p): 1.5 for p in paths},
        scored,
        dropped,
        scores,
        [],
        2.0,
        1,
        20,
        0,
    )
    text = peers.render(results)
    assert "python -m benchmarks.peers --x" in text
    assert "| Sentio fake |" in text and "| Peer |" in text
    assert "vibenet: pip failed" in text
    assert "CPU s / audio s" in text
    data = peers.to_json(results)
    assert json.dumps(data)  # serializable
    assert data["songs"]["4q"][0]["outputs"]["Peer"] is not None
