"""Test configuration: float64 JAX everywhere, and a hypothesis profile sized for 2 cores."""

import os
import sys
import tempfile

import jax
import pytest

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


#: Memory maps of this process above which a finished test module's compiled programs are
#: dropped.  Every compiled XLA program keeps its code mapped (a training step: hundreds of
#: maps); the whole slow set compiles enough to reach the kernel's limit (vm.max_map_count,
#: 65,530 by default), where the next compile segfaults inside LLVM.
MAP_BUDGET = 20_000


def _memory_maps() -> int:
    try:
        with open(f"/proc/{os.getpid()}/maps", "rb") as fh:
            return fh.read().count(b"\n")
    except OSError:   # no procfs (macOS): nothing to measure
        return 0


@pytest.fixture(autouse=True, scope="module")
def _drop_compiled_programs_past_the_map_budget():
    yield
    if _memory_maps() > MAP_BUDGET:
        train = sys.modules.get("simulations.encoders.train")
        if train is not None:
            train._DISPATCH_CACHE.clear()
        chunks = sys.modules.get("simulations.sweep.chunks")
        if chunks is not None:   # the sweeps' compiled chunk programs
            chunks.chunk_function.cache_clear()
            chunks.shared_inputs_of.cache_clear()
        jax.clear_caches()
