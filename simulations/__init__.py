"""Solvers, the sweep engine and real encoders, in four wings (each a subpackage whose
``__init__`` lists its public names):

- :mod:`simulations.flows` -- one sweepable model per minimal model (Model A, Model B, its
  mean-field closure, Model C), the parts they share (coupling graph, time grid, solver
  settings), the solve entry points (lean Runge-Kutta, diffrax, SciPy reference) and the solver
  result codes;
- :mod:`simulations.sweep` -- the sweep engine, the only place that batches: model protocol,
  spec, chunks, memory budget, run, dataset and the checksummed zarr store;
- :mod:`simulations.experiments` -- what the figures run beyond sweeps (the symplectic toys,
  coupling risks, the K = 2 reduction, the rigid-class model, the SSL runner);
- :mod:`simulations.encoders` -- real encoders trained with the objectives of
  :mod:`minimal_models.objectives`.

Nothing is imported here: ``flows``, ``sweep`` and ``experiments`` are float64 theory code
(importing them switches JAX to float64), while ``encoders`` keeps the dtype its config asks
for; importing one wing never imports another it does not use.
"""

__all__: list[str] = []
