"""The sweep engine: parameter grid -> groups -> chunks -> jit(vmap) -> checksummed zarr store
-> xarray Dataset.  The only place in collapse-lab that batches (float64)."""

from .engine import SweepableModel as SweepableModel
from .engine import SweepSpec as SweepSpec
from .engine import open_sweep as open_sweep
from .engine import run_sweep as run_sweep
from .engine import static_view as static_view
from .engine import sweep_fingerprint as sweep_fingerprint
from .store import StoreLockedError as StoreLockedError

__all__ = ["StoreLockedError", "SweepSpec", "SweepableModel", "open_sweep", "run_sweep",
           "static_view", "sweep_fingerprint"]
