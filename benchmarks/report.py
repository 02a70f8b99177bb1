"""What each benchmark hands back, and how it becomes markdown and a summary table.

The measured part of BENCHMARKS.md lives between two marker comments; everything outside
them is hand-written and left exactly as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

BEGIN = "<!-- benchmarks:begin -->"
END = "<!-- benchmarks:end -->"


class MarkerError(ValueError):
    """The file lacks the benchmark markers, or has them out of order."""


@dataclass
class SummaryRow:
    """One line of the summary table; ``goal``/``met``/``why`` for the rows that have a goal;
    ``alternative`` marks a goal row about a non-default choice (another artifact)."""

    what: str
    measured: str
    goal: str = ""
    met: bool | None = None
    why: str = ""
    alternative: bool = False


@dataclass
class Section:
    """A benchmark's result: markdown for BENCHMARKS.md, summary rows, raw numbers."""

    key: str
    title: str
    body: list[str]
    summary: list[SummaryRow] = field(default_factory=list)
    data: dict = field(default_factory=dict)

    def markdown(self) -> str:
        return "\n".join([f"### {self.title}", "", *self.body]).rstrip() + "\n"


def table(header: list[str], rows: list[list[str]], align: str | None = None) -> list[str]:
    """A markdown table; ``align`` is one character per column, ``l`` or ``r``."""
    align = align or "l" + "r" * (len(header) - 1)
    rule = ["---:" if a == "r" else "---" for a in align]
    return [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join(rule) + " |",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def shortfalls(sections: list[Section]) -> list[str]:
    """The "where Sentio falls short" paragraph: every goal, measured, and by how much."""
    rows = [row for s in sections for row in s.summary if row.goal]
    if not rows:
        return ["No goal was measured in this run."]
    lines = []
    for row in rows:
        verdict = "met" if row.met else "**missed**"
        why = f" {row.why}" if row.why else ""
        lines.append(f"- {row.what}: {row.measured}, goal {row.goal}: {verdict}.{why}")
    lines += ["", _verdict([r for r in rows if not r.alternative], "what ships by default")]
    alternatives = [r for r in rows if r.alternative]
    if alternatives:
        lines.append(
            f"Other artifacts (listed only where they miss): {len(alternatives)} goal(s) missed; "
            "they show what the default choice avoids."
        )
    return lines


def _verdict(rows: list[SummaryRow], who: str) -> str:
    missed = sum(row.met is False for row in rows)
    if not rows:
        return f"No goal was measured for {who}."
    if missed:
        return f"{who[0].upper()}{who[1:]}: {missed} of {len(rows)} goals missed in this run."
    return f"{who[0].upper()}{who[1:]}: all {len(rows)} goals met in this run."


def render(sections: list[Section], header: list[str]) -> str:
    """The whole generated block (without the markers)."""
    parts = ["\n".join(header).rstrip() + "\n"]
    parts += [section.markdown() for section in sections]
    parts.append("### Where Sentio falls short\n\n" + "\n".join(shortfalls(sections)) + "\n")
    return "\n".join(parts)


def replace_between_markers(text: str, generated: str) -> str:
    """``text`` with everything between the markers replaced by ``generated``."""
    begin, end = text.find(BEGIN), text.find(END)
    if begin < 0 or end < 0 or end < begin:
        raise MarkerError(
            f"expected {BEGIN} ... {END} in the file (in that order); add them where the "
            "measured section belongs"
        )
    return text[: begin + len(BEGIN)] + "\n" + generated.rstrip() + "\n" + text[end:]


def write_section(path: Path, generated: str) -> None:
    """Rewrite the generated block of ``path`` in place; the rest stays byte for byte."""
    path = Path(path)
    path.write_text(replace_between_markers(path.read_text(), generated))


def summary_text(sections: list[Section]) -> str:
    """The plain-text table printed last."""
    rows = [(s.title, r) for s in sections for r in s.summary]
    if not rows:
        return "(no results)"
    what_width = max(len(r.what) for _, r in rows)
    measured_width = max(len(r.measured) for _, r in rows)
    lines = [f"{'benchmark':<14} {'what':<{what_width}}  {'measured':<{measured_width}}  goal"]
    lines.append("-" * len(lines[0]))
    for section in sections:
        for row in section.summary:
            goal = ""
            if row.goal:
                goal = f"{row.goal} ({'met' if row.met else 'MISSED'})"
            lines.append(
                f"{section.key:<14} {row.what:<{what_width}}  {row.measured:<{measured_width}}  "
                f"{goal}"
            )
    return "\n".join(lines)
