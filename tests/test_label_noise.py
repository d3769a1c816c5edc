"""Label noise -> Model A coupling and the predicted collapse rate (minimal_models.label_noise).

Tier 1: closed forms (symmetric-noise rate, star graph has no slow mode); tier 2: the
embedding-only rigid-class model trained with jax.grad of the shared Model A loss equals the
predicted linear map exactly, and its fitted d_min rate equals the predicted per-step rate;
tier 3: hypothesis properties (monotonicity in the encoder's rate, adiabatic bound)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.collapse import d_min
from analysis.timescales import fit_decay_rate
from minimal_models import frustration as model_a
from minimal_models import label_noise as ln
from minimal_models.objectives.collapse_models import model_a_loss


def _classes(K, n):
    return np.repeat(np.arange(K), n)


def test_uniform_flips_follow_spec_stream_and_never_keep_the_class():
    c = _classes(4, 50)
    labels = ln.flip_labels(c, 4, 0.3, seed=3)
    rng = np.random.default_rng(3)
    flip = rng.random(c.size) < 0.3
    o = rng.integers(3, size=c.size)
    np.testing.assert_array_equal(labels, np.where(flip, o + (o >= c), c))
    assert np.all(labels[flip] != c[flip]) and np.all(labels[~flip] == c[~flip])
    assert abs(flip.mean() - 0.3) < 0.1
    np.testing.assert_array_equal(ln.flip_labels(c, 4, 0.0, seed=3), c)


def test_symmetric_flips_give_the_expected_confusion_exactly():
    K, n, p = 5, 40, 0.2  # p n/(K-1) = 2 per other class
    labels = ln.flip_labels(_classes(K, n), K, p, seed=1, mode="symmetric")
    C = ln.confusion_counts(_classes(K, n), labels, K)
    np.testing.assert_array_equal(C, ln.expected_confusion(K, n, p))
    assert C.sum() == K * n


def test_confusion_counts_match_a_loop():
    rng = np.random.default_rng(0)
    c, l = rng.integers(3, size=60), rng.integers(3, size=60)
    C = ln.confusion_counts(c, l, 3)
    for a in range(3):
        for b in range(3):
            assert C[a, b] == np.sum((c == a) & (l == b))


def test_free_sample_embeddings_do_not_collapse_under_label_noise():
    # one link per sample: a union of stars, every slow rate is exactly zero
    labels = ln.flip_labels(_classes(4, 30), 4, 0.3, seed=0)
    A = ln.sample_coupling(labels, 4)
    np.testing.assert_allclose(model_a.slow_eigenvalues(A), 0.0, atol=1e-12)


def test_rigid_class_rates_are_positive_and_grow_with_noise():
    rates = [ln.class_node_rates(ln.expected_confusion(4, 50, p), eta_x=0.01, eta_y=0.002,
                                 nu=1 / 200).min() for p in (0.05, 0.1, 0.2, 0.3)]
    assert rates[0] > 0 and np.all(np.diff(rates) > 0)
    np.testing.assert_allclose(
        ln.class_node_rates(ln.expected_confusion(4, 50, 0.0), eta_x=1.0, eta_y=1.0), 0.0,
        atol=1e-12)


@pytest.mark.parametrize("eta_x", [0.3, 2.0, np.inf])
def test_symmetric_closed_form_equals_the_eigenvalues(eta_x):
    K, n, p, eta_y, nu = 6, 25.0, 0.2, 0.7, 0.05
    C = ln.expected_confusion(K, n, p)
    rates = ln.class_node_rates(C, eta_x=eta_x, eta_y=eta_y, nu=nu)
    closed = ln.symmetric_noise_rate(K, n, p, eta_x=eta_x, eta_y=eta_y, nu=nu)
    np.testing.assert_allclose(rates, closed, rtol=1e-10)  # all K - 1 modes degenerate


def test_small_noise_limit_of_the_adiabatic_rate():
    # nu n eta_y (1 - a^2) ~ 2 nu n eta_y p K/(K - 1) as p -> 0
    K, n = 10, 100.0
    r = ln.symmetric_noise_rate(K, n, 1e-4, eta_y=0.5, nu=0.01)
    np.testing.assert_allclose(r, 2 * 0.01 * n * 0.5 * 1e-4 * K / (K - 1), rtol=1e-3)


def _tied_embedding_gd(classes, labels, K, X0, Y0, steps, eta_x, eta_y, nu):
    """GD of the embedding-only rigid-class model through the *sample-level* loss: the
    class embedding x_c is shared by all samples of true class c."""
    A = jnp.asarray(ln.sample_coupling(labels, K))
    cls = jnp.asarray(classes)

    def loss(Xc, Y):
        return model_a_loss(Xc[cls], Y, A, nu=nu)

    grad = jax.jit(jax.grad(loss, argnums=(0, 1)))
    Xc, Y = jnp.asarray(X0), jnp.asarray(Y0)
    Xs, Ys = [Xc], [Y]
    for _ in range(steps):
        gx, gy = grad(Xc, Y)
        Xc, Y = Xc - eta_x * gx, Y - eta_y * gy
        Xs.append(Xc)
        Ys.append(Y)
    return np.asarray(jnp.stack(Xs)), np.asarray(jnp.stack(Ys))


@pytest.mark.parametrize("mode", ["uniform", "symmetric"])
def test_embedding_only_gd_equals_the_predicted_linear_map(mode):
    K, n, d, p = 5, 40, 6, 0.2
    classes = _classes(K, n)
    labels = ln.flip_labels(classes, K, p, seed=2, mode=mode)
    C = ln.confusion_counts(classes, labels, K)
    rng = np.random.default_rng(0)
    X0, Y0 = rng.standard_normal((K, d)), 0.1 * rng.standard_normal((K, d))
    nu, eta_x, eta_y = 1.0 / (K * n), 2.0, 1.5
    Xg, Yg = _tied_embedding_gd(classes, labels, K, X0, Y0, 60, eta_x, eta_y, nu)
    Xp, Yp = ln.class_node_trajectory(C, X0, Y0, 60, eta_x=eta_x, eta_y=eta_y, nu=nu)
    np.testing.assert_allclose(Yg, Yp, rtol=0, atol=1e-12)
    np.testing.assert_allclose(Xg, Xp, rtol=0, atol=1e-12)


def test_embedding_only_collapse_rate_is_the_predicted_per_step_rate():
    # symmetric noise: the K - 1 slow modes are degenerate, so d_min decays at exactly
    # -log(1 - mu) per step once the fast modes are gone
    K, n, d, p = 4, 30, 5, 0.3
    classes = _classes(K, n)
    labels = ln.flip_labels(classes, K, p, seed=0, mode="symmetric")
    C = ln.confusion_counts(classes, labels, K)
    rng = np.random.default_rng(1)
    X0, Y0 = rng.standard_normal((K, d)), 0.1 * rng.standard_normal((K, d))
    nu, eta_x, eta_y = 1.0 / (K * n), 1.0, 1.0
    _, Yg = _tied_embedding_gd(classes, labels, K, X0, Y0, 150, eta_x, eta_y, nu)
    dm = np.asarray(d_min(Yg))
    steps = np.arange(dm.size, dtype=float)
    fit = fit_decay_rate(steps, dm, window=(80, 150))["rate"]  # above the round-off floor
    mu = ln.symmetric_noise_rate(K, n, p, eta_x=eta_x, eta_y=eta_y, nu=nu)
    np.testing.assert_allclose(fit, ln.per_step_rate(mu), rtol=1e-8)
    # the continuous-time first-order value mu itself is off by O(mu^2)
    assert abs(fit - mu) > 1e-2 * mu * mu


def test_adiabatic_trajectory_is_the_large_eta_x_limit():
    K, n, d = 4, 30, 3
    C = ln.expected_confusion(K, n, 0.2) + np.diag([1.0, 0, 2.0, 0])
    rng = np.random.default_rng(2)
    Y0 = rng.standard_normal((K, d))
    X0 = (C / C.sum(1, keepdims=True)) @ Y0  # start on the slaved manifold
    nu, eta_y = 1.0 / (K * n), 0.5
    _, Ya = ln.class_node_trajectory(C, X0, Y0, 30, eta_x=np.inf, eta_y=eta_y, nu=nu)
    slow_enough = ln.class_node_rates(C, eta_x=1e4 * eta_y, eta_y=eta_y, nu=nu)
    np.testing.assert_allclose(slow_enough, ln.adiabatic_rates(C, eta_y=eta_y, nu=nu), rtol=1e-3)
    # adiabatic labels relax with (I - nu eta_y L_eff)
    L_eff, _ = model_a.effective_label_operator(C)
    np.testing.assert_allclose(Ya[1], (np.eye(K) - nu * eta_y * L_eff) @ Y0, atol=1e-13)


@given(K=st.integers(2, 6), n=st.integers(5, 40), seed=st.integers(0, 10_000),
       p=st.floats(0.01, 0.5), eta_x=st.floats(0.05, 20.0), eta_y=st.floats(0.05, 5.0))
def test_slow_rates_grow_with_the_encoder_rate_up_to_the_adiabatic_bound(K, n, seed, p,
                                                                         eta_x, eta_y):
    labels = ln.flip_labels(_classes(K, n), K, p, seed=seed)
    C = ln.confusion_counts(_classes(K, n), labels, K)
    slow = ln.class_node_rates(C, eta_x=eta_x, eta_y=eta_y)
    faster = ln.class_node_rates(C, eta_x=2 * eta_x, eta_y=eta_y)
    bound = ln.adiabatic_rates(C, eta_y=eta_y)
    tol = 1e-9 * (1 + bound.max())
    assert np.all(slow >= -tol) and np.all(np.diff(slow) >= -tol)
    assert np.all(faster >= slow - tol) and np.all(bound >= faster - tol)


def test_bad_input_names_the_parameter():
    with pytest.raises(ValueError, match="frustration"):
        ln.flip_labels(_classes(3, 5), 3, 1.5)
    with pytest.raises(ValueError, match="mode"):
        ln.flip_labels(_classes(3, 5), 3, 0.1, mode="pairs")
    with pytest.raises(ValueError, match="classes"):
        ln.flip_labels(np.array([0, 5]), 3, 0.1)
    with pytest.raises(ValueError, match="eta_x"):
        ln.class_node_rates(np.eye(3), eta_x=-1.0, eta_y=1.0)
    with pytest.raises(ValueError, match="mu"):
        ln.per_step_rate(2.5)
    with pytest.raises(ValueError, match="frustration"):
        ln.flip_labels(_classes(3, 3), 3, 1.0, mode="symmetric")


# --- class-node kernel with separate common-mode and zero-sum steps ----------------------

def _linear_encoder_gd(classes, labels, K, Phi, W0, Y0, steps, eta_theta, eta_y, nu):
    """Direct simulation: a linear encoder x_i = W phi_{c_i} (rigid inputs: every sample of
    class c sees the class feature phi_c), W and the labels trained by full-batch GD of the
    sample-level Model A loss.  Its class-node kernel is eta_theta Phi Phi^T."""
    A = jnp.asarray(ln.sample_coupling(labels, K))
    feats = jnp.asarray(Phi)[jnp.asarray(classes)]

    def loss(W, Y):
        return model_a_loss(feats @ W.T, Y, A, nu=nu)

    grad = jax.grad(loss, argnums=(0, 1))

    def step(state, _):
        W, Y = state
        gw, gy = grad(W, Y)
        W, Y = W - eta_theta * gw, Y - eta_y * gy
        return (W, Y), (jnp.asarray(Phi) @ W.T, Y)

    W, Y = jnp.asarray(W0), jnp.asarray(Y0)
    _, (Xs, Ys) = jax.lax.scan(step, (W, Y), None, length=steps)
    Xs = jnp.concatenate([(jnp.asarray(Phi) @ W.T)[None], Xs])
    return np.asarray(Xs), np.asarray(jnp.concatenate([Y[None], Ys]))


def _features_with_kernel(E, eta_theta):
    lam, U = np.linalg.eigh(E / eta_theta)
    return (U * np.sqrt(lam)) @ U.T  # Phi Phi^T = E / eta_theta


def test_two_mode_kernel_modes_round_trip():
    E = ln.two_mode_kernel(6, eta_common=3.8, eta_zero_sum=0.18)
    np.testing.assert_allclose(ln.kernel_modes(E), (3.8, 0.18), rtol=1e-13)
    ones = np.ones(6) / np.sqrt(6)
    np.testing.assert_allclose(E @ ones, 3.8 * ones, rtol=1e-13)
    zs = np.array([1.0, -1, 0, 0, 0, 0])
    np.testing.assert_allclose(E @ zs, 0.18 * zs, atol=1e-14)


@pytest.mark.parametrize("mode", ["uniform", "symmetric"])
def test_equal_modes_reduce_to_the_scalar_prediction(mode):
    K, n, d = 5, 30, 4
    classes = _classes(K, n)
    C = ln.confusion_counts(classes, ln.flip_labels(classes, K, 0.2, seed=4, mode=mode), K)
    nu, eta_x, eta_y = 1.0 / (K * n), 0.7, 1.3
    E = ln.two_mode_kernel(K, eta_common=eta_x, eta_zero_sum=eta_x)
    np.testing.assert_allclose(ln.kernel_generator(C, kernel=E, eta_y=eta_y, nu=nu),
                               ln.class_node_generator(C, eta_x=eta_x, eta_y=eta_y, nu=nu),
                               rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(ln.kernel_rates(C, kernel=E, eta_y=eta_y, nu=nu),
                               ln.class_node_rates(C, eta_x=eta_x, eta_y=eta_y, nu=nu),
                               rtol=1e-12)
    rng = np.random.default_rng(0)
    X0, Y0 = rng.standard_normal((K, d)), rng.standard_normal((K, d))
    got = ln.kernel_trajectory(C, X0, Y0, 40, kernel=E, eta_y=eta_y, nu=nu)
    ref = ln.class_node_trajectory(C, X0, Y0, 40, eta_x=eta_x, eta_y=eta_y, nu=nu)
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, rtol=0, atol=1e-13)


@pytest.mark.parametrize("mode", ["uniform", "symmetric"])
def test_linear_encoder_with_a_two_mode_kernel_follows_the_kernel_prediction(mode):
    K, n, d, p = 4, 30, 5, 0.3
    classes = _classes(K, n)
    labels = ln.flip_labels(classes, K, p, seed=1, mode=mode)
    C = ln.confusion_counts(classes, labels, K)
    nu, eta_theta, eta_y = 1.0 / (K * n), 0.5, 1.0
    E = ln.two_mode_kernel(K, eta_common=3.8, eta_zero_sum=0.18)  # the digits rigid control
    Phi = _features_with_kernel(E, eta_theta)
    rng = np.random.default_rng(2)
    W0, Y0 = rng.standard_normal((d, K)), 0.1 * rng.standard_normal((K, d))
    Xs, Ys = _linear_encoder_gd(classes, labels, K, Phi, W0, Y0, 60, eta_theta, eta_y, nu)
    Xp, Yp = ln.kernel_trajectory(C, Xs[0], Y0, 60, kernel=E, eta_y=eta_y, nu=nu)
    np.testing.assert_allclose(Yp, Ys, rtol=0, atol=1e-12)
    np.testing.assert_allclose(Xp, Xs, rtol=0, atol=1e-12)


def _late_spread_rate(Y, window):
    # label spread around the label mean decays as exp(-2 r s) once only the slowest mode
    # is left; half the log-slope of the spread is r
    spread = np.sum((Y - Y.mean(axis=1, keepdims=True)) ** 2, axis=(1, 2))
    return 0.5 * fit_decay_rate(np.arange(Y.shape[0], dtype=float), spread,
                                window=window)["rate"]


def test_two_mode_collapse_rate_is_the_zero_sum_rate_for_symmetric_noise():
    # under symmetric noise the common-mode step drops out: the rate is the scalar one at
    # eta_x = eta_zero_sum, and a scalar calibration by the mean class step is wrong
    K, n, d, p = 4, 30, 5, 0.3
    classes = _classes(K, n)
    labels = ln.flip_labels(classes, K, p, seed=0, mode="symmetric")
    C = ln.confusion_counts(classes, labels, K)
    nu, eta_theta, eta_y = 1.0 / (K * n), 0.5, 1.0
    eta_c, eta_z = 3.8, 0.18
    E = ln.two_mode_kernel(K, eta_common=eta_c, eta_zero_sum=eta_z)
    rates = ln.kernel_rates(C, kernel=E, eta_y=eta_y, nu=nu)
    closed = ln.symmetric_noise_rate(K, n, p, eta_x=eta_z, eta_y=eta_y, nu=nu)
    np.testing.assert_allclose(rates, closed, rtol=1e-10)
    rng = np.random.default_rng(3)
    W0, Y0 = rng.standard_normal((d, K)), 0.1 * rng.standard_normal((K, d))
    _, Ys = _linear_encoder_gd(classes, labels, K, _features_with_kernel(E, eta_theta), W0, Y0,
                               300, eta_theta, eta_y, nu)
    measured = _late_spread_rate(Ys, (150, 300))
    np.testing.assert_allclose(measured, ln.per_step_rate(closed), rtol=1e-6)
    scalar = ln.per_step_rate(ln.symmetric_noise_rate(K, n, p, eta_x=np.trace(E) / K,
                                                      eta_y=eta_y, nu=nu))
    assert scalar > 1.5 * measured


def test_common_mode_step_matters_when_the_confusion_mixes_the_modes():
    # very unequal classes and sampled flips couple the common and zero-sum modes: the
    # scalar prediction at eta_x = eta_zero_sum is then off (here by ~0.7 %), the two-mode
    # prediction is not
    K, d = 4, 3
    classes = np.repeat(np.arange(K), [5, 80, 10, 60])
    labels = ln.flip_labels(classes, K, 0.5, seed=5)
    C = ln.confusion_counts(classes, labels, K)
    nu, eta_theta, eta_y = 1.0 / classes.size, 0.5, 2.0
    E = ln.two_mode_kernel(K, eta_common=3.8, eta_zero_sum=0.18)
    two_mode = ln.per_step_rate(ln.kernel_rates(C, kernel=E, eta_y=eta_y, nu=nu).min())
    zero_sum_only = ln.per_step_rate(
        ln.class_node_rates(C, eta_x=0.18, eta_y=eta_y, nu=nu).min())
    rng = np.random.default_rng(4)
    W0, Y0 = rng.standard_normal((d, K)), 0.1 * rng.standard_normal((K, d))
    _, Ys = _linear_encoder_gd(classes, labels, K, _features_with_kernel(E, eta_theta), W0, Y0,
                               1600, eta_theta, eta_y, nu)
    measured = _late_spread_rate(Ys, (1000, 1600))
    np.testing.assert_allclose(measured, two_mode, rtol=1e-5)
    assert abs(measured / zero_sum_only - 1) > 5e-3


@given(K=st.integers(2, 6), n=st.integers(5, 30), seed=st.integers(0, 10_000),
       p=st.floats(0.01, 0.5), eta_c=st.floats(0.05, 10.0), eta_z=st.floats(0.05, 10.0),
       eta_y=st.floats(0.05, 5.0))
def test_kernel_rates_are_real_nonnegative_and_bounded_by_the_adiabatic_rates(
        K, n, seed, p, eta_c, eta_z, eta_y):
    labels = ln.flip_labels(_classes(K, n), K, p, seed=seed)
    C = ln.confusion_counts(_classes(K, n), labels, K)
    E = ln.two_mode_kernel(K, eta_common=eta_c, eta_zero_sum=eta_z)
    rates = ln.kernel_rates(C, kernel=E, eta_y=eta_y)
    gen = np.linalg.eigvals(ln.kernel_generator(C, kernel=E, eta_y=eta_y))
    bound = ln.adiabatic_rates(C, eta_y=eta_y)
    tol = 1e-8 * (1 + np.abs(gen).max())
    assert np.all(np.abs(gen.imag) <= tol)
    np.testing.assert_allclose(rates, np.sort(gen.real)[1:K], atol=tol)
    assert np.all(rates >= -tol) and np.all(bound >= rates - tol)


def test_kernel_bad_input_names_the_parameter():
    C = ln.expected_confusion(3, 10, 0.2)
    with pytest.raises(ValueError, match="kernel"):
        ln.kernel_rates(C, kernel=np.eye(4), eta_y=1.0)
    with pytest.raises(ValueError, match="kernel"):
        ln.kernel_rates(C, kernel=np.diag([1.0, -1.0, 1.0]), eta_y=1.0)
    with pytest.raises(ValueError, match="eta_zero_sum"):
        ln.two_mode_kernel(3, eta_common=1.0, eta_zero_sum=0.0)
    with pytest.raises(ValueError, match="X0"):
        ln.kernel_trajectory(C, np.zeros((2, 2)), np.zeros((3, 2)), 3, kernel=np.eye(3),
                             eta_y=1.0)
