"""What the figures run beyond parameter sweeps: the symplectic toys (:mod:`.symplectic_toys`),
Monte Carlo coupling risks (:mod:`.coupling_risk`), solves of Model B's K = 2 reduction
(:mod:`.two_class_reduction`), the rigid-class label-noise model (:mod:`.rigid_class`) and the
SSL runner that trains and evaluates one method on the digits analogue
(:mod:`.ssl_experiments`).  Modules are imported by name; nothing is imported here (the SSL
runner trains encoders, the rest is float64 theory)."""

__all__: list[str] = []
