"""Subprocess used by the sweep tests: runs a small sweep slowly so a test can SIGKILL it, or a
sweep whose second chunk runs for minutes so a test can interrupt it with SIGINT."""

import dataclasses
import sys
import time
from typing import ClassVar

import numpy as np

from simulations.flows import FrustrationFlow

from simulations.sweep import SweepInterrupted, SweepSpec, run_sweep


def resume_spec():
    model = FrustrationFlow(n_per_class=6, dim=3, n_times=6, t_max=30.0, rtol=1e-9, atol=1e-11)
    return SweepSpec("resume", model, axes=[("frustration", (0.0, 0.2, 0.4)),
                                            ("n_classes", (2, 3)), ("seed_A", (0, 1))],
                     chunk_size=3)


@dataclasses.dataclass(frozen=True)
class Spin:
    """A user's model (no ``reconstruction`` attribute): ``n`` steps of x <- x * (1 - 1e-9),
    so a point with ``n = 10**11`` runs for minutes."""

    n: int = 10

    static_fields: ClassVar[tuple[str, ...]] = ()

    def layout(self, models):
        return None

    def prepare(self, layout):
        return {"n": np.int64(self.n)}

    def shared_inputs(self, layout):
        return {}

    def evaluate(self, inputs):
        import jax

        x = jax.lax.fori_loop(0, inputs["n"], lambda i, x: x * (1 - 1e-9), 1.0)
        return {"x": x}

    def outputs(self, layout):
        return {"x": ((), "1", "(1 - 1e-9)^n")}

    def coords(self, layout):
        return {}


def interrupt_spec(first=10):
    """Chunk 0 (n = ``first``) is quick; chunk 1 (n = 10**11) runs for minutes."""
    return SweepSpec("spin", Spin(), axes=[("n", (first, 10 ** 11))], chunk_size=1)


if __name__ == "__main__":
    if sys.argv[1] == "interrupt":  # interrupt STORE FIRST: print the message and the exit time
        try:
            run_sweep(interrupt_spec(int(sys.argv[3])), sys.argv[2], progress=False)
        except SweepInterrupted as exc:
            print(f"{exc}|{exc.store}|{exc.finished}|{exc.total}", flush=True)
            sys.exit(130)
    else:
        run_sweep(resume_spec(), sys.argv[1], progress=False,
                  on_chunk=lambda c: time.sleep(float(sys.argv[2])))
