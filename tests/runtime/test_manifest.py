"""The bundle contract: the shipped bundle and a format-1 manifest load typed; JSON round
trips; a wrong field, an unknown format, a tampered or missing file each fail with a message
that names it."""

import copy
import json
import math
import shutil
from pathlib import Path

import pytest
from sentio.runtime.bundle import write_bundle
from sentio.runtime.errors import BundleError
from sentio.runtime.features import FeatureSpec
from sentio.runtime.manifest import (
    DEFAULT_HOP_S,
    FORMAT_VERSION,
    MANIFEST_NAME,
    DataProvenance,
    DataSource,
    Manifest,
    Metrics,
    ModelEntry,
    Scores,
    SplitScores,
    load,
    path_hint,
    read,
    save,
)
from sentio.runtime.mixed_features import MixedFeatureSpec
from sentio.runtime.model import default_bundle

from tests.helpers import tiny_manifest

SHIPPED = default_bundle()


@pytest.fixture
def shipped_json():
    return json.loads((SHIPPED / MANIFEST_NAME).read_text())


@pytest.fixture
def bundle(tmp_path):
    """A small valid bundle: one model file, listed with its sha256."""

    def fill(staging):
        (staging / "model.tflite").write_bytes(b"not really a model")

    entry = ModelEntry("model.tflite", "tflite", "float32")
    return write_bundle(tmp_path / "b", tiny_manifest(models=(entry,)), fill)


#: The first default model's manifest (format 1, MFCC frame), kept when v2 replaced it: old
#: bundles in the field must keep loading.
FORMAT_1 = Path(__file__).parent / "fixtures" / "format1_sentio.json"


@pytest.fixture
def format1_json():
    return json.loads(FORMAT_1.read_text())


def test_a_format_1_manifest_loads_typed(format1_json):
    assert format1_json["format_version"] == 1
    manifest = Manifest.from_dict(format1_json)
    assert manifest.format_version == 1
    assert manifest.feature_spec == FeatureSpec()
    assert manifest.normalization.mean.shape == (40,)
    assert manifest.default_artifact in manifest.runnable
    again = Manifest.from_dict(format1_json).to_dict()
    # loses nothing but the absolute data path, which is read as its hint (issue 23)
    assert again["data"]["source"] == {"kind": "emotify", "hint": "emotify"}
    assert again == {
        **format1_json,
        "data": {**format1_json["data"], "source": again["data"]["source"]},
    }


def test_the_shipped_bundle_loads_typed(shipped_json):
    manifest = load(SHIPPED)  # every file's sha256 checked
    assert manifest.format_version == shipped_json["format_version"] == FORMAT_VERSION
    assert manifest.feature_spec == MixedFeatureSpec()
    assert manifest.normalization.mean.shape == (40,)
    assert (manifest.window.frames, manifest.window.seconds) == (600, 12.0)
    assert manifest.window.default_hop_s == DEFAULT_HOP_S
    assert manifest.labels.outputs == ("valence", "arousal")
    assert manifest.default_artifact in manifest.runnable
    assert all(m.runnable and m.passed and m.io is not None for m in manifest.models)
    int8 = manifest.model("model_int8.tflite")
    assert int8.io.input.dtype == "int8" and int8.io.input.is_quantized
    assert manifest.calibration is not None and manifest.export is not None
    assert set(manifest.files) >= set(manifest.runnable)


def test_to_dict_from_dict_round_trips_the_shipped_manifest(shipped_json):
    manifest = Manifest.from_dict(shipped_json)
    data = manifest.to_dict()
    assert data == shipped_json  # nothing lost
    assert Manifest.from_dict(data).to_dict() == data


def absolute_paths(value, where=""):
    """Every string in parsed JSON that is an absolute path (POSIX or Windows), with where."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in absolute_paths(v, f"{where}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in absolute_paths(v, f"{where}[{i}]")]
    if isinstance(value, str) and (
        value.startswith(("/", "~", "\\\\")) or (len(value) > 2 and value[1:3] in (":\\", ":/"))
    ):
        return [(where, value)]
    return []


def test_no_string_in_the_shipped_manifest_is_an_absolute_path(shipped_json):
    """Issue 23: the shipped bundle recorded the development machine's data folders."""
    assert absolute_paths(shipped_json) == []
    manifest = load(SHIPPED)
    assert manifest.data.source == DataSource("emotify", "emotify")
    assert manifest.data.also == (DataSource("4q", "4q"),)


def test_a_written_manifest_records_hints_never_absolute_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert path_hint("/data/sets/emotify") == "emotify"
    assert path_hint(tmp_path / "data" / "songs.csv") == "data/songs.csv"
    assert path_hint("../shared/4q") == "../shared/4q"
    source = DataSource("emotify", path_hint("/data/sets/emotify"))
    save(tiny_manifest(data=DataProvenance(dataset="emotify", source=source)), tmp_path)
    written = json.loads((tmp_path / MANIFEST_NAME).read_text())
    assert absolute_paths(written) == []
    assert written["data"]["source"] == {"kind": "emotify", "hint": "emotify"}


def test_an_older_manifests_data_path_is_read_as_its_hint(shipped_json):
    shipped_json["data"]["source"] = {"kind": "deam", "path": "/home/me/DEAM"}
    shipped_json["data"]["also"] = [{"kind": "4q", "path": "/home/me/4q"}]
    data = Manifest.from_dict(shipped_json).data
    assert (data.source, data.also) == (DataSource("deam", "DEAM"), (DataSource("4q", "4q"),))
    assert absolute_paths(Manifest.from_dict(shipped_json).to_dict()) == []


def test_save_and_read_round_trip(tmp_path):
    scores = Scores(n=3, valence_auc=0.5, arousal_auc=0.75, quadrant_accuracy=0.5)
    metrics = Metrics(test=SplitScores(songs=scores, datasets={"4q": scores}))
    manifest = tiny_manifest(metrics=metrics, default_artifact="x.tflite")
    path = save(manifest, tmp_path)
    assert path == tmp_path / MANIFEST_NAME
    assert read(tmp_path).to_dict() == manifest.to_dict()
    assert read(tmp_path).metrics == metrics
    assert [p.name for p in tmp_path.iterdir()] == [MANIFEST_NAME]  # no temporary file left


def test_a_missing_hop_takes_the_one_default(shipped_json):
    del shipped_json["window"]["default_hop_s"]
    assert Manifest.from_dict(shipped_json).window.default_hop_s == DEFAULT_HOP_S


@pytest.mark.parametrize(
    ("edit", "field", "problem"),
    [
        (lambda d: d["window"].update(frames="600"), "window.frames", "expected an integer"),
        (lambda d: d["window"].update(frames=0), "window", "frames must be at least 1"),
        (lambda d: d["models"][2].pop("file"), "models[2].file", "missing"),
        (
            lambda d: d["models"][0]["io"]["input"].update(scale="x"),
            "models[0].io.input.scale",
            "expected a number",
        ),
        (lambda d: d.update(labels={"outputs": "valence"}), "labels.outputs", "expected a list"),
        (lambda d: d.pop("window"), "'window'", "section"),
        (lambda d: d["feature_spec"].update(nfft=16), "feature_spec", "nfft"),
        (
            lambda d: d["normalization"].update(mean=[0.0], std=[1.0]),
            "normalization",
            "1 values",
        ),
    ],
)
def test_a_wrong_field_is_named_with_a_fix(shipped_json, edit, field, problem):
    broken = copy.deepcopy(shipped_json)
    edit(broken)
    with pytest.raises(BundleError) as info:
        Manifest.from_dict(broken)
    assert field in info.value.message and problem in info.value.message
    assert "re-export" in info.value.hint or "re-train" in info.value.hint


@pytest.mark.parametrize(("version", "hint"), [(FORMAT_VERSION + 1, "upgrade"), ("2", "re-")])
def test_an_unknown_format_version_is_refused(shipped_json, version, hint):
    shipped_json["format_version"] = version
    with pytest.raises(BundleError, match="format_version") as info:
        Manifest.from_dict(shipped_json)
    assert hint in info.value.hint


def test_a_tampered_file_fails_its_sha256(bundle):
    load(bundle)
    (bundle / "model.tflite").write_bytes(b"changed after export")
    with pytest.raises(BundleError, match="sha256 mismatch") as info:
        load(bundle)
    assert "model.tflite" in info.value.message
    load(bundle, verify=False)  # the manifest itself is still valid


def test_a_missing_file_is_named(bundle):
    (bundle / "model.tflite").unlink()
    with pytest.raises(BundleError, match=r"bundle file missing: .*model\.tflite"):
        load(bundle)


def test_a_model_without_a_checksum_is_refused(bundle):
    data = json.loads((bundle / MANIFEST_NAME).read_text())
    data["files"] = {}
    (bundle / MANIFEST_NAME).write_text(json.dumps(data))
    with pytest.raises(BundleError, match="lists no files"):
        load(bundle)


def test_not_a_bundle(tmp_path):
    with pytest.raises(BundleError, match=MANIFEST_NAME):
        load(tmp_path)
    (tmp_path / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(BundleError, match="cannot read"):
        load(tmp_path)


def test_the_shipped_bundle_verifies_after_a_copy(tmp_path):
    copy_dir = shutil.copytree(SHIPPED, tmp_path / "copy")
    assert load(copy_dir).to_dict() == load(SHIPPED).to_dict()


# ----------------------------------------------------------------------------- tampering


def _tampered_copy(tmp_path, edit):
    """A copy of the shipped default model with one byte of model_dynamic.tflite flipped and
    its sentio.json edited by ``edit(dict)``."""
    import json
    import shutil

    from sentio.runtime.model import default_bundle

    bundle = tmp_path / "model"
    shutil.copytree(default_bundle(), bundle)
    model = bundle / "model_dynamic.tflite"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    path = bundle / "sentio.json"
    raw = json.loads(path.read_text())
    edit(raw)
    path.write_text(json.dumps(raw))
    return bundle


def _listen(bundle, tmp_path, capsys):
    import sentio.runtime.cli as cli

    from tests.helpers import write_tone

    wav = write_tone(tmp_path / "x.wav", seconds=1.0)
    code = cli.main(["--model", str(bundle), "--input", str(wav)])
    return code, capsys.readouterr().err


def test_deleting_the_file_list_does_not_switch_integrity_off(tmp_path, capsys):
    """Issue 16 #2: a flipped byte AND no `files` in sentio.json ran the tampered model."""
    bundle = _tampered_copy(tmp_path, lambda raw: raw.pop("files"))
    code, err = _listen(bundle, tmp_path, capsys)
    assert code == 2, err
    assert "lists no files and sha256 sums" in err and "Traceback" not in err


def test_deleting_one_models_entry_is_refused(tmp_path, capsys):
    bundle = _tampered_copy(tmp_path, lambda raw: raw["files"].pop("model_dynamic.tflite"))
    code, err = _listen(bundle, tmp_path, capsys)
    assert code == 2, err
    assert "model_dynamic.tflite have no sha256" in err


def test_the_flipped_byte_alone_is_a_checksum_mismatch(tmp_path, capsys):
    code, err = _listen(_tampered_copy(tmp_path, lambda raw: None), tmp_path, capsys)
    assert code == 2 and "sha256 mismatch" in err, err


@pytest.mark.parametrize("name", ["../model_dynamic.tflite", "/etc/passwd", "sub/x.tflite"])
def test_a_file_outside_the_bundle_is_refused(tmp_path, capsys, name):
    def edit(raw):
        raw["files"][name] = "0" * 64

    code, err = _listen(_tampered_copy(tmp_path, edit), tmp_path, capsys)
    assert code == 2 and "outside the bundle folder" in err, err


# ----------------------------------------------------------------------------- bounds (issue 22 #5)


def _with_raw_manifest(tmp_path, text):
    """A copy of the shipped default model whose sentio.json is ``text`` (sentio.json is not
    in its own file list, so the model files still verify)."""
    bundle = tmp_path / "model"
    shutil.copytree(SHIPPED, bundle)
    (bundle / MANIFEST_NAME).write_text(text)
    return bundle


def _shipped_text(edit=None, extra=""):
    data = json.loads((SHIPPED / MANIFEST_NAME).read_text())
    if edit:
        edit(data)
    text = json.dumps(data)
    return text[:-1] + extra + "}" if extra else text


BAD_MANIFESTS = {
    # before: RecursionError traceback
    "nested 2,000 deep": ("[" * 2000 + "]" * 2000, "[0][0][0]", "nested more than 32"),
    "a field nested 2,000 deep": (
        _shipped_text(extra=', "x": {"y": [1, ' + "[" * 2000 + "]" * 2000 + "]}"),
        "x.y[1][0]",
        "nested more than 32",
    ),
    # before: ValueError (int() of more than 4,300 digits) traceback
    "a 5,000-digit integer": (
        _shipped_text(extra=', "x": ' + "9" * 5000),
        "x:",
        "5,000-digit integer",
    ),
    # before: OverflowError traceback when the engine turned the hop into frames
    "default_hop_s Infinity": (
        _shipped_text(lambda d: d["window"].update(default_hop_s=math.inf)),
        "window.default_hop_s",
        "not a finite number",
    ),
    "default_hop_s 1e999": (
        _shipped_text().replace('"default_hop_s": 0.5', '"default_hop_s": 1e999'),
        "window.default_hop_s",
        "not a finite number",
    ),
    "default_hop_s a year": (
        _shipped_text(lambda d: d["window"].update(default_hop_s=3e7)),
        "window.default_hop_s",
        "at most 3600",
    ),
    # before: tried to allocate 291 TiB
    "window.frames 10**12": (
        _shipped_text(lambda d: d["window"].update(frames=10**12)),
        "window.frames",
        "at most 100,000",
    ),
    # before: exit 0, the feature a constant 0, no warning
    "normalization std Infinity": (
        _shipped_text(lambda d: d["normalization"]["std"].__setitem__(3, math.inf)),
        "normalization.std[3]",
        "not a finite number",
    ),
    "normalization std 1e-30": (
        _shipped_text(lambda d: d["normalization"]["std"].__setitem__(5, 1e-30)),
        "normalization.std[5]",
        "at least 1e-06",
    ),
    "normalization mean NaN": (
        _shipped_text(lambda d: d["normalization"]["mean"].__setitem__(0, math.nan)),
        "normalization.mean[0]",
        "not a finite number",
    ),
    "feature_spec.n_mels 10**9": (
        _shipped_text(lambda d: d["feature_spec"].update(n_mels=10**9)),
        "feature_spec.n_mels",
        "out of range",
    ),
    "labels.range Infinity": (
        _shipped_text(lambda d: d["labels"].update(range=[-1, math.inf])),
        "labels.range[1]",
        "not a finite number",
    ),
    "a quantization scale -1": (
        _shipped_text(lambda d: d["models"][0]["io"]["input"].update(scale=-1.0)),
        "models[0].io.input.scale",
        "finite number >= 0",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_MANIFESTS))
def test_a_bad_manifest_is_refused_naming_the_field(tmp_path, case):
    text, field, problem = BAD_MANIFESTS[case]
    with pytest.raises(BundleError) as info:
        read(_with_raw_manifest(tmp_path, text))
    assert f": {field}" in info.value.message and problem in info.value.message, info.value
    assert "re-export" in info.value.hint


@pytest.mark.parametrize(
    "case", ["nested 2,000 deep", "a 5,000-digit integer", "default_hop_s Infinity"]
)
def test_a_bad_manifest_exits_2_through_sentio_listen(tmp_path, capsys, case):
    text, field, _ = BAD_MANIFESTS[case]
    code, err = _listen(_with_raw_manifest(tmp_path, text), tmp_path, capsys)
    assert code == 2 and field in err and "Traceback" not in err, err


def test_a_manifest_larger_than_any_bundle_needs_is_not_read(tmp_path):
    text = _shipped_text(extra=', "x": "' + "a" * (17 * 2**20) + '"')
    with pytest.raises(BundleError, match="larger than 16 MiB"):
        read(_with_raw_manifest(tmp_path, text))


def test_a_nan_metric_is_provenance_and_still_loads(shipped_json):
    """NaN is refused where the runtime reads numbers; a metric that had no value (a CCC of
    constant predictions) is a measurement, and exported bundles may hold it."""
    dims = {"rmse": 0.5, "mae": 0.4, "r2": 0.0, "ccc": math.nan, "accuracy": 0.5}
    shipped_json["models"][0]["test_windows"] = {"n": 5, "valence": dims}
    shipped_json["metrics"] = {"test": {"songs": {"n": 5, "arousal": dims}}}
    manifest = Manifest.from_dict(shipped_json)
    assert math.isnan(manifest.models[0].test_windows.dimension("valence").ccc)
    assert math.isnan(manifest.metrics.test.songs.dimension("arousal").ccc)


def test_the_shipped_metrics_are_typed_and_written_back_as_they_were(shipped_json):
    manifest = Manifest.from_dict(shipped_json)
    songs = manifest.models[0].test_songs
    assert songs.n == 47 and 0 < songs.dimension("arousal").ccc < 1 and not songs.signs_only
    written = manifest.to_dict()
    for model, original in zip(written["models"], shipped_json["models"], strict=True):
        assert model["test_windows"] == original["test_windows"]
        assert model["test_songs"] == original["test_songs"]
