"""Accuracy of the shipped bundle and what each artifact loses against Keras, read from the
manifest the export wrote (``sentio.json``: test split, per window and per song). No
retraining, no re-evaluation: these are the export's own measurements."""

from __future__ import annotations

from sentio.runtime.bundle import load_manifest

from benchmarks.context import Context
from benchmarks.report import Section, SummaryRow, table


def run(ctx: Context) -> Section:
    manifest = load_manifest(ctx.bundle)
    export = manifest.get("export", {})
    default = manifest.get("default_artifact")
    rows, song_rows = [], []
    for m in manifest["models"]:
        w, s, drop = m["test_windows"], m["test_songs"], m["drop"]
        diff = m["vs_float"]
        name = f"**{m['file']}** (default)" if m["file"] == default else m["file"]
        rows.append(
            [
                name,
                f"{m['bytes'] / 1024:,.0f} KB",
                f"{w['valence']['ccc']:.3f}",
                f"{w['arousal']['ccc']:.3f}",
                f"{w['valence']['rmse']:.3f}",
                f"{w['arousal']['rmse']:.3f}",
                f"{w['emotion_accuracy']:.3f}",
                f"{drop['valence_ccc']:+.3f}",
                f"{drop['arousal_ccc']:+.3f}",
                f"{diff['max_abs_diff']:.4f}",
                f"{diff['mean_abs_diff']:.4f}",
                m["gate"],
            ]
        )
        song_rows.append(
            [
                m["file"],
                f"{s['valence']['ccc']:.3f}",
                f"{s['arousal']['ccc']:.3f}",
                f"{s['emotion_accuracy']:.2f}",
            ]
        )
    limits = export.get("limits", {})
    body = [
        f"From `{ctx.bundle.name}/sentio.json` (written by `sentio-export`; evaluated on "
        f"{export.get('evaluated_on', 'the test split')}). Per window; drop = Keras minus "
        "artifact (positive = worse); \\|d\\| = \\|artifact - Keras\\|.",
        "",
        *table(
            [
                "artifact",
                "size",
                "V CCC",
                "A CCC",
                "V RMSE",
                "A RMSE",
                "emo. acc",
                "drop V CCC",
                "drop A CCC",
                "max \\|d\\|",
                "mean \\|d\\|",
                "gate",
            ],
            rows,
            "lrrrrrrrrrrl",
        ),
        "",
        "Gate limits: " + ", ".join(f"{k} {v}" for k, v in limits.items()) + ".",
        "",
        "Per song (mean of a song's windows):",
        "",
        *table(["artifact", "V CCC", "A CCC", "emotion acc."], song_rows),
    ]
    d = next(m for m in manifest["models"] if m["file"] == default)
    summary = [
        SummaryRow(
            f"test song CCC V / A ({default})",
            f"{d['test_songs']['valence']['ccc']:.3f} / {d['test_songs']['arousal']['ccc']:.3f}",
        ),
        SummaryRow(
            "artifacts passing the export gate",
            f"{sum(m['gate'] == 'pass' for m in manifest['models'])} of {len(manifest['models'])}",
        ),
    ]
    return Section(
        "accuracy",
        "Accuracy of the shipped model (from the export)",
        body,
        summary,
        {"models": {m["file"]: m["test_songs"] for m in manifest["models"]}},
    )
