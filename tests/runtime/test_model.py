"""Running bundles: the model that ships inside the runtime package loads, verifies, and gives
sensible outputs on generated audio in every artifact; load failures say what to do."""

import numpy as np
import pytest
from sentio.export.data.synthetic import synth_song
from sentio.runtime.model import BundleModel, default_bundle

SHIPPED = {
    "model_float32.tflite",
    "model_dynamic.tflite",
    "model_int8.tflite",
    "model_int8_hybrid.tflite",
    "model.onnx",
    "model_int8.onnx",
}


def test_default_bundle_ships_verified_with_every_artifact():
    bundle = default_bundle()
    assert bundle is not None, "runtime/default_model/ is missing from the package"
    model = BundleModel()  # verifies every sha256 and the feature-spec fingerprint
    assert set(model.manifest.runnable) == SHIPPED
    assert all(m.passed for m in model.manifest.models)
    assert model.artifact == model.manifest.default_artifact == model.entry.file
    assert model.manifest.data.dataset == "emotify+4q"
    assert (bundle / "MODEL_CARD.md").is_file() or (bundle.parent / "MODEL_CARD.md").is_file()


@pytest.mark.parametrize("artifact", sorted(SHIPPED))
def test_outputs_are_sensible_on_generated_music(artifact):
    model = BundleModel(artifact=artifact)
    from sentio.runtime.features import extract_features

    outputs = []
    for valence, arousal, seed in ((0.8, 0.8, 1), (-0.8, -0.8, 2)):
        audio = synth_song(valence, arousal, 13.0, model.spec.sample_rate, seed=seed)
        features = extract_features(audio, model.spec)[: model.window]
        outputs.append(model.predict(features))
    outputs = np.array(outputs)
    assert np.isfinite(outputs).all() and (np.abs(outputs) <= 1).all()
    assert np.abs(outputs[0] - outputs[1]).max() > 0.05  # clearly different inputs differ


def test_a_tflite_load_failure_under_tflite_runtime_says_what_to_do(monkeypatch):
    """tflite-runtime 2.14 cannot load the dynamic-range model (FULLY_CONNECTED v12, measured
    by the benchmarks' venv); the error must name the way out, not just the op."""
    import sentio.runtime.model as model_module
    from sentio.runtime.errors import BundleError

    class OldInterpreter:
        def __init__(self, model_path, num_threads):
            raise ValueError("Didn't find op for builtin opcode 'FULLY_CONNECTED' version '12'")

    monkeypatch.setattr(
        model_module, "_tflite_interpreter_class", lambda: (OldInterpreter, "tflite-runtime")
    )
    with pytest.raises(BundleError) as info:
        model_module.TFLiteRunner(default_bundle() / "model_dynamic.tflite")
    assert "tflite-runtime" in str(info.value) and "ai-edge-litert" in str(info.value)
    assert "model_float32.tflite" in str(info.value)


@pytest.mark.parametrize("threads", [0, -1, 1.5, True])
def test_threads_that_cannot_work_are_a_config_error_not_a_corrupt_file(threads):
    from sentio.runtime.errors import ConfigError

    with pytest.raises(ConfigError, match="inference threads"):
        BundleModel(num_threads=threads)


def _edited_copy(tmp_path, edit):
    import json
    import shutil

    from sentio.runtime.manifest import MANIFEST_NAME

    bundle = shutil.copytree(default_bundle(), tmp_path / "model")
    data = json.loads((bundle / MANIFEST_NAME).read_text())
    edit(data)
    (bundle / MANIFEST_NAME).write_text(json.dumps(data))
    return bundle


def _fewer_features(data):
    data["feature_spec"]["n_mfcc"] -= 1
    del data["feature_spec"]["fingerprint"]
    for key in ("mean", "std"):
        data["normalization"][key] = data["normalization"][key][:-1]


@pytest.mark.parametrize("artifact", ["model_dynamic.tflite", "model.onnx"])
@pytest.mark.parametrize(
    ("edit", "message"),
    [
        # issue 22 #5: a traceback on the first window, mid-run
        (lambda d: d["window"].update(frames=300), "window.frames gives 300 frames per window"),
        (_fewer_features, "feature_spec gives 39 features per frame"),
    ],
)
def test_a_manifest_that_does_not_fit_the_model_is_refused_at_load(
    tmp_path, edit, message, artifact
):
    from sentio.runtime.errors import BundleError

    with pytest.raises(BundleError) as info:
        BundleModel(_edited_copy(tmp_path, edit), artifact=artifact)
    assert message in info.value.message and f"{artifact} takes" in info.value.message


def test_native_start_lines_are_dropped_and_everything_else_is_shown(capfd):
    """Issue 22: LiteRT's XNNPACK line is dropped; a real native error line is kept, and a
    failing call shows all it wrote."""
    import os

    from sentio.runtime.model import native_start_lines_dropped

    with native_start_lines_dropped():
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\nERROR: real\n")
    assert capfd.readouterr().err == "ERROR: real\n"
    with pytest.raises(RuntimeError), native_start_lines_dropped():
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
        raise RuntimeError("load failed")
    assert "XNNPACK" in capfd.readouterr().err


def test_the_model_says_why_its_artifact_runs(tmp_path):
    import dataclasses
    import shutil

    from sentio.runtime.manifest import load, save

    assert BundleModel().artifact_reason.startswith("the export's pick")
    assert "--artifact" in BundleModel(artifact="model_int8.tflite").artifact_reason
    bundle = shutil.copytree(default_bundle(), tmp_path / "bundle")
    manifest = load(bundle)
    timed = tuple(
        dataclasses.replace(m, ms_per_window=1.25) if m.file == manifest.default_artifact else m
        for m in manifest.models
    )
    save(dataclasses.replace(manifest, models=timed), bundle)
    reason = BundleModel(bundle).artifact_reason
    assert "fastest model that passed its accuracy gate" in reason and "1.2 ms" in reason
