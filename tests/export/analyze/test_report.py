"""``OUT/report.html`` and ``OUT/playlists/``: from table rows (no model needed), and the
report looked at in a real headless Chromium (offline: a file:// page, nothing fetched)."""

from __future__ import annotations

from pathlib import Path

from sentio.export.analyze.report import write_playlists, write_report

from tests.runtime.outputs.browser import Browser

POINTS = {
    "joy.flac": (0.7, 0.6),
    "rage.flac": (-0.6, 0.8),
    "tears.flac": (-0.5, -0.6),
    "tea.flac": (0.4, -0.8),
    "calmer.flac": (0.3, -0.2),
}


def rows(folder: Path, series: bool = True) -> list[dict]:
    from sentio.runtime.emotion import quadrant

    made = []
    for name, (v, a) in POINTS.items():
        row = {
            "path": str(folder / name),
            "duration_s": 180.0,
            "valence_mean": v,
            "valence_std": 0.1,
            "arousal_mean": a,
            "arousal_std": 0.1,
            "quadrant": quadrant(v, a),
        }
        if series and name == "joy.flac":
            row["series"] = {
                "t": [12.0, 12.5, 13.0],
                "valence": [0.6, 0.7, 0.8],
                "arousal": [0.5, 0.6, 0.7],
            }
        made.append(row)
    return made


def entries(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if not line.startswith("#")]


def test_playlists(tmp_path):
    written = write_playlists(tmp_path, rows(Path("/music")))
    names = sorted(p.name for p in written)
    assert names == sorted(
        [
            "happy-excited.m3u",
            "tense-angry.m3u",
            "sad-depressed.m3u",
            "calm-content.m3u",
            "energy-ramp.m3u",
        ]
    )
    folder = tmp_path / "playlists"
    assert entries(folder / "calm-content.m3u") == ["/music/tea.flac", "/music/calmer.flac"]
    ramp = entries(folder / "energy-ramp.m3u")
    assert [Path(p).name for p in ramp] == [
        "tea.flac",
        "tears.flac",
        "calmer.flac",
        "joy.flac",
        "rage.flac",
    ]
    assert (folder / "energy-ramp.m3u").read_text().startswith("#EXTM3U\n#EXTINF:180,tea (")


def test_report_is_self_contained_with_timelines_only_where_rows_hold_them(tmp_path):
    made = write_report(tmp_path, rows(tmp_path), ["joy.flac", "tea.flac", "nowhere.wav"])
    page = made.path.read_text()
    assert made.timelines == [str(tmp_path / "joy.flac")]
    assert dict(made.missing) == {
        "tea.flac": "its row holds no per-window series (--series)",
        "nowhere.wav": "not in the table",
    }
    for needle in ("src=", "href=", "http://", "https://", "@import"):
        assert needle not in page  # nothing fetched: it opens offline
    assert page.count('class="song"') == 5 and "rage.flac" in page


def test_report_in_headless_chromium(tmp_path):
    made = write_report(tmp_path, rows(tmp_path), ["joy.flac"])
    with Browser(width=1100, height=1200) as browser:
        browser.open(made.path.as_uri())
        assert browser.wait_for("document.querySelectorAll('circle.song').length") == 5
        fills = browser.evaluate(
            "[...document.querySelectorAll('circle.song')].map(c => c.getAttribute('fill'))"
        )
        assert len(set(fills)) == 4  # one colour per quadrant
        assert browser.evaluate("document.querySelectorAll('svg.hist rect').length") == 40
        assert browser.evaluate("document.querySelectorAll('svg.timeline polyline').length") == 2
        # the hover shows the file name
        tip = browser.evaluate(
            "(() => { const c = document.querySelectorAll('circle.song')[1];"
            " const r = c.getBoundingClientRect();"
            " c.dispatchEvent(new MouseEvent('mousemove', {clientX: r.x, clientY: r.y}));"
            " const t = document.getElementById('tip');"
            " return getComputedStyle(t).display + ' ' + t.textContent; })()"
        )
        assert tip.startswith("block rage.flac")
        shot = browser.screenshot(tmp_path / "report.png")
    assert shot.stat().st_size > 10_000


def test_sentio_analyze_writes_the_report_and_playlists(tmp_path, capsys):
    from sentio.export.cli.analyze import main

    from tests.helpers import write_catalogue

    songs = write_catalogue(tmp_path / "music", songs=2, seconds=13.0)
    out = tmp_path / "out"
    argv = [str(tmp_path / "music"), "--out", str(out), "--workers", "1", "--quiet"]
    code = main([*argv, "--series", "--playlists", "--timelines", str(songs[0]), "gone.wav"])
    assert code == 0
    printed = capsys.readouterr().out
    assert f"wrote {out / 'report.html'} (2 songs, 1 timeline(s))" in printed
    assert "no timeline for gone.wav: not in the table" in printed
    ramp = entries(out / "playlists" / "energy-ramp.m3u")
    assert sorted(ramp) == sorted(str(p) for p in songs)
    assert sum(len(entries(p)) for p in (out / "playlists").glob("*-*.m3u")) - 2 == 2
