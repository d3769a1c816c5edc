"""Names of the SSL objectives and how each one is called, for trainers and CLIs that pick an
objective by name (and must refuse an unknown one before anything runs).

Calling conventions (``Objective.kind``):

- ``"two_view"``: ``fn(z1, z2, **kw)``, z1, z2 (N, D);
- ``"predictor"``: ``fn(p1, p2, z1, z2, **kw)`` (targets z are stop-gradiented inside);
- ``"views"``: ``fn(views, **kw)``, views (V, N, D);
- ``"views_key"``: ``fn(views, key=key, **kw)`` (random SIGReg slices drawn from ``key``);
- ``"phase_space"``: ``fn(module, q, p, key=key, **kw)`` with ``module = init(key, dim=...)``
  and q, p (V, N, ...) from :func:`minimal_models.objectives.hamjepa.split_qp`;
- ``"single"``: ``fn(x, **kw)``, x (N, D) (a regulariser such as KoLeo).

Every ``fn`` returns ``(loss, logs)``.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

# functions imported from their submodules: the package may re-export ``hamjepa`` and
# ``hypersolid`` (functions) under the names of their modules
from .coding_rate import mcr2_views, mmcr
from .contrastive import nt_xent
from .hamjepa import ham_sigreg_loss, hamjepa, init_hamjepa, init_mlp_hjepa, mlp_hjepa
from .hypersolid import hypersolid
from .normality import lejepa
from .predictive import byol, simsiam
from .redundancy import barlow_twins, vicreg
from .uniformity import koleo

__all__ = ["Objective", "OBJECTIVES", "get_objective"]


@dataclasses.dataclass(frozen=True)
class Objective:
    fn: Callable
    kind: str
    init: Callable | None = None
    status: str = "REFERENCE"


OBJECTIVES: dict[str, Objective] = {
    "lejepa": Objective(lejepa, "views_key", status="CONFIRMED"),
    "ham_sigreg": Objective(ham_sigreg_loss, "views_key", status="CONFIRMED"),
    "hamjepa": Objective(hamjepa, "phase_space", init_hamjepa, "CONFIRMED"),
    "mlp_hjepa": Objective(mlp_hjepa, "phase_space", init_mlp_hjepa,
                           "RECONSTRUCTION"),
    "hypersolid": Objective(hypersolid, "views", status="RECONSTRUCTION"),
    "vicreg": Objective(vicreg, "two_view"),
    "barlow_twins": Objective(barlow_twins, "two_view"),
    "nt_xent": Objective(nt_xent, "two_view"),
    "simsiam": Objective(simsiam, "predictor"),
    "byol": Objective(byol, "predictor"),
    "mmcr": Objective(mmcr, "views"),
    "mcr2": Objective(mcr2_views, "views"),
    "koleo": Objective(koleo, "single"),
}


def get_objective(name: str) -> Objective:
    """The catalogue entry for ``name``; ``ValueError`` naming the allowed names otherwise."""
    if name not in OBJECTIVES:
        raise ValueError(f"objective={name!r} is not one of {sorted(OBJECTIVES)}")
    return OBJECTIVES[name]
