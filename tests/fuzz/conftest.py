"""Hypothesis profiles for the fuzz tests: ``ci`` (the default: a few seconds per target) and
``long`` (by hand: ``SENTIO_FUZZ=long python -m pytest tests/fuzz``; SENTIO_FUZZ_EXAMPLES
sets the number of examples per test)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    "derandomize": False,
}
settings.register_profile("ci", max_examples=60, database=None, **_COMMON)  # no .hypothesis/
settings.register_profile(
    "long", max_examples=int(os.environ.get("SENTIO_FUZZ_EXAMPLES", "20000")), **_COMMON
)
settings.load_profile(os.environ.get("SENTIO_FUZZ", "ci"))
