"""What the default model says about speech, noise and silence (issue 15): it is a music model
and nothing in it detects non-music, so this is measured, not assumed.

    python -m benchmarks.non_music --out experiments/non_music

Speech: espeak-ng (``apt-get install espeak-ng``), a few English, German and French voices
reading a paragraph, ~30 s each. Noise: white, pink and brown at -20 dBFS RMS, and pink "room
tone" at -60 dBFS. Silence: digital zero. Each runs through the engine with the defaults
(``sentio-listen``'s); reported: the mean and spread of the whole-window estimates, their
quadrant, and the share of estimates flagged silent.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from sentio.export.data.conditions import colored_noise
from sentio.runtime.audio import load_audio
from sentio.runtime.emotion import quadrant
from sentio.runtime.engine import Engine
from sentio.runtime.model import BundleModel

TEXT = (
    "The committee met on Tuesday to discuss the budget for next year. After a long debate "
    "about roads, schools and the new library, the members agreed to postpone the vote until "
    "the final figures arrive from the treasury. Residents may send written comments before "
    "the end of the month. The next meeting will take place in the town hall at seven."
)
VOICES = {"en-male": "en", "en-female": "en+f3", "de": "de", "fr": "fr", "en-fast": "en"}
SECONDS = 30.0


def speech(voice: str, rate: int, folder: Path) -> np.ndarray | None:
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        return None
    path = folder / f"{voice}.wav"
    speed = "220" if voice.endswith("fast") else "160"
    subprocess.run(
        [espeak, "-v", VOICES[voice], "-s", speed, "-w", str(path), TEXT],
        check=True,
        capture_output=True,
    )
    samples = load_audio(path, rate)
    repeats = int(np.ceil(SECONDS * rate / len(samples)))
    return 0.5 * np.tile(samples, repeats)[: int(SECONDS * rate)] / max(1e-6, np.abs(samples).max())


def noise(color: str, level_dbfs: float, rate: int) -> np.ndarray:
    x = colored_noise(int(SECONDS * rate), rate, color, np.random.default_rng(0))
    return (x / np.sqrt(np.mean(x**2)) * 10 ** (level_dbfs / 20)).astype(np.float32)


def describe(model: BundleModel, samples: np.ndarray, silence_dbfs: float = -80.0) -> dict:
    engine = Engine(model, silence_dbfs=silence_dbfs)
    predictions = engine.process(samples.astype(np.float32), model.spec.sample_rate)
    predictions += engine.flush()
    whole = [p for p in predictions if not p.partial] or predictions
    v = np.array([p.valence for p in whole])
    a = np.array([p.arousal for p in whole])
    return {
        "estimates": len(predictions),
        "valence_mean": round(float(v.mean()), 3),
        "valence_sd": round(float(v.std()), 3),
        "arousal_mean": round(float(a.mean()), 3),
        "arousal_sd": round(float(a.std()), 3),
        "quadrant": quadrant(float(v.mean()), float(a.mean())),
        "silent_share": round(float(np.mean([p.silent for p in predictions])), 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None, help="write OUT.md and OUT.json")
    args = parser.parse_args(argv)
    model = BundleModel(args.bundle, artifact="model_float32.tflite")
    rate = model.spec.sample_rate
    inputs: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for voice in VOICES:
            samples = speech(voice, rate, Path(tmp))
            if samples is None:
                print("espeak-ng not found: speech skipped (apt-get install espeak-ng)")
                break
            inputs[f"speech {voice}"] = samples
    for color in ("white", "pink", "brown"):
        inputs[f"{color} noise -20 dBFS"] = noise(color, -20.0, rate)
    inputs["room tone (pink) -60 dBFS"] = noise("pink", -60.0, rate)
    inputs["digital silence"] = np.zeros(int(SECONDS * rate), np.float32)
    rows = {name: describe(model, samples) for name, samples in inputs.items()}
    rows["room tone (pink) -60 dBFS, --silence-below -45"] = describe(
        model, inputs["room tone (pink) -60 dBFS"], -45.0
    )
    lines = [
        f"# Non-music through {model.path.name} ({model.artifact}), {SECONDS:g} s each",
        "",
        "| input | valence mean (sd) | arousal mean (sd) | quadrant | silent share |",
        "|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        lines.append(
            f"| {name} | {r['valence_mean']:+.2f} ({r['valence_sd']:.2f}) | "
            f"{r['arousal_mean']:+.2f} ({r['arousal_sd']:.2f}) | {r['quadrant']} | "
            f"{r['silent_share']:.2f} |"
        )
    print("\n".join(lines))
    if args.out:
        args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
        args.out.with_suffix(".json").write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
