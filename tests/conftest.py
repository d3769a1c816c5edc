"""Test configuration: float64 JAX everywhere, and a hypothesis profile sized for 2 cores."""

import os
import tempfile

import jax

jax.config.update("jax_enable_x64", True)

from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile("default", deadline=None, max_examples=40,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", deadline=None, max_examples=400,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# No persistent compilation cache in the test process (tests/test_sweep_groups.py tests the cache
# in subprocesses of its own): with it on, a process that compiles hundreds of programs crashed
# twice inside JAX's cache (SIGABRT in put_executable_and_time, SIGSEGV after reading a cache
# the previous pytest run had filled), and a crash loses the whole run.
os.environ.setdefault("COLLAPSE_LAB_CACHE_DIR", "off")

# Full-mode runs inside tests must never write into the repository's committed results.
os.environ.setdefault("COLLAPSE_LAB_RESULTS", tempfile.mkdtemp(prefix="collapse-lab-results-"))
