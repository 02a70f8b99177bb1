"""benchmarks/frame_change.py and benchmarks/end_to_end_revisions.py: what they compare, not
how fast (no timing claims)."""

from __future__ import annotations

import types
from pathlib import Path

from sentio.runtime import mixed_features
from sentio.runtime.model import BundleModel

from benchmarks.end_to_end_revisions import importable
from benchmarks.frame_change import compare, module_at, songs

REPO = Path(__file__).resolve().parent.parent
BUNDLE = REPO / "runtime" / "default_model"


def _table(lines: list[str]) -> dict[str, str]:
    rows = [
        line.strip("|").split("|") for line in lines if line.startswith("| ") and "---" not in line
    ]
    return {cells[0].strip(): cells[1].strip() for cells in rows[1:]}


def test_a_revision_of_the_module_is_imported_beside_the_runtimes(tmp_path):
    before = module_at("HEAD", tmp_path)
    assert before is not mixed_features
    assert before.MixedExtractor is not mixed_features.MixedExtractor
    spec = mixed_features.MixedFeatureSpec()
    signal = songs(1, 2.0, spec.sample_rate)[0]
    assert before.MixedExtractor(spec).push(signal).shape == spec.extract(signal).shape


def test_the_same_frame_shows_no_change_and_a_moved_block_shows_its_move():
    model = BundleModel(BUNDLE, "model_float32.tflite")
    signals = songs(1, 6.0, model.spec.sample_rate)
    same = _table(compare(mixed_features, model, signals))
    assert set(same.values()) == {"0.00e+00"}

    onset = model.spec.blocks["onset"].start

    class Shifted(mixed_features.MixedExtractor):
        def push(self, samples):
            frames = super().push(samples)
            frames[:, onset] += 0.5
            return frames

    moved_lines = compare(types.SimpleNamespace(MixedExtractor=Shifted), model, signals)
    moved = _table(moved_lines)
    assert moved["onset"] == "5.00e-01" and moved["mfcc"] == "0.00e+00"
    output = next(line for line in moved_lines if line.startswith("Largest change"))
    changes = [float(word.strip(",.")) for word in output.split() if word[0].isdigit()]
    assert max(changes) > 0.0


def test_each_tree_is_importable_from_its_own_folder(tmp_path):
    entry = importable(REPO, tmp_path / "path")
    assert (entry / "sentio" / "runtime" / "mixed_features.py").is_file()
    assert (entry / "sentio" / "export").resolve() == (REPO / "export").resolve()
    assert (entry / "sentio" / "runtime").resolve() == (REPO / "runtime").resolve()
