"""Every objective is dtype-generic: float32 in, float32 out (loss and logs) even though the test
process runs with x64 on; bf16 inputs are computed and returned in float32 (the spec's
"training losses in float32 even under bf16 compute"); importing the objectives does not
switch JAX to float64."""

import importlib
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from minimal_models.objectives import coding_rate as cr
from minimal_models.objectives import contrastive as ct
from minimal_models.objectives import normality as nm
from minimal_models.objectives import predictive as pr
from minimal_models.objectives import redundancy as rd
from minimal_models.objectives import uniformity as un

hj = importlib.import_module("minimal_models.objectives.hamjepa")
hsr = importlib.import_module("minimal_models.objectives.hamsigreg")
hs = importlib.import_module("minimal_models.objectives.hypersolid")
# (importlib: the package may re-export the same-named functions)

KEY = jax.random.PRNGKey(0)


def _objectives(dtype):
    rng = np.random.default_rng(0)
    z1, z2 = (jnp.asarray(rng.normal(size=(6, 4)), dtype) for _ in range(2))
    views = jnp.stack([z1, z2])
    dirs = jnp.asarray(rng.normal(size=(4, 5)), dtype)
    q, p = (jnp.asarray(rng.normal(size=(2, 6, 8)), dtype) for _ in range(2))
    m = hj.init_hamjepa(KEY, dim=8, hidden=8, dtype=jnp.float32)
    mm = hj.init_mlp_hjepa(KEY, dim=16, hidden=8, dtype=jnp.float32)
    return {
        "epps_pulley": lambda: (nm.epps_pulley(z1[:, 0]), {}),
        "sigreg": lambda: (nm.sigreg(z1, dirs), {}),
        "lejepa": lambda: nm.lejepa(views, dirs),
        "ham_sigreg": lambda: (hsr.ham_sigreg(views, dirs, kind="chain"), {}),
        "hamjepa": lambda: hj.hamjepa(m, q, p, key=KEY),
        "mlp_hjepa": lambda: hj.mlp_hjepa(mm, q, p, key=KEY),
        "hypersolid": lambda: hs.hypersolid(views),
        "hypersolid_gram": lambda: hs.hypersolid(views, distance="gram", norm="hard"),
        "vicreg": lambda: rd.vicreg(z1, z2),
        "barlow_twins": lambda: rd.barlow_twins(z1, z2),
        "simsiam": lambda: pr.simsiam(z1, z2, z2, z1),
        "byol": lambda: pr.byol(z1, z2, z2, z1),
        "nt_xent": lambda: ct.nt_xent(z1, z2),
        "mmcr": lambda: cr.mmcr(views),
        "mcr2": lambda: cr.mcr2_views(views),
        "koleo": lambda: un.koleo(z1),
    }


NAMES = list(_objectives(jnp.float32))


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_float32_in_float32_out(name):
    loss, logs = _objectives(jnp.float32)[name]()
    assert loss.dtype == jnp.float32
    assert all(v.dtype == jnp.float32 for k, v in logs.items()), logs
    assert np.isfinite(float(loss))


@pytest.mark.parametrize("name", ["sigreg", "lejepa", "hypersolid", "vicreg", "nt_xent",
                                  "mmcr", "hamjepa"])
def test_bfloat16_inputs_are_computed_in_float32(name):
    loss, _ = _objectives(jnp.bfloat16)[name]()
    assert loss.dtype == jnp.float32 and np.isfinite(float(loss))


@pytest.mark.slow
def test_float32_agrees_with_float64():
    z = np.random.default_rng(1).normal(size=(2, 5, 3)) * 0.5
    for f in (lambda v: hs.hypersolid(v)[0], lambda v: rd.vicreg(v[0], v[1])[0],
              lambda v: nm.lejepa(v, jnp.eye(3, dtype=v.dtype))[0]):
        a = float(f(jnp.asarray(z, jnp.float64)))
        b = float(f(jnp.asarray(z, jnp.float32)))
        assert b == pytest.approx(a, rel=1e-5)


@pytest.mark.slow
def test_import_does_not_enable_x64():
    code = ("import jax, minimal_models.objectives.hamjepa, minimal_models.objectives.normality, "
            "minimal_models.objectives.hypersolid; assert not jax.config.jax_enable_x64; "
            "import jax.numpy as jnp; from minimal_models.objectives import redundancy as r; "
            "l, _ = r.vicreg(jnp.ones((3, 2)), jnp.zeros((3, 2))); assert l.dtype == jnp.float32")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
