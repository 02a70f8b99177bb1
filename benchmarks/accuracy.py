"""Accuracy of the shipped bundle and what each artifact loses against Keras, read from the
manifest the export wrote (``sentio.json``: test split, per window and per song). No
retraining, no re-evaluation: these are the export's own measurements."""

from __future__ import annotations

from sentio.runtime.manifest import ExportInfo, Scores, as_json, load

from benchmarks.context import Context
from benchmarks.report import Section, SummaryRow, table


def run(ctx: Context) -> Section:
    manifest = load(ctx.bundle)
    export = manifest.export or ExportInfo()
    default = manifest.default_artifact
    models = [m for m in manifest.models if m.runnable]
    rows, song_rows = [], []
    for m in models:
        w, s, drop, diff = (
            m.test_windows or Scores(),
            m.test_songs or Scores(),
            m.drop or {},
            m.vs_float or {},
        )
        wv, wa = w.dimension("valence"), w.dimension("arousal")
        name = f"**{m.file}** (default)" if m.file == default else m.file
        rows.append(
            [
                name,
                f"{(m.bytes or 0) / 1024:,.0f} KB",
                f"{wv.ccc:.3f}",
                f"{wa.ccc:.3f}",
                f"{wv.rmse:.3f}",
                f"{wa.rmse:.3f}",
                f"{w.emotion_accuracy:.3f}",
                f"{drop['valence_ccc']:+.3f}",
                f"{drop['arousal_ccc']:+.3f}",
                f"{diff['max_abs_diff']:.4f}",
                f"{diff['mean_abs_diff']:.4f}",
                m.gate or "",
            ]
        )
        song_rows.append(
            [
                m.file,
                f"{s.dimension('valence').ccc:.3f}",
                f"{s.dimension('arousal').ccc:.3f}",
                f"{s.emotion_accuracy:.2f}",
            ]
        )
    limits = export.limits
    body = [
        f"From `{ctx.bundle.name}/sentio.json` (written by `sentio-export`; evaluated on "
        f"{export.evaluated_on or 'the test split'}). Per window; drop = Keras minus "
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
    songs = (manifest.model(default or "") or models[0]).test_songs or Scores()
    summary = [
        SummaryRow(
            f"test song CCC V / A ({default})",
            f"{songs.dimension('valence').ccc:.3f} / {songs.dimension('arousal').ccc:.3f}",
        ),
        SummaryRow(
            "artifacts passing the export gate",
            f"{sum(m.passed for m in models)} of {len(models)}",
        ),
    ]
    return Section(
        "accuracy",
        "Accuracy of the shipped model (from the export)",
        body,
        summary,
        {"models": {m.file: as_json(m.test_songs) for m in models}},
    )
