"""Plotting: ``Dataset -> Figure`` functions, one module per paper, and one shared style.

Nothing here computes physics (beyond reductions for display) or imports the library: the
figure configs of :mod:`paper_repro` run the models and hand over ``xarray.Dataset``s.  Every
figure carries its status (RECONSTRUCTION / CONFIRMED) in its title and file metadata
(:func:`label_figure`) and is saved as PDF and PNG by :func:`save_figure`.
"""

from .collapse import plot_alpha_phase_diagrams as plot_alpha_phase_diagrams
from .collapse import plot_collapse_timescales as plot_collapse_timescales
from .collapse import plot_phase_diagram as plot_phase_diagram
from .collapse import plot_sg_threshold as plot_sg_threshold
from .collapse import plot_stopgrad_trajectories as plot_stopgrad_trajectories
from .collapse import plot_teacher_student as plot_teacher_student
from .collapse import plot_trajectories as plot_trajectories
from .collapse import plot_two_class_reduction as plot_two_class_reduction
from .hamiltonian import plot_integrators as plot_integrators
from .hamiltonian import plot_pendulum as plot_pendulum
from .hamiltonian import plot_price as plot_price
from .hamiltonian import plot_risk as plot_risk
from .style import RECONSTRUCTION_LABEL as RECONSTRUCTION_LABEL
from .style import apply_style as apply_style
from .style import label_figure as label_figure
from .style import new_figure as new_figure
from .style import save_figure as save_figure
from .validation import plot_method_comparison as plot_method_comparison
from .validation import plot_rate_agreement as plot_rate_agreement

__all__ = ["RECONSTRUCTION_LABEL", "apply_style", "label_figure", "new_figure",
           "plot_alpha_phase_diagrams", "plot_collapse_timescales", "plot_integrators",
           "plot_method_comparison", "plot_pendulum", "plot_phase_diagram", "plot_price",
           "plot_rate_agreement", "plot_risk", "plot_sg_threshold",
           "plot_stopgrad_trajectories", "plot_teacher_student", "plot_trajectories",
           "plot_two_class_reduction", "save_figure"]
