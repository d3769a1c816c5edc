r"""One solver status code for every solver of collapse-lab, with a message per code.

Each solve reports an integer ``result`` next to its numbers (a failed point is marked, never
silently stored as a number).  Three solvers report it: diffrax (its ``RESULTS`` enumeration),
the lean Runge--Kutta loop of :mod:`simulations.flows.rk`, and SciPy's ``solve_ivp`` (a status and a
message).  :class:`SolverResult` is the one enumeration they are all mapped onto, so a code
means the same whichever solver produced it:

==  ======================  =========================================================
0   SUCCESS                 every output time was reached
1   MAX_STEPS_REACHED       ``max_steps`` (accepted plus rejected steps) ran out
2   NONFINITE               the vector field or the state became NaN/inf
3   STEP_SIZE_TOO_SMALL     the step size shrank below what float64 can resolve
4   IMPLICIT_SOLVE_FAILED   an implicit solver's Newton or linear solve failed
5   SOLVER_FAILED           any other failure the solver reported
==  ======================  =========================================================

Mapping: diffrax's ``RESULTS`` by item (identity of the named entries, never by their index:
the indices move between diffrax versions); SciPy by its status and message; the lean solver
writes these codes itself.  :func:`result_attrs` is the CF ``flag_values``/``flag_meanings``
description (plus a readable code -> message mapping) that the sweep engine writes on every
``result`` variable.
"""

from __future__ import annotations

import enum
import json

import numpy as np

__all__ = ["SolverResult", "result_attrs", "from_diffrax", "from_scipy"]


class SolverResult(enum.IntEnum):
    """Status of one solve; ``int(code)`` is what datasets store, ``code.message`` says what it
    means.  Compares equal to plain integers (``SolverResult.SUCCESS == 0``)."""

    def __new__(cls, value: int, message: str):
        member = int.__new__(cls, value)
        member._value_ = value
        member.message = message
        return member

    SUCCESS = 0, "the solve reached every output time"
    MAX_STEPS_REACHED = 1, ("the maximum number of solver steps (max_steps, accepted plus "
                            "rejected) was reached; increase max_steps or loosen rtol/atol")
    NONFINITE = 2, ("the vector field or the state became non-finite (NaN or inf): the flow "
                    "blew up or is undefined there, and no step size can continue it")
    STEP_SIZE_TOO_SMALL = 3, ("the step size fell below the spacing of float64 numbers (SciPy) "
                              "or dt_min (diffrax): the problem is stiff or near a singularity")
    IMPLICIT_SOLVE_FAILED = 4, ("an implicit solver's nonlinear (Newton) or linear solve "
                                "failed: diverged, ran out of iterations or met a singular "
                                "matrix")
    SOLVER_FAILED = 5, "the solver reported another failure"


def result_attrs(dtype=np.int32) -> dict:
    """Attributes of a ``result`` variable: the CF flag convention (``flag_values``,
    space-separated ``flag_meanings``) and ``flag_messages``, a JSON object code -> message."""
    codes = list(SolverResult)
    return {
        "flag_values": np.asarray([int(c) for c in codes], dtype=dtype),
        "flag_meanings": " ".join(c.name.lower() for c in codes),
        "flag_messages": json.dumps({str(int(c)): f"{c.name.lower()}: {c.message}"
                                     for c in codes}),
    }


# diffrax's RESULTS entries (inherited from optimistix and lineax) by name; a name a diffrax
# version lacks is skipped, an entry not named here becomes SOLVER_FAILED
_DIFFRAX_NAMES = {
    "successful": SolverResult.SUCCESS,
    "max_steps_reached": SolverResult.MAX_STEPS_REACHED,
    "nonfinite": SolverResult.NONFINITE,
    "nonfinite_input": SolverResult.NONFINITE,
    "dt_min_reached": SolverResult.STEP_SIZE_TOO_SMALL,
    "nonlinear_max_steps_reached": SolverResult.IMPLICIT_SOLVE_FAILED,
    "nonlinear_divergence": SolverResult.IMPLICIT_SOLVE_FAILED,
    "singular": SolverResult.IMPLICIT_SOLVE_FAILED,
    "breakdown": SolverResult.IMPLICIT_SOLVE_FAILED,
    "stagnation": SolverResult.IMPLICIT_SOLVE_FAILED,
    "conlim": SolverResult.IMPLICIT_SOLVE_FAILED,
}


def from_diffrax(result):
    """The :class:`SolverResult` code (int32 JAX scalar) of a diffrax ``RESULTS`` item.

    Works under ``jit``/``vmap``: the item is compared with each named diffrax entry."""
    import diffrax
    import jax.numpy as jnp

    code = jnp.int32(SolverResult.SOLVER_FAILED)
    for name, ours in _DIFFRAX_NAMES.items():
        try:
            item = getattr(diffrax.RESULTS, name)
        except AttributeError:  # not in this diffrax version
            continue
        code = jnp.where(result == item, jnp.int32(ours), code)
    return code


def from_scipy(status: int, message: str, nonfinite: bool) -> SolverResult:
    """The code of a :func:`scipy.integrate.solve_ivp` outcome.

    ``status``: SciPy's (0 success, -1 step failed, 1 terminating event); ``nonfinite``: the
    solve returned a NaN/inf state, or failed after the vector field returned NaN/inf (SciPy
    then only reports that the step size became too small)."""
    from scipy.integrate import OdeSolver

    if nonfinite:
        return SolverResult.NONFINITE
    if status == 0:
        return SolverResult.SUCCESS
    if message == OdeSolver.TOO_SMALL_STEP:
        return SolverResult.STEP_SIZE_TOO_SMALL
    return SolverResult.SOLVER_FAILED
