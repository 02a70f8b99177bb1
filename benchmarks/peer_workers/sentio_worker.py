"""Sentio through the runtime path ``sentio-listen --input FILE`` takes: ``FileSource`` ->
``Listener`` -> ``Engine`` (the bundle's default artifact, its default hop, no smoothing).
The clip's value is the mean of its whole-window predictions (``--first full --changes off``,
as ``sentio-analyze``); a clip shorter than one window gets the one partial estimate made on
all of it at its end (issue 15; before, it had none).
``cpu_parts`` gives the windows run and the model's own time in them (``Engine`` stats), so the
cost of a live stream (a window every hop, forever) can be told from a clip's.

    python sentio_worker.py REQUEST.json REPLY.json      # options: {"bundle": DIR}
"""

from __future__ import annotations

import numpy as np
from protocol import serve
from sentio.runtime.about import installed_version
from sentio.runtime.listener import Listener
from sentio.runtime.model import BundleModel


def setup(options: dict) -> tuple[BundleModel, str]:
    model = BundleModel(options.get("bundle"))
    return model, f"sentio-mer {installed_version()}, {model.artifact} ({model.runner.backend})"


def predict(model: BundleModel, path: str):
    listener = Listener.from_file(path, model, first_s=None, changes=False)
    values = [(p.valence_raw, p.arousal_raw) for p in listener]
    stats = listener.stats
    parts = {"windows": stats.windows, "model_s": stats.compute_s, "hop_s": listener.hop_s}
    if not values:
        return None, parts
    return {"sentio": [float(v) for v in np.mean(values, axis=0)]}, parts


if __name__ == "__main__":
    serve("sentio", setup, predict)
