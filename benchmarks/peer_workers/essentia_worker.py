"""Essentia's MusiCNN (MSD) embedding with the emoMusic and DEAM valence/arousal heads, as
``../shared/peers/README.md`` runs them: 16 kHz mono -> 200-dim embedding per ~3 s patch ->
each head -> mean over patches. Both heads share one embedding pass; ``cpu_parts`` splits the
time (decode, embedding, each head) so each head's own cost can be reported.

    python essentia_worker.py REQUEST.json REPLY.json    # options: {"models": DIR}
"""

from __future__ import annotations

import os
import time

import essentia
import essentia.standard as es
import numpy as np
from protocol import serve

HEADS = {"emomusic": "emomusic-musicnn-msd-1.pb", "deam": "deam-musicnn-msd-1.pb"}


def setup(options: dict):
    models = options["models"]
    embed = es.TensorflowPredictMusiCNN(
        graphFilename=os.path.join(models, "msd-musicnn-1.pb"), output="model/dense/BiasAdd"
    )
    heads = {
        name: es.TensorflowPredict2D(
            graphFilename=os.path.join(models, graph), input="flatten_in_input", output="dense_out"
        )
        for name, graph in HEADS.items()
    }
    warm_up = embed(np.zeros(4 * 16000, np.float32))  # the graphs load on first use
    for head in heads.values():
        head(warm_up)
    return (embed, heads), f"essentia-tensorflow {essentia.__version__}"


def predict(state, path: str):
    embed, heads = state
    parts, began = {}, time.process_time()
    audio = es.MonoLoader(filename=path, sampleRate=16000, resampleQuality=4)()
    parts["decode"], began = time.process_time() - began, time.process_time()
    embeddings = embed(audio)
    parts["embedding"] = time.process_time() - began
    outputs = {}
    for name, head in heads.items():
        began = time.process_time()
        values = head(embeddings).mean(axis=0)  # columns taken as [valence, arousal]
        parts[f"head:{name}"] = time.process_time() - began
        outputs[name] = [float(values[0]), float(values[1])]
    return outputs, parts


if __name__ == "__main__":
    serve("essentia", setup, predict)
