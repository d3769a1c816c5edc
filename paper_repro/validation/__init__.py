"""Validation on real encoders: the minimal theory's predictions measured, and the papers'
headline comparisons reproduced side by side as scaled-down analogues.  One module per
experiment, each holding its figure whole (settings quick and full, expected values with their
sources, checks, run function, :class:`~paper_repro.base.FigureConfig`):

- :mod:`.theory_rates` -- ``VAL_theory_rates`` (RECONSTRUCTION, arXiv:2604.09979): the
  label-noise collapse rate of a real encoder against the rigid-class prediction, then Model
  B's shared head + stop-gradient on the same runs;
- :mod:`.ssl_hamjepa` -- ``VAL_hamjepa`` (arXiv:2605.20107 §9 digits analogue): SIGReg vs
  HamJEPA vs MLP-HJEPA, and the paper's CIFAR-100 runs (:data:`CIFAR100_RUNS`);
- :mod:`.ssl_hypersolid` -- ``VAL_hypersolid`` (arXiv:2601.21255): Hypersolid vs VICReg vs
  SIGReg, probes and the geometry analyses.

Shared: :mod:`.common` (papers, status, the written finding), :mod:`.ssl_evaluation` (the
methods table of the two SSL comparisons: evaluation checks, the learning check of every arm,
reference rows, runs resumed from committed results) and :mod:`.ssl_claims` (claims with a
pre-registered delta_min, families, decisions gated by the learning checks).  Paper numbers are
labelled as the paper's CIFAR-100 values; ours are analogues on sklearn digits / a Gaussian
mixture.  Every free choice is RECONSTRUCTION.

Commands: ``collapse-lab repro VAL_theory_rates --quick`` (also VAL_hamjepa, VAL_hypersolid).
"""

from __future__ import annotations

from .ssl_hamjepa import CIFAR100_ENV as CIFAR100_ENV
from .ssl_hamjepa import CIFAR100_RUNS as CIFAR100_RUNS
from .ssl_hamjepa import VAL_HAMJEPA as VAL_HAMJEPA
from .ssl_hamjepa import cifar100_command as cifar100_command
from .ssl_hamjepa import cifar100_config as cifar100_config
from .ssl_hypersolid import VAL_HYPERSOLID as VAL_HYPERSOLID
from .theory_rates import VAL_THEORY_RATES as VAL_THEORY_RATES

FIGURES = [VAL_THEORY_RATES, VAL_HAMJEPA, VAL_HYPERSOLID]

__all__ = ["CIFAR100_ENV", "CIFAR100_RUNS", "FIGURES", "VAL_HAMJEPA", "VAL_HYPERSOLID",
           "VAL_THEORY_RATES", "cifar100_command", "cifar100_config"]
