"""Exact reduced state of Model B (minimal_models.stopgrad_reduced): the row-mean +
propagator flow equals the full flow of minimal_models.stopgrad for every head, alpha and
pairing; the per-sample reconstruction reproduces X, Y, W, the loss and Q; couplings with all
rows distinct are refused."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.integrate import solve_ivp

from minimal_models import coupling
from minimal_models import stopgrad as B
from minimal_models import stopgrad_reduced as RB
from minimal_models.objectives.collapse_models import model_b_loss

MAX_FEV = 50_000  # the reference solves here take < 10,000
RATES = {"eta_x": 1.7, "eta_y": 0.6, "eta_W": 1.2, "nu": 0.8}  # all different: catches swaps


def _flatten(tree):
    keys = sorted(tree)
    return np.concatenate([np.ravel(tree[k]) for k in keys]), [(k, np.shape(tree[k])) for k in keys]


def _unflatten(z, layout):
    out, i = {}, 0
    for k, shape in layout:
        size = int(np.prod(shape))
        out[k] = z[..., i:i + size].reshape(z.shape[:-1] + shape)
        i += size
    return out


def integrate_full(A, X, Y, W, ts, **kw):
    """Reference: the full Model B flow with SciPy DOP853 at rtol 1e-12."""
    d = X.shape[1]
    sol = solve_ivp(lambda t, z: B.packed_vector_field(A, z.reshape(-1, d), **kw).ravel(),
                    (0.0, ts[-1]), B.pack(X, Y, W).ravel(), method="DOP853", rtol=1e-12,
                    atol=1e-12, t_eval=ts)
    assert sol.status == 0
    return B.unpack(sol.y.T.reshape(len(ts), -1, d), *A.shape)


def integrate_reduced(groups, X, Y, W, ts, *, head="cross_shared", train_W=True, alpha=1.0,
                      n_groups=None, n_degrees=None, **rates):
    s0, structure = RB.reduced_initial_state(groups, X, Y, W, n_groups=n_groups,
                                             n_degrees=n_degrees)
    z0, layout = _flatten(s0)

    calls = [0]

    def rhs(t, z):
        calls[0] += 1  # a wrong field can make the flow stiff: fail fast instead of hanging
        if calls[0] > MAX_FEV:
            raise RuntimeError(f"reduced solve exceeded {MAX_FEV} evaluations")
        v = RB.reduced_vector_field(structure, _unflatten(z, layout), alpha=alpha, head=head,
                                    train_W=train_W, **rates)
        return _flatten(v)[0]

    sol = solve_ivp(rhs, (0.0, ts[-1]), z0, method="DOP853", rtol=1e-12, atol=1e-12, t_eval=ts)
    assert sol.status == 0
    zs = _unflatten(sol.y.T, layout)
    return RB.reconstruct(zs, structure), zs, structure


def problem(kind, *, K=3, n=6, p=0.34, d=3, seed=0):
    A = coupling.coupling_matrix(K, n, p, seed=seed, kind=kind, q=0.3)
    rng = np.random.default_rng(seed + 10)
    N = A.shape[0]
    X = 0.5 * rng.standard_normal((N, d)) + rng.standard_normal((K, d))[np.arange(N) // n]
    Y = 0.5 * rng.standard_normal((K, d))
    W = np.eye(d) + 0.3 * rng.standard_normal((d, d))
    return A, X, Y, W


def max_dev(a, b):
    return max(float(np.max(np.abs(a[k] - b[k]))) for k in ("X", "Y", "W"))


TS = np.array([0.0, 0.3, 1.0, 3.0])


@pytest.mark.parametrize("head", B.HEADS)
@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("kind", ["hard", "soft"])
def test_reduced_flow_equals_full_flow(kind, alpha, head):
    A, X, Y, W = problem(kind)
    groups = RB.reduce_coupling(A)
    assert groups.n_groups < A.shape[0]
    kw = dict(alpha=alpha, head=head, **RATES)
    full = integrate_full(A, X, Y, W, TS, **kw)
    rec, zs, structure = integrate_reduced(groups, X, Y, W, TS, **kw)
    scale = max(float(np.max(np.abs(full[k]))) for k in ("X", "Y", "W"))
    assert max_dev(rec, full) <= 1e-8 * max(scale, 1.0)
    # the flow moved: the comparison is not trivially satisfied by the initial state
    assert np.max(np.abs(full["X"][-1] - X)) > 1e-2
    # loss and Q from the reconstruction are the full model's
    for j in range(len(TS)):
        lf = float(model_b_loss(full["X"][j], full["Y"][j], full["W"][j], A, nu=RATES["nu"],
                                head=head))
        lr = float(model_b_loss(rec["X"][j], rec["Y"][j], rec["W"][j], A, nu=RATES["nu"],
                                head=head))
        assert abs(lr - lf) <= 1e-8 * max(abs(lf), 1.0)
    rk = {k: RATES[k] for k in ("eta_x", "eta_y", "eta_W")}
    Qf = B.invariant_Q(full["X"], full["Y"], full["W"], **rk)
    Qr = RB.reduced_invariant_Q(zs, structure, **rk)
    Qrec = B.invariant_Q(rec["X"], rec["Y"], rec["W"], **rk)
    assert np.max(np.abs(Qr - Qf)) <= 1e-8 * max(np.max(np.abs(Qf)), 1.0)
    assert np.max(np.abs(Qrec - Qf)) <= 1e-8 * max(np.max(np.abs(Qf)), 1.0)
    if alpha == 1.0 and head == "cross_shared":  # spec §3.3: conserved, also in reduced form
        assert np.max(np.abs(Qr - Qr[0])) <= 1e-8 * max(np.max(np.abs(Qr)), 1.0)


@pytest.mark.parametrize("head", B.HEADS)
def test_frozen_head_reduces_exactly(head):
    A, X, Y, W = problem("hard", seed=2)
    kw = dict(alpha=0.5, head=head, train_W=False, **RATES)
    full = integrate_full(A, X, Y, W, TS, **kw)
    rec, _, _ = integrate_reduced(RB.reduce_coupling(A), X, Y, W, TS, **kw)
    assert max_dev(rec, full) <= 1e-8 * max(float(np.max(np.abs(full["X"]))), 1.0)
    assert np.array_equal(rec["W"][-1], W)


def test_all_distinct_rows_are_refused_and_the_opt_out_stays_exact():
    rng = np.random.default_rng(4)
    A = rng.random((5, 3))
    with pytest.raises(ValueError, match="5 distinct rows"):
        RB.reduce_coupling(A)
    groups = RB.reduce_coupling(A, require_repeats=False)
    assert groups.n_groups == 5 and not groups.pays(2)
    X, Y, W = rng.standard_normal((5, 2)), rng.standard_normal((3, 2)), np.eye(2)
    full = integrate_full(A, X, Y, W, TS, alpha=0.5, **RATES)
    rec, _, _ = integrate_reduced(groups, X, Y, W, TS, alpha=0.5, **RATES)
    assert max_dev(rec, full) <= 1e-8 * max(float(np.max(np.abs(full["X"]))), 1.0)


def test_grouping_matches_rows_and_f5_state_size():
    """F5 coupling (K = 4, n = 50, d = 8, hard, p = 0.1): 4 consistent rows + the unordered
    partner pairs, degrees {1, 2}: 10 + 4 + 1 + 2 blocks of d or d^2 = 304 numbers."""
    A = coupling.coupling_matrix(4, 50, 0.1, seed=0)
    groups = RB.reduce_coupling(A)
    assert np.array_equal(groups.coupling(), A)
    assert groups.n_groups == len({tuple(r) for r in A})
    assert np.array_equal(groups.counts, [np.sum(np.all(A == r, axis=1)) for r in groups.rows])
    assert np.array_equal(groups.degrees, [1.0, 2.0])
    assert np.array_equal(groups.degrees[groups.degree_of_group], groups.rows.sum(axis=1))
    assert groups.n_groups == 10
    assert groups.state_size(8) == 304 and groups.full_state_size(8) == 1696 and groups.pays(8)


def test_initial_state_is_reconstructed_and_padding_changes_nothing():
    A, X, Y, W = problem("soft", seed=3)
    groups = RB.reduce_coupling(A)
    s0, structure = RB.reduced_initial_state(groups, X, Y, W)
    assert np.max(np.abs(RB.reconstruct(s0, structure)["X"] - X)) <= 1e-14
    for r in range(groups.n_groups):  # deviations sum to zero in each group
        assert np.max(np.abs(structure.D0[groups.group == r].sum(axis=0))) <= 1e-13
    kw = dict(alpha=0.5, head="cross_shared", **RATES)
    plain, _, _ = integrate_reduced(groups, X, Y, W, TS, **kw)
    padded, zs, _ = integrate_reduced(groups, X, Y, W, TS, n_groups=groups.n_groups + 3,
                                      n_degrees=groups.n_degrees + 2, **kw)
    assert max_dev(plain, padded) <= 1e-10
    assert np.all(zs["Xbar"][:, groups.n_groups:] == 0.0)


def test_bad_input_raises():
    A, X, Y, W = problem("hard")
    groups = RB.reduce_coupling(A)
    with pytest.raises(ValueError, match="X0"):
        RB.reduced_initial_state(groups, X[:-1], Y, W)
    with pytest.raises(ValueError, match="W0"):
        RB.reduced_initial_state(groups, X, Y, np.eye(4))
    with pytest.raises(ValueError, match="n_groups"):
        RB.reduced_initial_state(groups, X, Y, W, n_groups=groups.n_groups - 1)
    with pytest.raises(ValueError, match="A must be non-negative"):
        RB.reduce_coupling(-A)
    s0, structure = RB.reduced_initial_state(groups, X, Y, W)
    with pytest.raises(ValueError, match="head"):
        RB.reduced_vector_field(structure, s0, alpha=1.0, **RATES, head="nope")


def test_jit_and_vmap_match_numpy():
    A, X, Y, W = problem("hard", seed=5)
    s0, structure = RB.reduced_initial_state(RB.reduce_coupling(A), X, Y, W)
    rng = np.random.default_rng(1)
    s0["U"] = s0["U"] + 0.1 * rng.standard_normal(s0["U"].shape)
    alphas = np.array([0.0, 0.3, 1.0])
    for head in B.HEADS:
        field = jax.jit(functools.partial(RB.reduced_vector_field, head=head))
        batched = jax.vmap(lambda a: field(structure, s0, alpha=a, **RATES))(alphas)
        for j, a in enumerate(alphas):
            ref = RB.reduced_vector_field(structure, s0, alpha=a, **RATES, head=head)
            for k in ref:
                assert isinstance(batched[k], jnp.ndarray)
                np.testing.assert_allclose(batched[k][j], ref[k], rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- properties


@st.composite
def grouped_problems(draw):
    """A random small coupling with repeated rows (shuffled), state and generic propagators."""
    K, d = draw(st.integers(2, 3)), draw(st.integers(1, 3))
    R = draw(st.integers(1, 4))
    mult = draw(st.lists(st.integers(1, 3), min_size=R, max_size=R))
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    base = rng.random((R, K)) * (rng.random((R, K)) < 0.7)
    A = np.repeat(base, mult, axis=0)[rng.permutation(sum(mult))]
    N = A.shape[0]
    X, Y = rng.standard_normal((N, d)), rng.standard_normal((K, d))
    W = np.eye(d) + 0.4 * rng.standard_normal((d, d))
    kw = {"alpha": draw(st.sampled_from([0.0, 0.5, 1.0, draw(st.floats(0.0, 1.0))])),
          "head": draw(st.sampled_from(B.HEADS)),
          **{k: draw(st.floats(0.3, 3.0)) for k in ("eta_x", "eta_y", "eta_W", "nu")}}
    return A, X, Y, W, kw, rng


@given(grouped_problems())
def test_reduced_velocity_is_the_full_velocity_of_the_reconstruction(case):
    """d/dt of x_i = xbar_r + U_g delta_i(0) under the reduced field equals the full field at
    the reconstructed state, at a generic point (random propagators, not only U = I)."""
    A, X, Y, W, kw, rng = case
    groups = RB.reduce_coupling(A, require_repeats=False)
    s0, structure = RB.reduced_initial_state(groups, X, Y, W)
    s = dict(s0, U=s0["U"] + 0.3 * rng.standard_normal(s0["U"].shape))
    head = kw.pop("head")
    v = RB.reduced_vector_field(structure, s, **kw, head=head)
    rec = RB.reconstruct(s, structure)
    ref = B.vector_field(A, rec, head=head, **kw)
    dX = RB.reconstruct({"Xbar": v["Xbar"], "U": v["U"], "Y": v["Y"], "W": v["W"]}, structure)
    scale = 1.0 + max(float(np.max(np.abs(ref[k]))) for k in ref)
    for k in ("X", "Y", "W"):
        assert np.max(np.abs(dX[k] - ref[k])) <= 1e-12 * scale


@settings(max_examples=12)
@given(grouped_problems())
def test_reduced_flow_equals_full_flow_property(case):
    A, X, Y, W, kw, _ = case
    groups = RB.reduce_coupling(A, require_repeats=False)
    ts = np.array([0.0, 0.5, 1.0])
    full = integrate_full(A, X, Y, W, ts, **kw)
    rec, _, _ = integrate_reduced(groups, X, Y, W, ts, **kw)
    scale = max(float(np.max(np.abs(full[k]))) for k in ("X", "Y", "W"))
    assert max_dev(rec, full) <= 1e-8 * max(scale, 1.0)
