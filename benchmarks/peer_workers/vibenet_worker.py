"""vibenet as its README uses it: ``vibenet.load_model().predict(path)`` decodes the file,
resamples to 16 kHz, makes the mel spectrogram of the WHOLE clip and runs the ONNX student once
(the clip-level value is the model's own pooling over the clip). ``valence`` -> valence,
``energy`` -> arousal, both on 0..1.

    python vibenet_worker.py REQUEST.json REPLY.json
"""

from __future__ import annotations

import importlib.metadata

import numpy as np
import vibenet
from protocol import serve


def setup(options: dict):
    model = vibenet.load_model()
    model.predict(np.zeros(16000, np.float32), sr=16000)  # warm-up: first-run allocations
    return model, f"vibenet {importlib.metadata.version('vibenet')}"


def predict(model, path: str):
    (result,) = model.predict(path)
    return {"vibenet": [result.valence, result.energy]}, {}


if __name__ == "__main__":
    serve("vibenet", setup, predict)
