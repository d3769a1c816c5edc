"""Diagnostics of HamJEPA's predictor beside the HamJEPA vs MLP-HJEPA decision: the trained
leapfrog is symplectic (the MLP is not), the share of f_phi in q_hat is what its docstring
defines, and the encoder-gradient cosine moves when the predictors differ."""

import dataclasses

import equinox as eqx
import jax.numpy as jnp
import numpy as np
import pytest

from minimal_models.symplectic import leapfrog
from simulations.experiments import predictor_diagnostics as PD

STEPS = 20


@pytest.fixture(scope="module")
def pair():
    from simulations.encoders.train import train
    from simulations.experiments.ssl_experiments import ssl_config

    def run(objective):   # 20 small steps: both predictors stay near the identity
        cfg = ssl_config(objective, 0, True, lr=5e-4)
        return train(dataclasses.replace(cfg, steps=STEPS, steps_per_dispatch=STEPS),
                     progress=False)

    return run("hamjepa"), run("mlp_hjepa")


@pytest.mark.slow  # two training compiles with second-order gradients (~30-60 s, 2 cores)
def test_trained_leapfrog_is_symplectic_and_the_mlp_is_not(pair):
    from paper_repro.validation.ssl_hamjepa import symplecticity_check

    ham, mlp = pair
    q, p = PD.held_out_states(ham, n_states=64)
    assert q.shape == (64, q.shape[1]) and q.dtype == np.float32
    d_ham = PD.symplecticity_defects(ham, q, p)
    qm, pm = PD.held_out_states(mlp, n_states=64)
    d_mlp = PD.symplecticity_defects(mlp, qm, pm)
    assert d_ham.shape == (64,) and d_ham.max() < PD.SYMPLECTIC_TOLERANCE
    assert d_mlp.max() > 100 * d_ham.max()
    # the figure's check passes on the leapfrog and fails on a predictor that is not one
    assert symplecticity_check({"symplecticity_defect": d_ham}).passed
    assert not symplecticity_check({"symplecticity_defect": d_mlp}).passed


@pytest.mark.slow
def test_fphi_share_is_the_displacement_f_phi_accounts_for(pair):
    ham, _ = pair
    q, p = PD.held_out_states(ham, n_states=16)
    opts = PD.predictor_options(ham)
    assert opts == {"dt": 0.05, "n_steps": 2, "base_coeff": 0.1, "residual_scale": 0.02}
    from minimal_models.objectives.hamjepa import hamjepa_predict

    q_hat, _ = hamjepa_predict(ham.objective_module, jnp.asarray(q), jnp.asarray(p), **opts)
    # the leapfrog of the harmonic base potential alone, V = b/2 ||q||^2
    q_free, _ = leapfrog(lambda x: opts["base_coeff"] * x, jnp.asarray(q), jnp.asarray(p),
                         opts["dt"], opts["n_steps"])
    expected = np.linalg.norm(q_hat - q_free) / np.linalg.norm(q_hat - q)
    share = PD.fphi_share(ham, q, p)
    assert share == pytest.approx(float(expected), rel=1e-4) and 0 < share < 1
    # f_phi's contribution grows with its scale s: ten times s, about ten times the share
    big = dataclasses.replace(ham, config=dataclasses.replace(
        ham.config, objective_options=(("residual_scale", 0.2),)))
    assert PD.fphi_share(big, q, p) == pytest.approx(10 * share, rel=0.05)


@pytest.mark.slow
def test_gradient_cosine_moves_when_the_predictors_differ(pair):
    ham, mlp = pair
    cos = PD.encoder_gradient_cosine(ham, mlp)
    assert -1.0 <= cos <= 1.0 and cos > 0.99   # 20 steps: both predictors near-identity
    assert PD.encoder_gradient_cosine(ham, mlp, seed=1) != cos   # another batch
    # a predictor that does something else (its output layer x 300) pulls the encoder elsewhere
    loud = eqx.tree_at(lambda m: m.forward.layers[-1].weight, mlp.objective_module,
                       replace_fn=lambda w: 300.0 * w)
    other = dataclasses.replace(mlp, objective_module=loud)
    assert PD.encoder_gradient_cosine(ham, other) < cos - 0.01
    out = PD.predictor_diagnostics(ham, mlp, n_states=8)
    assert out["grad_cosine"] == pytest.approx(cos) and out["n_states"] == 8
    assert out["symplecticity_defect"] < PD.SYMPLECTIC_TOLERANCE < out[
        "symplecticity_defect_mlp"]


@pytest.mark.slow
def test_bad_inputs_name_the_parameter(pair):
    ham, mlp = pair
    with pytest.raises(ValueError, match="ham must be a 'hamjepa' run"):
        PD.encoder_gradient_cosine(mlp, ham)
    with pytest.raises(ValueError, match="at='sideways'"):
        PD.encoder_gradient_cosine(ham, mlp, at="sideways")
    with pytest.raises(ValueError, match="n_states=1000"):
        PD.held_out_states(ham, n_states=1000)
    with pytest.raises(ValueError, match="result must be a TrainResult"):
        PD.fphi_share(object(), np.zeros((2, 4)), np.zeros((2, 4)))
