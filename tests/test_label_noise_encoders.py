"""The encoder side of the label-noise experiments: the class-kernel probe
(simulations.encoders.class_kernel) against an actual gradient step, class-mean inputs, and
the arms runner (simulations.encoders.label_arms) against the exact label-only update and
the frequency-grid trainer."""

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from minimal_models import label_noise as theory
from simulations.encoders import label_noise as ln
from simulations.encoders.class_kernel import probe_class_kernel
from simulations.encoders.label_arms import Arm, train_arms

TINY = ln.LabelNoiseRun(data="gaussian_mixture", frustrations=(0.0, 0.2), seeds=(0, 1),
                        steps=30, lr_encoder=1e-3, lr_labels=1.0, lr_head=0.01,
                        label_scale=0.01, gm_separation=6.0, gm_classes=3, gm_dim=4,
                        gm_train=90, per_class=20, hidden=(8,), out_dim=4)


def test_class_mean_inputs_replace_every_input_by_its_class_mean():
    x, y, K = ln.load_data(TINY)
    xm, ym, _ = ln.load_data(TINY, inputs="class_means")
    np.testing.assert_array_equal(y, ym)
    for k in range(K):
        np.testing.assert_allclose(xm[y == k], np.broadcast_to(x[y == k].mean(0),
                                                               xm[y == k].shape), rtol=1e-6)
    with pytest.raises(ValueError, match="inputs"):
        ln.load_data(TINY, inputs="pixels")


@pytest.mark.slow
def test_probe_is_the_class_mean_displacement_of_one_gradient_step():
    # one GD step on L = sum_c <G_c, x_bar_c> (so dL/dx_bar = G) with G = e_c' e_a moves
    # x_bar_{c a} by -E^(a)_{c c'} to first order in the step
    per = probe_class_kernel(TINY, seeds=(1,), per_output=True)[0]        # (d, K, K)
    x, y, K = ln.load_data(TINY)
    model, _ = ln._init(TINY, ln._seed_keys((1,))[0], x.shape[1:], K)
    params, static = eqx.partition(model, eqx.is_inexact_array)
    onehot = jax.nn.one_hot(jnp.asarray(y), K)

    def means(p):
        return onehot.T @ ln._embed(eqx.combine(p, static), jnp.asarray(x)) / onehot.sum(0)[:, None]

    @jax.jit
    def displacement(G):
        g = jax.grad(lambda p: jnp.sum(G * means(p)))(params)
        stepped = jax.tree.map(lambda a, b: a - TINY.lr_encoder * b, params, g)
        return means(stepped) - means(params)

    d = TINY.out_dim
    for c2 in range(K):
        for a in range(d):
            G = jnp.zeros((K, d)).at[c2, a].set(1.0)
            moved = np.asarray(displacement(G))
            np.testing.assert_allclose(-moved[:, a], per[a][:, c2], rtol=2e-2,
                                       atol=1e-3 * np.abs(per).max())
    # the isotropic E (the default return) is the mean of these blocks: SPD, both modes > 0
    np.testing.assert_allclose(per, np.swapaxes(per, 1, 2), rtol=1e-12)
    eta_c, eta_z = theory.kernel_modes(per.mean(0))
    assert eta_c > 0 and eta_z > 0
    with pytest.raises(ValueError, match="seed"):
        probe_class_kernel(TINY, seeds=(-1,))


@pytest.mark.slow  # two compiles of the training program (~10-30 s)
def test_arms_match_the_grid_trainer_and_a_frozen_encoder_gives_the_label_only_update():
    arms = [Arm(0.2), Arm(0.2, encoder="frozen"), Arm(0.2, lr_labels=0.5),
            Arm(0.2, inputs="class_means")]
    ds = train_arms(TINY, arms)
    grid = ln.train_label_embeddings(TINY)
    np.testing.assert_allclose(ds["d_min"].sel(arm="p=0.2").values,
                               grid["d_min"].sel(frustration=0.2).values, rtol=1e-5)
    np.testing.assert_array_equal(ds["C"].sel(arm="p=0.2").values,
                                  grid["C"].sel(frustration=0.2).values)
    frozen = ds.sel(arm="p=0.2 frozen")
    assert np.all(frozen["encoder_shift"].values < 1e-5)   # round-off of the re-embedding
    assert np.all(ds.sel(arm="p=0.2")["encoder_shift"].values[:, -1] > 0)
    # frozen class nodes: y(t+1) - y(t) = (1 - nu eta_y n_k)(y(t) - y(t-1)), exactly linear
    nu, n_k = ds.attrs["nu"], frozen["C"].values[0].sum(0)
    Y = frozen["Y"].values[0]
    dY = np.diff(Y, axis=0)
    np.testing.assert_allclose(dY[1:6], (1 - nu * TINY.lr_labels * n_k)[None, :, None]
                               * dY[:5], rtol=1e-3, atol=1e-6)
    assert ds["lr_labels"].sel(arm="p=0.2 eta_y=0.5").item() == 0.5
    assert ds["inputs"].sel(arm="p=0.2 class_means").item() == "class_means"
    # class-mean inputs: a flipped sample is its class mean, so it cannot be memorised
    np.testing.assert_allclose(ds.sel(arm="p=0.2 class_means")["memorisation"].values, 0.0,
                               atol=1e-4)
    with pytest.raises(ValueError, match="distinct"):
        train_arms(TINY, [Arm(0.2), Arm(0.2)])
    with pytest.raises(ValueError, match="Arm"):
        train_arms(TINY, [0.2])


def test_model_b_arms_share_the_program_with_a_head():
    run = dataclasses.replace(TINY, steps=3)
    with pytest.raises(ValueError, match="objective"):
        train_arms(run, [Arm(0.2)], objective="model_z")
