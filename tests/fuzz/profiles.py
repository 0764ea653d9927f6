"""Hypothesis profiles for the fuzzing suite: short by default (CI), longer by hand.

    HYPOTHESIS_PROFILE=long pytest tests/fuzz        # many more examples, fresh random seeds

`ci` (the default) is derandomized, so a CI run is repeatable; no profile has a deadline,
since these machines are shared and timing says nothing here. Each fuzz test is decorated
with `@FUZZ` (or `FUZZ_SLOW` for the ones that go through the database or a server), so the
profile does not change other suites' hypothesis settings.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# Our fixtures (the app, a database session) are made once per test, not per example: each
# example must tolerate what the previous ones left behind, which the properties allow.
_SHARED = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                                        HealthCheck.data_too_large]}
settings.register_profile("ci", max_examples=60, derandomize=True, database=None, **_SHARED)
settings.register_profile("long", max_examples=3000, **_SHARED)

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
if PROFILE not in ("ci", "long"):
    raise ValueError(f"HYPOTHESIS_PROFILE must be ci or long, not {PROFILE!r}")
FUZZ = settings.get_profile(PROFILE)
# Through the database or a local server: a tenth of the examples.
FUZZ_SLOW = settings(FUZZ, max_examples=max(15, FUZZ.max_examples // 10))
