"""The papers' figures as configs, the reproduction report and the ``collapse-lab`` command line.

One module or package per paper holds each figure whole (settings quick and full, expected
values with their sources, checks, run function and :class:`~paper_repro.base.FigureConfig`):
:mod:`paper_repro.minimal_collapse` (one module per model), :mod:`paper_repro.hamiltonian`,
:mod:`paper_repro.validation` (one module per experiment).  :mod:`paper_repro.registry` finds
them by name; :mod:`paper_repro.report` and :mod:`paper_repro.figure_data` write what a run
found; :mod:`paper_repro.cli` is the command line.  Config modules import the library inside
their run functions only, so listing the figures never imports JAX; the library never imports
a config.
"""
