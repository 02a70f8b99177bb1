"""A catalogue table as a picture and as playlists: ``OUT/report.html`` and ``OUT/playlists/``.

``report.html`` is one self-contained file (inline SVG, a few lines of inline JS for the
hover; nothing fetched, so it opens offline): every song on the valence/arousal plane,
coloured by quadrant, its file name shown on hover; a histogram per dimension; and, for the
files asked for, each window's valence and arousal over time (the rows hold those only when
the analysis ran with ``--series``; a file without them is named in the report, skipped).

``playlists/`` holds one extended M3U per quadrant (``happy-excited.m3u``, ...; songs by
distance from the quadrant's centre, the clearest first) and ``energy-ramp.m3u`` (every song
by arousal, calmest first). Paths are absolute, as the table holds them.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from sentio.export.analyze.table import write_text_atomic
from sentio.runtime.emotion import QUADRANTS

REPORT = "report.html"
PLAYLISTS = "playlists"
ENERGY_RAMP = "energy-ramp.m3u"
#: A fixed colour per quadrant (the hue ``color.py`` gives its centre).
QUADRANT_COLORS = {
    "happy/excited": "#d4b000",
    "tense/angry": "#d8342c",
    "sad/depressed": "#3a62d8",
    "calm/content": "#2f9e44",
    "silent": "#8a8a8a",  # a file of silence: in no quadrant's playlist nor the energy ramp
}
CENTRES = {
    "happy/excited": (0.5, 0.5),
    "tense/angry": (-0.5, 0.5),
    "sad/depressed": (-0.5, -0.5),
    "calm/content": (0.5, -0.5),
}
BINS = 20


@dataclass
class ReportResult:
    """What :func:`write_report` wrote, and the timelines it could not draw (and why)."""

    path: Path
    songs: int
    timelines: list[str] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)


def playlist_name(quadrant: str) -> str:
    return quadrant.replace("/", "-") + ".m3u"


def _m3u(rows: list[dict]) -> str:
    lines = ["#EXTM3U"]
    for row in rows:
        name = Path(row["path"]).stem
        info = f"{row['quadrant']} v {row['valence_mean']:+.2f} a {row['arousal_mean']:+.2f}"
        lines += [f"#EXTINF:{round(row['duration_s'])},{name} ({info})", row["path"]]
    return "\n".join(lines) + "\n"


def write_playlists(out_dir: Path, rows: list[dict]) -> list[Path]:
    """One M3U per quadrant (the clearest songs first) and the energy ramp (by arousal)."""
    folder = Path(out_dir) / PLAYLISTS
    folder.mkdir(exist_ok=True)
    written = []
    for quadrant in QUADRANTS:
        cx, cy = CENTRES[quadrant]
        mine = [r for r in rows if r["quadrant"] == quadrant]
        mine.sort(key=lambda r: math.hypot(r["valence_mean"] - cx, r["arousal_mean"] - cy))
        written.append(write_text_atomic(folder / playlist_name(quadrant), _m3u(mine)))
    heard = [r for r in rows if r["quadrant"] in QUADRANTS]
    ramp = sorted(heard, key=lambda r: (r["arousal_mean"], r["path"]))
    written.append(write_text_atomic(folder / ENERGY_RAMP, _m3u(ramp)))
    return written


def _plane(rows: list[dict], size: int = 520) -> str:
    pad = 30
    inner = size - 2 * pad

    def xy(v: float, a: float) -> tuple[float, float]:
        v, a = max(-1.0, min(1.0, v)), max(-1.0, min(1.0, a))
        return pad + (v + 1) / 2 * inner, pad + (1 - a) / 2 * inner

    mid = size / 2
    parts = [
        f'<svg class="plane" viewBox="0 0 {size} {size}" width="{size}" height="{size}">',
        f'<rect x="{pad}" y="{pad}" width="{inner}" height="{inner}" class="frame"/>',
        f'<line x1="{pad}" y1="{mid}" x2="{size - pad}" y2="{mid}" class="axis"/>',
        f'<line x1="{mid}" y1="{pad}" x2="{mid}" y2="{size - pad}" class="axis"/>',
        f'<text x="{size - pad}" y="{mid - 6}" text-anchor="end" class="lab">valence +1</text>',
        f'<text x="{pad}" y="{mid - 6}" class="lab">-1</text>',
        f'<text x="{mid + 6}" y="{pad + 14}" class="lab">arousal +1</text>',
        f'<text x="{mid + 6}" y="{size - pad - 6}" class="lab">-1</text>',
    ]
    for quadrant, (cx, cy) in CENTRES.items():
        x, y = xy(cx * 1.6, cy * 1.75)
        color = QUADRANT_COLORS[quadrant]
        parts.append(
            f'<text x="{x:.0f}" y="{y:.0f}" text-anchor="middle" class="q" fill="{color}">'
            f"{html.escape(quadrant)}</text>"
        )
    for row in rows:
        x, y = xy(row["valence_mean"], row["arousal_mean"])
        name = Path(row["path"]).name
        tip = (
            f"{name}\n{row['quadrant']}  valence {row['valence_mean']:+.2f} ± "
            f"{row['valence_std']:.2f}  arousal {row['arousal_mean']:+.2f} ± "
            f"{row['arousal_std']:.2f}  {row['duration_s']:.0f} s"
        )
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="{QUADRANT_COLORS[row["quadrant"]]}" '
            f'class="song" data-tip="{html.escape(tip)}"><title>{html.escape(tip)}</title>'
            "</circle>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _histogram(values: list[float], label: str, color: str) -> str:
    width, height, pad = 420, 180, 24
    counts = [0] * BINS
    for value in values:
        counts[min(BINS - 1, max(0, int((max(-1.0, min(1.0, value)) + 1) / 2 * BINS)))] += 1
    top = max(counts) or 1
    bar = (width - 2 * pad) / BINS
    parts = [
        f'<svg class="hist" viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
        f'<text x="{pad}" y="14" class="lab">{label} (song means; {len(values)} songs)</text>',
    ]
    for i, count in enumerate(counts):
        h = (height - 2 * pad - 6) * count / top
        x = pad + i * bar
        lo = -1 + 2 * i / BINS
        parts.append(
            f'<rect x="{x:.1f}" y="{height - pad - h:.1f}" width="{bar - 1:.1f}" height="{h:.1f}" '
            f'fill="{color}"><title>{lo:+.1f} to {lo + 2 / BINS:+.1f}: {count}</title></rect>'
        )
    for tick in (-1, 0, 1):
        x = pad + (tick + 1) / 2 * (width - 2 * pad)
        parts.append(f'<text x="{x:.0f}" y="{height - 6}" text-anchor="middle" class="lab">')
        parts.append(f"{tick:+d}</text>")
    parts.append("</svg>")
    return "".join(parts)


def _timeline(row: dict) -> str:
    width, height, pad = 860, 170, 28
    series = row["series"]
    t = series["t"]
    t0, t1 = min(t), max(t)
    span = max(t1 - t0, 1e-9)

    def line(values: list[float], color: str) -> str:
        points = " ".join(
            f"{pad + (ti - t0) / span * (width - 2 * pad):.1f},"
            f"{height / 2 - max(-1.0, min(1.0, v)) * (height / 2 - pad):.1f}"
            for ti, v in zip(t, values, strict=True)
        )
        return f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2"/>'

    name = html.escape(Path(row["path"]).name)
    return (
        f'<figure><figcaption>{name} <span class="dim">({len(t)} windows, {t0:.1f}-{t1:.1f} s;'
        f' <b style="color:#e08a00">valence</b>, <b style="color:#2b7bd6">arousal</b>)</span>'
        f'</figcaption><svg class="timeline" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}"><line x1="{pad}" y1="{height / 2}" x2="{width - pad}" '
        f'y2="{height / 2}" class="axis"/>'
        + line(series["valence"], "#e08a00")
        + line(series["arousal"], "#2b7bd6")
        + "</svg></figure>"
    )


STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 20px; color: #222; background: #fafafa; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 22px 0 8px; }
.dim { color: #777; } .row { display: flex; flex-wrap: wrap; gap: 16px; align-items: start; }
svg { background: #fff; border: 1px solid #ddd; border-radius: 6px; }
.frame { fill: none; stroke: #ccc; } .axis { stroke: #bbb; } .lab { font-size: 11px; fill: #666; }
.q { font-size: 13px; font-weight: 600; opacity: .8; }
.song { stroke: #fff; stroke-width: 1.5; opacity: .9; cursor: pointer; }
.song:hover { stroke: #000; }
#tip { position: fixed; pointer-events: none; background: #222; color: #fff; padding: 4px 8px;
  border-radius: 4px; font-size: 12px; white-space: pre; display: none; }
table { border-collapse: collapse; } td, th { padding: 2px 10px; text-align: left; }
figure { margin: 0 0 12px; } figcaption { margin-bottom: 4px; }
"""

SCRIPT = """
(function () {
  var tip = document.getElementById('tip');
  document.querySelectorAll('.song').forEach(function (dot) {
    dot.addEventListener('mousemove', function (e) {
      tip.textContent = dot.getAttribute('data-tip');
      tip.style.display = 'block';
      tip.style.left = (e.clientX + 12) + 'px'; tip.style.top = (e.clientY + 12) + 'px';
    });
    dot.addEventListener('mouseleave', function () { tip.style.display = 'none'; });
  });
})();
"""


def _find(rows: list[dict], wanted: str) -> dict | None:
    target = Path(wanted).expanduser()
    candidates = {str(target), str(target.resolve()) if target.exists() else str(target)}
    for row in rows:
        if row["path"] in candidates:
            return row
    by_name = [row for row in rows if Path(row["path"]).name == target.name]
    return by_name[0] if len(by_name) == 1 else None


def write_report(out_dir: Path, rows: list[dict], timelines: list[str] = ()) -> ReportResult:
    """``OUT/report.html`` for ``rows`` (the table), with the timelines of the files named in
    ``timelines`` whose rows hold a series."""
    result = ReportResult(Path(out_dir) / REPORT, len(rows))
    drawn = []
    for wanted in timelines:
        row = _find(rows, wanted)
        if row is None:
            result.missing.append((wanted, "not in the table"))
        elif not row.get("series") or not row["series"].get("t"):
            result.missing.append((wanted, "its row holds no per-window series (--series)"))
        else:
            drawn.append(_timeline(row))
            result.timelines.append(row["path"])
    counts = {q: sum(r["quadrant"] == q for r in rows) for q in QUADRANTS}
    summary = "".join(
        f'<tr><td style="color:{QUADRANT_COLORS[q]}">■</td><td>{q}</td><td>{counts[q]}</td>'
        f"<td>{html.escape(PLAYLISTS + '/' + playlist_name(q))}</td></tr>"
        for q in QUADRANTS
    )
    if timelines:
        notes = "".join(
            f"<li>{html.escape(w)}: {html.escape(why)}</li>" for w, why in result.missing
        )
        timeline_html = "".join(drawn) + (f"<ul class='dim'>{notes}</ul>" if notes else "")
    else:
        timeline_html = (
            "<p class='dim'>None asked for (sentio-analyze --series --timelines FILE ...)</p>"
        )
    body = (
        f"<h1>Sentio catalogue</h1><p class='dim'>{len(rows)} songs; each point is a song's "
        "mean valence and arousal over its windows (hover for the file)</p>"
        f"<div class='row'>{_plane(rows)}<div><table><tr><th></th><th>quadrant</th>"
        f"<th>songs</th><th>playlist</th></tr>{summary}</table></div></div>"
        "<h2>Distributions</h2><div class='row'>"
        + _histogram([r["valence_mean"] for r in rows], "valence", "#e08a00")
        + _histogram([r["arousal_mean"] for r in rows], "arousal", "#2b7bd6")
        + f"</div><h2>Timelines</h2>{timeline_html}"
    )
    data = json.dumps({"songs": len(rows), "counts": counts}).replace("</", "<\\/")
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>Sentio catalogue</title>"
        f"<style>{STYLE}</style></head><body>{body}<div id='tip'></div>"
        f"<script type='application/json' id='data'>{data}</script>"
        f"<script>{SCRIPT}</script></body></html>\n"
    )
    write_text_atomic(result.path, page)
    return result
