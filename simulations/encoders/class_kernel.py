r"""The class-node kernel of an untrained encoder, probed with one gradient step
(RECONSTRUCTION/DERIVED; the theory is :func:`minimal_models.label_noise.kernel_rates`).

The rigid-class prediction of the label-noise collapse rate needs the step matrix E with which
an encoder moves its K class means: x_bar <- x_bar - E dL/dx_bar.  Fitting E to a training run
lets the fit absorb whatever the theory gets wrong; here it is measured once, before training,
from the network, the data and the encoder step alone: a jvp of one encoder step.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from minimal_models import validation as check

from .label_noise import LabelNoiseRun, _embed, _init, _out_dim, _seed_keys, load_data

__all__ = ["probe_class_kernel"]


def probe_class_kernel(run: LabelNoiseRun, seeds=None, *, inputs: str = "samples",
                       per_output: bool = False) -> np.ndarray:
    r"""Class-node step matrices E of the untrained encoders of ``seeds`` (default: the run's),
    shape (S, K, K), float64, symmetric [RECONSTRUCTION/DERIVED].

    One full-batch GD step with step eta_theta under a gradient G_{c'} on the class means
    x_bar_{c'} (per-sample gradients G_{c'}/n_{c'}, i.e. G = dL/dx_bar) moves the parameters
    by d theta = -eta_theta J^T G, J = d x_bar / d theta, and the class means, to first order,
    by the jvp  d x_bar = J d theta = -eta_theta J J^T G.  Probing with G = e_{c'} e_a^T for
    every class c' and output coordinate a gives the (K d) x (K d) one-step map; its isotropic
    part (the kernel per output coordinate, as the theory assumes),

        E_{c c'} = (eta_theta / d) sum_a <d x_bar_{c a}/d theta, d x_bar_{c' a}/d theta>,

    is returned.  ``per_output=True`` returns the d diagonal blocks E^{(a)} instead,
    shape (S, d, K, K): their spread over a is the output anisotropy the isotropic E
    neglects.  Seed s is the encoder initialisation of the training runs of seed s;
    ``inputs`` as in :func:`simulations.encoders.label_noise.load_data`.  Its common and
    zero-sum steps are :func:`minimal_models.label_noise.kernel_modes` of E.  One compile
    for all seeds."""
    seeds = tuple(run.seeds if seeds is None else seeds)
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    for s in seeds:
        check.integer("seed", s, minimum=0)
    x, y, K = load_data(run, inputs=inputs)
    onehot = jax.nn.one_hot(jnp.asarray(y), K, dtype=jnp.float32)
    xj = jnp.asarray(x)
    d = _out_dim(run)
    basis = jnp.eye(K * d, dtype=jnp.float32).reshape(K * d, K, d)

    def one_seed(seed_bits):
        model, _ = _init(run, seed_bits, x.shape[1:], K)
        params, static = eqx.partition(model, eqx.is_inexact_array)

        def class_means(p):
            return (onehot.T @ _embed(eqx.combine(p, static), xj)) / onehot.sum(0)[:, None]

        _, pullback = jax.vjp(class_means, params)

        def response(G):
            # minus the class-mean displacement of one encoder step under the gradient G
            step = jax.tree.map(lambda g: -run.lr_encoder * g, pullback(G)[0])
            return -jax.jvp(class_means, (params,), (step,))[1]

        return jax.vmap(response)(basis).reshape(K, d, K, d)          # [c', a, c, b]

    out = np.asarray(jax.jit(jax.vmap(one_seed))(_seed_keys(seeds)), np.float64)
    a = np.arange(d)
    per = out[:, :, a, :, a]                        # (d, S, K', K): E^{(a)}_{c c'} at [a, s, c', c]
    per = np.transpose(per, (1, 0, 3, 2))           # (S, d, K, K')
    per = 0.5 * (per + np.swapaxes(per, -1, -2))    # symmetric up to float32 round-off
    return per if per_output else per.mean(axis=1)
