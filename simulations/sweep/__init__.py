"""The sweep engine: parameter grid -> groups -> chunks -> jit(vmap) -> checksummed zarr store
-> xarray Dataset.  The only place in collapse-lab that batches (float64).

Modules, in the order a sweep meets them: :mod:`~simulations.sweep.model` (the protocol and the
static view), :mod:`~simulations.sweep.spec` (the grid and its fingerprint),
:mod:`~simulations.sweep.plan` (groups, chunks, rows), :mod:`~simulations.sweep.budget` (refuse
before work), :mod:`~simulations.sweep.chunks` (compute and write one chunk),
:mod:`~simulations.sweep.run` (the run, in this process or on dask workers),
:mod:`~simulations.sweep.store` (the zarr store, its lock and checksums) and
:mod:`~simulations.sweep.dataset` (the store as an xarray Dataset, and its netCDF file)."""

from .dataset import open_sweep as open_sweep
from .dataset import save_dataset as save_dataset
from .model import SweepableModel as SweepableModel
from .model import static_view as static_view
from .run import SweepInterrupted as SweepInterrupted
from .run import run_sweep as run_sweep
from .spec import SweepSpec as SweepSpec
from .spec import sweep_fingerprint as sweep_fingerprint
from .store import StoreLockedError as StoreLockedError

__all__ = ["StoreLockedError", "SweepInterrupted", "SweepSpec", "SweepableModel", "open_sweep",
           "run_sweep", "save_dataset", "static_view", "sweep_fingerprint"]
