"""A model on the mixed, level-free frame, from training to sentio-listen: the microphone's gain
and a DC offset no longer move the output."""

import numpy as np
import soundfile as sf
from sentio.export.data.synthetic import synth_song
from sentio.runtime.cli import main as listen_main
from sentio.runtime.manifest import load
from sentio.runtime.mixed_features import MixedFeatureSpec
from sentio.runtime.model import BundleModel

from tests.helpers import offline_predictions, read_json_lines


def _song(path, gain_db=0.0, dc=0.0, seconds=16.0):
    rng = np.random.default_rng(5)
    signal = synth_song(-0.4, 0.6, seconds, 22050, seed=5) + 0.003 * rng.standard_normal(
        int(seconds * 22050)
    )
    sf.write(path, (signal * 10 ** (gain_db / 20) + dc).astype(np.float32), 22050, subtype="FLOAT")
    return path


def _listen(path, capsys, *extra):
    assert listen_main(["--input", str(path), *extra]) == 0
    return [(line["valence"], line["arousal"]) for line in read_json_lines(capsys.readouterr().out)]


def test_the_bundle_records_the_mixed_frame_and_its_recipe(mixed_bundle):
    manifest = load(mixed_bundle)
    assert isinstance(manifest.feature_spec, MixedFeatureSpec)
    assert manifest.feature_spec == MixedFeatureSpec()
    assert manifest.normalization.mean.shape == (40,)


def _shift(bundle, tmp_path, capsys, gain_db, dc=0.0):
    """Largest change of any live prediction when the song is played ``gain_db`` quieter."""
    loud = _listen(_song(tmp_path / "loud.wav"), capsys, "--model", str(bundle))
    quiet = _listen(_song(tmp_path / "quiet.wav", gain_db, dc), capsys, "--model", str(bundle))
    assert len(loud) == len(quiet) == 26  # 16 s = 799 frames: 3, 3.5 s partial, then 4 s windows
    return float(np.abs(np.array(quiet) - loud).max())


def test_gain_and_dc_do_not_move_the_live_output(mixed_bundle, exported, tmp_path, capsys):
    # What is left is float32 file rounding through dynamic-range quantization.
    assert _shift(mixed_bundle, tmp_path, capsys, -24.0) < 0.01
    assert _shift(mixed_bundle, tmp_path, capsys, -36.0, dc=0.05) < 0.01
    # The same tiny model on the MFCC frame (c0 = absolute level) moves far more.
    assert _shift(exported / "bundle", tmp_path, capsys, -24.0) > 0.05


def test_every_artifact_streams_what_offline_predicts(mixed_bundle, tmp_path, capsys):
    song = _song(tmp_path / "song.wav")
    for artifact in ("model_int8.tflite", "model.onnx"):
        model = BundleModel(mixed_bundle, artifact=artifact)
        _, offline = offline_predictions(model, song, hop_frames=25)
        live = _listen(song, capsys, "--model", str(mixed_bundle), "--artifact", artifact)
        np.testing.assert_allclose(np.array(live), np.clip(offline, -1, 1), atol=1e-4)
