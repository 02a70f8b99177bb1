"""The peers benchmark's worker protocol (stdlib only: it runs in every contender's venv).

A worker is a small script run as ``python WORKER REQUEST.json REPLY.json``:

    request: {"files": ["a.ogg", ...], "options": {...}}
    reply:   {"contender": "...", "about": "versions, artifact", "setup_cpu_s": 1.2,
              "items": [{"path": "a.ogg", "outputs": {"head": [valence, arousal]} | null,
                         "cpu_s": 0.4, "cpu_parts": {...}} | {"path": ..., "error": "..."}]}

``outputs`` maps each model the worker ran (one worker may run several heads over one shared
front end) to its clip-level [valence, arousal], the mean over the clip; ``null`` means the
clip gave no prediction (shorter than the model's window). ``cpu_s`` is the worker's own
``process_time`` (every thread) for that file, decoding included; ``cpu_parts`` optionally
splits it. ``setup_cpu_s``: loading the models, not counted per file.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

#: predict(state, path) -> (outputs or None, cpu_parts)
Predict = Callable[[Any, str], tuple[dict[str, list[float]] | None, dict[str, float]]]


def serve(
    contender: str,
    setup: Callable[[dict], tuple[Any, str]],
    predict: Predict,
    argv: list[str] | None = None,
) -> None:
    """Answer one request file: ``setup(options) -> (state, about)`` once, then ``predict``
    every file in turn, timed."""
    request_path, reply_path = sys.argv[1:3] if argv is None else argv
    with open(request_path) as f:
        request = json.load(f)
    began = time.process_time()
    state, about = setup(request.get("options", {}))
    reply: dict[str, Any] = {
        "contender": contender,
        "about": about,
        "setup_cpu_s": time.process_time() - began,
        "items": [],
    }
    for path in request["files"]:
        began = time.process_time()
        try:
            outputs, parts = predict(state, path)
            item: dict[str, Any] = {"path": path, "outputs": outputs, "cpu_parts": parts}
        except Exception as err:  # one bad file is reported, the rest still run
            item = {"path": path, "error": f"{type(err).__name__}: {err}"}
        item["cpu_s"] = time.process_time() - began
        reply["items"].append(item)
    partial = f"{reply_path}.part"
    with open(partial, "w") as f:
        json.dump(reply, f)
    os.replace(partial, reply_path)
