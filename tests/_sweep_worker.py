"""Subprocess used by test_sweep: runs a small sweep slowly so the test can SIGKILL it."""

import sys
import time

from simulations.flows import FrustrationFlow

from simulations.sweep import SweepSpec, run_sweep


def resume_spec():
    model = FrustrationFlow(n_per_class=6, dim=3, n_times=6, t_max=30.0, rtol=1e-9, atol=1e-11)
    return SweepSpec("resume", model, axes=[("frustration", (0.0, 0.2, 0.4)),
                                            ("n_classes", (2, 3)), ("seed_A", (0, 1))],
                     chunk_size=3)


if __name__ == "__main__":
    run_sweep(resume_spec(), sys.argv[1], progress=False,
              on_chunk=lambda c: time.sleep(float(sys.argv[2])))
