"""Label scales, the Emotify GEMS -> valence/arousal mapping and Russell quadrants -> signs.

Every label inside Sentio is on [-1, 1]; datasets declare the scale they come on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

GEMS_CATEGORIES = (
    "amazement",
    "solemnity",
    "tenderness",
    "nostalgia",
    "calmness",
    "power",
    "joyful_activation",
    "tension",
    "sadness",
)

# Where each GEMS feeling sits on Russell's circumplex (see export/DATASETS.md for the why).
# Zentner et al. (2008) group the nine into vitality (power, joyful activation: high arousal),
# unease (tension, sadness: negative valence) and sublimity (amazement, solemnity, tenderness,
# nostalgia, calmness: positive, mostly low-arousal).
GEMS_VALENCE = {
    "amazement": 1.0,
    "solemnity": 0.0,
    "tenderness": 1.0,
    "nostalgia": 0.25,
    "calmness": 0.5,
    "power": 0.0,
    "joyful_activation": 1.0,
    "tension": -1.0,
    "sadness": -1.0,
}
GEMS_AROUSAL = {
    "amazement": 0.5,
    "solemnity": -0.25,
    "tenderness": -1.0,
    "nostalgia": -0.5,
    "calmness": -1.0,
    "power": 1.0,
    "joyful_activation": 1.0,
    "tension": 1.0,
    "sadness": -0.5,
}


@dataclass(frozen=True)
class LabelScale:
    """The scale a dataset's labels come on, e.g. DEAM's 1..9."""

    low: float = -1.0
    high: float = 1.0

    def __post_init__(self) -> None:
        if not self.high > self.low:
            raise ValueError(f"label scale needs low < high, got {self.low}..{self.high}")

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def to_unit(self, value: float) -> float:
        """Map a label on this scale to [-1, 1]."""
        return 2.0 * (value - self.low) / (self.high - self.low) - 1.0

    def __str__(self) -> str:
        return f"{self.low:g}..{self.high:g}"


def gems_to_valence_arousal(shares: Mapping[str, float]) -> tuple[float, float] | None:
    """Valence and arousal in [-1, 1] from the share of listeners who ticked each GEMS feeling.

    Each dimension is the vote balance ``sum(w_k p_k) / sum(|w_k| p_k)``: +1 when every
    feeling listeners reported lies on that dimension's positive side, -1 when all lie on its
    negative side. It does not depend on how many boxes a listener tends to tick.

    Args:
        shares: category -> fraction of the track's listeners who ticked it (0..1).

    Returns:
        ``(valence, arousal)``; a dimension none of the ticked feelings speaks to (only
        "power" says nothing of valence) is neutral, 0. ``None`` when nothing was ticked.
    """
    if not any(shares.get(k, 0.0) > 0 for k in GEMS_CATEGORIES):
        return None
    result = []
    for weights in (GEMS_VALENCE, GEMS_AROUSAL):
        signed = sum(weights[k] * shares.get(k, 0.0) for k in GEMS_CATEGORIES)
        mass = sum(abs(weights[k]) * shares.get(k, 0.0) for k in GEMS_CATEGORIES)
        result.append(signed / mass if mass > 0 else 0.0)
    return result[0], result[1]


#: quadrant number -> (valence sign, arousal sign)
QUADRANT_SIGNS: dict[int, tuple[float, float]] = {
    1: (1.0, 1.0),
    2: (-1.0, 1.0),
    3: (-1.0, -1.0),
    4: (1.0, -1.0),
}


def parse_quadrant(text: str) -> int | None:
    """``"Q1"``..``"Q4"`` (any case, surrounding spaces allowed) -> 1..4; anything else None."""
    name = text.strip().upper()
    if len(name) == 2 and name[0] == "Q" and name[1] in "1234":
        return int(name[1])
    return None


def center_valued(songs: list) -> list:
    """``songs`` with each valued dataset's mean valence and arousal removed (songs whose
    labels are only signs, 4Q's, are left as they are): a per-dataset offset for training only.

    Emotify's valence comes from the GEMS feelings a piece *induced* (mean +0.28: tenderness,
    calmness and nostalgia count as pleasant); trained as it is, that offset becomes every
    song's, and soft sad music reads as pleasant. Centred, Emotify still teaches which of its
    songs are more or less pleasant, and 4Q's signs set where zero is.
    """
    by_dataset: dict[str, list] = {}
    for song in songs:
        if not song.sign_only:
            by_dataset.setdefault(song.dataset, []).append(song)
    shifted = {}
    for members in by_dataset.values():
        mean_v = sum(s.valence for s in members) / len(members)
        mean_a = sum(s.arousal for s in members) / len(members)
        for s in members:
            shifted[s.song_id] = dataclasses.replace(
                s,
                valence=min(1.0, max(-1.0, s.valence - mean_v)),
                arousal=min(1.0, max(-1.0, s.arousal - mean_a)),
            )
    return [shifted.get(s.song_id, s) for s in songs]
