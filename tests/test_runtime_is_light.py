"""The runtime half never imports TensorFlow (nor anything from export/): importing every
runtime module and running ``sentio-listen --input`` over the shipped bundle, in a fresh
interpreter."""

import subprocess
import sys

import numpy as np
import soundfile
from sentio.runtime import default_bundle

CODE = """
import contextlib, io, sys
import sentio.runtime
from sentio.runtime import (audio, bundle, capture, cli, color, emotion, engine, errors,
                            features,
                            listener, manifest, model, replay, streaming, windows)
from sentio.runtime.outputs import color, live_view, mqtt, osc, sinks
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = cli.main(["--model", sys.argv[1], "--input", sys.argv[2], "--artifact", sys.argv[3]])
assert code == 0 and out.getvalue().count("valence") >= 3, (code, out.getvalue())
heavy_roots = {'tensorflow', 'tf_keras', 'keras', 'tf2onnx'}
heavy = sorted(
    m for m in sys.modules
    if m.split('.')[0] in heavy_roots or m.startswith('sentio.export')
)
print(heavy)
"""


def test_runtime_never_imports_tensorflow(tmp_path):
    rng = np.random.default_rng(0)
    wav = tmp_path / "noise.wav"
    soundfile.write(wav, rng.normal(0, 0.1, 22050 * 14).astype(np.float32), 22050)
    for artifact in ("model_int8.tflite", "model.onnx"):
        out = subprocess.run(
            [sys.executable, "-c", CODE, str(default_bundle()), str(wav), artifact],
            capture_output=True,
            text=True,
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout
