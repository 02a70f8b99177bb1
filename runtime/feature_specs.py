"""The spec kinds a manifest can name, and the one dispatch from its ``algorithm``.

``features`` (``sentio-mfcc/1``) and ``mixed_features`` (``sentio-mix/1``, which builds on
``features``) each define their spec; this module sits above both, so neither imports the
other back.
"""

from __future__ import annotations

from typing import Any

from sentio.runtime.errors import FeatureSpecError
from sentio.runtime.features import FEATURE_ALGORITHM, FeatureSpec, FrameSpec
from sentio.runtime.mixed_features import MIXED_ALGORITHM, MixedFeatureSpec

#: algorithm name -> spec class
SPEC_KINDS: dict[str, Any] = {FEATURE_ALGORITHM: FeatureSpec, MIXED_ALGORITHM: MixedFeatureSpec}


def feature_spec_from_dict(data: dict[str, Any]) -> FrameSpec:
    """The spec a manifest or a JSON file describes, of whichever kind its ``algorithm`` names
    (no ``algorithm``: the original MFCC spec)."""
    algorithm = data.get("algorithm", FEATURE_ALGORITHM)
    if algorithm not in SPEC_KINDS:
        raise FeatureSpecError(
            f"unknown feature algorithm {algorithm!r}",
            hint=f"this Sentio knows {', '.join(sorted(SPEC_KINDS))}; a newer model needs a "
            "newer Sentio (pip install -U sentio-mer)",
        )
    return SPEC_KINDS[algorithm].from_dict(data)
