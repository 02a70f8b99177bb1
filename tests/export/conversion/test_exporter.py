"""Loading an export source: everything from the bundle's manifest, the architecture rebuilt
from its ``architecture`` section (never guessed from layers), a bare .keras refused."""

import json
import shutil

import pytest

pytest.importorskip("keras", reason="the export extra (TensorFlow) is not installed")

from sentio.export.conversion.exporter import load_source
from sentio.export.model.crnn import CRNNConfig
from sentio.runtime.codec import decode
from sentio.runtime.errors import BundleError
from sentio.runtime.manifest import Manifest
from sentio.runtime.model import default_bundle


@pytest.fixture(scope="module")
def shipped():
    bundle = default_bundle()
    if bundle is None:
        pytest.skip("no default model in this checkout")
    return bundle


def test_the_shipped_bundle_is_an_export_source(shipped):
    source = load_source(shipped)
    assert isinstance(source.manifest, Manifest)
    assert source.config == decode(CRNNConfig, source.manifest.architecture) == CRNNConfig()
    assert source.spec == source.manifest.feature_spec
    assert source.stats is source.manifest.normalization
    assert source.model.input_shape == (None, 600, 40)


def test_a_bare_keras_file_needs_its_run_folder(shipped, tmp_path):
    bare = tmp_path / "model.keras"
    shutil.copy(shipped / "model.keras", bare)
    with pytest.raises(BundleError, match="run folder"):
        load_source(bare)


def test_a_bad_architecture_names_the_field(shipped, tmp_path):
    bundle = tmp_path / "bundle"
    shutil.copytree(shipped, bundle)
    path = bundle / "sentio.json"
    data = json.loads(path.read_text())
    data["architecture"]["lstm_unit"] = [32]
    path.write_text(json.dumps(data))
    with pytest.raises(BundleError, match="lstm_unit"):
        load_source(bundle)


def test_the_default_artifact_is_the_fastest_litert_model_that_passed():
    from sentio.export.conversion.exporter import _default_artifact
    from sentio.runtime.manifest import ModelEntry

    def entry(file, ms, gate="pass"):
        fmt = "onnx" if file.endswith(".onnx") else "tflite"
        return ModelEntry(file=file, format=fmt, gate=gate, ms_per_window=ms)

    models = (
        entry("model_dynamic.tflite", 2.0),
        entry("model_int8_hybrid.tflite", 1.5),
        entry("model_int8.tflite", None, gate="fail"),
        entry("model.onnx", 1.0),  # faster, but needs onnxruntime (not a base dependency)
    )
    assert _default_artifact(models) == "model_int8_hybrid.tflite"
    only_onnx = (entry("model_dynamic.tflite", None, gate="fail"), entry("model.onnx", 1.0))
    assert _default_artifact(only_onnx) == "model.onnx"
    untimed = (entry("model_int8.tflite", None), entry("model_dynamic.tflite", None))
    assert _default_artifact(untimed) == "model_dynamic.tflite"  # DEFAULT_ARTIFACT_ORDER
    assert _default_artifact((entry("model_dynamic.tflite", 2.0, gate="fail"),)) is None
