"""Accuracy of early estimates by window length, clean and through live conditions (issue 15).

    python -m benchmarks.window_lengths --bundle runtime/default_model \\
        --emotify ../shared/data/emotify --fourq ../shared/data/4q --split test \\
        --conditions device --out experiments/window_lengths_v2

Crops of 3, 6, 9 and 12 s every 3 s (up to 8 per song) of the bundle's split, each predicted
the runtime's way (repeated to a window); see ``export/evaluation/window_lengths.py``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from sentio.export.data.conditions import resolve
from sentio.export.data.sources import DataOptions
from sentio.export.evaluation.robustness import bundle_songs
from sentio.export.evaluation.window_lengths import (
    LENGTHS_S,
    length_table,
    predict_songs,
    table_markdown,
)
from sentio.runtime.model import BundleModel


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, default=None, help="default: the bundled model")
    parser.add_argument("--artifact", default="model_float32.tflite")
    parser.add_argument("--emotify", type=Path, required=True)
    parser.add_argument("--fourq", type=Path, default=None)
    parser.add_argument("--split", default="test")
    parser.add_argument("--conditions", default="", help="live conditions besides clean")
    parser.add_argument("--max-crops", type=int, default=8)
    parser.add_argument("--out", type=Path, default=None, help="write OUT.md and OUT.json")
    args = parser.parse_args(argv)
    model = BundleModel(args.bundle, artifact=args.artifact)
    options = DataOptions(kind="emotify", path=args.emotify, fourq=args.fourq, progress=False)
    songs, described = bundle_songs(model.manifest, options, args.split)
    fps = model.spec.frames_per_second
    parts = [f"# Window lengths: {model.path.name} ({model.artifact}), {described}\n"]
    result = {"bundle": str(model.path), "artifact": model.artifact, "songs": len(songs)}
    for condition in (None, *resolve(args.conditions or "none")):
        began = time.perf_counter()
        crops, lengths = predict_songs(model, songs, LENGTHS_S, condition, max_crops=args.max_crops)
        table = length_table(crops, lengths)
        name = "clean" if condition is None else condition.name
        parts.append(table_markdown(table, lengths, fps, name))
        result[name] = {d: {str(k): v for k, v in rows.items()} for d, rows in table.items()}
        print(parts[-1], f"({time.perf_counter() - began:.0f} s)", flush=True)
    if args.out:
        args.out.with_suffix(".md").write_text("\n".join(parts))
        args.out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
