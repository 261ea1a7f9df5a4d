"""Shared test settings: deterministic hypothesis profile, quiet warnings from third parties."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("lamina", deadline=None, derandomize=True, max_examples=60,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "lamina"))
