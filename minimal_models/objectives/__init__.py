"""Losses of embeddings, one definition each, shared by the embedding-only models (embeddings
are the free parameters of a gradient flow) and by :mod:`simulations.encoders` (the same losses
through a real encoder).  Pure JAX and dtype-generic: nothing here switches JAX to float64.

Every loss returns ``(loss, logs)``.  One module per family:

- :mod:`.normality` -- Epps-Pulley, SIGReg (grids ``paper``/``official``/``hamjepa``), LeJEPA;
- :mod:`.hamjepa` -- HamSIGReg, HamJEPA (separable Hamiltonian, leapfrog predictor), MLP-HJEPA;
- :mod:`.hypersolid` -- Hypersolid short-range repulsion (RECONSTRUCTION);
- :mod:`.redundancy` (VICReg, Barlow Twins), :mod:`.predictive` (SimSiam, BYOL),
  :mod:`.contrastive` (NT-Xent), :mod:`.coding_rate` (MMCR, MCR^2), :mod:`.uniformity` (KoLeo);
- :mod:`.collapse_models` -- the minimal models' losses (Model A's MSE, Model B's
  cross-prediction with partial stop-gradient, Model C's students; RECONSTRUCTION);
- :mod:`.registry` -- every objective by its one name (:data:`OBJECTIVES`), with its calling
  convention and training recipe: the one registry of the CLI, the trainers and the tests.

The functions ``hamjepa.hamjepa`` and ``hypersolid.hypersolid`` share their module's name, so
they are reached through the module (or :func:`get_objective`), not re-exported here.
``catalog`` is the registry's former name, kept as an alias.
"""

from . import coding_rate, collapse_models, contrastive, hamjepa, hypersolid, normality
from . import predictive, redundancy, registry, uniformity
from . import registry as catalog  # the registry's former module name (issue 10)
from .registry import OBJECTIVES, Objective, get_objective
from .collapse_models import model_a_loss, model_b_loss, model_c_loss
from .coding_rate import mcr2, mcr2_coding_rate, mcr2_views, mmcr
from .contrastive import nt_xent
from .hamjepa import (
    ham_sigreg,
    ham_sigreg_loss,
    init_hamjepa,
    init_mlp_hjepa,
    mlp_hjepa,
    split_qp,
)
from .normality import epps_pulley, lejepa, sigreg, sigreg_views
from .predictive import byol, simsiam
from .redundancy import barlow_twins, vicreg
from .uniformity import koleo

__all__ = [
    "OBJECTIVES", "Objective", "barlow_twins", "byol", "catalog", "coding_rate", "collapse_models",
    "contrastive", "model_a_loss", "model_b_loss", "model_c_loss",
    "epps_pulley", "get_objective", "ham_sigreg", "ham_sigreg_loss", "hamjepa", "hypersolid",
    "init_hamjepa", "init_mlp_hjepa", "koleo", "lejepa", "mcr2", "mcr2_coding_rate",
    "mcr2_views", "mlp_hjepa", "mmcr", "normality", "nt_xent", "predictive", "redundancy",
    "registry", "sigreg", "sigreg_views", "simsiam", "split_qp", "uniformity", "vicreg",
]
