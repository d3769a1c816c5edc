"""The hand-derived vector fields of Models A, B and C equal minus the (rate-weighted) gradient
of the single loss definitions in minimal_models.objectives.collapse_models (jax.grad with
stop_gradient), to 1e-12 on random states, for alpha in {0, 0.3, 1}."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from minimal_models import frustration as model_a
from minimal_models import stopgrad as model_b
from minimal_models import teacher_student as model_c
from minimal_models.objectives import collapse_models as obj

ALPHAS = (0.0, 0.3, 1.0)


def random_problem(seed, N=7, K=3, d=4):
    rng = np.random.default_rng(seed)
    A = rng.random((N, K)) * (rng.random((N, K)) < 0.7)
    X, Y, W = rng.standard_normal((N, d)), rng.standard_normal((K, d)), rng.standard_normal((d, d))
    rates = dict(eta_x=float(rng.uniform(0.2, 3)), eta_y=float(rng.uniform(0.2, 3)),
                 eta_W=float(rng.uniform(0.2, 3)), nu=float(rng.uniform(0.1, 2)))
    return A, X, Y, W, rates


def max_abs(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


@pytest.mark.parametrize("seed,N,K,d", [(0, 1, 2, 1), (1, 7, 3, 4), (2, 12, 4, 2)])
def test_model_a_field_is_minus_gradient(seed, N, K, d):
    A, X, Y, _, r = random_problem(seed, N, K, d)
    gX, gY = jax.grad(lambda X, Y: obj.model_a_loss(X, Y, A, nu=r["nu"]), argnums=(0, 1))(X, Y)
    v = model_a.vector_field(A, np.concatenate([X, Y]), eta_x=r["eta_x"], eta_y=r["eta_y"],
                             nu=r["nu"])
    assert max_abs(v[:N], -r["eta_x"] * gX) < 1e-12
    assert max_abs(v[N:], -r["eta_y"] * gY) < 1e-12
    # the JAX path of the vector field (unrolled sums) agrees with the numpy path
    vj = jax.jit(lambda Z: model_a.vector_field(jnp.asarray(A), Z, eta_x=r["eta_x"],
                                                eta_y=r["eta_y"], nu=r["nu"]))(
        jnp.concatenate([X, Y]))
    assert max_abs(vj, v) < 1e-12
    assert float(model_a.loss(A, np.concatenate([X, Y]), nu=r["nu"])) == pytest.approx(
        float(obj.model_a_loss(X, Y, A, nu=r["nu"])), rel=1e-14)


@pytest.mark.parametrize("head", obj.HEADS)
@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_model_b_field_is_minus_gradient(head, alpha, seed):
    A, X, Y, W, r = random_problem(seed)
    grads = jax.grad(lambda X, Y, W: obj.model_b_loss(X, Y, W, A, alpha=alpha, nu=r["nu"],
                                                      head=head), argnums=(0, 1, 2))(X, Y, W)
    v = model_b.vector_field(A, {"X": X, "Y": Y, "W": W}, alpha=alpha, head=head, **r)
    for key, g, eta in zip("XYW", grads, (r["eta_x"], r["eta_y"], r["eta_W"])):
        assert max_abs(v[key], -eta * np.asarray(g)) < 1e-12, key
    # the same code traced by JAX gives the same numbers
    vj = jax.jit(lambda s: model_b.vector_field(A, s, alpha=alpha, head=head, **r))(
        {"X": X, "Y": Y, "W": W})
    assert max(max_abs(vj[k], v[k]) for k in "XYW") < 1e-12


def test_stop_gradient_changes_the_field_but_not_the_head_gradient():
    """alpha only scales the target branches: the head's velocity is alpha-independent for
    the cross head, and the embedding velocities differ (else the knob would do nothing)."""
    A, X, Y, W, r = random_problem(5)
    s = {"X": X, "Y": Y, "W": W}
    v1, v0 = (model_b.vector_field(A, s, alpha=a, **r) for a in (1.0, 0.0))
    assert max_abs(v1["W"], v0["W"]) < 1e-13
    assert max_abs(v1["X"], v0["X"]) > 1e-3 and max_abs(v1["Y"], v0["Y"]) > 1e-3
    assert float(model_b.loss(A, s, nu=r["nu"])) == pytest.approx(
        float(obj.model_b_loss(X, Y, W, A, alpha=0.3, nu=r["nu"])), rel=1e-14)


@pytest.mark.parametrize("student,alpha", [("plain", 1.0), ("head", 0.0), ("head", 0.3),
                                           ("head", 1.0)])
def test_model_c_field_is_minus_gradient(student, alpha):
    task = model_c.make_task(0.2, D=9, K=3, P=12, seed=3)
    s = model_c.initial_student(task, 4, s_E=1.5)
    s["W"] = s["W"] + 0.3 * np.random.default_rng(0).standard_normal((4, 4))
    rates = dict(eta_E=0.7, eta_y=1.3, eta_W=2.1)
    inputs, labels = task["inputs"], task["labels"]
    grads = jax.grad(lambda E, Y, W: obj.model_c_loss(E, Y, W, inputs, labels, student=student,
                                                      alpha=alpha), argnums=(0, 1, 2))(
        s["E"], s["Y"], s["W"])
    A = model_c.one_hot_labels(labels, 3)
    v = model_c.vector_field(inputs, A, s, student=student, alpha=alpha, **rates)
    for key, g, eta in zip("EYW", grads, (rates["eta_E"], rates["eta_y"], rates["eta_W"])):
        assert max_abs(v[key], -eta * np.asarray(g)) < 1e-12, key
    assert float(model_c.loss(inputs, A, s, student=student)) == pytest.approx(
        float(obj.model_c_loss(s["E"], s["Y"], s["W"], inputs, labels, student=student)),
        rel=1e-13)


def test_unknown_head_or_student_is_refused():
    A, X, Y, W, _ = random_problem(0)
    with pytest.raises(ValueError, match="head='mirror'"):
        obj.model_b_loss(X, Y, W, A, head="mirror")
    with pytest.raises(ValueError, match="head='mirror'"):
        model_b.vector_field(A, {"X": X, "Y": Y, "W": W}, head="mirror")
    with pytest.raises(ValueError, match="student='deep'"):
        obj.model_c_loss(np.ones((2, 3)), Y[:, :2], W[:2, :2], np.ones((4, 3)), np.zeros(4, int),
                         student="deep")
