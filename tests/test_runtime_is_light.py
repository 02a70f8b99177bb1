import subprocess
import sys

CODE = """
import sys
import numpy as np
import sentio.runtime
from sentio.runtime import audio, bundle, features, windows
spec = features.FeatureSpec()
x = np.random.default_rng(0).standard_normal(spec.sample_rate).astype(np.float32)
f = features.extract_features(x, spec)
assert f.shape == (spec.n_frames(x.size), 40)
heavy_roots = {'tensorflow', 'tf_keras', 'keras', 'tf2onnx'}
heavy = sorted(
    m for m in sys.modules
    if m.split('.')[0] in heavy_roots or m.startswith('sentio.export')
)
print(heavy)
"""


def test_runtime_never_imports_tensorflow():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
