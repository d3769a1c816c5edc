"""Losses of embeddings, one definition each, shared by the embedding-only models (embeddings
are the free parameters of a gradient flow) and by :mod:`simulations.encoders` (the same losses
through a real encoder).  Pure JAX and dtype-generic: nothing here switches JAX to float64.

Every SSL loss returns ``(loss, logs)`` and refuses a batch smaller than it can score.  One
module per family:

- :mod:`.normality` -- Epps-Pulley, SIGReg (grids ``paper``/``official``/``hamjepa``), LeJEPA;
- :mod:`.hamsigreg` -- HamSIGReg (SIGReg of z H^{1/2}) and its training loss;
- :mod:`.hamjepa` -- HamJEPA (separable Hamiltonian, leapfrog predictor), MLP-HJEPA;
- :mod:`.hypersolid` -- Hypersolid short-range repulsion (RECONSTRUCTION);
- :mod:`.redundancy` (VICReg, Barlow Twins), :mod:`.predictive` (SimSiam, BYOL),
  :mod:`.contrastive` (NT-Xent), :mod:`.coding_rate` (MMCR, MCR^2), :mod:`.uniformity` (KoLeo);
- :mod:`.collapse_models` -- the minimal models' losses (Model A's MSE, Model B's
  cross-prediction with partial stop-gradient, Model C's students; RECONSTRUCTION);
- :mod:`.registry` -- every objective by its one name (:data:`OBJECTIVES`) with its calling
  convention, and :func:`register_objective` to add one: the one registry of the CLI, the
  trainers and the tests.

The functions ``hamjepa.hamjepa`` and ``hypersolid.hypersolid`` share their module's name, so
they are reached through the module (or :func:`get_objective`), not re-exported here.
"""

from . import coding_rate as coding_rate
from . import collapse_models as collapse_models
from . import contrastive as contrastive
from . import hamjepa as hamjepa
from . import hamsigreg as hamsigreg
from . import hypersolid as hypersolid
from . import normality as normality
from . import predictive as predictive
from . import redundancy as redundancy
from . import registry as registry
from . import uniformity as uniformity
from .coding_rate import mcr2 as mcr2
from .coding_rate import mcr2_coding_rate as mcr2_coding_rate
from .coding_rate import mcr2_views as mcr2_views
from .coding_rate import mmcr as mmcr
from .collapse_models import model_a_loss as model_a_loss
from .collapse_models import model_b_loss as model_b_loss
from .collapse_models import model_c_loss as model_c_loss
from .contrastive import nt_xent as nt_xent
from .hamjepa import init_hamjepa as init_hamjepa
from .hamjepa import init_mlp_hjepa as init_mlp_hjepa
from .hamjepa import mlp_hjepa as mlp_hjepa
from .hamjepa import split_qp as split_qp
from .hamsigreg import ham_sigreg as ham_sigreg
from .hamsigreg import ham_sigreg_loss as ham_sigreg_loss
from .normality import epps_pulley as epps_pulley
from .normality import lejepa as lejepa
from .normality import sigreg as sigreg
from .normality import sigreg_views as sigreg_views
from .predictive import byol as byol
from .predictive import simsiam as simsiam
from .redundancy import barlow_twins as barlow_twins
from .redundancy import vicreg as vicreg
from .registry import OBJECTIVES as OBJECTIVES
from .registry import Objective as Objective
from .registry import get_objective as get_objective
from .registry import register_objective as register_objective
from .registry import unregister_objective as unregister_objective
from .uniformity import koleo as koleo

__all__ = [
    "OBJECTIVES", "Objective", "barlow_twins", "byol", "coding_rate", "collapse_models",
    "contrastive", "epps_pulley", "get_objective", "ham_sigreg", "ham_sigreg_loss", "hamjepa",
    "hamsigreg", "hypersolid", "init_hamjepa", "init_mlp_hjepa", "koleo", "lejepa", "mcr2",
    "mcr2_coding_rate", "mcr2_views", "mlp_hjepa", "mmcr", "model_a_loss", "model_b_loss",
    "model_c_loss", "normality", "nt_xent", "predictive", "redundancy", "register_objective",
    "registry", "sigreg", "sigreg_views", "simsiam", "split_qp", "uniformity",
    "unregister_objective", "vicreg",
]
